/**
 * The client Producer against a live broker: offsets, keys/values/headers, batching by size and
 * linger, each compression codec, acks 0/1/all, the Java-compatible key → partition mapping, sticky
 * partitioning, idempotent retries that do not duplicate (answers cut by a proxy, a broker restart),
 * retries on a missing topic, flush(), close() and bounded buffer memory with backpressure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { fetchAll } from './helpers/fetch-all.js';
import { TestProxy } from './helpers/proxy.js';
import type { RunningBroker } from '../src/broker/index.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { Admin, BufferFullError, ClientClosedError, ConfigError, DeliveryTimeoutError, Producer, RecordTooLargeError, partitionForKey } from '../src/client/index.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey, FetchRequest, FetchResponse } from '../src/protocol/messages/index.js';

/** Poll `fn` until it returns true or the deadline passes. */
async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Raw stored batches of a partition (to check batching, codecs and producer ids). */
async function storedBatches(port: number, topic: string, partition: number): Promise<Buffer[]> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 64 << 20,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 64 << 20 }] }],
    });
    const buf = res.responses[0]!.partitions[0]!.records as Buffer | null;
    const out: Buffer[] = [];
    let pos = 0;
    while (buf && pos < buf.length) {
      const h = readBatchHeader(buf, pos);
      out.push(buf.subarray(pos, pos + h.byteLength));
      pos += h.byteLength;
    }
    return out;
  } finally {
    c.close();
  }
}

