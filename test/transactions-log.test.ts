/**
 * Transactions on the partitions' side (src/broker/txn-log.ts, producer-state.ts): transactional
 * batches and COMMIT/ABORT markers, the last stable offset, read_committed Fetch and ListOffsets, the
 * aborted-transactions index, epoch fencing. The coordinator is not involved: a test verifier lets
 * chosen producers write, and markers are written through `broker.txnMarkers` as the coordinator does.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { RawClient } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import type { RunningBroker } from '../src/broker/index.js';
import { createTopic, idempotentBatch, produce } from './helpers/robust.js';
import { allowTransactions, committedValues, fetchPartition, listLatest, txnBatch } from './helpers/txn.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '../src/protocol/messages/delete-records.js';
import { ControlRecordType, encodeBatch } from '../src/protocol/records/record.js';

const T = 'txn';

/** A broker with topic T, a raw client, both closed after `fn`. */
async function withTopic(fn: (b: RunningBroker, client: RawClient) => Promise<void>): Promise<void> {
  const b = await testBroker();
  const client = await RawClient.connect(b.port);
  try {
    await createTopic(client, T);
    await fn(b, client);
  } finally {
    client.close();
    await b.close();
  }
}

test('a transactional batch of a producer the coordinator does not know is refused with INVALID_TXN_STATE', () =>
  withTopic(async (b, client) => {
    assert.equal((await produce(client, T, 0, await txnBatch(['x'], 5, 0, 0))).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal((await fetchPartition(client, T, 0, 0)).highWatermark, 0, 'nothing was written');
    // The flag on a batch without a producer id takes no part in a transaction (Kafka: hasProducerId && isTransactional).
    const anonymous = await encodeBatch({ records: [{ value: Buffer.from('y') }], producerId: -1, producerEpoch: -1, baseSequence: -1, isTransactional: true });
    assert.deepEqual(await produce(client, T, 0, anonymous), { errorCode: 0, baseOffset: 0 });
    assert.equal((await fetchPartition(client, T, 0, 0)).lastStableOffset, 1);
  }));

test('open transactions hold the LSO; markers move it; read_committed fetches stop there and list the aborted transactions they overlap', () =>
  withTopic(async (b, client) => {
    const allowed = allowTransactions(b.broker);
    allowed.add(`1/${T}/0`).add(`2/${T}/0`);
    assert.equal((await produce(client, T, 0, await idempotentBatch(['a'], 9, 0, 0))).baseOffset, 0);
    assert.equal((await produce(client, T, 0, await txnBatch(['p1-x'], 1, 0, 0))).baseOffset, 1);
    assert.equal((await produce(client, T, 0, await idempotentBatch(['b'], 9, 0, 1))).baseOffset, 2);
    assert.equal((await produce(client, T, 0, await txnBatch(['p2-y'], 2, 3, 0))).baseOffset, 3);
    assert.equal((await produce(client, T, 0, await txnBatch(['p1-z'], 1, 0, 1))).baseOffset, 4);
    // Kafka's ProducerAppendInfo: while its transaction is open, the producer may not write outside it.
    const outside = await produce(client, T, 0, await idempotentBatch(['outside'], 1, 0, 2));
    assert.equal(outside.errorCode, ErrorCode.INVALID_TXN_STATE);
    // A producer not in a transaction including the partition is refused by the verifier.
    assert.equal((await produce(client, T, 0, await txnBatch(['no'], 3, 0, 0))).errorCode, ErrorCode.INVALID_TXN_STATE);

    let all = await fetchPartition(client, T, 0, 0, { isolation: 0 });
    assert.deepEqual([all.highWatermark, all.lastStableOffset, all.aborted], [5, 1, null], 'read_uncommitted: the LSO is reported, no aborted list');
    assert.equal(all.batches.length, 5);
    let rc = await fetchPartition(client, T, 0, 0);
    assert.deepEqual([rc.highWatermark, rc.lastStableOffset, rc.aborted], [5, 1, []], 'read_committed: the high watermark stays the high watermark');
    assert.deepEqual(committedValues(rc), ['a'], 'only below the LSO');
    assert.equal(await listLatest(client, T, 0, 1), 1, 'ListOffsets latest, read_committed: the LSO');
    assert.equal(await listLatest(client, T, 0, 0), 5, 'ListOffsets latest, read_uncommitted: the high watermark');
    // Fetching at the LSO returns nothing, even the first batch (KIP-74 does not apply past it).
    rc = await fetchPartition(client, T, 0, 1, { partitionMaxBytes: 1 });
    assert.deepEqual([rc.batches.length, rc.bytes], [0, 0]);

    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false }), ErrorCode.NONE);
    rc = await fetchPartition(client, T, 0, 0);
    assert.equal(rc.lastStableOffset, 3, 'producer 2 still holds the LSO');
    assert.deepEqual(rc.aborted, [{ producerId: 1, firstOffset: 1 }]);
    assert.deepEqual(committedValues(rc), ['a', 'b']);

    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 2, producerEpoch: 3, coordinatorEpoch: 0, commit: true }), ErrorCode.NONE);
    rc = await fetchPartition(client, T, 0, 0);
    assert.deepEqual([rc.highWatermark, rc.lastStableOffset], [7, 7], 'no open transaction: LSO = high watermark');
    assert.deepEqual(rc.aborted, [{ producerId: 1, firstOffset: 1 }]);
    assert.deepEqual(committedValues(rc), ['a', 'b', 'p2-y']);
    assert.equal(await listLatest(client, T, 0, 1), 7);

    // The markers: one control record each, as Kafka's MemoryRecords.withEndTransactionMarker writes it.
    const [abort, commit] = rc.batches.slice(5);
    for (const [m, pid, epoch, type] of [[abort!, 1, 0, ControlRecordType.abort], [commit!, 2, 3, ControlRecordType.commit]] as const) {
      assert.ok(m.header.isControl && m.header.isTransactional);
      assert.deepEqual([m.header.producerId, m.header.producerEpoch, m.header.baseSequence, m.header.compression, m.records.length], [pid, epoch, -1, 0, 1]);
      assert.deepEqual(m.records[0]!.key, Buffer.from([0, 0, 0, type]));
      assert.deepEqual(m.records[0]!.value, Buffer.from([0, 0, 0, 0, 0, 0]));
      assert.deepEqual(m.records[0]!.control, { version: 0, type, coordinatorEpoch: 0 });
    }
    // aborted_transactions lists only those overlapping what is returned.
    assert.deepEqual((await fetchPartition(client, T, 0, 5)).aborted, [{ producerId: 1, firstOffset: 1 }], 'the abort marker (offset 5) is in range');
    assert.deepEqual((await fetchPartition(client, T, 0, 6)).aborted, [], 'past the abort marker');
    assert.deepEqual((await fetchPartition(client, T, 0, 0, { partitionMaxBytes: 1 })).aborted, [], 'only offset 0 returned: the aborted transaction begins after it');
    // Fetch v4, the first version with the isolation level, has the same fields.
    const v4 = await fetchPartition(client, T, 0, 0, { version: 4 });
    assert.deepEqual([v4.lastStableOffset, v4.aborted], [7, [{ producerId: 1, firstOffset: 1 }]]);
  }));

