/**
 * Interoperability of the client with other Kafka clients through the broker:
 * - kafkajs consumes (in a group) what our producer wrote, and our consumer (in a group) reads what
 *   kafkajs wrote, keys, values, headers and partitions intact, gzip included;
 * - kcat (librdkafka) reads our batches compressed with every codec, and our consumer reads kcat's
 *   batches compressed with every codec. Skipped when kcat is missing, unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { testBroker } from './helpers/broker.js';
import { findKcat, requireClient, run, skipUnless } from './helpers/external.js';
import type { RunningBroker } from '../src/broker/index.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { Admin, Consumer, Producer, type ConsumerMessage } from '../src/client/index.js';
import { RawClient } from './helpers/raw-client.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/index.js';
import { iterateBatches } from '../src/protocol/records/batch.js';

/** Codec ids of the batches stored in partition 0 of a topic. */
async function storedCodecs(port: number, topic: string): Promise<number[]> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 16 << 20,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 16 << 20 }] }],
    });
    return [...iterateBatches(res.responses[0]!.partitions[0]!.records as Buffer)].map((h) => h.compression);
  } finally {
    c.close();
  }
}

const kcat = findKcat();

async function drain(c: Consumer, n: number, timeoutMs = 10_000): Promise<ConsumerMessage[]> {
  const out: ConsumerMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) out.push(...(await c.poll(n - out.length, 200)));
  return out;
}

describe('client interop: kafkajs', () => {
  let broker: RunningBroker;
  let kafka: Kafka;
  before(async () => {
    broker = await testBroker({ groupInitialRebalanceDelayMs: 0 });
    kafka = new Kafka({ clientId: 'interop', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = new Admin({ bootstrap: broker.bootstrap });
    await admin.createTopics([{ topic: 'i-ours', numPartitions: 3 }, { topic: 'i-theirs', numPartitions: 3 }]);
    await admin.close();
  });
  after(async () => {
    await broker.close();
  });

  test('kafkajs consumes what our producer wrote (none and gzip batches)', async () => {
    const producer = new Producer({ bootstrap: broker.bootstrap });
    const gz = new Producer({ bootstrap: broker.bootstrap, compression: 'gzip' });
    const sent = [
      ...(await producer.send('i-ours', Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `plain-${i}`, headers: { src: 'rafka' } })))),
      ...(await gz.send('i-ours', Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `gzip-${i}`, headers: { src: 'rafka' } })))),
    ];
    await producer.close();
    await gz.close();
    const consumer = kafka.consumer({ groupId: 'kafkajs-reads-ours', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'i-ours', fromBeginning: true });
    const got: { partition: number; offset: number; key: string; value: string; src: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ partition, offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString(), src: String(message.headers!.src) });
      },
    });
    const deadline = Date.now() + 15_000;
    while (got.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.disconnect();
    assert.equal(got.length, 60);
    for (const m of got) {
      const [kind, i] = m.value.split('-') as [string, string];
      const index = (kind === 'gzip' ? 30 : 0) + Number(i);
      assert.equal(m.key, `k${i}`);
      assert.equal(m.src, 'rafka');
      assert.equal(m.partition, sent[index]!.partition, 'same partition as our producer reported');
      assert.equal(m.offset, sent[index]!.offset);
    }
  });

  test('our consumer reads what kafkajs wrote, and kafkajs keys land on the partitions we compute', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'i-theirs', messages: Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `kafkajs-${i}`, headers: { n: String(i) } })) });
    await producer.send({ topic: 'i-theirs', compression: CompressionTypes.GZIP, messages: Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `kafkajs-gz-${i}` })) });
    await producer.disconnect();
    const consumer = new Consumer({ bootstrap: broker.bootstrap, groupId: 'ours-reads-kafkajs', autoOffsetReset: 'earliest', heartbeatIntervalMs: 100 });
    consumer.subscribe('i-theirs');
    const got = await drain(consumer, 60);
    await consumer.close();
    assert.equal(got.length, 60);
    const plain = got.filter((m) => !m.value!.toString().includes('-gz-'));
    for (const m of plain) {
      const i = m.value!.toString().split('-')[1];
      assert.equal(m.key!.toString(), `key-${i}`);
      assert.equal(m.headers.find((h) => h.key === 'n')!.value!.toString(), i);
    }
    // kafkajs's default partitioner is Java-compatible murmur2 too: the same key, the same partition.
    const byKey = new Map<string, Set<number>>();
    for (const m of got) {
      const k = m.key!.toString();
      if (!byKey.has(k)) byKey.set(k, new Set());
      byKey.get(k)!.add(m.partition);
    }
    const ours = new Producer({ bootstrap: broker.bootstrap });
    for (const [k, parts] of byKey) {
      assert.equal(parts.size, 1);
      assert.equal((await ours.send('i-theirs', { key: k, value: 'check' })).partition, [...parts][0]);
    }
    await ours.close();
  });
});

