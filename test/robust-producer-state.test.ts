/**
 * Idempotent producer state across restarts and concurrent retries:
 *  - recovered at start from producer-state snapshots and the batches after them
 *    (producer-state-snapshots.ts): after a kill -9 and after a clean stop of a real broker process
 *    on the log engine, a retried batch that was acknowledged before is answered as a duplicate with
 *    its original offset, the next batch continues the sequence, a gap is still refused, and the log
 *    holds every record once — also with megabytes written after the batch (which the 1 MiB start-up
 *    scan this replaced got wrong), with and without segment rolls;
 *  - a retry arriving on a second connection while the original is still being written waits for it
 *    and is its duplicate (no second copy in the log).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { fetchAll } from './helpers/fetch-all.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { newLogEngine, tempDir } from './helpers/log-engine.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, idempotentBatch, initProducerId, produce, produceFrame } from './helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceResponse } from '../src/protocol/messages/produce.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import type { AppendBatch, AppendResult, StorageEngine } from '../src/storage/engine.js';
import { WalMemoryEngine } from '../src/storage/memory-wal/wal-engine.js';
import { RocksDbEngine } from '../src/storage/rocksdb/rocksdb-engine.js';
import { ProducerStateManager } from '../src/broker/producer-state.js';
import { ProducerSnapshots, type RecoverySummary } from '../src/broker/producer-state-snapshots.js';
import { crc32c } from '../src/protocol/records/crc32c.js';
import { SnapshotFormatError, decodeProducerSnapshot, encodeProducerSnapshot } from '../src/broker/producer-state-snapshot.js';
import type { Topic } from '../src/broker/topics.js';
import { createLogger } from '../src/broker/logger.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const TOPIC = 'idem';

interface Sent {
  values: string[];
  sequence: number;
  offset: number;
}

async function sendBatches(client: RawClient, pid: { producerId: number; producerEpoch: number }, partition: number, from: number, count: number, tag: string): Promise<Sent[]> {
  const out: Sent[] = [];
  for (let i = 0; i < count; i++) {
    const sequence = from + i * 3;
    const values = [0, 1, 2].map((k) => `${tag}-${sequence + k}`);
    const r = await produce(client, TOPIC, partition, await idempotentBatch(values, pid.producerId, pid.producerEpoch, sequence));
    assert.equal(r.errorCode, 0);
    out.push({ values, sequence, offset: r.baseOffset });
  }
  return out;
}

async function assertOnce(port: number, partition: number, expected: number): Promise<void> {
  const records = await fetchAll(port, TOPIC, partition);
  const values = records.map((r) => r.value!.toString());
  assert.equal(new Set(values).size, values.length, `partition ${partition}: no value twice`);
  assert.equal(values.length, expected, `partition ${partition}: ${expected} records`);
}

test('after kill -9 and after a clean stop, a retried acknowledged batch is a duplicate with its original offset (log engine, real process)', { timeout: 60_000 }, async (t) => {
  const data = tempDir('rafka-pstate-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  let broker: BrokerProcess = await startBrokerProcess(args);
  try {
    let client = await RawClient.connect(broker.port);
    await createTopic(client, TOPIC, 2);
    const a = await initProducerId(client);
    const b = await initProducerId(client);
    // Two producers interleaved on partition 0, one on partition 1.
    const a0: Sent[] = [];
    const b0: Sent[] = [];
    for (let i = 0; i < 8; i++) {
      a0.push(...(await sendBatches(client, a, 0, i * 3, 1, 'a')));
      b0.push(...(await sendBatches(client, b, 0, i * 3, 1, 'b')));
    }
    const a1 = await sendBatches(client, a, 1, 0, 4, 'a1');
    client.close();

    await kill9(broker);
    broker = await startBrokerProcess(args);
    client = await RawClient.connect(broker.port);
    const retry = async (pid: typeof a, partition: number, s: Sent) => produce(client, TOPIC, partition, await idempotentBatch(s.values, pid.producerId, pid.producerEpoch, s.sequence));
    for (const [pid, partition, s, what] of [
      [a, 0, a0[7]!, 'a: last batch'],
      [a, 0, a0[4]!, 'a: 4th from last (within the 5-batch window)'],
      [b, 0, b0[7]!, 'b: last batch'],
      [a, 1, a1[3]!, 'a on partition 1'],
    ] as const) {
      assert.deepEqual(await retry(pid, partition, s), { errorCode: 0, baseOffset: s.offset }, `after kill -9, ${what}: duplicate at its original offset`);
    }
    const next = await sendBatches(client, a, 0, 24, 1, 'a');
    assert.equal(next[0]!.offset, 48, 'the next batch continues the sequence at the high watermark');
    const gap = await produce(client, TOPIC, 0, await idempotentBatch(['gap'], a.producerId, a.producerEpoch, 40));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap is still refused');
    const unknown = await produce(client, TOPIC, 0, await idempotentBatch(['who'], 987_654, 0, 5));
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID, 'a producer never seen is unknown');
    await assertOnce(broker.port, 0, 51);
    await assertOnce(broker.port, 1, 12);
    client.close();

    assert.equal(await stop(broker), 0);
    broker = await startBrokerProcess(args);
    client = await RawClient.connect(broker.port);
    assert.deepEqual(await retry(a, 0, next[0]!), { errorCode: 0, baseOffset: 48 }, 'after a clean stop: duplicate at its original offset');
    await assertOnce(broker.port, 0, 51);
    client.close();
    t.diagnostic('retries after kill -9: 4 duplicates answered with their original offsets; after a clean stop: 1');
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
});

/** `count` plain (non-idempotent) batches of 64 KiB each: data written after the batch under test. */
async function filler(client: RawClient, topic: string, count: number): Promise<void> {
  const bytes = await encodeBatch({ records: Array.from({ length: 16 }, (_, i) => ({ value: Buffer.alloc(4096, i) })) });
  for (let i = 0; i < count; i++) assert.equal((await produce(client, topic, 0, Buffer.from(bytes))).errorCode, 0);
}