test('a read_committed long poll waits for the LSO, and a marker wakes it', () =>
  withTopic(async (b, client) => {
    allowTransactions(b.broker).add(`1/${T}/0`);
    await produce(client, T, 0, await txnBatch(['x'], 1, 0, 0));
    const started = Date.now();
    setTimeout(() => void b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), 300);
    const rc = await fetchPartition(client, T, 0, 0, { minBytes: 1, maxWaitMs: 10_000 });
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 9_000, `answered when the marker moved the LSO (${waited} ms)`);
    assert.deepEqual(committedValues(rc), ['x']);
  }));

test('epochs: a marker records the producer epoch; older transactional batches and markers are fenced', () =>
  withTopic(async (b, client) => {
    allowTransactions(b.broker).add(`1/${T}/0`);
    assert.equal((await produce(client, T, 0, await txnBatch(['x'], 1, 0, 0))).errorCode, 0);
    // The coordinator aborts with a bumped epoch (a fenced or timed-out producer, KIP-588).
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 1, coordinatorEpoch: 0, commit: false }), ErrorCode.NONE);
    const late = await produce(client, T, 0, await txnBatch(['late'], 1, 0, 1));
    assert.equal(late.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'a batch of the old epoch is fenced (Kafka answers INVALID_PRODUCER_EPOCH at every Produce version since 2.7)');
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 1, coordinatorEpoch: -1, commit: true }), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 1, coordinatorEpoch: 0, commit: true }), ErrorCode.NONE, 'same epochs again: written, changes nothing');
    // The new epoch starts at sequence 0.
    assert.equal((await produce(client, T, 0, await txnBatch(['new'], 1, 1, 0))).errorCode, 0);
    const rc = await fetchPartition(client, T, 0, 0);
    assert.equal(rc.lastStableOffset, 3, 'the new transaction holds the LSO');
    assert.deepEqual(committedValues(rc), []);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 1, coordinatorEpoch: 0, commit: true }), ErrorCode.NONE);
    assert.deepEqual(committedValues(await fetchPartition(client, T, 0, 0)), ['new']);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker('gone', 0, { producerId: 1, producerEpoch: 1, coordinatorEpoch: 0, commit: true }), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }));

