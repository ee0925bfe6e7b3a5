/**
 * Log compaction (cleanup.policy=compact) on the log engine, with a controlled clock:
 * - the sealed segments keep only the latest record of each key; the active segment is untouched;
 * - surviving records keep their offsets (and batches their base offsets); the high watermark and
 *   the next offset do not move;
 * - a tombstone is kept for delete.retention.ms after the cleaner first kept it (KIP-534 delete
 *   horizon), then removed; min.compaction.lag.ms holds back young segments;
 * - compression is kept; the result survives clean and unclean restarts;
 * - a crash in the middle of a swap (leftover .cleaned file, missing indexes) is repaired at open;
 * - through the broker, the maintenance loop compacts compact topics and consumers read the result;
 * - transactions: nothing at or past the LSO is cleaned, aborted records are removed; a marker goes
 *   once a pass finds none of its transaction's data and its delete horizon has passed, its
 *   aborted-transactions index entry at once when its data is gone (in the broker, across a restart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBatches, encodeBatch, encodeEndTxnMarkerBatch, type DecodedRecord } from '../src/protocol/records/record.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { Compression } from '../src/protocol/records/compression.js';
import type { LogEngine } from '../src/storage/log/log-engine.js';
import type { TopicRecord } from '../src/storage/engine.js';
import { appendBatch, newLogEngine, tempDir } from './helpers/log-engine.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { createTopic, produce } from './helpers/robust.js';
import { allowTransactions, committedValues, fetchPartition } from './helpers/txn.js';
import { Kafka, logLevel } from 'kafkajs';

const T0 = 1_700_000_000_000;
const DELETE_RETENTION = 60_000;
const compactTopic = (configs: Record<string, string> = {}): TopicRecord => ({
  name: 'c',
  id: 'compact-topic-id-AAAAA',
  partitionCount: 1,
  configs: { 'cleanup.policy': 'compact', 'internal.segment.bytes': '400', ...configs },
});

async function all(e: LogEngine): Promise<DecodedRecord[]> {
  const read = await e.read('c', 0, 0, 1 << 24, true);
  const out: DecodedRecord[] = [];
  for (const b of await decodeBatches(Buffer.concat(read.batches))) out.push(...b.records);
  return out;
}

/** One keyed record in a transactional batch of producer `pid` (epoch 0); its offset. */
async function txnAppend(e: LogEngine, pid: number, seq: number, k: string, v: string): Promise<number> {
  const bytes = await encodeBatch({ records: [{ key: Buffer.from(k), value: Buffer.from(v), timestamp: T0 }], producerId: pid, producerEpoch: 0, baseSequence: seq, isTransactional: true });
  return (await e.append('c', 0, { bytes, recordCount: 1, maxTimestamp: T0 })).baseOffset;
}

/** A COMMIT or ABORT marker of producer `pid` (epoch 0), as the coordinator writes it; its offset. */
async function markerAppend(e: LogEngine, pid: number, commit: boolean): Promise<number> {
  const bytes = encodeEndTxnMarkerBatch({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit, timestamp: T0 });
  return (await e.append('c', 0, { bytes, recordCount: 1, maxTimestamp: T0 })).baseOffset;
}

const view = (records: DecodedRecord[]) => records.map((r) => `${r.offset}:${r.key?.toString()}=${r.value === null ? '∅' : r.value.toString()}`);

/** Writes keyed records one batch at a time (each batch ~ 90 bytes: several per 400-byte segment). */
async function put(e: LogEngine, entries: [string, string | null][], ts: number, compression?: number): Promise<void> {
  for (const [k, v] of entries) {
    await e.append('c', 0, await appendBatch([{ key: Buffer.from(k), value: v === null ? null : Buffer.from(v), timestamp: ts }], { compression }));
  }
}