for (const engine of ['log', 'memory', 'rocksdb']) test(`a batch acknowledged before a restart is a duplicate after it however much was written since (kill -9 and clean stop, ${engine} engine with a data directory)`, { timeout: 90_000 }, async (t) => {
  const data = tempDir('rafka-pstate-big-');
  const args = ['--storage', engine, '--data-dir', data.dir, '--log-level', 'error'];
  let broker: BrokerProcess = await startBrokerProcess(args);
  try {
    let client = await RawClient.connect(broker.port);
    // One topic with Kafka's 1 GiB segments (no roll: recovery replays from the log start) and one
    // with 256 KiB segments (rolls, or snapshots every 256 KiB on engines without segments: recovery
    // loads the newest snapshot and replays after it).
    await createTopic(client, 'whole');
    await createTopic(client, 'rolled', 1, [{ name: 'internal.segment.bytes', value: String(256 * 1024) }]);
    const pid = await initProducerId(client);
    const first = new Map<string, Sent>();
    for (const topic of ['whole', 'rolled']) {
      const values = [`${topic}-a0`, `${topic}-a1`];
      const r = await produce(client, topic, 0, await idempotentBatch(values, pid.producerId, pid.producerEpoch, 0));
      assert.equal(r.errorCode, 0);
      first.set(topic, { values, sequence: 0, offset: r.baseOffset });
      // 3 MiB after it: three times what the old start-up scan (the newest 1 MiB) covered.
      await filler(client, topic, 48);
    }
    client.close();

    const retryAll = async (when: string) => {
      client = await RawClient.connect(broker.port);
      for (const [topic, s] of first) {
        const again = await produce(client, topic, 0, await idempotentBatch(s.values, pid.producerId, pid.producerEpoch, s.sequence));
        assert.deepEqual(again, { errorCode: 0, baseOffset: s.offset }, `${when}, ${topic}: the retry is a duplicate at its original offset`);
        const next = await produce(client, topic, 0, await idempotentBatch([`${topic}-${when}`], pid.producerId, pid.producerEpoch, 2 + (when === 'kill -9' ? 0 : 1)));
        assert.equal(next.errorCode, 0, `${when}, ${topic}: the sequence continues`);
        const records = (await fetchAll(broker.port, topic, 0)).map((r) => r.value!.toString());
        assert.equal(records.filter((v) => v === s.values[0]).length, 1, `${when}, ${topic}: the batch is in the log once`);
      }
      client.close();
    };
    await kill9(broker);
    broker = await startBrokerProcess(args);
    await retryAll('kill -9');
    const snapshotFiles = (dir: string) => readdirSync(path.join(data.dir, dir)).filter((n) => n.endsWith('.snapshot'));
    if (engine === 'log') {
      const afterKill = snapshotFiles('rolled-0');
      assert.ok(afterKill.length >= 1 && afterKill.length <= 2, `rolled-0 keeps one or two snapshots (${afterKill.join(', ')})`);
      t.diagnostic(`snapshots in rolled-0 after the kill -9 restart: ${afterKill.join(', ')}`);
    }

    assert.equal(await stop(broker), 0);
    if (engine === 'log') {
      const whole = snapshotFiles('whole-0');
      const highWatermark = 2 + 48 * 16 + 1;
      assert.equal(whole[whole.length - 1], `${String(highWatermark).padStart(20, '0')}.snapshot`, 'a clean stop leaves a snapshot at the high watermark');
    }
    broker = await startBrokerProcess(args);
    await retryAll('clean stop');
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
});

/** The memory engine, with every append resolving `delayMs` after its offset was assigned (a slow fsync). */
class SlowAppendEngine extends MemoryEngine {
  constructor(private readonly delayMs: number) {
    super();
  }

  override async append(topic: string, partition: number, batch: AppendBatch): Promise<AppendResult> {
    const result = await super.append(topic, partition, batch);
    await new Promise((r) => setTimeout(r, this.delayMs));
    return result;
  }
}

test('a retry on a second connection while the original is still being written is its duplicate, not a second copy', async () => {
  const b = await testBroker({ storage: new SlowAppendEngine(300) });
  const first = await RawClient.connect(b.port);
  const second = await RawClient.connect(b.port);
  try {
    await createTopic(first, TOPIC);
    const pid = await initProducerId(first);
    const batch0 = await idempotentBatch(['x0'], pid.producerId, pid.producerEpoch, 0);
    assert.equal((await produce(first, TOPIC, 0, batch0)).errorCode, 0);
    const batch1 = await idempotentBatch(['x1', 'x2'], pid.producerId, pid.producerEpoch, 1);
    // The original, then (while its append waits) the same batch from another connection, as a
    // client does after its connection timed out.
    const f1 = produceFrame(TOPIC, 0, Buffer.from(batch1), 101);
    first.write(f1);
    await new Promise((r) => setTimeout(r, 50));
    const f2 = produceFrame(TOPIC, 0, Buffer.from(batch1), 102);
    second.write(f2);
    const [r1, r2] = await Promise.all([first.readFrame(), second.readFrame()]);
    const p1 = decodeResponse(r1!, ApiKey.Produce, 9, ProduceResponse).responses[0]!.partitionResponses[0]!;
    const p2 = decodeResponse(r2!, ApiKey.Produce, 9, ProduceResponse).responses[0]!.partitionResponses[0]!;
    assert.deepEqual([p1.errorCode, p2.errorCode], [0, 0]);
    assert.equal(p2.baseOffset, p1.baseOffset, 'the retry is answered with the original offset');
    const records = await fetchAll(b.port, TOPIC, 0);
    assert.deepEqual(records.map((r) => r.value!.toString()), ['x0', 'x1', 'x2'], 'written once');
    assert.equal(b.broker.producers.appendsRunning, 0);
  } finally {
    first.close();
    second.close();
    await b.close();
  }
});

// ---- recovery from snapshots, engine by engine -------------------------------------------------------

const quiet = createLogger('error');

async function snapshotEngines(): Promise<{ name: string; engine: StorageEngine; done: () => Promise<void> }[]> {
  const mem = new MemoryEngine();
  const logDir = tempDir('rafka-psnap-log-');
  const walDir = tempDir('rafka-psnap-wal-');
  const rocksDir = tempDir('rafka-psnap-rocks-');
  return [
    { name: 'memory', engine: mem, done: async () => {} },
    { name: 'log', engine: newLogEngine(logDir.dir, { fsync: 'never' }), done: async () => logDir.remove() },
    { name: 'memory+WAL', engine: new WalMemoryEngine({ path: walDir.dir, fsync: 'never' }), done: async () => walDir.remove() },
    { name: 'rocksdb', engine: new RocksDbEngine({ path: rocksDir.dir, fsync: 'never' }), done: async () => rocksDir.remove() },
  ];
}

/** Ten one-record batches of producer 7 (sequences 0–9); snapshots of the live state at 5 and 10. */
async function tenBatches(engine: StorageEngine): Promise<Map<number, Buffer>> {
  await engine.createTopic({ name: 't', id: 'AAAAAAAAAAAAAAAAAAAAAg', partitionCount: 1, configs: {} });
  const live = new ProducerStateManager();
  const snapshots = new Map<number, Buffer>();
  for (let seq = 0; seq < 10; seq++) {
    if (seq === 5) snapshots.set(5, encodeProducerSnapshot(5, live.partitionEntries('t', 0)));
    const id = { producerId: 7, producerEpoch: 0, baseSequence: seq, recordCount: 1 };
    const bytes = await encodeBatch({ records: [{ value: Buffer.from(`v${seq}`) }], ...id });
    const { baseOffset } = await engine.append('t', 0, { bytes, recordCount: 1, maxTimestamp: 1000 + seq });
    live.record('t', 0, id, baseOffset, 1000 + seq);
  }
  snapshots.set(10, encodeProducerSnapshot(10, live.partitionEntries('t', 0)));
  return snapshots;
}

async function recovered(engine: StorageEngine): Promise<{ producers: ProducerStateManager; summary: RecoverySummary }> {
  const producers = new ProducerStateManager();
  const summary = await new ProducerSnapshots(producers, engine, quiet).recover([{ name: 't', partitionCount: 1 } as Topic]);
  return { producers, summary };
}

function assertExact(producers: ProducerStateManager, what: string): void {
  assert.deepEqual(producers.check('t', 0, { producerId: 7, producerEpoch: 0, baseSequence: 9, recordCount: 1 }), { kind: 'duplicate', baseOffset: 9 }, `${what}: the last batch is a duplicate`);
  assert.deepEqual(producers.check('t', 0, { producerId: 7, producerEpoch: 0, baseSequence: 5, recordCount: 1 }), { kind: 'duplicate', baseOffset: 5 }, `${what}: the 5th from last too`);
  assert.deepEqual(producers.check('t', 0, { producerId: 7, producerEpoch: 0, baseSequence: 10, recordCount: 1 }), { kind: 'append' }, `${what}: the next sequence is appended`);
  assert.equal(producers.check('t', 0, { producerId: 7, producerEpoch: 0, baseSequence: 12, recordCount: 1 }).kind, 'error', `${what}: a gap is refused`);
}

test('recovery loads the newest good snapshot and replays after it; a torn one, one beyond the log end and a missing one fall back', async () => {
  for (const { name, engine, done } of await snapshotEngines()) {
    try {
      await engine.open();
      const good = await tenBatches(engine);
      await engine.writeProducerSnapshot('t', 0, 5, good.get(5)!);
      await engine.writeProducerSnapshot('t', 0, 10, good.get(10)!);
      let r = await recovered(engine);
      assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 0, 0], `${name}: the snapshot at the log end, nothing to replay`);
      assertExact(r.producers, `${name}, snapshot at 10`);

      // Torn: the newest snapshot lost its last bytes. The one at 5 is used and 5 batches replayed.
      await engine.writeProducerSnapshot('t', 0, 5, good.get(5)!);
      await engine.writeProducerSnapshot('t', 0, 10, good.get(10)!.subarray(0, good.get(10)!.length - 3));
      r = await recovered(engine);
      assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 1, 5], `${name}: torn snapshot ignored`);
      assertExact(r.producers, `${name}, torn snapshot`);
      if (engine.durable) {
        r = await recovered(engine);
        assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 0, 0], `${name}: the torn snapshot at the log end was overwritten by a good one`);
      }

      // Corrupt (one bit flipped): its CRC fails; likewise.
      const flipped = Buffer.from(good.get(10)!);
      flipped[flipped.length - 9]! ^= 0x10;
      await engine.writeProducerSnapshot('t', 0, 5, good.get(5)!);
      await engine.writeProducerSnapshot('t', 0, 10, flipped);
      r = await recovered(engine);
      assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 1, 5], `${name}: corrupt snapshot ignored`);
      assertExact(r.producers, `${name}, corrupt snapshot`);

      // Beyond the log end (as after a crash cut the tail): its state is of batches the log no longer
      // has (here: a claim that sequence 9 lives at offset 40), so it must not be loaded.
      const bogus = encodeProducerSnapshot(50, [{ producerId: 7, epoch: 0, batches: [{ firstSeq: 9, lastSeq: 9, baseOffset: 40, lastOffsetDelta: 0 }], lastTimestamp: -1, coordinatorEpoch: -1, currentTxnFirstOffset: -1 }]);
      await engine.writeProducerSnapshot('t', 0, 5, good.get(5)!);
      await engine.writeProducerSnapshot('t', 0, 50, bogus);
      r = await recovered(engine);
      assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 1, 5], `${name}: snapshot beyond the log end ignored`);
      assertExact(r.producers, `${name}, snapshot beyond the log end`);
      if (engine.durable) assert.deepEqual(engine.producerSnapshotOffsets('t', 0), [5, 10], `${name}: recovery replaced it with one at the log end`);

      // Nothing usable: the whole log is replayed, from the log start.
      await engine.writeProducerSnapshot('t', 0, 3, Buffer.from('not a snapshot'));
      r = await recovered(engine);
      assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [0, 1, 10], `${name}: replay from the log start`);
      assertExact(r.producers, `${name}, replay from the log start`);
    } finally {
      await engine.close();
      await done();
    }
  }
});