test('a marker for a producer with no open transaction is written and changes no LSO or index', () =>
  withTopic(async (b, client) => {
    await produce(client, T, 0, await idempotentBatch(['a'], 9, 0, 0));
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 4, producerEpoch: 0, coordinatorEpoch: 0, commit: false }), ErrorCode.NONE);
    const rc = await fetchPartition(client, T, 0, 0);
    assert.deepEqual([rc.highWatermark, rc.lastStableOffset, rc.aborted, committedValues(rc)], [2, 2, [], ['a']]);
  }));

test('DeleteRecords past an open transaction: the LSO stays at the log start, never below it; aborted transactions below the log start leave the index', () =>
  withTopic(async (b, client) => {
    allowTransactions(b.broker).add(`1/${T}/0`);
    await produce(client, T, 0, await txnBatch(['x'], 1, 0, 0));
    await produce(client, T, 0, await idempotentBatch(['a', 'b'], 9, 0, 0));
    const deleteBefore = async (offset: number) => {
      const res = await client.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, {
        timeoutMs: 1000,
        topics: [{ name: T, partitions: [{ partitionIndex: 0, offset: BigInt(offset) }] }],
      });
      assert.equal(res.topics[0]!.partitions[0]!.errorCode, 0);
    };
    await deleteBefore(2);
    const rc = await fetchPartition(client, T, 0, 2);
    assert.deepEqual([rc.lastStableOffset, rc.batches.length], [2, 0]);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false }), ErrorCode.NONE);
    const after = await fetchPartition(client, T, 0, 2);
    assert.equal(after.lastStableOffset, 4);
    assert.deepEqual(after.aborted, [{ producerId: 1, firstOffset: 0 }], 'its marker is at offset 3, in range');
    // Past its marker, the aborted transaction can never be fetched again: it leaves the index.
    await deleteBefore(4);
    assert.deepEqual(b.broker.producers.partitionAborted(T, 0), []);
  }));

test('producer state: replaying transactional batches and markers from any offset at or below a snapshot is exact', async () => {
  const { ProducerStateManager } = await import('../src/broker/producer-state.js');
  const { encodeProducerSnapshot, decodeProducerSnapshot } = await import('../src/broker/producer-state-snapshot.js');
  // The log: 0 P1 txn, 1 P2 txn, 2 P1 ABORT, 3 P1 txn (epoch 0, seq 1), 4 P2 COMMIT, 5 P3 txn, 6 P1 ABORT (epoch 1)
  type Step = { at: number; pid: number; epoch: number } & ({ kind: 'data'; seq: number } | { kind: 'marker'; commit: boolean });
  const log: Step[] = [
    { at: 0, pid: 1, epoch: 0, kind: 'data', seq: 0 },
    { at: 1, pid: 2, epoch: 0, kind: 'data', seq: 0 },
    { at: 2, pid: 1, epoch: 0, kind: 'marker', commit: false },
    { at: 3, pid: 1, epoch: 0, kind: 'data', seq: 1 },
    { at: 4, pid: 2, epoch: 0, kind: 'marker', commit: true },
    { at: 5, pid: 3, epoch: 0, kind: 'data', seq: 0 },
    { at: 6, pid: 1, epoch: 1, kind: 'marker', commit: false },
  ];
  const apply = (p: InstanceType<typeof ProducerStateManager>, s: Step, replay: boolean) => {
    if (s.kind === 'marker') p.recordMarker('t', 0, { producerId: s.pid, producerEpoch: s.epoch, coordinatorEpoch: 0, commit: s.commit }, s.at, 0);
    else if (replay) p.replay('t', 0, { producerId: s.pid, producerEpoch: s.epoch, baseSequence: s.seq, recordCount: 1, isTransactional: true }, s.at, 0);
    else p.record('t', 0, { producerId: s.pid, producerEpoch: s.epoch, baseSequence: s.seq, recordCount: 1, isTransactional: true }, s.at, 0);
  };
  const live = new ProducerStateManager();
  for (const s of log) apply(live, s, false);
  const state = (p: InstanceType<typeof ProducerStateManager>) =>
    [p.firstUnstableOffset('t', 0), p.partitionAborted('t', 0), p.partitionEntries('t', 0).sort((a, b) => a.producerId - b.producerId)];
  assert.equal(live.firstUnstableOffset('t', 0), 5);
  assert.deepEqual(live.partitionAborted('t', 0), [
    { producerId: 1, firstOffset: 0, lastOffset: 2 },
    { producerId: 1, firstOffset: 3, lastOffset: 6 },
  ]);
  assert.deepEqual(live.abortedTransactions('t', 0, 3, 4), [{ producerId: 1, firstOffset: 3, lastOffset: 6 }]);
  assert.deepEqual(live.abortedTransactions('t', 0, 0, 1), [{ producerId: 1, firstOffset: 0, lastOffset: 2 }]);
  // A snapshot whose state runs ahead of its offset (appends were under way), then replay from there.
  for (let taken = 0; taken <= log.length; taken++) {
    const snapState = new ProducerStateManager();
    for (const s of log.slice(0, taken)) apply(snapState, s, false);
    for (let from = 0; from <= taken; from++) {
      const snap = decodeProducerSnapshot(encodeProducerSnapshot(from, snapState.partitionEntries('t', 0), [...snapState.partitionAborted('t', 0)]), from);
      const p = new ProducerStateManager();
      p.load('t', 0, snap.entries, snap.aborted);
      for (const s of log.slice(from)) apply(p, s, true);
      assert.deepEqual(state(p), state(live), `snapshot of the first ${taken} steps stored at ${from}`);
    }
  }
});

