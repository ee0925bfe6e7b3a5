/**
 * The storage conformance suite: every StorageEngine runs these same tests — the in-memory reference
 * (storage-memory.test.ts), the segment log (storage-log.test.ts), RocksDB (storage-rocksdb.test.ts)
 * and the memory engine with its write-ahead log (storage-wal.test.ts). Call `storageConformance(name,
 * factory)` from an engine's test file; `factory` returns a fresh, empty engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StorageEngine, TopicRecord } from '../src/storage/engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { iterateBatches, readBatchHeader } from '../src/protocol/records/batch.js';
import { encodeEndTxnMarkerBatch } from '../src/protocol/records/record.js';
import { ProducerStateManager } from '../src/broker/producer-state.js';
import { ProducerSnapshots } from '../src/broker/producer-state-snapshots.js';
import { encodeProducerSnapshot } from '../src/broker/producer-state-snapshot.js';
import { createLogger } from '../src/broker/logger.js';
import type { Topic } from '../src/broker/topics.js';

export interface ConformanceOptions {
  /**
   * Durable engines: close `engine` and return a new, not yet opened engine on the same data (a
   * clean restart). Omit for engines that keep nothing; `open()` is then called again on the same one.
   */
  reopen?: (engine: StorageEngine) => Promise<StorageEngine>;
}

const topic = (name: string, partitionCount = 2, configs: Record<string, string> = {}): TopicRecord => ({
  name,
  id: `id-${name}`.padEnd(22, 'A').slice(0, 22),
  partitionCount,
  configs,
});

async function batchOf(n: number, timestamp: number, size = 10): Promise<{ bytes: Buffer; recordCount: number; maxTimestamp: number }> {
  const bytes = await encodeBatch({ records: Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(size, i), timestamp: timestamp + i })) });
  return { bytes, recordCount: n, maxTimestamp: timestamp + n - 1 };
}