test('compaction keeps the latest record per key in sealed segments without changing offsets', async () => {
  const t = tempDir();
  let e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic());
    const writes: [string, string | null][] = [];
    for (let round = 0; round < 6; round++) for (const k of ['a', 'b', 'c', 'd']) writes.push([k, `${k}${round}`]);
    writes.push(['b', null]); // a tombstone for b
    writes.push(['a', 'a-last'], ['tail1', 'x'], ['tail2', 'y']);
    await put(e, writes, T0);
    const before = await all(e);
    const hw = e.offsets('c', 0).highWatermark;
    const activeBase = Number(readdirSync(join(t.dir, 'c-0')).filter((n) => n.endsWith('.log')).sort().at(-1)!.slice(0, 20));
    const result = await e.compact('c', 0, { nowMs: T0 + 1000, deleteRetentionMs: DELETE_RETENTION, minCompactionLagMs: 0 });
    assert.ok(result.segmentsCleaned > 0 && result.recordsRemoved > 0, JSON.stringify(result));
    const after = await all(e);
    // Every surviving record is one of the originals, at its original offset.
    const original = new Map(before.map((r) => [r.offset, view([r])[0]]));
    for (const r of after) assert.equal(view([r])[0], original.get(r.offset));
    // Below the active segment: one record per key, the latest one (b's latest is its tombstone).
    const sealed = after.filter((r) => r.offset < activeBase);
    const keys = sealed.map((r) => r.key!.toString());
    assert.equal(new Set(keys).size, keys.length, `no key twice in sealed segments: ${view(sealed)}`);
    const latest = new Map<string, number>();
    for (const r of before) if (r.offset < activeBase) latest.set(r.key!.toString(), r.offset);
    assert.deepEqual(sealed.map((r) => r.offset).sort((x, y) => x - y), [...latest.values()].sort((x, y) => x - y));
    // The active segment is untouched.
    assert.deepEqual(view(after.filter((r) => r.offset >= activeBase)), view(before.filter((r) => r.offset >= activeBase)));
    assert.deepEqual(e.offsets('c', 0), { logStartOffset: 0, highWatermark: hw });
    assert.equal((await e.append('c', 0, await appendBatch([{ key: Buffer.from('z'), value: Buffer.from('z'), timestamp: T0 }]))).baseOffset, hw);
    // Survives a clean restart and an unclean one (indexes rebuilt from the rewritten files).
    const expected = view(await all(e));
    await e.close();
    e = newLogEngine(t.dir);
    await e.open();
    assert.deepEqual(view(await all(e)), expected);
    await e.simulateCrash();
    e = newLogEngine(t.dir);
    await e.open();
    assert.deepEqual(view(await all(e)), expected);
  } finally {
    await e.close();
    t.remove();
  }
});

test('tombstones stay for delete.retention.ms after the cleaner first kept them, then go', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic());
    await put(e, [['k', 'v1'], ['k', null], ['other', 'o']], T0);
    await put(e, Array.from({ length: 10 }, (_, i): [string, string] => [`fill${i}`, 'f']), T0); // seal them
    const opts = (now: number) => ({ nowMs: now, deleteRetentionMs: DELETE_RETENTION, minCompactionLagMs: 0 });
    await e.compact('c', 0, opts(T0 + 10));
    let recs = await all(e);
    const tomb = recs.find((r) => r.key?.toString() === 'k');
    assert.ok(tomb && tomb.value === null, 'the tombstone is the latest for k and stays');
    const read = await e.read('c', 0, tomb.offset, 1, true);
    const h = readBatchHeader(read.batches[0]!);
    assert.ok(h.hasDeleteHorizon, 'its batch carries a delete horizon');
    assert.equal(h.baseTimestamp, T0 + 10 + DELETE_RETENTION);
    assert.equal(tomb.timestamp, T0, 'the record keeps its own timestamp');
    await e.compact('c', 0, opts(T0 + 10 + DELETE_RETENTION - 1));
    assert.ok((await all(e)).some((r) => r.key?.toString() === 'k'), 'still there just before the horizon');
    const r = await e.compact('c', 0, opts(T0 + 10 + DELETE_RETENTION));
    assert.equal(r.tombstonesRemoved, 1);
    recs = await all(e);
    assert.ok(!recs.some((x) => x.key?.toString() === 'k'), 'gone at the horizon');
    assert.ok(recs.some((x) => x.key?.toString() === 'other'));
  } finally {
    await e.close();
    t.remove();
  }
});