describe('client interop: kcat', { skip: skipUnless(kcat) }, () => {
  let broker: RunningBroker;
  before(async () => {
    requireClient(kcat);
    broker = await testBroker();
  });
  after(async () => {
    await broker?.close();
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`kcat reads our ${codec} batches; we read kcat's ${codec} batches`, async () => {
      const ours = `i-kcat-ours-${codec}`;
      const producer = new Producer({ bootstrap: broker.bootstrap, compression: codec });
      const values = Array.from({ length: 50 }, (_, i) => `${codec}:${'x'.repeat(i * 10)}:${i}`);
      await producer.send(ours, values.map((v, i) => ({ key: `k${i}`, value: v, headers: { h: `v${i}` } })));
      await producer.close();
      const r = await run(kcat.command, ['-C', '-b', broker.bootstrap, '-t', ours, '-p', '0', '-e', '-J', '-q', '-o', 'beginning', '-m', '10']);
      const msgs = r.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; payload: string; offset: number; headers: string[] });
      assert.deepEqual(msgs.map((m) => m.payload), values);
      assert.deepEqual(msgs.map((m) => m.key), values.map((_, i) => `k${i}`));
      assert.deepEqual(msgs.map((m) => m.headers), values.map((_, i) => ['h', `v${i}`]));

      const theirs = `i-kcat-theirs-${codec}`;
      const lines = Array.from({ length: 50 }, (_, i) => `key${i}:${codec}-kcat-${'y'.repeat(i * 10)}-${i}`);
      // One linger window for all 50 lines: librdkafka sends a batch uncompressed when compressing
      // does not make it smaller, which a batch of one or two short lines can be.
      await run(kcat.command, ['-P', '-b', broker.bootstrap, '-t', theirs, '-p', '0', '-K:', '-z', codec, '-H', 'from=kcat', '-X', 'linger.ms=500', '-m', '10'], { input: `${lines.join('\n')}\n` });
      const ids = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
      assert.deepEqual([...new Set(await storedCodecs(broker.port, theirs))], [ids[codec]], 'kcat wrote compressed batches');
      assert.deepEqual([...new Set(await storedCodecs(broker.port, ours))], [ids[codec]]);
      const consumer = new Consumer({ bootstrap: broker.bootstrap, autoOffsetReset: 'earliest' });
      consumer.assign([{ topic: theirs, partition: 0 }]);
      const got = await drain(consumer, 50);
      await consumer.close();
      assert.deepEqual(got.map((m) => `${m.key!.toString()}:${m.value!.toString()}`), lines);
      assert.ok(got.every((m) => m.headers[0]!.key === 'from' && m.headers[0]!.value!.toString() === 'kcat'));
      assert.deepEqual(got.map((m) => m.offset), Array.from({ length: 50 }, (_, i) => i));
    });
  }
});
