/**
 * Hooks on a live broker, driven by real clients where it matters (kafkajs; kcat, i.e. librdkafka,
 * when installed) and by the raw wire client where exact versions and fields matter:
 *
 * - beforeProduce: schema-invalid records refused with the error kafkajs surfaces and Produce v9's
 *   message and record errors, while valid partitions of the same request are written;
 *   stamped headers seen by consumers; idempotent producers through a record-dropping hook;
 *   compressed batches (gzip, snappy, lz4, zstd) through a transforming hook, valid for librdkafka
 *   and kafkajs.
 * - A throwing hook and a slow hook (timeout) in one request: defined error codes, log lines, the
 *   other partition written, the broker still serving.
 * - afterFetch redaction seen by kcat while the stored log is intact; beforeFetch refusal.
 * - afterProduce offsets; onConnection; onRequest refusing an admin API; onTopicCreate /
 *   onTopicDelete policies; rate-limit throttle times and the muted connection; the audit file.
 * - Hooks loaded from config (examples/hooks/rafka.yaml: module paths, exports, options, regex
 *   topics) and their order.
 * - onRequest refusing every served API (the list is the generated handler table's) at every served
 *   version: the client gets a decodable response with the error code where that version has it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { testBroker } from './helpers/broker.js';
import { fetchAll } from './helpers/fetch-all.js';
import { RawClient } from './helpers/raw-client.js';
import { findKcat, run, useClient } from './helpers/external.js';
import type { RunningBroker } from '../src/broker/index.js';
import { createLogger, type Logger } from '../src/broker/logger.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { encodeBatch, decodeBatches } from '../src/protocol/records/record.js';
import { Compression } from '../src/protocol/records/compression.js';
import { verifyBatchCrc, readBatchHeader } from '../src/protocol/records/batch.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { loadConfig } from '../src/config/load.js';
import { jsonSchemaHook, stampHeadersHook, redactHook, auditLogHook, rateLimitHook } from '../src/hooks/builtin/index.js';
import type { Hook } from '../src/hooks/types.js';
import { HANDLER_TABLE } from '../src/broker/api/table.js';
import { API_SPECS } from '../src/protocol/messages/index.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const kcat = findKcat();
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A logger that keeps its lines (and prints them when RAFKA_TEST_LOG is set). */
function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const echo = process.env.RAFKA_TEST_LOG ? createLogger(process.env.RAFKA_TEST_LOG as 'debug') : null;
  const at = (lvl: 'error' | 'warn' | 'info' | 'debug') => (m: string) => {
    lines.push(`${lvl.toUpperCase()} ${m}`);
    echo?.[lvl](m);
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

function kafkaFor(b: RunningBroker, clientId = 'hooks-test') {
  return new Kafka({ brokers: [b.bootstrap], clientId, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

async function createTopic(port: number, name: string, partitions = 1, configs: { name: string; value: string }[] = []): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, configs }] });
    return res.topics[0]!.errorCode;
  } finally {
    c.close();
  }
}

/** One Produce v9 request with one batch per listed partition. */
async function produceRaw(port: number, topic: string, parts: { partition: number; batch: Buffer }[], clientId = 'raw-producer') {
  const c = await RawClient.connect(port);
  try {
    c.write(c.frame(ApiKey.Produce, 9, ProduceRequest, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: parts.map((p) => ({ index: p.partition, records: p.batch })) }] }, 1, clientId));
    const frame = await c.readFrame(10_000);
    const { decodeResponse } = await import('./helpers/raw-client.js');
    return decodeResponse(frame!, ApiKey.Produce, 9, ProduceResponse).responses[0]!.partitionResponses;
  } finally {
    c.close();
  }
}

async function kcatConsume(b: RunningBroker, topic: string, partition: number): Promise<{ offset: number; key: string | null; payload: string | null; headers?: (string | null)[] }[]> {
  const r = await run(kcat.command, ['-C', '-b', b.bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-J', '-q', '-m', '10'], { timeoutMs: 20_000 });
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Consume `count` records of `topic` with a kafkajs consumer group from the beginning: [offset, value] pairs. */
async function kafkajsConsume(b: RunningBroker, topic: string, count: number): Promise<[number, string][]> {
  const consumer = kafkaFor(b, 'kafkajs-consumer').consumer({ groupId: `g-${topic}-${Date.now()}`, retry: { retries: 3 } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got: [number, string][] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push([Number(message.offset), message.value?.toString() ?? '']);
            if (got.length === count) resolve();
          },
        })
        .catch(reject);
    });
    return got;
  } finally {
    await consumer.disconnect();
  }
}

const ORDER_SCHEMA = { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, card: { type: 'object' } } };