test('hooks: transactional batches reach produce hooks with batch.transactional, markers never reach a hook, a hook edit keeps the batch in its transaction', async () => {
  const seen: string[] = [];
  const b = await testBroker({
    hooks: [
      {
        name: 'watch',
        async beforeProduce({ batch }) {
          seen.push(`before ${batch.transactional ? 'txn' : 'plain'} ${batch.producerId}`);
          for (const r of await batch.records()) if (r.valueText() === 'drop') r.drop();
        },
        afterProduce({ batch, baseOffset }) {
          seen.push(`after ${batch.transactional ? 'txn' : 'plain'} ${batch.producerId} at ${baseOffset}`);
        },
        afterFetch({ batches }) {
          for (const batch of batches) seen.push(`fetch ${batch.transactional ? 'txn' : 'plain'} ${batch.producerId} at ${batch.baseOffset}`);
        },
      },
    ],
  });
  const client = await RawClient.connect(b.port);
  try {
    await createTopic(client, T);
    allowTransactions(b.broker).add(`1/${T}/0`);
    assert.equal((await produce(client, T, 0, await txnBatch(['keep', 'drop'], 1, 0, 0))).baseOffset, 0);
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), ErrorCode.NONE);
    // The next transaction continues the sequence after the whole first batch (a drop never renumbers).
    assert.equal((await produce(client, T, 0, await txnBatch(['more'], 1, 0, 2))).errorCode, ErrorCode.NONE);
    const rc = await fetchPartition(client, T, 0, 0, { isolation: 0 });
    assert.deepEqual(
      rc.batches.map((x) => [x.header.baseOffset, x.header.isTransactional, x.header.isControl, x.header.producerId, x.header.baseSequence, x.records.map((r) => r.value?.toString() ?? null)]),
      [
        [0, true, false, 1, 0, ['keep']],
        [2, true, true, 1, -1, [Buffer.from([0, 0, 0, 0, 0, 0]).toString()]],
        [3, true, false, 1, 2, ['more']],
      ],
    );
    assert.deepEqual(seen, ['before txn 1', 'after txn 1 at 0', 'before txn 1', 'after txn 1 at 3', 'fetch txn 1 at 0', 'fetch txn 1 at 3'], 'the marker at offset 2 reached no hook');
  } finally {
    client.close();
    await b.close();
  }
});