test('min.compaction.lag.ms holds back young segments; compression is kept', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic({ 'internal.segment.bytes': '200' }));
    const batch = (i: number, ts: number) =>
      appendBatch(
        Array.from({ length: 5 }, (_, j) => ({ key: Buffer.from(`k${j}`), value: Buffer.from(`batch${i}-${j}`.repeat(20)), timestamp: ts })),
        { compression: Compression.gzip },
      );
    for (let i = 0; i < 12; i++) await e.append('c', 0, await batch(i, T0 + i * 1000));
    const lagged = await e.compact('c', 0, { nowMs: T0 + 1000, deleteRetentionMs: 0, minCompactionLagMs: 10 * 60_000 });
    assert.equal(lagged.segmentsCleaned, 0, 'every segment is younger than the lag');
    assert.match(lagged.skipped ?? '', /old enough/);
    const r = await e.compact('c', 0, { nowMs: T0 + 3_600_000, deleteRetentionMs: 0, minCompactionLagMs: 10 * 60_000 });
    assert.ok(r.segmentsCleaned > 0);
    const read = await e.read('c', 0, 0, 1 << 24, true);
    for (const b of read.batches) assert.equal(readBatchHeader(b).compression, Compression.gzip);
    const again = await e.compact('c', 0, { nowMs: T0 + 3_600_000, deleteRetentionMs: 0, minCompactionLagMs: 0 });
    assert.match(again.skipped ?? '', /nothing new/);
  } finally {
    await e.close();
    t.remove();
  }
});

test('a compaction cut short by a crash is repaired at open (leftover .cleaned file, missing indexes)', async () => {
  const t = tempDir();
  let e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic());
    await put(e, Array.from({ length: 20 }, (_, i): [string, string] => [`k${i % 3}`, `v${i}`]), T0);
    const before = view(await all(e));
    await e.simulateCrash();
    const dir = join(t.dir, 'c-0');
    const first = readdirSync(dir).filter((n) => n.endsWith('.log')).sort()[0]!;
    writeFileSync(join(dir, first + '.cleaned'), 'half-written');
    rmSync(join(dir, first.replace('.log', '.index')), { force: true });
    rmSync(join(dir, first.replace('.log', '.timeindex')), { force: true });
    e = newLogEngine(t.dir);
    await e.open();
    assert.ok(!existsSync(join(dir, first + '.cleaned')));
    assert.deepEqual(view(await all(e)), before);
  } finally {
    await e.close();
    t.remove();
  }
});

test('the broker compacts compact topics in its maintenance pass; consumers read across the gaps', { timeout: 30_000 }, async () => {
  const d = tempDir('rafka-compact-');
  const b = await testBroker({ storage: { type: 'log', path: d.dir }, groupInitialRebalanceDelayMs: 0 });
  try {
    const kafka = new Kafka({ clientId: 'compact', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'table', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'internal.segment.bytes', value: '300' }] }],
    });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 30; i++) await producer.send({ topic: 'table', messages: [{ key: `key${i % 4}`, value: `value${i}` }] });
    await producer.disconnect();
    const report = await b.broker.maintenance.runOnce(Date.now());
    assert.equal(report.partitionsCompacted, 1);
    assert.ok(b.broker.storage.sizeBytes('table', 0) < 30 * 70);
    const consumer = kafka.consumer({ groupId: 'compact-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'table', fromBeginning: true });
    const seen: [string, string][] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push([message.key!.toString(), message.value!.toString()]);
            if (message.offset === '29') resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    await admin.disconnect();
    const last = new Map(seen);
    assert.deepEqual([...last.entries()].sort(), [['key0', 'value28'], ['key1', 'value29'], ['key2', 'value26'], ['key3', 'value27']]);
    assert.ok(seen.length < 30, `${seen.length} records read after compaction`);
  } finally {
    await b.close();
    d.remove();
  }
});