describe('beforeProduce', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({
      groupInitialRebalanceDelayMs: 0,
      hooks: [
        { ...(await jsonSchemaHook({ schema: ORDER_SCHEMA }, { baseDir: '.', log: capture() })), topics: ['typed'] },
        { ...(await stampHeadersHook({ static: { origin: 'rafka' } }, { baseDir: '.', log: capture() })), topics: '/stamped.*/' },
      ],
    });
    assert.equal(await createTopic(b.port, 'typed', 2), 0);
    assert.equal(await createTopic(b.port, 'stamped', 1), 0);
    assert.equal(await createTopic(b.port, 'stamped-gz', 1), 0);
  });
  after(() => b.close());

  test('kafkajs: a schema-invalid record is refused with INVALID_RECORD; the valid partition of the same request is written', async () => {
    const producer = kafkaFor(b).producer();
    await producer.connect();
    try {
      const err = await producer
        .sendBatch({
          acks: -1,
          topicMessages: [
            {
              topic: 'typed',
              messages: [
                { partition: 0, value: JSON.stringify({ id: 1 }) },
                { partition: 1, value: JSON.stringify({ id: 'not a number' }) },
              ],
            },
          ],
        })
        .then(
          () => null,
          (e: Error & { type?: string }) => e,
        );
      assert.ok(err, 'the send must fail');
      assert.equal(err.type, 'INVALID_RECORD');
      assert.equal(err.message, 'This record has failed the validation on broker and hence be rejected');
    } finally {
      await producer.disconnect();
    }
    const p0 = await fetchAll(b.port, 'typed', 0);
    const p1 = await fetchAll(b.port, 'typed', 1);
    assert.deepEqual(p0.map((r) => r.value!.toString()), ['{"id":1}']);
    assert.equal(p1.length, 0);
  });

  test('Produce v9: error_message and record_errors name the bad records', async () => {
    const bad = await encodeBatch({ records: [{ value: Buffer.from('{"id":2}') }, { value: Buffer.from('{"id":"x"}') }, { value: Buffer.from('{oops') }] });
    const good = await encodeBatch({ records: [{ value: Buffer.from('{"id":3}') }] });
    const [r0, r1] = await produceRaw(b.port, 'typed', [
      { partition: 0, batch: good },
      { partition: 1, batch: bad },
    ]);
    assert.equal(r0!.errorCode, ErrorCode.NONE);
    assert.equal(r1!.errorCode, ErrorCode.INVALID_RECORD);
    assert.equal(r1!.errorMessage, '2 of 3 record(s) fail the JSON Schema of topic typed; record 1: value/id must be integer');
    assert.deepEqual(
      r1!.recordErrors.map((e) => e.batchIndex),
      [1, 2],
    );
    assert.match(r1!.recordErrors[1]!.batchIndexErrorMessage!, /^value is not JSON/);
  });

  test('stamped headers are seen by kafkajs and kcat consumers; gzip stays gzip; batches stay valid', async (t) => {
    const producer = kafkaFor(b, 'stamping-client').producer();
    await producer.connect();
    await producer.send({ topic: 'stamped', messages: [{ key: 'k1', value: 'v1', headers: { 'rafka.client.id': 'spoofed', own: 'x' } }, { key: 'k2', value: 'v2' }] });
    await producer.send({ topic: 'stamped-gz', compression: CompressionTypes.GZIP, messages: [{ key: 'g', value: 'zipped' }] });
    await producer.disconnect();

    const stored = await b.broker.storage.read('stamped-gz', 0, 0, 1 << 20, true);
    assert.equal(readBatchHeader(stored.batches[0]!).compression, Compression.gzip, 'the stored batch keeps the producer\'s compression');
    assert.ok(stored.batches.every((x) => verifyBatchCrc(x)));

    const kafka = kafkaFor(b, 'stamp-consumer');
    const consumer = kafka.consumer({ groupId: `stamp-${Date.now()}`, retry: { retries: 3 } });
    await consumer.connect();
    await consumer.subscribe({ topics: ['stamped', 'stamped-gz'], fromBeginning: true });
    const got: { topic: string; offset: string; headers: Record<string, string> }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ topic, message }) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
            got.push({ topic, offset: message.offset, headers });
            if (got.length === 3) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    const s = got.filter((g) => g.topic === 'stamped').sort((x, y) => Number(x.offset) - Number(y.offset));
    assert.deepEqual(s.map((g) => g.offset), ['0', '1']);
    assert.equal(s[0]!.headers['rafka.client.id'], 'stamping-client', 'a header sent by the producer under the stamped name is replaced');
    assert.equal(s[0]!.headers['own'], 'x');
    assert.equal(s[0]!.headers['origin'], 'rafka');
    assert.ok(Math.abs(Number(s[0]!.headers['rafka.received.ms']) - Date.now()) < 60_000);
    assert.equal(got.find((g) => g.topic === 'stamped-gz')!.headers['rafka.client.id'], 'stamping-client');

    if (!useClient(t, kcat)) return;
    const msgs = await kcatConsume(b, 'stamped', 0);
    assert.deepEqual(msgs.map((m) => m.offset), [0, 1]);
    const h = msgs[1]!.headers!;
    assert.equal(h[h.indexOf('rafka.client.id') + 1], 'stamping-client');
  });

  test('snappy, lz4 and zstd batches round-trip through a transforming hook (librdkafka reads them)', async (t) => {
    for (const [name, codec] of [['snappy', Compression.snappy], ['lz4', Compression.lz4], ['zstd', Compression.zstd]] as const) {
      const topic = `stamped-${name}`;
      assert.equal(await createTopic(b.port, topic), 0);
      const batch = await encodeBatch({ records: [{ key: Buffer.from('a'), value: Buffer.from(`${name} one`) }, { value: Buffer.from(`${name} two`) }], compression: codec });
      const [r] = await produceRaw(b.port, topic, [{ partition: 0, batch }]);
      assert.equal(r!.errorCode, 0);
      const stored = await b.broker.storage.read(topic, 0, 0, 1 << 20, true);
      assert.equal(readBatchHeader(stored.batches[0]!).compression, codec);
      const records = await fetchAll(b.port, topic, 0); // decodeBatches checks the CRC
      assert.deepEqual(records.map((x) => [x.offset, x.value!.toString(), x.headers.find((hh) => hh.key === 'rafka.client.id')?.value?.toString()]), [
        [0, `${name} one`, 'raw-producer'],
        [1, `${name} two`, 'raw-producer'],
      ]);
    }
    if (!useClient(t, kcat)) return;
    for (const name of ['snappy', 'lz4', 'zstd']) {
      const msgs = await kcatConsume(b, `stamped-${name}`, 0);
      assert.deepEqual(msgs.map((m) => [m.offset, m.payload]), [[0, `${name} one`], [1, `${name} two`]]);
      assert.ok(msgs[0]!.headers!.includes('rafka.received.ms'));
    }
  });
});