export function storageConformance(name: string, factory: () => Promise<StorageEngine>, options: ConformanceOptions = {}): void {
  const fresh = async () => {
    const engine = await factory();
    await engine.open();
    return engine;
  };
  /** Restart (durable engines) or re-open in place; returns the engine to use and close from now on. */
  const restart = async (engine: StorageEngine) => {
    const next = options.reopen ? await options.reopen(engine) : engine;
    const meta = await next.open();
    return { engine: next, meta };
  };

  test(`${name}: optional capabilities are declared, each null or usable`, async () => {
    const engine = await factory();
    const caps = engine.capabilities;
    assert.ok(caps !== null && typeof caps === 'object', 'capabilities is an object');
    assert.deepEqual(Object.keys(caps).sort(), ['appendsFailInOrder', 'compaction', 'segments'], 'every capability is declared, even when absent');
    assert.equal(typeof caps.appendsFailInOrder, 'boolean');
    assert.ok(caps.compaction === null || typeof caps.compaction.compact === 'function');
    assert.ok(caps.segments === null || typeof caps.segments.segmentCount === 'function');
  });

  test(`${name}: topics are created, updated, listed and deleted`, async () => {
    let e = await fresh();
    try {
      await e.createTopic(topic('a', 2, { 'retention.ms': '1000' }));
      await e.createTopic(topic('b', 1));
      await e.updateTopic({ ...topic('b', 3), configs: { 'cleanup.policy': 'compact' } });
      assert.deepEqual(e.offsets('b', 2), { logStartOffset: 0, highWatermark: 0 });
      await e.deleteTopic('a');
      assert.throws(() => e.offsets('a', 0));
      const restarted = await restart(e);
      e = restarted.engine;
      const meta = restarted.meta;
      assert.deepEqual(meta.topics.map((t) => [t.name, t.partitionCount, t.configs]), [['b', 3, { 'cleanup.policy': 'compact' }]]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: appends get consecutive offsets written into the stored batch`, async () => {
    const e = await fresh();
    try {
      await e.createTopic(topic('log', 2));
      const r1 = await e.append('log', 0, await batchOf(3, 1000));
      const r2 = await e.append('log', 0, await batchOf(2, 2000));
      const other = await e.append('log', 1, await batchOf(1, 3000));
      assert.deepEqual([r1.baseOffset, r2.baseOffset, other.baseOffset], [0, 3, 0]);
      assert.deepEqual(e.offsets('log', 0), { logStartOffset: 0, highWatermark: 5 });
      const read = await e.read('log', 0, 0, 1 << 20, false);
      assert.deepEqual(read.batches.map((b) => readBatchHeader(b).baseOffset), [0, 3]);
      assert.equal(read.bytes, read.batches.reduce((n, b) => n + b.length, 0));
    } finally {
      await e.close();
    }
  });

  test(`${name}: appended batches and offsets survive a restart; offsets continue`, async () => {
    let e = await fresh();
    try {
      await e.createTopic(topic('keep', 2));
      const b1 = await batchOf(3, 1000);
      await e.append('keep', 0, b1);
      await e.append('keep', 0, await batchOf(2, 2000));
      await e.deleteRecordsBefore('keep', 0, 1);
      e = (await restart(e)).engine;
      assert.deepEqual(e.offsets('keep', 0), { logStartOffset: 1, highWatermark: 5 });
      assert.deepEqual(e.offsets('keep', 1), { logStartOffset: 0, highWatermark: 0 });
      const read = await e.read('keep', 0, 1, 1 << 20, false);
      assert.deepEqual(read.batches.map((b) => readBatchHeader(b).baseOffset), [0, 3]);
      assert.deepEqual(read.batches[0]!.subarray(8), b1.bytes.subarray(8), 'stored bytes are served exactly (after the base offset)');
      assert.equal((await e.append('keep', 0, await batchOf(1, 3000))).baseOffset, 5);
    } finally {
      await e.close();
    }
  });

  test(`${name}: reads start at the batch holding the offset and respect byte limits`, async () => {
    const e = await fresh();
    try {
      await e.createTopic(topic('limits', 1));
      const sizes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await batchOf(4, i * 100, 100);
        sizes.push(b.bytes.length);
        await e.append('limits', 0, b);
      }
      const fromMiddle = await e.read('limits', 0, 6, 1 << 20, false);
      assert.equal(readBatchHeader(fromMiddle.batches[0]!).baseOffset, 4, 'offset 6 lives in the batch starting at 4');
      const two = await e.read('limits', 0, 0, sizes[0]! + sizes[1]!, false);
      assert.equal(two.batches.length, 2);
      const none = await e.read('limits', 0, 0, 10, false);
      assert.equal(none.batches.length, 0);
      const oneAnyway = await e.read('limits', 0, 0, 10, true);
      assert.equal(oneAnyway.batches.length, 1, 'minOneBatch returns the first batch even past the limit');
      const atEnd = await e.read('limits', 0, 20, 1 << 20, true);
      assert.equal(atEnd.batches.length, 0);
    } finally {
      await e.close();
    }
  });

  test(`${name}: batches are found by timestamp and by max timestamp`, async () => {
    const e = await fresh();
    try {
      await e.createTopic(topic('time', 1));
      await e.append('time', 0, await batchOf(2, 1000));
      await e.append('time', 0, await batchOf(2, 5000));
      await e.append('time', 0, await batchOf(2, 3000));
      const at = async (t: number) => {
        const b = await e.findBatchByTimestamp('time', 0, t);
        return b ? readBatchHeader(b).baseOffset : null;
      };
      assert.equal(await at(0), 0);
      assert.equal(await at(1001), 0);
      assert.equal(await at(1002), 2);
      assert.equal(await at(4000), 2);
      assert.equal(await at(6000), null);
      const max = await e.findMaxTimestampBatch('time', 0);
      assert.equal(readBatchHeader(max!).baseOffset, 2);
      await e.createTopic(topic('empty', 1));
      assert.equal(await e.findMaxTimestampBatch('empty', 0), null);
    } finally {
      await e.close();
    }
  });

  test(`${name}: committed offsets are stored per group, replaced, deleted, and dropped with their topic`, async () => {
    let e = await fresh();
    try {
      await e.createTopic(topic('c', 2));
      await e.createTopic(topic('d', 1));
      const commit = (offset: number) => ({ offset, leaderEpoch: 0, metadata: `m${offset}`, commitTimestampMs: 42 });
      await e.commitOffsets('g1', [
        { topic: 'c', partition: 0, committed: commit(5) },
        { topic: 'c', partition: 1, committed: commit(7) },
        { topic: 'd', partition: 0, committed: commit(1) },
      ]);
      await e.commitOffsets('g1', [{ topic: 'c', partition: 0, committed: commit(6) }]);
      await e.commitOffsets('g2', [{ topic: 'c', partition: 1, committed: commit(9) }]);
      const g1 = e.fetchOffsets('g1');
      assert.deepEqual([...g1.values()].map((o) => [o.topic, o.partition, o.offset, o.metadata]).sort(), [
        ['c', 0, 6, 'm6'],
        ['c', 1, 7, 'm7'],
        ['d', 0, 1, 'm1'],
      ]);
      assert.deepEqual(e.listOffsetGroups().sort(), ['g1', 'g2']);
      await e.commitOffsets('g1', [{ topic: 'c', partition: 1, committed: null }]);
      assert.equal(e.fetchOffsets('g1').size, 2);
      await e.deleteTopic('d');
      assert.deepEqual([...e.fetchOffsets('g1').values()].map((o) => o.topic), ['c']);
      await e.deleteGroupOffsets('g2');
      assert.deepEqual(e.listOffsetGroups(), ['g1']);
      assert.equal(e.fetchOffsets('nobody').size, 0);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.fetchOffsets('g1').values()].map((o) => [o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitTimestampMs]), [
        ['c', 0, 6, 0, 'm6', 42],
      ]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: cluster id and the producer id counter are kept`, async () => {
    let e = await fresh();
    try {
      await e.setClusterId('cluster-one');
      await e.setNextProducerId(2000);
      const restarted = await restart(e);
      e = restarted.engine;
      const meta = restarted.meta;
      assert.equal(meta.clusterId, 'cluster-one');
      assert.equal(meta.nextProducerId, 2000);
    } finally {
      await e.close();
    }
  });

  test(`${name}: DeleteRecords moves the log start and drops whole batches below it`, async () => {
    const e = await fresh();
    try {
      await e.createTopic(topic('trim', 1));
      for (let i = 0; i < 4; i++) await e.append('trim', 0, await batchOf(5, i * 10));
      const before = e.sizeBytes('trim', 0);
      assert.equal(await e.deleteRecordsBefore('trim', 0, 7), 7);
      assert.deepEqual(e.offsets('trim', 0), { logStartOffset: 7, highWatermark: 20 });
      assert.ok(e.sizeBytes('trim', 0) < before, 'the batch 0-4 is gone');
      const read = await e.read('trim', 0, 7, 1 << 20, false);
      assert.equal(readBatchHeader(read.batches[0]!).baseOffset, 5, 'the batch holding 7 is still served whole');
      assert.equal(await e.deleteRecordsBefore('trim', 0, 3), 7, 'never backwards');
      assert.equal(await e.deleteRecordsBefore('trim', 0, 20), 20);
      assert.equal((await e.read('trim', 0, 20, 1 << 20, true)).batches.length, 0);
      const r = await e.append('trim', 0, await batchOf(1, 99));
      assert.equal(r.baseOffset, 20, 'offsets continue after trimming everything');
    } finally {
      await e.close();
    }
  });

  test(`${name}: retention by time and by size removes the oldest data but never the newest`, async () => {
    const e = await fresh();
    try {
      await e.createTopic(topic('ret', 2));
      for (let i = 0; i < 5; i++) await e.append('ret', 0, await batchOf(2, 1000 * (i + 1), 100));
      // Time: everything older than 3500 goes, except that the newest unit always stays.
      const start = await e.applyRetention('ret', 0, { retentionMs: 1000, retentionBytes: -1, nowMs: 4500 });
      assert.equal(start, e.offsets('ret', 0).logStartOffset);
      assert.ok(start >= 4 && start <= 6, `log start ${start}`);
      const all = await e.applyRetention('ret', 0, { retentionMs: 0, retentionBytes: -1, nowMs: 1e12 });
      assert.ok(all < 10, 'the newest data is kept');
      assert.equal(e.offsets('ret', 0).highWatermark, 10);
      // Size: keep at most ~2 batches' worth.
      for (let i = 0; i < 6; i++) await e.append('ret', 1, await batchOf(2, 1000, 100));
      const unit = e.sizeBytes('ret', 1) / 6;
      await e.applyRetention('ret', 1, { retentionMs: -1, retentionBytes: Math.ceil(unit * 2), nowMs: 0 });
      assert.ok(e.sizeBytes('ret', 1) <= Math.ceil(unit * 2) + unit, `size ${e.sizeBytes('ret', 1)} within the limit plus one unit`);
      assert.ok(e.offsets('ret', 1).logStartOffset > 0);
      const keep = await e.applyRetention('ret', 1, { retentionMs: -1, retentionBytes: -1, nowMs: 1e12 });
      assert.equal(keep, e.offsets('ret', 1).logStartOffset, '-1/-1 keeps everything');
    } finally {
      await e.close();
    }
  });

  test(`${name}: group metadata values are stored, replaced and deleted`, async () => {
    let e = await fresh();
    try {
      await e.putGroupMetadata('g', Buffer.from('one'));
      await e.putGroupMetadata('g', Buffer.from('two'));
      await e.putGroupMetadata('h', Buffer.from('three'));
      await e.putGroupMetadata('h', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.groupMetadata()].map(([k, v]) => [k, v.toString()]), [['g', 'two']]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: producer snapshots are stored per partition, the newest two kept, due after segment.bytes, and kept over a restart`, async () => {
    let e = await fresh();
    try {
      await e.createTopic(topic('ps', 2, { 'internal.segment.bytes': '1000' }));
      assert.deepEqual(e.producerSnapshotOffsets('ps', 0), []);
      assert.equal(e.producerSnapshotDue('ps', 0), false, 'nothing appended yet');
      let appends = 0;
      while (!e.producerSnapshotDue('ps', 0) && appends < 20) await e.append('ps', 0, await batchOf(2, 1000 + appends++, 200));
      // Batches of ~470 bytes: the log engine rolls at the third (it no longer fits in 1000 bytes);
      // the others count 1000 bytes appended after the third.
      assert.equal(appends, 3, 'due once segment.bytes have been appended (log: a segment rolled)');
      const hw = e.offsets('ps', 0).highWatermark;
      await e.writeProducerSnapshot('ps', 0, 2, Buffer.from('at-2'));
      await e.writeProducerSnapshot('ps', 0, 4, Buffer.from('at-4'));
      await e.writeProducerSnapshot('ps', 0, hw, Buffer.from('at-hw'));
      assert.deepEqual(e.producerSnapshotOffsets('ps', 0), [4, hw], 'the newest two are kept');
      assert.equal(await e.readProducerSnapshot('ps', 0, 2), null, 'a pruned snapshot is gone');
      assert.equal(e.producerSnapshotDue('ps', 0), false, 'not due right after a snapshot at the high watermark');
      assert.deepEqual(e.producerSnapshotOffsets('ps', 1), [], 'snapshots are per partition');
      e = (await restart(e)).engine;
      assert.deepEqual(e.producerSnapshotOffsets('ps', 0), [4, hw]);
      assert.equal((await e.readProducerSnapshot('ps', 0, 4))?.toString(), 'at-4');
      assert.equal((await e.readProducerSnapshot('ps', 0, hw))?.toString(), 'at-hw');
      assert.equal(e.producerSnapshotDue('ps', 0), false, 'still not due after the restart');
      // A snapshot below the newest replaces those above it (left by a log end that recovery cut back).
      await e.writeProducerSnapshot('ps', 0, 3, Buffer.from('at-3'));
      assert.deepEqual(e.producerSnapshotOffsets('ps', 0), [3]);
      e = (await restart(e)).engine;
      assert.deepEqual(e.producerSnapshotOffsets('ps', 0), [3]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: producer snapshots below the log start go with DeleteRecords and retention, and all go with their topic`, async () => {
    let e = await fresh();
    try {
      // ~280-byte batches in 300-byte segments: one batch per segment in the log engine.
      await e.createTopic(topic('pt', 1, { 'internal.segment.bytes': '300' }));
      for (let i = 0; i < 6; i++) await e.append('pt', 0, await batchOf(2, 1000 * (i + 1), 100));
      await e.writeProducerSnapshot('pt', 0, 4, Buffer.from('at-4'));
      await e.writeProducerSnapshot('pt', 0, 8, Buffer.from('at-8'));
      assert.equal(await e.deleteRecordsBefore('pt', 0, 6), 6);
      assert.deepEqual(e.producerSnapshotOffsets('pt', 0), [8], 'DeleteRecords drops the snapshot below the log start');
      const start = await e.applyRetention('pt', 0, { retentionMs: 0, retentionBytes: -1, nowMs: 1e12 });
      assert.equal(start, 10, 'retention keeps the newest batch only');
      assert.deepEqual(e.producerSnapshotOffsets('pt', 0), [], 'retention drops the snapshot below the log start');
      await e.writeProducerSnapshot('pt', 0, 12, Buffer.from('at-12'));
      e = (await restart(e)).engine;
      assert.deepEqual(e.producerSnapshotOffsets('pt', 0), [12]);
      await e.deleteTopic('pt');
      await e.createTopic(topic('pt', 1));
      assert.deepEqual(e.producerSnapshotOffsets('pt', 0), [], 'a topic created again under the name has none');
      assert.equal(await e.readProducerSnapshot('pt', 0, 12), null);
      e = (await restart(e)).engine;
      assert.deepEqual(e.producerSnapshotOffsets('pt', 0), []);
    } finally {
      await e.close();
    }
  });

  test(`${name}: transaction states are stored, replaced and deleted`, async () => {
    let e = await fresh();
    try {
      await e.putTransactionState('tx-a', Buffer.from('empty'));
      await e.putTransactionState('tx-a', Buffer.from('ongoing'));
      await e.putTransactionState('tx-b', Buffer.from('prepare-commit'));
      await e.putTransactionState('tx-c', Buffer.from('complete'));
      await e.putTransactionState('tx-c', null);
      const mine = Buffer.from('caller-owned');
      await e.putTransactionState('tx-d', mine);
      mine.fill(0); // the engine keeps its own copy: the coordinator reuses encode buffers
      e = (await restart(e)).engine;
      assert.deepEqual(
        [...e.transactionStates()].map(([k, v]) => [k, v.toString()]).sort(),
        [['tx-a', 'ongoing'], ['tx-b', 'prepare-commit'], ['tx-d', 'caller-owned']],
      );
    } finally {
      await e.close();
    }
  });

  test(`${name}: SCRAM credentials are stored, replaced and deleted, and survive a restart`, async () => {
    let e = await fresh();
    try {
      await e.putScramCredentials('alice', Buffer.from('v1'));
      await e.putScramCredentials('alice', Buffer.from('v2'));
      await e.putScramCredentials('bob', Buffer.from('bob-creds'));
      await e.putScramCredentials('carol', Buffer.from('gone'));
      await e.putScramCredentials('carol', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.scramCredentials()].map(([k, v]) => [k, v.toString()]).sort(), [['alice', 'v2'], ['bob', 'bob-creds']]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: ACL bindings are stored and deleted, and survive a restart`, async () => {
    let e = await fresh();
    try {
      await e.putAclBinding('["topic","alice"]', Buffer.from('allow-read'));
      await e.putAclBinding('["group","bob"]', Buffer.from('deny-all'));
      await e.putAclBinding('["cluster","carol"]', Buffer.from('gone'));
      await e.putAclBinding('["cluster","carol"]', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.aclBindings()].map(([k, v]) => [k, v.toString()]).sort(), [['["group","bob"]', 'deny-all'], ['["topic","alice"]', 'allow-read']]);
      await e.putAclBinding('["group","bob"]', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.aclBindings()].map(([k, v]) => [k, v.toString()]), [['["topic","alice"]', 'allow-read']]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: group configs are stored, replaced and deleted, and survive a restart`, async () => {
    let e = await fresh();
    try {
      await e.putGroupConfig('g1', Buffer.from('a'));
      await e.putGroupConfig('g1', Buffer.from('b'));
      const mine = Buffer.from('g2-configs');
      await e.putGroupConfig('g2', mine);
      mine.fill(0); // the engine keeps its own copy
      await e.putGroupConfig('g3', Buffer.from('gone'));
      await e.putGroupConfig('g3', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.groupConfigs()].map(([k, v]) => [k, v.toString()]).sort(), [['g1', 'b'], ['g2', 'g2-configs']]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: client quotas are stored, replaced and deleted, and survive a restart`, async () => {
    let e = await fresh();
    try {
      const caller = Buffer.from('caller-owned');
      await e.putClientQuotas('user=alice', Buffer.from('q1'));
      await e.putClientQuotas('user=alice', Buffer.from('q2'));
      await e.putClientQuotas('client-id=', caller);
      caller.fill(0); // the engine keeps its own copy
      await e.putClientQuotas('user=bob', Buffer.from('gone'));
      await e.putClientQuotas('user=bob', null);
      e = (await restart(e)).engine;
      assert.deepEqual([...e.clientQuotas()].map(([k, v]) => [k, v.toString()]).sort(), [['client-id=', 'caller-owned'], ['user=alice', 'q2']]);
    } finally {
      await e.close();
    }
  });

  test(`${name}: transactions: transactional and control batches are kept as written, and open transactions and the aborted-transactions index come back exactly after a restart`, async () => {
    let e = await fresh();
    try {
      // Small segments: the log engine rolls several times; the snapshot below is mid-log, so recovery
      // loads it and replays the batches and markers after it.
      await e.createTopic(topic('tx', 1, { 'internal.segment.bytes': '400' }));
      const live = new ProducerStateManager();
      let ts = 1000;
      const data = async (producerId: number, producerEpoch: number, baseSequence: number, isTransactional: boolean) => {
        const bytes = await encodeBatch({ records: [{ value: Buffer.alloc(60, baseSequence), timestamp: ++ts }], producerId, producerEpoch, baseSequence, isTransactional });
        const { baseOffset } = await e.append('tx', 0, { bytes, recordCount: 1, maxTimestamp: ts });
        live.record('tx', 0, { producerId, producerEpoch, baseSequence, recordCount: 1, isTransactional }, baseOffset, ts);
      };
      const marker = async (producerId: number, producerEpoch: number, commit: boolean) => {
        const m = { producerId, producerEpoch, coordinatorEpoch: 3, commit };
        const bytes = encodeEndTxnMarkerBatch({ ...m, timestamp: ++ts });
        const { baseOffset } = await e.append('tx', 0, { bytes, recordCount: 1, maxTimestamp: ts });
        live.recordMarker('tx', 0, m, baseOffset, ts);
      };
      await data(1, 0, 0, true); // 0
      await data(2, 0, 0, true); // 1
      await data(9, 0, 0, false); // 2
      await marker(1, 0, false); // 3: aborts [0, 3]
      const mid = e.offsets('tx', 0).highWatermark;
      await e.writeProducerSnapshot('tx', 0, mid, encodeProducerSnapshot(mid, live.partitionEntries('tx', 0), [...live.partitionAborted('tx', 0)]));
      await data(1, 0, 1, true); // 4
      await marker(2, 0, true); // 5: commits [1, 5]
      await data(3, 0, 0, true); // 6: left open
      await marker(1, 1, false); // 7: aborts [4, 7] with a bumped epoch
      await data(9, 0, 1, false); // 8
      assert.equal(live.firstUnstableOffset('tx', 0), 6);

      const kinds: string[] = [];
      const read = await e.read('tx', 0, 0, 1 << 20, true);
      for (const buf of read.batches) for (const h of iterateBatches(buf, { verifyCrc: true })) kinds.push(h.isControl ? 'control' : h.isTransactional ? 'txn' : 'data');
      assert.deepEqual(kinds, ['txn', 'txn', 'data', 'control', 'txn', 'control', 'txn', 'control', 'data'], 'attributes kept, checksums intact');

      e = (await restart(e)).engine;
      const recovered = new ProducerStateManager();
      await new ProducerSnapshots(recovered, e, createLogger('error')).recover([{ name: 'tx', partitionCount: 1 } as Topic]);
      assert.equal(recovered.firstUnstableOffset('tx', 0), 6, 'the open transaction is open again');
      assert.deepEqual(recovered.partitionAborted('tx', 0), [
        { producerId: 1, firstOffset: 0, lastOffset: 3 },
        { producerId: 1, firstOffset: 4, lastOffset: 7 },
      ]);
      const byId = (m: ProducerStateManager) => m.partitionEntries('tx', 0).sort((a, b) => a.producerId - b.producerId);
      assert.deepEqual(byId(recovered), byId(live), 'epochs, coordinator epochs, sequences as before');
    } finally {
      await e.close();
    }
  });
}