test('a snapshot file damaged on disk is ignored (log engine)', async () => {
  const dir = tempDir('rafka-psnap-disk-');
  let engine = newLogEngine(dir.dir, { fsync: 'never' });
  try {
    await engine.open();
    const good = await tenBatches(engine);
    await engine.writeProducerSnapshot('t', 0, 5, good.get(5)!);
    await engine.writeProducerSnapshot('t', 0, 10, good.get(10)!);
    await engine.close();
    const file = path.join(dir.dir, 't-0', `${String(10).padStart(20, '0')}.snapshot`);
    const bytes = readFileSync(file);
    bytes[20]! ^= 0xff;
    writeFileSync(file, bytes);
    engine = newLogEngine(dir.dir, { fsync: 'never' });
    await engine.open();
    const r = await recovered(engine);
    assert.deepEqual([r.summary.fromSnapshot, r.summary.snapshotsIgnored, r.summary.batchesReplayed], [1, 1, 5]);
    assertExact(r.producers, 'damaged file');
  } finally {
    await engine.close();
    dir.remove();
  }
});

test('a snapshot is taken below every idempotent append still under way, and replaying batches it already holds changes nothing', () => {
  const p = new ProducerStateManager();
  const id = (seq: number) => ({ producerId: 3, producerEpoch: 0, baseSequence: seq, recordCount: 1 });
  p.record('t', 0, id(0), 0);
  const slow = p.appendStarted('t', 0, 1); // its batch gets offset ≥ 1, recorded later
  p.record('u', 0, { ...id(0), producerId: 4 }, 0);
  assert.equal(p.snapshotOffset('t', 0, 3), 1, 'below the append under way');
  assert.equal(p.snapshotOffset('u', 0, 3), 3, 'other partitions are not held back');
  p.record('t', 0, id(1), 1);
  p.appendDone('t', 0, slow);
  assert.equal(p.snapshotOffset('t', 0, 3), 3);
  const before = JSON.stringify(p.partitionEntries('t', 0));
  p.replay('t', 0, id(0), 0, -1);
  p.replay('t', 0, id(1), 1, -1);
  assert.equal(JSON.stringify(p.partitionEntries('t', 0)), before, 'replayed batches the state holds are skipped');
  p.replay('t', 0, id(2), 2, 5);
  assert.deepEqual(p.check('t', 0, id(2)), { kind: 'duplicate', baseOffset: 2 });
});