describe('idempotent producers through a record-dropping hook', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({
      groupInitialRebalanceDelayMs: 0,
      hooks: [
        {
          name: 'drop-marked',
          async beforeProduce({ batch }) {
            for (const r of await batch.records()) if (r.valueText()?.startsWith('drop')) r.drop();
          },
        },
      ],
    });
    assert.equal(await createTopic(b.port, 'idem'), 0);
  });
  after(() => b.close());

  test('sequence numbers stay consistent (no OUT_OF_ORDER), dropped offsets are gaps consumers skip', async (t) => {
    const producer = new Kafka({ brokers: [b.bootstrap], clientId: 'idem', logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const r1 = await producer.send({ topic: 'idem', acks: -1, messages: [{ value: 'keep-0' }, { value: 'drop-1' }, { value: 'keep-2' }, { value: 'drop-3' }] });
    const r2 = await producer.send({ topic: 'idem', acks: -1, messages: [{ value: 'drop-4' }, { value: 'drop-5' }] });
    const r3 = await producer.send({ topic: 'idem', acks: -1, messages: [{ value: 'keep-6' }] });
    await producer.disconnect();
    assert.deepEqual([r1[0]!.baseOffset, r2[0]!.baseOffset, r3[0]!.baseOffset], ['0', '4', '6']);
    const records = await fetchAll(b.port, 'idem', 0);
    assert.deepEqual(records.map((r) => [r.offset, r.value!.toString()]), [[0, 'keep-0'], [2, 'keep-2'], [6, 'keep-6']]);
    // kafkajs crosses the trailing gap (offset 3) and the emptied batch (offsets 4-5).
    assert.deepEqual(await kafkajsConsume(b, 'idem', 3), [[0, 'keep-0'], [2, 'keep-2'], [6, 'keep-6']]);
    if (!useClient(t, kcat)) return;
    const msgs = await kcatConsume(b, 'idem', 0);
    assert.deepEqual(msgs.map((m) => [m.offset, m.payload]), [[0, 'keep-0'], [2, 'keep-2'], [6, 'keep-6']]);
  });
});

describe('a hook that throws and a hook that times out', () => {
  let b: RunningBroker;
  const log = capture();
  before(async () => {
    b = await testBroker({
      logger: log,
      hookTimeoutMs: 100,
      hooks: [
        {
          name: 'faulty',
          topics: 'faults',
          beforeProduce({ partition }) {
            if (partition === 1) throw new Error('bug in hook');
            if (partition === 2) return new Promise<void>(() => {}); // never settles
          },
        },
      ],
    });
    assert.equal(await createTopic(b.port, 'faults', 3), 0);
  });
  after(() => b.close());

  test('each failing partition gets its defined error; the healthy one is written; the broker keeps serving', async () => {
    const batch = (v: string) => encodeBatch({ records: [{ value: Buffer.from(v) }] });
    const res = await produceRaw(b.port, 'faults', [
      { partition: 0, batch: await batch('fine') },
      { partition: 1, batch: await batch('thrown') },
      { partition: 2, batch: await batch('slow') },
    ]);
    assert.deepEqual(
      res.map((r) => [r.index, r.errorCode, r.errorMessage]),
      [
        [0, ErrorCode.NONE, null],
        [1, ErrorCode.UNKNOWN_SERVER_ERROR, 'hook "faulty" (beforeProduce) failed: bug in hook'],
        [2, ErrorCode.REQUEST_TIMED_OUT, 'hook "faulty" (beforeProduce) did not finish within hook.timeout.ms=100'],
      ],
    );
    assert.deepEqual((await fetchAll(b.port, 'faults', 0)).map((r) => r.value!.toString()), ['fine']);
    assert.equal((await fetchAll(b.port, 'faults', 1)).length, 0);
    assert.equal((await fetchAll(b.port, 'faults', 2)).length, 0);
    assert.equal(log.lines.filter((l) => l.startsWith('ERROR hook "faulty" (beforeProduce) failed: bug in hook (faults-1 from 127.0.0.1:')).length, 1);
    assert.equal(log.lines.filter((l) => l.startsWith('WARN hook "faulty" (beforeProduce) did not finish within hook.timeout.ms=100 (faults-2')).length, 1);
    const again = await produceRaw(b.port, 'faults', [{ partition: 0, batch: await batch('still up') }]);
    assert.equal(again[0]!.errorCode, 0);
    assert.equal(again[0]!.baseOffset, 1n);
  });
});