test('ListOffsets read_committed: a lookup by time or max timestamp finding an offset at or past the LSO answers none', async () => {
  const { ListOffsetsRequest, ListOffsetsResponse } = await import('../src/protocol/messages/list-offsets.js');
  const b = await testBroker();
  const client = await RawClient.connect(b.port);
  try {
    await createTopic(client, T);
    allowTransactions(b.broker).add(`1/${T}/0`);
    await produce(client, T, 0, await encodeBatch({ records: [{ value: Buffer.from('old'), timestamp: 1000 }] })); // 0
    await produce(client, T, 0, await encodeBatch({ records: [{ value: Buffer.from('open'), timestamp: 5000 }], producerId: 1, producerEpoch: 0, baseSequence: 0, isTransactional: true })); // 1
    const ask = async (timestamp: bigint, isolationLevel: number) => {
      const res = await client.request(ApiKey.ListOffsets, 8, ListOffsetsRequest, ListOffsetsResponse, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: T, partitions: [{ partitionIndex: 0, timestamp }] }],
      });
      const p = res.topics[0]!.partitions[0]!;
      return [p.errorCode, Number(p.offset)];
    };
    assert.deepEqual(await ask(2000n, 0), [0, 1]);
    assert.deepEqual(await ask(2000n, 1), [0, -1], 'by time: offset 1 is past the LSO');
    assert.deepEqual(await ask(500n, 1), [0, 0], 'by time, below the LSO');
    assert.deepEqual(await ask(-3n, 0), [0, 1]);
    assert.deepEqual(await ask(-3n, 1), [0, -1], 'max timestamp: past the LSO');
    assert.deepEqual(await ask(-2n, 1), [0, 0], 'earliest is not bounded');
    assert.deepEqual(await ask(-1n, 1), [0, 1], 'latest is the LSO');
    assert.equal(await b.broker.txnMarkers.writeTxnMarker(T, 0, { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), ErrorCode.NONE);
    assert.deepEqual(await ask(2000n, 1), [0, 1], 'committed: visible');
    assert.deepEqual(await ask(-1n, 1), [0, 3]);
  } finally {
    client.close();
    await b.close();
  }
});

test('property: a read_committed consumer fetching in pieces of any size sees exactly the committed records, in order, up to the LSO', { timeout: 120_000 }, () =>
  withTopic(async (b, client) => {
    const allowed = allowTransactions(b.broker);
    let run = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), pid: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('end' as const), pid: fc.integer({ min: 1, max: 3 }), commit: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), fc.integer({ min: 1, max: 400 }), async (ops, pieceBytes) => {
        const topic = `prop-${run++}`;
        await createTopic(client, topic);
        for (const pid of [1, 2, 3]) allowed.add(`${pid}/${topic}/0`);
        const seq = new Map<number, number>();
        const open = new Map<number, { offset: number; value: string }[]>();
        const committed: { offset: number; value: string }[] = [];
        let k = 0;
        for (const o of ops) {
          if (o.kind === 'end') {
            const txn = open.get(o.pid);
            assert.equal(await b.broker.txnMarkers.writeTxnMarker(topic, 0, { producerId: o.pid, producerEpoch: 0, coordinatorEpoch: 0, commit: o.commit }), 0);
            open.delete(o.pid);
            if (txn && o.commit) committed.push(...txn);
            continue;
          }
          const values = Array.from({ length: o.n }, () => `v${k++}`);
          if (o.pid === 0) {
            const r = await produce(client, topic, 0, await encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v) })) }));
            committed.push(...values.map((value, i) => ({ offset: r.baseOffset + i, value })));
            continue;
          }
          const s0 = seq.get(o.pid) ?? 0;
          const r = await produce(client, topic, 0, await txnBatch(values, o.pid, 0, s0));
          assert.equal(r.errorCode, 0);
          seq.set(o.pid, s0 + o.n);
          // A transaction's records interleave with others': each keeps its own offset.
          open.set(o.pid, [...(open.get(o.pid) ?? []), ...values.map((value, i) => ({ offset: r.baseOffset + i, value }))]);
        }
        const lso = Math.min(...[...open.values()].map((t) => t[0]!.offset), (await fetchPartition(client, topic, 0, 0, { isolation: 0 })).highWatermark);
        const expected = committed.filter((c) => c.offset < lso).sort((x, y) => x.offset - y.offset).map((c) => c.value);
        const seen: string[] = [];
        let offset = 0;
        for (let guard = 0; offset < lso && guard < 500; guard++) {
          const f = await fetchPartition(client, topic, 0, offset, { partitionMaxBytes: pieceBytes });
          assert.equal(f.lastStableOffset, lso);
          assert.ok(f.batches.length > 0, 'below the LSO a fetch always returns a batch');
          for (const batch of f.batches) assert.ok(batch.header.baseOffset < lso, 'nothing past the LSO');
          seen.push(...committedValues(f));
          offset = f.batches[f.batches.length - 1]!.header.lastOffset + 1;
        }
        assert.deepEqual(seen, expected);
      }),
      { numRuns: 40 },
    );
  }));