describe('client producer', () => {
  let broker: RunningBroker;
  let admin: Admin;
  before(async () => {
    broker = await testBroker();
    admin = new Admin({ bootstrap: broker.bootstrap });
  });
  after(async () => {
    await admin.close();
    await broker.close();
  });

  test('send resolves with offsets; keys, values, headers and timestamps are stored as sent', async () => {
    await admin.createTopics([{ topic: 'p-basic', numPartitions: 1 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap });
    try {
      const first = await producer.send('p-basic', [
        { key: 'k1', value: 'v1', headers: { h1: 'a', h2: Buffer.from([0, 1, 2]) }, timestamp: 1_700_000_000_000 },
        { key: null, value: Buffer.from('v2') },
        { key: Buffer.alloc(0), value: null, headers: [{ key: 'dup', value: 'x' }, { key: 'dup', value: null }] },
      ]);
      assert.deepEqual(first.map((r) => [r.partition, r.offset]), [[0, 0], [0, 1], [0, 2]]);
      assert.equal(first[0]!.timestamp, 1_700_000_000_000);
      const single = await producer.send('p-basic', { value: 'v3' });
      assert.equal(single.offset, 3);
      const recs = await fetchAll(broker.port, 'p-basic', 0);
      assert.equal(recs.length, 4);
      assert.equal(recs[0]!.key!.toString(), 'k1');
      assert.equal(recs[0]!.value!.toString(), 'v1');
      assert.equal(recs[0]!.timestamp, 1_700_000_000_000);
      assert.deepEqual(recs[0]!.headers.map((h) => [h.key, h.value]), [['h1', Buffer.from('a')], ['h2', Buffer.from([0, 1, 2])]]);
      assert.equal(recs[1]!.key, null);
      assert.deepEqual(recs[2]!.key, Buffer.alloc(0));
      assert.equal(recs[2]!.value, null);
      assert.deepEqual(recs[2]!.headers.map((h) => [h.key, h.value]), [['dup', Buffer.from('x')], ['dup', null]]);
      assert.equal(recs[3]!.value!.toString(), 'v3');
    } finally {
      await producer.close();
    }
  });

  test('records sent within the linger time share one batch; batchSizeBytes splits batches', async () => {
    await admin.createTopics([{ topic: 'p-batching', numPartitions: 1 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 50, batchSizeBytes: 4096 });
    try {
      // 20 separate send() calls of 100 B: one batch (linger), well under the batch size.
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send('p-batching', { value: Buffer.alloc(100, i) })));
      let batches = await storedBatches(broker.port, 'p-batching', 0);
      assert.equal(batches.length, 1);
      assert.equal(readBatchHeader(batches[0]!).recordCount, 20);
      // 40 records of 1000 B with a 4 KiB batch size: several batches, none above ~4 KiB of records.
      await producer.send('p-batching', Array.from({ length: 40 }, () => ({ value: Buffer.alloc(1000) })));
      batches = (await storedBatches(broker.port, 'p-batching', 0)).slice(1);
      assert.ok(batches.length >= 10, `expected ≥ 10 batches, got ${batches.length}`);
      for (const b of batches) assert.ok(readBatchHeader(b).recordCount <= 4, 'a batch holds at most 4 records of 1000 B');
      assert.equal(batches.reduce((n, b) => n + readBatchHeader(b).recordCount, 0), 40);
    } finally {
      await producer.close();
    }
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`compression ${codec}: the stored batch uses the codec and the records round-trip`, async () => {
      const topic = `p-codec-${codec}`;
      await admin.createTopics([{ topic, numPartitions: 1 }]);
      const producer = new Producer({ bootstrap: broker.bootstrap, compression: codec });
      try {
        const values = Array.from({ length: 200 }, (_, i) => `${codec} record ${i} `.repeat(10 + (i % 7)));
        const res = await producer.send(topic, values.map((v, i) => ({ key: `k${i}`, value: v, headers: { i: String(i) } })));
        assert.deepEqual(res.map((r) => r.offset), values.map((_, i) => i));
        const batches = await storedBatches(broker.port, topic, 0);
        const ids = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
        for (const b of batches) assert.equal(readBatchHeader(b).compression, ids[codec]);
        const recs = await fetchAll(broker.port, topic, 0);
        assert.deepEqual(recs.map((r) => r.value!.toString()), values);
        assert.deepEqual(recs.map((r) => r.key!.toString()), values.map((_, i) => `k${i}`));
        assert.deepEqual(recs.map((r) => r.headers[0]!.value!.toString()), values.map((_, i) => String(i)));
      } finally {
        await producer.close();
      }
    });
  }

  for (const [topicCodec, producerCodec, id] of [['gzip', 'none', 1], ['uncompressed', 'zstd', 0], ['lz4', 'snappy', 3]] as const) {
    test(`topic compression.type=${topicCodec}: a ${producerCodec} batch is stored as ${topicCodec}, records, offsets and sequences kept`, async () => {
      const topic = `p-topic-codec-${topicCodec}`;
      await admin.createTopics([{ topic, numPartitions: 1, configs: { 'compression.type': topicCodec } }]);
      const producer = new Producer({ bootstrap: broker.bootstrap, compression: producerCodec });
      try {
        const values = Array.from({ length: 300 }, (_, i) => `record ${i} `.repeat(5 + (i % 9)));
        const first = await producer.send(topic, values.slice(0, 150).map((v, i) => ({ key: `k${i}`, value: v, headers: { i: String(i) } })));
        const second = await producer.send(topic, values.slice(150).map((v, i) => ({ key: `k${150 + i}`, value: v, headers: { i: String(150 + i) } })));
        assert.deepEqual([...first, ...second].map((r) => r.offset), values.map((_, i) => i));
        const batches = await storedBatches(broker.port, topic, 0);
        for (const b of batches) {
          const h = readBatchHeader(b);
          assert.equal(h.compression, id);
          assert.ok(h.producerId >= 0, 'the producer id is kept');
        }
        const recs = await fetchAll(broker.port, topic, 0);
        assert.deepEqual(recs.map((r) => r.value!.toString()), values);
        assert.deepEqual(recs.map((r) => r.key!.toString()), values.map((_, i) => `k${i}`));
        assert.deepEqual(recs.map((r) => r.headers[0]!.value!.toString()), values.map((_, i) => String(i)));
      } finally {
        await producer.close();
      }
    });
  }

  test('acks 0, 1 and all: all records arrive; acks=0 reports offset -1', async () => {
    await admin.createTopics([{ topic: 'p-acks', numPartitions: 1 }]);
    for (const acks of [0, 1, 'all'] as const) {
      const producer = new Producer({ bootstrap: broker.bootstrap, acks });
      const res = await producer.send('p-acks', Array.from({ length: 10 }, (_, i) => ({ value: `${acks}-${i}` })));
      if (acks === 0) assert.ok(res.every((r) => r.offset === -1));
      else assert.ok(res.every((r) => r.offset >= 0));
      await producer.close();
    }
    await until(async () => (await fetchAll(broker.port, 'p-acks', 0)).length === 30, 5000, '30 records');
    const values = (await fetchAll(broker.port, 'p-acks', 0)).map((r) => r.value!.toString());
    for (const acks of [0, 1, 'all']) for (let i = 0; i < 10; i++) assert.ok(values.includes(`${acks}-${i}`));
    assert.throws(() => new Producer({ bootstrap: broker.bootstrap, acks: 1, idempotent: true }), ConfigError);
  });

  test('keyed records land on toPositive(murmur2(key)) % partitions, as the Java client puts them', async () => {
    await admin.createTopics([{ topic: 'p-keys', numPartitions: 7 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap });
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `user-${i * 7919}`);
      const res = await producer.send('p-keys', keys.map((key) => ({ key, value: key })));
      res.forEach((r, i) => assert.equal(r.partition, partitionForKey(Buffer.from(keys[i]!), 7), keys[i]));
      for (let p = 0; p < 7; p++) {
        for (const r of await fetchAll(broker.port, 'p-keys', p)) assert.equal(partitionForKey(r.key!, 7), p);
      }
    } finally {
      await producer.close();
    }
  });

  test('unkeyed records stick to one partition until a batch is full', async () => {
    await admin.createTopics([{ topic: 'p-sticky', numPartitions: 4 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap, batchSizeBytes: 10_000 });
    try {
      const small = await producer.send('p-sticky', Array.from({ length: 20 }, () => ({ value: Buffer.alloc(100) })));
      assert.equal(new Set(small.map((r) => r.partition)).size, 1, 'one partition for records that fit one batch');
      const many = await producer.send('p-sticky', Array.from({ length: 400 }, () => ({ value: Buffer.alloc(500) })));
      const counts = new Map<number, number>();
      for (const r of many) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1);
      assert.ok(counts.size >= 2, 'the sticky partition changes after a batch');
      // Runs of the same partition are long (whole batches), not alternating record by record.
      let switches = 0;
      for (let i = 1; i < many.length; i++) if (many[i]!.partition !== many[i - 1]!.partition) switches++;
      assert.ok(switches <= 400 / 15, `${switches} switches`);
    } finally {
      await producer.close();
    }
  });

  test('flush() sends lingering records at once; close() is clean and refuses later sends', async () => {
    await admin.createTopics([{ topic: 'p-flush', numPartitions: 1 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 60_000 });
    const pending = producer.send('p-flush', { value: 'lingering' });
    let done = false;
    void pending.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(done, false, 'held by linger');
    await producer.flush();
    assert.equal(done, true);
    assert.equal((await pending).offset, 0);
    const late = producer.send('p-flush', { value: 'sent before close' });
    await producer.close();
    assert.equal((await late).offset, 1, 'close() flushes first');
    await assert.rejects(producer.send('p-flush', { value: 'x' }), ClientClosedError);
  });

  test('a missing topic is retried with metadata refreshes until it exists', async () => {
    const b = await testBroker({ autoCreateTopicsEnable: false });
    const a = new Admin({ bootstrap: b.bootstrap });
    const producer = new Producer({ bootstrap: b.bootstrap, retryBackoffMs: 20, retryBackoffMaxMs: 50 });
    try {
      const pending = producer.send('p-late-topic', { value: 'waits for the topic' });
      await new Promise((r) => setTimeout(r, 150));
      await a.createTopics([{ topic: 'p-late-topic', numPartitions: 2 }]);
      const r = await pending;
      assert.ok(r.offset === 0);
    } finally {
      await producer.close();
      await a.close();
      await b.close();
    }
  });

  test('a Produce error on a deleted topic refreshes metadata and retries until the topic is back', async () => {
    const b = await testBroker({ autoCreateTopicsEnable: false });
    const a = new Admin({ bootstrap: b.bootstrap });
    const producer = new Producer({ bootstrap: b.bootstrap, retryBackoffMs: 20, retryBackoffMaxMs: 50 });
    try {
      await a.createTopics([{ topic: 'p-recreated', numPartitions: 1 }]);
      assert.equal((await producer.send('p-recreated', { value: 'first life' })).offset, 0);
      await a.deleteTopics(['p-recreated']);
      // The producer's metadata still names the topic: the broker answers UNKNOWN_TOPIC_OR_PARTITION.
      const pending = producer.send('p-recreated', { value: 'second life' });
      await new Promise((r) => setTimeout(r, 150));
      await a.createTopics([{ topic: 'p-recreated', numPartitions: 1 }]);
      const r = await pending;
      assert.equal(r.offset, 0, 'written to the new topic');
      assert.deepEqual((await fetchAll(b.port, 'p-recreated', 0)).map((x) => x.value!.toString()), ['second life']);
    } finally {
      await producer.close();
      await a.close();
      await b.close();
    }
  });

  test('record and buffer limits are errors, not hangs', async () => {
    const producer = new Producer({ bootstrap: broker.bootstrap, maxRequestBytes: 10_000 });
    try {
      await assert.rejects(producer.send('p-limits', { value: Buffer.alloc(20_000) }), RecordTooLargeError);
      // A record the batch encoder cannot write fails its own send() before it takes buffer memory,
      // and the producer goes on working.
      await assert.rejects(producer.send('p-limits', { value: 'x', timestamp: 2 ** 53 }), RangeError);
      await assert.rejects(producer.send('p-limits', { value: 'x', headers: [{ key: 7 as unknown as string, value: null }] }), TypeError);
      assert.equal(producer.bufferedBytesNow, 0, 'nothing of the refused records is held');
      assert.equal((await producer.send('p-limits', { value: 'fine' })).offset, 0);
    } finally {
      await producer.close();
    }
  });
});