describe('fetch hooks', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({
      groupInitialRebalanceDelayMs: 0,
      hooks: [
        { ...(await redactHook({ fields: ['card.number', 'ssn'] }, { baseDir: '.', log: capture() })), topics: ['payments'] } as Hook,
        { name: 'deny-secret', topics: 'secret', beforeFetch: () => ({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }) },
      ],
    });
    assert.equal(await createTopic(b.port, 'payments'), 0);
    assert.equal(await createTopic(b.port, 'secret'), 0);
  });
  after(() => b.close());

  const original = [
    { id: 1, card: { number: '4111111111111111', holder: 'A' }, ssn: '123-45-6789' },
    { id: 2, note: 'no secrets' },
  ];

  test('consumers see redacted fields at the same offsets; the stored log is unchanged', async (t) => {
    const producer = kafkaFor(b).producer();
    await producer.connect();
    await producer.send({ topic: 'payments', compression: CompressionTypes.GZIP, messages: original.map((o) => ({ value: JSON.stringify(o) })) });
    await producer.send({ topic: 'payments', messages: [{ value: 'not json' }] });
    await producer.disconnect();

    const fetched = await fetchAll(b.port, 'payments', 0);
    assert.deepEqual(fetched.map((r) => r.offset), [0, 1, 2]);
    assert.deepEqual(JSON.parse(fetched[0]!.value!.toString()), { id: 1, card: { number: '***', holder: 'A' }, ssn: '***' });
    assert.equal(fetched[1]!.value!.toString(), JSON.stringify(original[1]));
    assert.equal(fetched[2]!.value!.toString(), 'not json');

    // The log itself, read without any hook: exactly what was produced.
    const stored = await b.broker.storage.read('payments', 0, 0, 1 << 20, true);
    const storedRecords = (await decodeBatches(Buffer.concat(stored.batches))).flatMap((x) => x.records);
    assert.deepEqual(JSON.parse(storedRecords[0]!.value!.toString()), original[0]);
    assert.equal(readBatchHeader(stored.batches[0]!).compression, Compression.gzip);

    // kafkajs decodes the re-encoded (gzip) batch: CRC and offsets valid, the field redacted.
    const viaKafkajs = await kafkajsConsume(b, 'payments', 3);
    assert.deepEqual(viaKafkajs.map(([o]) => o), [0, 1, 2]);
    assert.deepEqual(JSON.parse(viaKafkajs[0]![1]).card, { number: '***', holder: 'A' });

    if (!useClient(t, kcat)) return;
    const msgs = await kcatConsume(b, 'payments', 0);
    assert.deepEqual(msgs.map((m) => m.offset), [0, 1, 2]);
    assert.deepEqual(JSON.parse(msgs[0]!.payload!), { id: 1, card: { number: '***', holder: 'A' }, ssn: '***' });
  });

  test('beforeFetch refuses a partition with the hook\'s error code', async () => {
    const c = await RawClient.connect(b.port);
    try {
      const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [
          { topic: 'secret', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
          { topic: 'payments', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
        ],
      });
      assert.equal(res.responses[0]!.partitions[0]!.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      assert.equal(res.responses[1]!.partitions[0]!.errorCode, ErrorCode.NONE);
    } finally {
      c.close();
    }
  });
});

