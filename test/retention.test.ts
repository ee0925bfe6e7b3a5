/**
 * Retention and DeleteRecords through the broker, on the memory and the log engine:
 * - the maintenance loop (`runOnce(now)` with a controlled clock) applies `retention.ms` and
 *   `retention.bytes` to topics whose cleanup.policy has `delete`, and leaves compact-only topics;
 * - DeleteRecords v0–2 moves the log start offset (-1 = high watermark; out of range, unknown
 *   partitions and compact-only topics are refused as Kafka refuses them);
 * - ListOffsets earliest and Fetch (OFFSET_OUT_OF_RANGE below the log start) honour the new start;
 * - the broker runs the loop by itself every log.retention.check.interval.ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { tempDir } from './helpers/log-engine.js';
import { RawClient } from './helpers/raw-client.js';
import type { RunningBroker, StartBrokerOptions } from '../src/broker/index.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '../src/protocol/messages/list-offsets.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '../src/protocol/messages/delete-records.js';
import { encodeBatch } from '../src/protocol/records/record.js';

const HOUR = 3_600_000;

interface Harness {
  b: RunningBroker;
  c: RawClient;
  done(): Promise<void>;
}

const engines: [string, () => { options: StartBrokerOptions; cleanup(): void }][] = [
  ['memory', () => ({ options: {}, cleanup: () => {} })],
  [
    'log',
    () => {
      const d = tempDir('rafka-ret-');
      return { options: { storage: { type: 'log', path: d.dir } }, cleanup: d.remove };
    },
  ],
];

async function harness(make: () => { options: StartBrokerOptions; cleanup(): void }, extra: StartBrokerOptions = {}): Promise<Harness> {
  const { options, cleanup } = make();
  const b = await testBroker({ ...options, ...extra });
  const c = await RawClient.connect(b.port);
  return {
    b,
    c,
    done: async () => {
      c.close();
      await b.close();
      cleanup();
    },
  };
}

async function createTopic(c: RawClient, name: string, configs: Record<string, string>): Promise<void> {
  const res = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })) }],
  });
  assert.equal(res.topics[0]!.errorCode, 0, res.topics[0]!.errorMessage ?? '');
}

/** Produce `n` batches of 2 keyed records with CreateTime `timestamps[i]`; returns base offsets. */
async function produce(c: RawClient, topic: string, timestamps: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const ts of timestamps) {
    const records = await encodeBatch({ records: [0, 1].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(200, i), timestamp: ts })) });
    const res = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    const p = res.responses[0]!.partitionResponses[0]!;
    assert.equal(p.errorCode, 0);
    out.push(Number(p.baseOffset));
  }
  return out;
}

async function earliest(c: RawClient, topic: string): Promise<number> {
  const res = await c.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
    replicaId: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
  });
  return Number(res.topics[0]!.partitions[0]!.offset);
}

async function fetchAt(c: RawClient, topic: string, offset: number) {
  const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20 }] }],
  });
  return res.responses[0]!.partitions[0]!;
}

async function deleteRecords(c: RawClient, version: number, topic: string, offset: number, partition = 0) {
  const res = await c.request(ApiKey.DeleteRecords, version, DeleteRecordsRequest, DeleteRecordsResponse, {
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset: BigInt(offset) }] }],
    timeoutMs: 1000,
  });
  const p = res.topics[0]!.partitions[0]!;
  return { errorCode: p.errorCode, lowWatermark: Number(p.lowWatermark) };
}