test('snapshot format: round trip, and every cut or version it does not know is refused', () => {
  const entries = [
    { producerId: 1, epoch: 2, batches: [{ firstSeq: 0, lastSeq: 4, baseOffset: 10, lastOffsetDelta: 4 }], lastTimestamp: 1234, coordinatorEpoch: -1, currentTxnFirstOffset: -1 },
    { producerId: 2 ** 40, epoch: 0, batches: [1, 2, 3, 4, 5].map((i) => ({ firstSeq: i, lastSeq: i, baseOffset: 100 + i, lastOffsetDelta: 0 })), lastTimestamp: -1, coordinatorEpoch: 7, currentTxnFirstOffset: 99 },
    // Known on the partition only by a transaction marker (version 2 allows a producer with no batches).
    { producerId: 3, epoch: 4, batches: [], lastTimestamp: 55, coordinatorEpoch: 1, currentTxnFirstOffset: -1 },
  ];
  const aborted = [
    { producerId: 9, firstOffset: 20, lastOffset: 30 },
    { producerId: 2 ** 40, firstOffset: 15, lastOffset: 40 },
  ];
  const buf = encodeProducerSnapshot(105, entries, aborted);
  assert.equal(buf.readInt16BE(0), 2);
  assert.deepEqual(decodeProducerSnapshot(buf, 105), { entries, aborted });
  assert.throws(() => decodeProducerSnapshot(buf, 104), SnapshotFormatError, 'stored under another offset');
  for (let cut = 0; cut < buf.length; cut++) assert.throws(() => decodeProducerSnapshot(buf.subarray(0, cut), 105), SnapshotFormatError);
  const v3 = Buffer.from(buf);
  v3.writeInt16BE(3, 0);
  assert.throws(() => decodeProducerSnapshot(v3, 105), /version 3/);
});