describe('request, connection, topic and produce observers', () => {
  let b: RunningBroker;
  const events: string[] = [];
  let refuseConnections = false;
  before(async () => {
    b = await testBroker({
      autoCreateTopicsEnable: true,
      hooks: [
        { name: 'gate', onConnection: (c) => (refuseConnections ? { refuse: `no entry for ${c.remoteAddress}` } : undefined) },
        { name: 'no-deletes', apis: ['DeleteTopics'], onRequest: (ctx) => (ctx.clientId === 'admin' ? undefined : { errorCode: ErrorCode.POLICY_VIOLATION, message: 'only admin deletes' }) },
        {
          name: 'policy',
          onTopicCreate(ctx) {
            events.push(`create ${ctx.topic} via ${ctx.origin}`);
            if (ctx.topic.startsWith('tmp')) return { message: 'temporary topics are not allowed' };
            ctx.configs['retention.ms'] = '3600000';
          },
          onTopicDelete(ctx) {
            if (ctx.topic === 'keep') return { errorCode: ErrorCode.POLICY_VIOLATION, message: 'keep is forever' };
          },
        },
        { name: 'observer', afterProduce: (ctx) => void events.push(`produced ${ctx.topic}-${ctx.partition} ${ctx.baseOffset}..${ctx.lastOffset}`) },
        { name: 'first', async beforeProduce({ batch }) { for (const r of await batch.records()) r.setHeader('trace', 'first'); } },
        { name: 'second', async beforeProduce({ batch }) { for (const r of await batch.records()) r.setHeader('trace', `${r.header('trace')?.toString()},second`); } },
      ],
    });
  });
  after(() => b.close());

  test('onTopicCreate adjusts configs (kafkajs sees them) and refuses with POLICY_VIOLATION; auto-creation too', async () => {
    const admin = kafkaFor(b, 'admin').admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'keep' }] }), true);
      const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: 'keep', configNames: ['retention.ms'] }], includeSynonyms: false });
      assert.equal(cfg.resources[0]!.configEntries[0]!.configValue, '3600000');
      const err = await admin.createTopics({ topics: [{ topic: 'tmp-x' }] }).then(() => null, (e: { errors?: { type: string; message: string }[]; message: string }) => e);
      assert.ok(err);
      assert.equal(err.errors?.[0]?.type ?? '', 'POLICY_VIOLATION');
    } finally {
      await admin.disconnect();
    }
    const c = await RawClient.connect(b.port);
    try {
      const md = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 'tmp-auto', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: true });
      assert.equal(md.topics[0]!.errorCode, ErrorCode.POLICY_VIOLATION);
    } finally {
      c.close();
    }
    assert.ok(events.includes('create tmp-auto via auto-create'));
  });

  test('onRequest refuses DeleteTopics for other clients; onTopicDelete protects a topic', async () => {
    const other = kafkaFor(b, 'someone').admin();
    await other.connect();
    const e1 = await other.deleteTopics({ topics: ['keep'] }).then(() => null, (e: { type?: string }) => e);
    await other.disconnect();
    assert.equal(e1?.type, 'POLICY_VIOLATION');
    const admin = kafkaFor(b, 'admin').admin();
    await admin.connect();
    const e2 = await admin.deleteTopics({ topics: ['keep'] }).then(() => null, (e: { type?: string }) => e);
    await admin.disconnect();
    assert.equal(e2?.type, 'POLICY_VIOLATION');
    assert.ok(b.broker.topics.get('keep'), 'the topic is still there');
  });

  test('hooks run in registration order; afterProduce sees the assigned offsets', async () => {
    assert.equal(await createTopic(b.port, 'ordered'), 0);
    const [r] = await produceRaw(b.port, 'ordered', [{ partition: 0, batch: await encodeBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] }) }]);
    assert.equal(r!.errorCode, 0);
    const [r2] = await produceRaw(b.port, 'ordered', [{ partition: 0, batch: await encodeBatch({ records: [{ value: Buffer.from('c') }] }) }]);
    assert.equal(r2!.baseOffset, 2n);
    const recs = await fetchAll(b.port, 'ordered', 0);
    assert.deepEqual(recs.map((x) => x.headers.map((h) => `${h.key}=${h.value}`)), [['trace=first,second'], ['trace=first,second'], ['trace=first,second']]);
    assert.ok(events.includes('produced ordered-0 0..1'));
    assert.ok(events.includes('produced ordered-0 2..2'));
  });

  test('onConnection can close connections before any request is read', async () => {
    refuseConnections = true;
    try {
      const c = await RawClient.connect(b.port);
      assert.equal(await c.waitClosed(3000), true);
    } finally {
      refuseConnections = false;
    }
    const ok = await RawClient.connect(b.port);
    const md = await ok.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [] });
    assert.equal(md.brokers.length, 1);
    ok.close();
  });
});