for (const [engine, make] of engines) {
  test(`${engine}: the maintenance loop applies retention.ms and retention.bytes, not to compact-only topics`, async () => {
    const h = await harness(make);
    try {
      const now = 1000 * HOUR;
      // One batch per segment on the log engine; the memory engine's unit is the batch anyway.
      const small = { 'internal.segment.bytes': '100' };
      await createTopic(h.c, 'by-time', { ...small, 'retention.ms': String(2 * HOUR) });
      await createTopic(h.c, 'by-size', { ...small, 'retention.bytes': '1500' });
      await createTopic(h.c, 'compacted', { ...small, 'cleanup.policy': 'compact', 'retention.ms': '1' });
      const times = [now - 5 * HOUR, now - 4 * HOUR, now - 3 * HOUR, now - HOUR, now - 1];
      await produce(h.c, 'by-time', times);
      await produce(h.c, 'by-size', times);
      await produce(h.c, 'compacted', times);
      const report = await h.b.broker.maintenance.runOnce(now);
      assert.equal(report.errors, 0);
      assert.equal(await earliest(h.c, 'by-time'), 6, 'the three batches older than 2 hours are gone');
      // Five batches of ~490 bytes against 1500: Kafka's rule drops the oldest unit only while what
      // remains is still at least the limit, so one goes (1960 left; dropping another leaves 1470).
      assert.equal(await earliest(h.c, 'by-size'), 2);
      const size = h.b.broker.storage.sizeBytes('by-size', 0);
      assert.ok(size >= 1500 && size < 1500 + 500, `size ${size}`);
      assert.equal(await earliest(h.c, 'compacted'), 0, 'compact-only topics are not retention-deleted');
      const below = await fetchAt(h.c, 'by-time', 0);
      assert.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(below.logStartOffset, 6n);
      assert.equal((await fetchAt(h.c, 'by-time', 6)).errorCode, ErrorCode.NONE);
      // Everything expired: the newest unit (the active segment) still stays.
      await h.b.broker.maintenance.runOnce(now + 100 * HOUR);
      assert.equal(await earliest(h.c, 'by-time'), 8);
    } finally {
      await h.done();
    }
  });

  test(`${engine}: DeleteRecords v0-2 moves the log start; ListOffsets and Fetch honour it`, async () => {
    const h = await harness(make);
    try {
      await createTopic(h.c, 'dr', { 'internal.segment.bytes': '100' });
      await createTopic(h.c, 'dr-compact', { 'cleanup.policy': 'compact' });
      await produce(h.c, 'dr', [1, 2, 3, 4, 5]); // offsets 0-9
      assert.deepEqual(await deleteRecords(h.c, 0, 'dr', 3), { errorCode: 0, lowWatermark: 3 });
      assert.equal(await earliest(h.c, 'dr'), 3);
      const below = await fetchAt(h.c, 'dr', 2);
      assert.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      assert.equal(below.logStartOffset, 3n);
      const at = await fetchAt(h.c, 'dr', 3);
      assert.equal(at.errorCode, ErrorCode.NONE);
      assert.equal(at.logStartOffset, 3n);
      assert.deepEqual(await deleteRecords(h.c, 1, 'dr', 1), { errorCode: 0, lowWatermark: 3 }, 'never backwards');
      assert.deepEqual(await deleteRecords(h.c, 2, 'dr', 11), { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 });
      assert.deepEqual(await deleteRecords(h.c, 2, 'dr', -7), { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1 });
      assert.deepEqual(await deleteRecords(h.c, 2, 'dr', 0, 5), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 });
      assert.deepEqual(await deleteRecords(h.c, 2, 'nope', 0), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1 });
      assert.deepEqual(await deleteRecords(h.c, 2, 'dr-compact', 0), { errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1 });
      assert.deepEqual(await deleteRecords(h.c, 2, 'dr', -1), { errorCode: 0, lowWatermark: 10 }, '-1 = the high watermark');
      assert.equal(await earliest(h.c, 'dr'), 10);
      assert.equal((await fetchAt(h.c, 'dr', 10)).errorCode, ErrorCode.NONE);
      assert.deepEqual(await produce(h.c, 'dr', [6]), [10], 'offsets continue after deleting everything');
    } finally {
      await h.done();
    }
  });
}

test('log: the broker runs retention by itself every log.retention.check.interval.ms', async () => {
  const h = await harness(engines[1]![1], { logRetentionCheckIntervalMs: 50 });
  try {
    await createTopic(h.c, 'auto', { 'internal.segment.bytes': '100', 'retention.ms': String(HOUR) });
    await produce(h.c, 'auto', [Date.now() - 3 * HOUR, Date.now() - 2 * HOUR, Date.now()]);
    const deadline = Date.now() + 5000;
    while ((await earliest(h.c, 'auto')) !== 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await earliest(h.c, 'auto'), 4);
  } finally {
    await h.done();
  }
});