describe('client producer through a proxy', () => {
  let proxy: TestProxy;
  let broker: RunningBroker;
  before(async () => {
    proxy = await TestProxy.start();
    broker = await testBroker({ advertisedPort: proxy.port });
    proxy.target = { host: '127.0.0.1', port: broker.port };
  });
  after(async () => {
    await proxy.close();
    await broker.close();
  });

  test('idempotent retries after lost answers write each record once', async () => {
    const admin = new Admin({ bootstrap: `127.0.0.1:${proxy.port}` });
    await admin.createTopics([{ topic: 'p-idem', numPartitions: 1 }]);
    await admin.close();
    const producer = new Producer({ bootstrap: `127.0.0.1:${proxy.port}`, retryBackoffMs: 10, lingerMs: 0 });
    try {
      await producer.connect();
      const before = producer.producerIdentity;
      assert.ok(before.producerId >= 0);
      // The broker appends each of these, but its answers never reach the producer: it must retry,
      // and the broker must recognise the retries as duplicates.
      const results = [];
      for (let i = 0; i < 5; i++) {
        proxy.dropNextResponses = 1;
        results.push(await producer.send('p-idem', [{ value: `r${i}a` }, { value: `r${i}b` }]));
      }
      assert.deepEqual(results.flat().map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const recs = await fetchAll(broker.port, 'p-idem', 0);
      assert.deepEqual(recs.map((r) => r.value!.toString()), [0, 1, 2, 3, 4].flatMap((i) => [`r${i}a`, `r${i}b`]));
      assert.deepEqual(producer.producerIdentity, before, 'same producer id: the retries were plain retries');
      // Many batches in flight while connections are cut: still exactly once, in order.
      const pending = Array.from({ length: 50 }, (_, i) => producer.send('p-idem', { value: `m${i}` }));
      await new Promise((r) => setTimeout(r, 1));
      proxy.cutAll();
      await Promise.all(pending);
      const all = (await fetchAll(broker.port, 'p-idem', 0)).map((r) => r.value!.toString()).slice(10);
      assert.deepEqual(all, Array.from({ length: 50 }, (_, i) => `m${i}`));
    } finally {
      await producer.close();
    }
  });

  test('at most maxInFlightPerPartition Produce requests are in flight for a partition', async () => {
    const bootstrap = `127.0.0.1:${proxy.port}`;
    const producer = new Producer({ bootstrap, maxInFlightPerPartition: 2, batchSizeBytes: 100 });
    try {
      await producer.send('p-inflight', { value: 'warm-up' });
      proxy.holdResponses = true;
      const before = proxy.requestsByApi.get(0) ?? 0;
      // Each 200-byte record fills a batch on its own. The first goes out alone; the next ones are
      // created while it is unanswered, and one of them must still go out (pipelining), but no more.
      const sends = [producer.send('p-inflight', { value: Buffer.alloc(200, 0) })];
      await until(() => (proxy.requestsByApi.get(0) ?? 0) - before >= 1, 5000, 'the first Produce request');
      for (let i = 1; i < 10; i++) sends.push(producer.send('p-inflight', { value: Buffer.alloc(200, i) }));
      await until(() => (proxy.requestsByApi.get(0) ?? 0) - before >= 2, 5000, 'a second Produce request in flight');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((proxy.requestsByApi.get(0) ?? 0) - before, 2, 'no third request while two are unanswered');
      proxy.release();
      const res = await Promise.all(sends);
      assert.deepEqual(res.map((r) => r.offset), Array.from({ length: 10 }, (_, i) => i + 1));
    } finally {
      proxy.release();
      await producer.close();
    }
  });

  test('a broker that never answers: retries end in DeliveryTimeoutError after deliveryTimeoutMs', async () => {
    const bootstrap = `127.0.0.1:${proxy.port}`;
    const producer = new Producer({ bootstrap, requestTimeoutMs: 100, deliveryTimeoutMs: 600, retryBackoffMs: 20 });
    try {
      await producer.send('p-timeout', { value: 'warm-up' });
      proxy.holdResponses = true;
      const started = Date.now();
      await assert.rejects(producer.send('p-timeout', { value: 'never acknowledged' }), (e: unknown) => e instanceof DeliveryTimeoutError && e.code === 'RAFKA_DELIVERY_TIMEOUT' && !e.retriable);
      const took = Date.now() - started;
      assert.ok(took >= 300 && took < 3000, `gave up after ${took} ms`);
      assert.equal(producer.bufferedBytesNow, 0, 'the failed records released their memory');
    } finally {
      proxy.release();
      await producer.close();
    }
  });

  test('backpressure: send() waits while the buffer is full; memory stays within bufferMemoryBytes', async () => {
    const bootstrap = `127.0.0.1:${proxy.port}`;
    const admin = new Admin({ bootstrap });
    await admin.createTopics([{ topic: 'p-bp', numPartitions: 1 }]);
    await admin.close();
    const limit = 64 * 1024;
    const producer = new Producer({ bootstrap, bufferMemoryBytes: limit, batchSizeBytes: 16 * 1024, lingerMs: 1 });
    try {
      await producer.send('p-bp', { value: 'warm-up: metadata and producer id' });
      proxy.holdResponses = true;
      const resolved: number[] = [];
      const sends = Array.from({ length: 40 }, (_, i) => producer.send('p-bp', { value: Buffer.alloc(4096, i) }).then((r) => (resolved.push(i), r)));
      await until(() => producer.bufferedBytesNow > limit / 2, 5000, 'the buffer to fill');
      let peak = 0;
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, producer.bufferedBytesNow);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(peak <= limit, `buffered ${peak} > ${limit}`);
      assert.equal(resolved.length, 0, 'nothing is acknowledged while answers are held');
      proxy.release();
      const res = await Promise.all(sends);
      assert.deepEqual(res.map((r) => r.offset), Array.from({ length: 40 }, (_, i) => i + 1), 'order kept across the wait');
      assert.equal(producer.bufferedBytesNow, 0);
      // With maxBlockMs, a send that cannot get memory in time fails with BufferFullError.
      const quick = new Producer({ bootstrap, bufferMemoryBytes: 8192, maxBlockMs: 100, lingerMs: 1 });
      await quick.send('p-bp', { value: 'warm-up' });
      proxy.holdResponses = true;
      const held = quick.send('p-bp', { value: Buffer.alloc(6000) });
      await assert.rejects(quick.send('p-bp', { value: Buffer.alloc(6000) }), BufferFullError);
      proxy.release();
      await held;
      await quick.close();
    } finally {
      proxy.release();
      await producer.close();
    }
  });
});