describe('group hooks', () => {
  let b: RunningBroker;
  const events: string[] = [];
  before(async () => {
    b = await testBroker({
      groupInitialRebalanceDelayMs: 0,
      hooks: [
        {
          name: 'groups',
          onJoin(ctx) {
            events.push(`join ${ctx.groupId} ${ctx.protocolType} [${ctx.protocols.join(',')}] client ${ctx.clientId}`);
            if (ctx.groupId === 'forbidden') return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
          },
          onRebalance: (e) => void events.push(`rebalance ${e.groupId} generation ${e.generationId} leader=${e.leaderId === e.memberIds[0]} members ${e.memberIds.length}`),
          onCommit: (e) => void events.push(`commit ${e.groupId} ${e.offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}:${o.errorCode}`).join(' ')}`),
        },
      ],
    });
    assert.equal(await createTopic(b.port, 'grouped'), 0);
  });
  after(() => b.close());

  test('onJoin, onRebalance and onCommit see a kafkajs consumer group; onJoin can refuse a group', async () => {
    const kafka = kafkaFor(b, 'group-client');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'grouped', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'g1' });
    await consumer.connect();
    await consumer.subscribe({ topics: ['grouped'], fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async () => void (++seen === 2 && resolve()) }).catch(reject);
    });
    await consumer.disconnect(); // commits what it consumed
    assert.ok(events.includes('join g1 consumer [RoundRobinAssigner] client group-client'), events.join('\n'));
    assert.ok(events.some((e) => /^rebalance g1 generation \d+ leader=true members 1$/.test(e)), events.join('\n'));
    assert.ok(events.includes('commit g1 grouped-0@2:0'), events.join('\n'));

    const { JoinGroupRequest, JoinGroupResponse } = await import('../src/protocol/messages/join-group.js');
    const c = await RawClient.connect(b.port);
    try {
      const res = await c.request(ApiKey.JoinGroup, 9, JoinGroupRequest, JoinGroupResponse, {
        groupId: 'forbidden',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      });
      assert.equal(res.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      // The KIP-848 protocol cannot go around it: a ConsumerGroupHeartbeat join is put to onJoin too.
      const { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } = await import('../src/protocol/messages/consumer-group-heartbeat.js');
      const hb = await c.request(ApiKey.ConsumerGroupHeartbeat, 1, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
        groupId: 'forbidden',
        memberId: 'kip848-member',
        memberEpoch: 0,
        rebalanceTimeoutMs: 10_000,
        subscribedTopicNames: ['grouped'],
        topicPartitions: [],
      });
      assert.equal(hb.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      assert.equal(b.broker.groups.consumer.get('forbidden'), undefined);
    } finally {
      c.close();
    }
  });
});

describe('rate-limit', () => {
  let b: RunningBroker;
  before(async () => {
    // 10 kB/s over two 100 ms windows: 3000 bytes at once is 30 kB/s over the 100 ms minimum window.
    b = await testBroker({ hooks: [await rateLimitHook({ bytesPerSecond: 10_000, samples: 2, windowMs: 100 }, { baseDir: '.', log: capture() })] });
    assert.equal(await createTopic(b.port, 'quota'), 0);
  });
  after(() => b.close());

  test('throttle_time_ms as Kafka computes it, and the connection stays muted that long (KIP-219)', async () => {
    const batch = await encodeBatch({ records: [{ value: Buffer.alloc(2900, 1) }] });
    const c = await RawClient.connect(b.port);
    try {
      const frame = (id: number) => c.frame(ApiKey.Produce, 9, ProduceRequest, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'quota', partitionData: [{ index: 0, records: batch }] }] }, id, 'greedy');
      const { decodeResponse } = await import('./helpers/raw-client.js');
      const sentAt = Date.now();
      c.write(frame(1));
      const first = decodeResponse((await c.readFrame())!, ApiKey.Produce, 9, ProduceResponse);
      const rate = (batch.length * 1000) / 100; // bytes per second over the minimum window
      const expected = Math.round(((rate - 10_000) / 10_000) * 100);
      assert.ok(Math.abs(first.throttleTimeMs - expected) <= 5, `throttle ${first.throttleTimeMs} ms, expected about ${expected} ms`);
      assert.equal(first.responses[0]!.partitionResponses[0]!.errorCode, 0, 'a quota slows the client; the data is written');
      c.write(frame(2));
      const second = decodeResponse((await c.readFrame())!, ApiKey.Produce, 9, ProduceResponse);
      assert.ok(Date.now() - sentAt >= first.throttleTimeMs - 1, 'the next request waited for the mute'); // timers may fire 1 ms early by Date.now()
      assert.ok(second.throttleTimeMs > 0);
    } finally {
      c.close();
    }
    const other = await produceRaw(b.port, 'quota', [{ partition: 0, batch: await encodeBatch({ records: [{ value: Buffer.from('x') }] }) }], 'modest');
    assert.equal(other[0]!.errorCode, 0);
  });
});

describe('audit-log', () => {
  test('one JSON line per produce, fetch and admin request, with client, resources and outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rafka-audit-'));
    try {
      const path = join(dir, 'audit.jsonl');
      const b = await testBroker({ hooks: [await auditLogHook({ path }, { baseDir: dir, log: capture() })] });
      try {
        const kafka = kafkaFor(b, 'auditor');
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: 'audited', numPartitions: 1 }] });
        await admin.disconnect();
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic: 'audited', messages: [{ value: 'hello' }] });
        await producer.disconnect();
        await fetchAll(b.port, 'audited', 0);
      } finally {
        await b.close();
      }
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const create = lines.find((l) => l.api === 'CreateTopics');
      assert.ok(create, 'CreateTopics is audited');
      assert.equal(create.clientId, 'auditor');
      assert.deepEqual(create.resources, [{ topic: 'audited', partitions: 1, errorCode: 0 }]);
      const produce = lines.find((l) => l.api === 'Produce');
      assert.equal(produce.clientId, 'auditor');
      assert.equal(produce.errorCode, 0);
      assert.deepEqual(produce.resources.map((r: { topic: string; partition: number; baseOffset: string }) => [r.topic, r.partition, r.baseOffset]), [['audited', 0, '0']]);
      const fetch = lines.find((l) => l.api === 'Fetch');
      assert.equal(fetch.clientId, 'rafka-test');
      assert.equal(fetch.resources[0].topic, 'audited');
      assert.ok(fetch.resources[0].bytes > 0);
      assert.ok(lines.every((l) => typeof l.time === 'string' && typeof l.durationMs === 'number' && /^127\.0\.0\.1:\d+$/.test(l.remote)));
      assert.ok(!lines.some((l) => l.api === 'Metadata' || l.api === 'ApiVersions'), 'only the configured APIs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hooks from configuration', () => {
  test('examples/hooks/rafka.yaml: module paths, exports, options and regex topics, in order', async () => {
    const config = loadConfig({ file: join(REPO, 'examples', 'hooks', 'rafka.yaml'), env: {} });
    const dir = mkdtempSync(join(tmpdir(), 'rafka-cfg-'));
    // The audit file goes to a temporary directory, not the repository's data/.
    const hooks = config.hooks.map((h) => ('builtin' in h && h.builtin === 'audit-log' ? { ...h, options: { path: join(dir, 'audit.jsonl') } } : h));
    assert.deepEqual(config.storage, { ...config.storage, type: 'memory', path: null }, 'the example keeps nothing on disk');
    const b = await testBroker({ ...config, port: 0, host: '127.0.0.1', hooks, logger: capture() });
    try {
      assert.deepEqual(b.broker.hooks.names, ['read-only-clients', 'topic-policy', 'json-schema', 'drop-debug', 'redact', 'stamp-headers', 'audit-log', 'rate-limit']);
      const ops = kafkaFor(b, 'ops-tool').admin();
      await ops.connect();
      const refused = await ops.createTopics({ topics: [{ topic: 'misc' }] }).then(() => null, (e: { errors?: { type: string }[] }) => e);
      assert.equal(refused?.errors?.[0]?.type, 'POLICY_VIOLATION', 'topic-policy refuses names without an allowed prefix');
      await ops.createTopics({ topics: [{ topic: 'orders.eu' }, { topic: 'logs.app' }] });
      await ops.disconnect();
      assert.equal(b.broker.topics.get('orders.eu')!.partitionCount, 2, 'topic-policy raised the partition count');
      assert.equal(b.broker.topics.get('orders.eu')!.configs['retention.ms'], '86400000');

      const someone = kafkaFor(b, 'someone').admin();
      await someone.connect();
      const denied = await someone.createTopics({ topics: [{ topic: 'orders.us' }] }).then(() => null, (e: { errors?: { type: string }[]; type?: string }) => e);
      await someone.disconnect();
      assert.equal(denied?.errors?.[0]?.type ?? denied?.type, 'POLICY_VIOLATION', 'read-only-clients refuses admin APIs to others');

      const ok = await produceRaw(b.port, 'orders.eu', [{ partition: 0, batch: await encodeBatch({ records: [{ value: Buffer.from(JSON.stringify({ id: 1, amount: 5, card: { number: '4111' } })) }] }) }]);
      assert.equal(ok[0]!.errorCode, 0);
      const bad = await produceRaw(b.port, 'orders.eu', [{ partition: 1, batch: await encodeBatch({ records: [{ value: Buffer.from(JSON.stringify({ id: 0, amount: 5 })) }] }) }]);
      assert.equal(bad[0]!.errorCode, ErrorCode.INVALID_RECORD);
      const logs = await produceRaw(b.port, 'logs.app', [
        { partition: 0, batch: await encodeBatch({ records: ['debug', 'info', 'trace', 'error'].map((level) => ({ value: Buffer.from(JSON.stringify({ level })) })) }) },
      ]);
      assert.equal(logs[0]!.errorCode, 0);

      const order = await fetchAll(b.port, 'orders.eu', 0);
      assert.deepEqual(JSON.parse(order[0]!.value!.toString()).card, { number: '***' });
      assert.equal(order[0]!.headers.find((h) => h.key === 'rafka.client.id')!.value!.toString(), 'raw-producer');
      const kept = await fetchAll(b.port, 'logs.app', 0);
      assert.deepEqual(kept.map((r) => JSON.parse(r.value!.toString()).level), ['info', 'error']);
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a config with a broken hook does not start, and says which entry is wrong', async () => {
    await assert.rejects(
      testBroker({ hooks: [{ builtin: 'json-schema', options: {} }] }),
      /hooks\[0\] \(builtin json-schema\): json-schema: options\.schema or options\.schemaFile is required/,
    );
  });
});

describe('onRequest can refuse every served API', () => {
  const ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
  type Res = any;
  const codes = (...lists: unknown[][]): number[] => lists.flat() as number[];
  /**
   * Per API: a request naming one of each thing the API acts on, and where the refusal's error code
   * must be in the response at version v (written from Kafka's getErrorResponse of each request,
   * independently of the handler modules). An API missing here fails the test: a new API's refusal
   * must be stated before it is served.
   */
  const CASES: Record<number, { request: unknown; errors(res: Res, v: number): number[] }> = {
    0: { request: { acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: null }] }] }, errors: (r) => codes(...r.responses.map((t: Res) => t.partitionResponses.map((p: Res) => p.errorCode))) },
    1: {
      request: { maxWaitMs: 0, topics: [{ topic: 't', topicId: ID, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }] },
      errors: (r, v) => codes(v >= 7 ? [r.errorCode] : [], ...r.responses.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))),
    },
    2: { request: { topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] }, errors: (r) => codes(...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))) },
    3: { request: { topics: [{ name: 't', topicId: ID }] }, errors: (r) => r.topics.map((t: Res) => t.errorCode) },
    8: { request: { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] }, errors: (r) => codes(...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))) },
    9: {
      request: { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], groups: [{ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] }] },
      errors: (r, v) =>
        v >= 8 ? r.groups.map((g: Res) => g.errorCode) : codes(v >= 2 ? [r.errorCode] : [], ...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))),
    },
    10: { request: { key: 'g', coordinatorKeys: ['g'] }, errors: (r, v) => (v >= 4 ? r.coordinators.map((c: Res) => c.errorCode) : [r.errorCode]) },
    11: { request: { groupId: 'g', sessionTimeoutMs: 10_000, memberId: 'm', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }, errors: (r) => [r.errorCode] },
    12: { request: { groupId: 'g', generationId: 1, memberId: 'm' }, errors: (r) => [r.errorCode] },
    13: { request: { groupId: 'g', memberId: 'm', members: [{ memberId: 'm' }] }, errors: (r) => [r.errorCode] },
    14: { request: { groupId: 'g', generationId: 1, memberId: 'm', assignments: [] }, errors: (r) => [r.errorCode] },
    15: { request: { groups: ['g'] }, errors: (r) => r.groups.map((g: Res) => g.errorCode) },
    16: { request: {}, errors: (r) => [r.errorCode] },
    17: { request: { mechanism: 'PLAIN' }, errors: (r) => [r.errorCode] },
    18: { request: { clientSoftwareName: 'test', clientSoftwareVersion: '1' }, errors: (r) => [r.errorCode] },
    19: { request: { topics: [{ name: 'refused-topic', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 }, errors: (r) => r.topics.map((t: Res) => t.errorCode) },
    20: { request: { topics: [{ name: 't', topicId: ID }], topicNames: ['t'], timeoutMs: 1000 }, errors: (r) => r.responses.map((t: Res) => t.errorCode) },
    21: { request: { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 }, errors: (r) => codes(...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))) },
    22: { request: { transactionalId: null, transactionTimeoutMs: 1000 }, errors: (r) => [r.errorCode] },
    24: {
      request: { v3AndBelowTransactionalId: 'tx', v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 't', partitions: [0, 1] }] },
      errors: (r) => codes(...r.resultsByTopicV3AndBelow.map((t: Res) => t.resultsByPartition.map((p: Res) => p.partitionErrorCode))),
    },
    25: { request: { transactionalId: 'tx', producerId: 1n, producerEpoch: 0, groupId: 'g' }, errors: (r) => [r.errorCode] },
    26: { request: { transactionalId: 'tx', producerId: 1n, producerEpoch: 0, committed: true }, errors: (r) => [r.errorCode] },
    27: {
      request: { markers: [{ producerId: 1n, producerEpoch: 0, transactionResult: true, topics: [{ name: 't', partitionIndexes: [0] }], coordinatorEpoch: 0 }] },
      errors: (r) => r.markers.flatMap((m: Res) => m.topics.flatMap((t: Res) => t.partitions.map((p: Res) => p.errorCode))),
    },
    28: {
      request: { transactionalId: 'tx', groupId: 'g', producerId: 1n, producerEpoch: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] },
      errors: (r) => codes(...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))),
    },
    29: { request: { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }, errors: (r) => [r.errorCode] },
    30: {
      request: { creations: [{ resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }] },
      errors: (r) => r.results.map((x: Res) => x.errorCode),
    },
    31: {
      request: { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] },
      errors: (r) => r.filterResults.map((x: Res) => x.errorCode),
    },
    32: { request: { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }] }, errors: (r) => r.results.map((x: Res) => x.errorCode) },
    33: { request: { resources: [{ resourceType: 2, resourceName: 't', configs: [] }] }, errors: (r) => r.responses.map((x: Res) => x.errorCode) },
    36: { request: { authBytes: Buffer.alloc(0) }, errors: (r) => [r.errorCode] },
    37: { request: { topics: [{ name: 't', count: 2, assignments: null }], timeoutMs: 1000 }, errors: (r) => r.results.map((x: Res) => x.errorCode) },
    42: { request: { groupsNames: ['g'] }, errors: (r) => r.results.map((x: Res) => x.errorCode) },
    44: { request: { resources: [{ resourceType: 2, resourceName: 't', configs: [] }] }, errors: (r) => r.responses.map((x: Res) => x.errorCode) },
    47: { request: { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] }, errors: (r) => [r.errorCode] },
    48: { request: { components: [], strict: false }, errors: (r) => [r.errorCode] },
    49: { request: { entries: [{ entity: [{ entityType: 'user', entityName: 'u' }], ops: [] }], validateOnly: false }, errors: (r) => r.entries.map((x: Res) => x.errorCode) },
    50: { request: { users: [{ name: 'u' }] }, errors: (r) => [r.errorCode, ...r.results.map((x: Res) => x.errorCode)] },
    51: { request: { deletions: [{ name: 'u', mechanism: 1 }], upsertions: [] }, errors: (r) => r.results.map((x: Res) => x.errorCode) },
    60: { request: {}, errors: (r) => [r.errorCode] },
    61: { request: { topics: [{ name: 't', partitionIndexes: [0, 1] }] }, errors: (r) => codes(...r.topics.map((t: Res) => t.partitions.map((p: Res) => p.errorCode))) },
    65: { request: { transactionalIds: ['tx', 'ty'] }, errors: (r) => r.transactionStates.map((x: Res) => x.errorCode) },
    66: { request: {}, errors: (r) => [r.errorCode] },
    68: { request: { groupId: 'g', memberId: 'm', memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['t'], topicPartitions: [] }, errors: (r) => [r.errorCode] },
    69: { request: { groupIds: ['g', 'h'] }, errors: (r) => r.groups.map((g: Res) => g.errorCode) },
    75: { request: { topics: [{ name: 't' }] }, errors: (r) => r.topics.map((t: Res) => t.errorCode) },
  };
  let b: RunningBroker;
  let handled = 0;
  before(async () => {
    b = await testBroker({ hooks: [{ name: 'refuse-all', onRequest: () => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, message: 'refused' }) }] });
  });
  after(() => b.close());

  for (const entry of HANDLER_TABLE) {
    const spec = API_SPECS.get(entry.apiKey)!;
    test(`${spec.name} (key ${entry.apiKey}) v${entry.minVersion}-${entry.maxVersion}`, async () => {
      const c = CASES[entry.apiKey];
      assert.ok(c, `no refusal case for ${spec.name}: state its request and where its error code goes`);
      const client = await RawClient.connect(b.port);
      try {
        for (let v = entry.minVersion; v <= entry.maxVersion; v++) {
          const res = await client.request(entry.apiKey, v, spec.request, spec.response, c.request as never);
          const found = c.errors(res, v);
          assert.ok(found.length > 0, `${spec.name} v${v}: the response carries the error somewhere`);
          assert.deepEqual(found, found.map(() => ErrorCode.CLUSTER_AUTHORIZATION_FAILED), `${spec.name} v${v}: ${JSON.stringify(found)}`);
          handled++;
        }
      } finally {
        client.close();
      }
    });
  }

  test('the handlers never ran: nothing was created', () => {
    assert.ok(handled > 0);
    assert.equal(b.broker.topics.get('refused-topic'), undefined);
  });
});