test('snapshot format: a version 1 snapshot (written before transactions) still loads, with no aborted transactions', () => {
  const entries = [{ producerId: 1, epoch: 2, batches: [{ firstSeq: 0, lastSeq: 4, baseOffset: 10, lastOffsetDelta: 4 }], lastTimestamp: 1234, coordinatorEpoch: -1, currentTxnFirstOffset: -1 }];
  // Version 1 is version 2 without the aborted-transactions count at the end.
  const v2 = encodeProducerSnapshot(105, entries);
  const v1 = Buffer.from(v2.subarray(0, v2.length - 4));
  v1.writeInt16BE(1, 0);
  v1.writeUInt32BE(crc32c(v1.subarray(6)) >>> 0, 2);
  assert.deepEqual(decodeProducerSnapshot(v1, 105), { entries, aborted: [] });
  // Version 1 never held a producer without batches.
  const empty = Buffer.from(encodeProducerSnapshot(105, [{ ...entries[0]!, batches: [] }]).subarray(0, -4));
  empty.writeInt16BE(1, 0);
  empty.writeUInt32BE(crc32c(empty.subarray(6)) >>> 0, 2);
  assert.throws(() => decodeProducerSnapshot(empty, 105), SnapshotFormatError);
});

test('a snapshot holds what the manager holds: producers forgotten past producer.state.max.entries or with a deleted topic are not in it', () => {
  const p = new ProducerStateManager(2);
  for (const producerId of [1, 2, 3]) p.record('t', 0, { producerId, producerEpoch: 0, baseSequence: 0, recordCount: 1 }, producerId);
  assert.deepEqual(p.partitionEntries('t', 0).map((e) => e.producerId).sort(), [2, 3], 'the least recently written is forgotten');
  p.dropTopic('t');
  assert.deepEqual(p.partitionEntries('t', 0), []);
  assert.equal(p.size, 0);
});