test('transactions: compaction never cleans past the LSO, removes aborted records (which never supersede committed ones), keeps markers', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic());
    const txn = (pid: number, seq: number, k: string, v: string) => txnAppend(e, pid, seq, k, v);
    const marker = (pid: number, commit: boolean) => markerAppend(e, pid, commit);
    await put(e, [['a', 'a0'], ['b', 'b0']], T0); // 0, 1
    const abortedFirst = await txn(1, 0, 'a', 'aborted-a'); // 2
    await txn(1, 1, 'b', 'aborted-b'); // 3
    const abortAt = await marker(1, false); // 4
    await txn(2, 0, 'b', 'committed-b'); // 5
    await marker(2, true); // 6
    await put(e, [['c', 'c0'], ['d', 'd0']], T0); // 7, 8
    const openFirst = await txn(3, 0, 'a', 'open-a'); // 9
    await put(e, [['x', 'x0'], ['y', 'y0'], ['z', 'z0'], ['w', 'w0'], ['v', 'v0'], ['u', 'u0']], T0); // pushes 9 into a sealed segment
    const aborted = [{ producerId: 1, firstOffset: abortedFirst, lastOffset: abortAt }];

    const r = await e.compact('c', 0, { nowMs: T0 + 1, deleteRetentionMs: DELETE_RETENTION, minCompactionLagMs: 0, firstUncleanableOffset: openFirst, abortedTransactions: aborted });
    assert.ok(r.segmentsCleaned > 0, JSON.stringify(r));
    const records = await all(e);
    const v = view(records);
    assert.ok(!v.some((x) => x.includes('aborted')), `aborted records removed: ${v.join(' ')}`);
    assert.ok(v.includes('0:a=a0'), 'a committed record is not superseded by an aborted one of its key');
    // Segments are [0-4] [5-9] [10-14] [15-]: [5-9] holds the open transaction (offset 9), so only
    // [0-4] was cleanable, and b0 stays: the record superseding it is not in a cleaned segment yet.
    assert.deepEqual(v.slice(0, 2), ['0:a=a0', '1:b=b0']);
    assert.ok(v[2]!.startsWith('4:'), 'then the ABORT marker');
    assert.ok(v.includes('9:a=open-a'), 'an open transaction is past the LSO: untouched');

    // The transaction commits; the LSO is the high watermark again and the next pass goes further.
    await marker(3, true);
    await put(e, [['t1', 'x'], ['t2', 'x'], ['t3', 'x'], ['t4', 'x'], ['t5', 'x']], T0);
    await e.compact('c', 0, { nowMs: T0 + 1, deleteRetentionMs: DELETE_RETENTION, minCompactionLagMs: 0, firstUncleanableOffset: e.offsets('c', 0).highWatermark, abortedTransactions: aborted });
    const after = view(await all(e));
    assert.ok(!after.includes('0:a=a0') && after.includes('9:a=open-a'), `the committed transaction supersedes a0: ${after.join(' ')}`);
    assert.ok(!after.includes('1:b=b0') && after.includes('5:b=committed-b'), 'a committed transaction supersedes as usual');
    const markers = (await all(e)).filter((x) => x.control !== undefined).map((x) => [x.offset, x.control!.type]);
    assert.deepEqual(markers, [[4, 0], [6, 1], [16, 1]], 'markers are kept');
  } finally {
    await e.close();
    t.remove();
  }
});

test('transactions: a marker goes once its transaction has no data left and delete.retention.ms has passed', async () => {
  const t = tempDir();
  const e = newLogEngine(t.dir);
  try {
    await e.open();
    await e.createTopic(compactTopic());
    const txn = (pid: number, k: string, v: string) => txnAppend(e, pid, 0, k, v);
    const marker = (pid: number, commit: boolean) => markerAppend(e, pid, commit);
    const abortedFirst = await txn(1, 'k', 'aborted'); // 0
    const abortAt = await marker(1, false); // 1
    await txn(2, 'j', 'committed-j'); // 2
    const supersededCommit = await marker(2, true); // 3
    await txn(4, 'm', 'stays'); // 4
    const keptCommit = await marker(4, true); // 5
    await put(e, [['j', 'plain-j']], T0); // 6: supersedes committed-j
    await put(e, Array.from({ length: 12 }, (_, i): [string, string] => [`fill${i}`, 'f']), T0); // seal them all
    const aborted = [{ producerId: 1, firstOffset: abortedFirst, lastOffset: abortAt }];
    const pass = (now: number) =>
      e.compact('c', 0, { nowMs: now, deleteRetentionMs: DELETE_RETENTION, minCompactionLagMs: 0, firstUncleanableOffset: e.offsets('c', 0).highWatermark, abortedTransactions: aborted });
    const markers = async () => (await all(e)).filter((x) => x.control !== undefined).map((x) => x.offset);

    // Pass 1 removes the aborted record and the superseded committed one; their markers stay (a pass
    // that saw their data never removes them, as Kafka's cleaner).
    let r = await pass(T0 + 1);
    assert.deepEqual([r.markersRemoved, r.abortedTransactionsEmptied], [0, []]);
    let v = view(await all(e));
    assert.ok(!v.some((x) => x.includes('aborted') || x.includes('committed-j')), v.join(' '));
    assert.deepEqual(await markers(), [abortAt, supersededCommit, keptCommit]);

    // Pass 2 finds both transactions empty: the aborted one leaves the index now, both markers get a
    // delete horizon; the marker of a transaction whose record stays is left alone.
    r = await pass(T0 + 2);
    assert.deepEqual(r.abortedTransactionsEmptied, aborted);
    assert.equal(r.markersRemoved, 0);
    for (const at of [abortAt, supersededCommit]) {
      const h = readBatchHeader((await e.read('c', 0, at, 1, true)).batches[0]!);
      assert.ok(h.isControl && h.hasDeleteHorizon && h.baseTimestamp === T0 + 2 + DELETE_RETENTION, `marker at ${at} carries the horizon`);
    }
    const kept = readBatchHeader((await e.read('c', 0, keptCommit, 1, true)).batches[0]!);
    assert.ok(kept.isControl && !kept.hasDeleteHorizon, 'the marker of live data has no horizon');

    r = await pass(T0 + 2 + DELETE_RETENTION - 1);
    assert.equal(r.markersRemoved, 0);
    assert.deepEqual(await markers(), [abortAt, supersededCommit, keptCommit], 'kept until the horizon');
    r = await pass(T0 + 2 + DELETE_RETENTION);
    assert.equal(r.markersRemoved, 2, JSON.stringify(r));
    assert.deepEqual(await markers(), [keptCommit]);
    v = view(await all(e));
    assert.ok(v.includes('4:m=stays') && v.includes('6:j=plain-j'), v.join(' '));
    assert.equal(e.offsets('c', 0).highWatermark, 19, 'offsets never change');
  } finally {
    await e.close();
    t.remove();
  }
});