test('client producer: a broker restart loses no record and duplicates none', async () => {
  const engine = new MemoryEngine();
  let broker = await testBroker({ storage: engine });
  const port = broker.port;
  const producer = new Producer({ bootstrap: broker.bootstrap, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
  try {
    const a = await producer.send('p-restart', Array.from({ length: 10 }, (_, i) => ({ value: `before-${i}` })));
    await broker.close();
    // Sends while the broker is down wait and retry; they land once it is back.
    const during = producer.send('p-restart', Array.from({ length: 10 }, (_, i) => ({ value: `during-${i}` })));
    await new Promise((r) => setTimeout(r, 200));
    broker = await testBroker({ storage: engine, port });
    const b = await during;
    const c = await producer.send('p-restart', { value: 'after' });
    assert.deepEqual(a.map((r) => r.offset), Array.from({ length: 10 }, (_, i) => i));
    assert.deepEqual(b.map((r) => r.offset), Array.from({ length: 10 }, (_, i) => 10 + i));
    assert.equal(c.offset, 20);
    const values = (await fetchAll(port, 'p-restart', 0)).map((r) => r.value!.toString());
    assert.deepEqual(values, [...Array.from({ length: 10 }, (_, i) => `before-${i}`), ...Array.from({ length: 10 }, (_, i) => `during-${i}`), 'after']);
  } finally {
    await producer.close();
    await broker.close();
  }
});