test('transactions: the broker drops an emptied aborted transaction from Fetch and its snapshot before the marker goes', { timeout: 30_000 }, async () => {
  const d = tempDir('rafka-compact-txn-');
  const start = () => testBroker({ storage: { type: 'log', path: d.dir } });
  let b = await start();
  let c = await RawClient.connect(b.port);
  try {
    const allowed = allowTransactions(b.broker);
    allowed.add('1/t/0');
    await createTopic(c, 't', 1, [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'internal.segment.bytes', value: '300' },
      { name: 'delete.retention.ms', value: '1000' },
    ]);
    const ok = async (p: Promise<{ errorCode: number } | number>) => {
      const res = await p;
      assert.equal(typeof res === 'number' ? res : res.errorCode, 0);
    };
    const batch = (k: string, v: string, seq: number, transactional: boolean) =>
      encodeBatch({ records: [{ key: Buffer.from(k), value: Buffer.from(v) }], ...(transactional ? { producerId: 1, producerEpoch: 0, baseSequence: seq, isTransactional: true } : {}) });
    const marker = (commit: boolean) => b.broker.txnMarkers.writeTxnMarker('t', 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit });
    const fill = async (from: number) => {
      for (let i = 0; i < 8; i++) await ok(produce(c, 't', 0, await batch(`fill${from + i}`, 'f', 0, false)));
    };
    // Producer 1 aborts a transaction, then commits one: its committed record must stay visible to
    // read_committed readers through every pass and restart.
    await ok(produce(c, 't', 0, await batch('k', 'aborted-k', 0, true))); // 0
    await ok(marker(false)); // 1
    await fill(0);
    await ok(produce(c, 't', 0, await batch('c', 'committed-c', 1, true))); // 10
    await ok(marker(true)); // 11
    await fill(100);
    const read = async () => {
      const f = await fetchPartition(c, 't', 0, 0);
      assert.equal(f.errorCode, 0);
      return { aborted: f.aborted ?? [], values: committedValues(f), abortMarker: f.batches.some((x) => x.header.isControl && x.records[0]?.control?.type === 0) };
    };
    let now = Date.now();
    await b.broker.maintenance.runOnce(now);
    let seen = await read();
    assert.deepEqual(seen.aborted, [{ producerId: 1, firstOffset: 0 }], 'pass 1 removed the data; the entry stays with it');
    assert.ok(seen.values.includes('committed-c') && !seen.values.includes('aborted-k'));
    await b.broker.maintenance.runOnce(now + 1);
    seen = await read();
    assert.deepEqual(seen.aborted, [], 'pass 2: no data left, no entry');
    assert.ok(seen.abortMarker, 'the marker waits for its horizon');
    assert.ok(seen.values.includes('committed-c'));

    // A restart loads the snapshot written when the entry went: it does not come back.
    c.close();
    await b.close();
    b = await start();
    c = await RawClient.connect(b.port);
    seen = await read();
    assert.deepEqual(seen.aborted, [], 'not back after a restart');
    now = Date.now();
    await b.broker.maintenance.runOnce(now + 1000);
    seen = await read();
    assert.ok(!seen.abortMarker, 'the marker is gone after delete.retention.ms');
    assert.ok(seen.values.includes('committed-c'), seen.values.join(' '));
  } finally {
    c.close();
    await b.close();
    d.remove();
  }
});
