/**
 * The transaction coordinator over the wire, at every served version: FindCoordinator key type 1,
 * InitProducerId with a transactional id, AddPartitionsToTxn v0–3, AddOffsetsToTxn v0–4, EndTxn v0–4,
 * TxnOffsetCommit v0–4 (group fencing, KIP-447), OffsetFetch require_stable, DescribeTransactions and
 * ListTransactions. Markers go to a recording TxnMarkerWriter set on the broker (the log side's
 * writer is tested with the log); PRODUCER_FENCED vs INVALID_PRODUCER_EPOCH per version (KIP-588).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { GroupClient, subscription, assignment } from './helpers/group-client.js';
import type { RunningBroker } from '../src/broker/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  ProduceRequest,
  ProduceResponse,
  EndTxnRequest,
  EndTxnResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '../src/protocol/messages/index.js';
import type { TxnMarkerWriter } from '../src/contracts/transactions.js';
import { encodeBatch } from '../src/protocol/records/record.js';

type Marker = { topic: string; partition: number; producerId: number; producerEpoch: number; commit: boolean };

describe('transactions over the wire', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  let c: RawClient;
  const markers: Marker[] = [];

  before(async () => {
    b = await testBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 10 });
    await b.broker.topics.create('tt', 3, 1, {});
    const recording: TxnMarkerWriter = {
      async writeTxnMarker(topic, partition, m) {
        markers.push({ topic, partition, producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit });
        return ErrorCode.NONE;
      },
    };
    b.broker.txnMarkers = recording;
    c = await RawClient.connect(b.port);
  });
  after(async () => {
    c.close();
    await b.close();
  });

  const init = (v: number, transactionalId: string, extra: { producerId?: bigint; producerEpoch?: number; transactionTimeoutMs?: number } = {}) =>
    c.request(ApiKey.InitProducerId, v, InitProducerIdRequest, InitProducerIdResponse, { transactionalId, transactionTimeoutMs: 60_000, ...extra });
  const addPartitions = (v: number, id: string, pid: bigint, epoch: number, partitions: number[], topic = 'tt') =>
    c.request(ApiKey.AddPartitionsToTxn, v, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: topic, partitions }],
    });
  const codesOf = (r: Awaited<ReturnType<typeof addPartitions>>) => r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
  const endTxn = (v: number, id: string, pid: bigint, epoch: number, committed: boolean) =>
    c.request(ApiKey.EndTxn, v, EndTxnRequest, EndTxnResponse, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed });
  const addOffsets = (v: number, id: string, pid: bigint, epoch: number, groupId: string) =>
    c.request(ApiKey.AddOffsetsToTxn, v, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, { transactionalId: id, producerId: pid, producerEpoch: epoch, groupId });
  const settle = () => b.broker.transactions.settle();

  for (let v = 0; v <= 5; v++) {
    it(`InitProducerId v${v}: a transactional id's producer id, epoch bumped per init; the old epoch fenced (PRODUCER_FENCED from v4)`, async () => {
      const id = `init-v${v}`;
      const first = await init(v, id);
      assert.deepEqual([first.errorCode, first.producerEpoch], [ErrorCode.NONE, 0]);
      const second = await init(v, id);
      assert.deepEqual([second.errorCode, second.producerId, second.producerEpoch], [ErrorCode.NONE, first.producerId, 1]);
      assert.equal((await init(v, id, { transactionTimeoutMs: 900_001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      assert.equal((await init(v, '')).errorCode, ErrorCode.INVALID_REQUEST);
      if (v >= 3) {
        // KIP-360: continue after an error by naming the current id and epoch; a zombie is fenced.
        const resumed = await init(v, id, { producerId: first.producerId, producerEpoch: 1 });
        assert.deepEqual([resumed.errorCode, resumed.producerEpoch], [ErrorCode.NONE, 2]);
        const zombie = await init(v, id, { producerId: first.producerId, producerEpoch: 0 });
        assert.equal(zombie.errorCode, v >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
        assert.equal((await init(v, id, { producerId: first.producerId, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST, 'id without epoch');
      }
    });
  }

  for (let v = 0; v <= 3; v++) {
    it(`AddPartitionsToTxn v${v} + EndTxn v${Math.min(v + 1, 4)}: commit writes markers to the added partitions; errors per version`, async () => {
      const id = `apt-v${v}`;
      const ev = Math.min(v + 1, 4);
      const p = await init(4, id);
      const unknown = await c.request(ApiKey.AddPartitionsToTxn, v, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
        v3AndBelowTransactionalId: id,
        v3AndBelowProducerId: p.producerId,
        v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [
          { name: 'tt', partitions: [0] },
          { name: 'nope', partitions: [0] },
        ],
      });
      assert.deepEqual(codesOf(unknown), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'nothing added when one partition is unknown');
      assert.deepEqual(codesOf(await addPartitions(v, id, p.producerId, p.producerEpoch, [0, 2])), [ErrorCode.NONE, ErrorCode.NONE]);
      assert.deepEqual(codesOf(await addPartitions(v, id, p.producerId + 1n, p.producerEpoch, [1])), [ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
      const fenced = v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
      assert.deepEqual(codesOf(await addPartitions(v, id, p.producerId, p.producerEpoch + 1, [1])), [fenced]);
      const d = await c.request(ApiKey.DescribeTransactions, 0, DescribeTransactionsRequest, DescribeTransactionsResponse, { transactionalIds: [id] });
      assert.deepEqual(
        d.transactionStates.map((s) => [s.errorCode, s.transactionState, s.producerId, s.topics.map((t) => [t.topic, [...t.partitions].sort()])]),
        [[ErrorCode.NONE, 'Ongoing', p.producerId, [['tt', [0, 2]]]]],
      );
      assert.equal(b.broker.txnVerifier.verifyTransactionalProduce(Number(p.producerId), p.producerEpoch, 'tt', 2), ErrorCode.NONE);
      assert.equal(b.broker.txnVerifier.verifyTransactionalProduce(Number(p.producerId), p.producerEpoch, 'tt', 1), ErrorCode.INVALID_TXN_STATE);

      assert.equal((await endTxn(ev, id, p.producerId, p.producerEpoch + 1, true)).errorCode, ev >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      markers.length = 0;
      assert.equal((await endTxn(ev, id, p.producerId, p.producerEpoch, true)).errorCode, ErrorCode.NONE);
      await settle();
      assert.deepEqual(markers.map((m) => [m.topic, m.partition, m.commit, m.producerId, m.producerEpoch]).sort(), [
        ['tt', 0, true, Number(p.producerId), 0],
        ['tt', 2, true, Number(p.producerId), 0],
      ]);
      assert.equal((await endTxn(ev, id, p.producerId, p.producerEpoch, true)).errorCode, ErrorCode.NONE, 'a retried commit');
      assert.equal((await endTxn(ev, id, p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
    });
  }

  it('EndTxn v0: an abort writes abort markers; a new init fences an ongoing transaction (CONCURRENT_TRANSACTIONS, then epoch + 2)', async () => {
    const id = 'abort-v0';
    const p = await init(0, id);
    assert.deepEqual(codesOf(await addPartitions(0, id, p.producerId, p.producerEpoch, [1])), [ErrorCode.NONE]);
    markers.length = 0;
    assert.equal((await endTxn(0, id, p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.NONE);
    await settle();
    assert.deepEqual(markers.map((m) => [m.partition, m.commit]), [[1, false]]);
    assert.equal((await endTxn(0, id, p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.NONE, 'a retried abort');

    assert.deepEqual(codesOf(await addPartitions(0, id, p.producerId, p.producerEpoch, [2])), [ErrorCode.NONE]);
    markers.length = 0;
    assert.equal((await init(0, id)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await settle();
    assert.deepEqual(markers.map((m) => [m.partition, m.commit, m.producerEpoch]), [[2, false, 1]], 'aborted at the fencing epoch');
    const again = await init(0, id);
    assert.deepEqual([again.errorCode, again.producerEpoch], [ErrorCode.NONE, 2]);
  });

  for (let v = 0; v <= 4; v++) {
    it(`AddOffsetsToTxn v${v} + TxnOffsetCommit v${v}: offsets pending (OffsetFetch require_stable: UNSTABLE_OFFSET_COMMIT) until the commit`, async () => {
      const id = `offsets-v${v}`;
      const group = `txn-group-v${v}`;
      const p = await init(4, id);
      const commitOffsets = (epoch: number, extra: { generationId?: number; memberId?: string } = {}, partition = 0) =>
        c.request(ApiKey.TxnOffsetCommit, v, TxnOffsetCommitRequest, TxnOffsetCommitResponse, {
          transactionalId: id,
          groupId: group,
          producerId: p.producerId,
          producerEpoch: epoch,
          ...extra,
          topics: [{ name: 'tt', partitions: [{ partitionIndex: partition, committedOffset: 17n, committedMetadata: 'meta' }] }],
        });
      const codes = (r: Awaited<ReturnType<typeof commitOffsets>>) => r.topics.flatMap((t) => t.partitions.map((x) => x.errorCode));
      assert.deepEqual(codes(await commitOffsets(p.producerEpoch)), [ErrorCode.INVALID_TXN_STATE], 'before AddOffsetsToTxn');
      assert.equal((await addOffsets(v, id, p.producerId, p.producerEpoch + 1, group)).errorCode, v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.equal((await addOffsets(v, id, p.producerId, p.producerEpoch, group)).errorCode, ErrorCode.NONE);
      assert.deepEqual(codes(await commitOffsets(p.producerEpoch + 1)), [ErrorCode.INVALID_PRODUCER_EPOCH]);
      assert.deepEqual(codes(await commitOffsets(p.producerEpoch, {}, 9)), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      if (v >= 3) {
        assert.deepEqual(codes(await commitOffsets(p.producerEpoch, { generationId: 3, memberId: 'ghost' })), [ErrorCode.UNKNOWN_MEMBER_ID], 'KIP-447 fencing');
      }
      assert.deepEqual(codes(await commitOffsets(p.producerEpoch)), [ErrorCode.NONE]);
      const g = await GroupClient.connect(b.port);
      try {
        const stable = await g.fetchOffsets(7, { groupId: group, topics: [{ name: 'tt', partitionIndexes: [0] }], requireStable: true });
        assert.equal(stable.topics[0]!.partitions[0]!.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
        const loose = await g.fetchOffsets(7, { groupId: group, topics: [{ name: 'tt', partitionIndexes: [0] }], requireStable: false });
        assert.deepEqual([loose.topics[0]!.partitions[0]!.errorCode, loose.topics[0]!.partitions[0]!.committedOffset], [ErrorCode.NONE, -1n], 'not visible yet');
        assert.equal((await endTxn(Math.min(v, 4), id, p.producerId, p.producerEpoch, true)).errorCode, ErrorCode.NONE);
        await settle();
        const after = await g.fetchOffsets(8, { groups: [{ groupId: group, topics: [{ name: 'tt', partitionIndexes: [0] }] }], requireStable: true });
        const part = after.groups[0]!.topics[0]!.partitions[0]!;
        assert.deepEqual([part.errorCode, part.committedOffset, part.metadata], [ErrorCode.NONE, 17n, 'meta'], 'committed with the transaction');
      } finally {
        g.close();
      }
    });
  }

  it('TxnOffsetCommit v3 checks the member and generation of a live group (KIP-447)', async () => {
    const group = 'txn-live-group';
    const g = await GroupClient.connect(b.port);
    try {
      const joined = await g.joinWithId(5, {
        groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(['tt']) }],
      });
      assert.equal(joined.errorCode, ErrorCode.NONE);
      const synced = await g.sync(3, { groupId: group, generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: assignment({ tt: [0, 1, 2] }) }] });
      assert.equal(synced.errorCode, ErrorCode.NONE);
      const id = 'txn-live';
      const p = await init(4, id);
      assert.equal((await addOffsets(3, id, p.producerId, p.producerEpoch, group)).errorCode, ErrorCode.NONE);
      const commit = (generationId: number, memberId: string) =>
        c.request(ApiKey.TxnOffsetCommit, 3, TxnOffsetCommitRequest, TxnOffsetCommitResponse, {
          transactionalId: id, groupId: group, producerId: p.producerId, producerEpoch: p.producerEpoch, generationId, memberId, groupInstanceId: null,
          topics: [{ name: 'tt', partitions: [{ partitionIndex: 1, committedOffset: 5n }] }],
        });
      assert.equal((await commit(joined.generationId + 1, joined.memberId)).topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
      assert.equal((await commit(joined.generationId, 'someone-else')).topics[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      assert.equal((await commit(joined.generationId, joined.memberId)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.equal((await endTxn(3, id, p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.NONE);
      await settle();
      const f = await g.fetchOffsets(7, { groupId: group, topics: [{ name: 'tt', partitionIndexes: [1] }], requireStable: true });
      assert.deepEqual([f.topics[0]!.partitions[0]!.errorCode, f.topics[0]!.partitions[0]!.committedOffset], [ErrorCode.NONE, -1n], 'aborted: never committed');
    } finally {
      g.close();
    }
  });

  it('DescribeTransactions v0 and ListTransactions v0-1 (state, producer id and duration filters)', async () => {
    const p = await init(4, 'listed');
    assert.deepEqual(codesOf(await addPartitions(3, 'listed', p.producerId, p.producerEpoch, [0])), [ErrorCode.NONE]);
    const d = await c.request(ApiKey.DescribeTransactions, 0, DescribeTransactionsRequest, DescribeTransactionsResponse, { transactionalIds: ['listed', 'missing', ''] });
    assert.deepEqual(d.transactionStates.map((s) => [s.transactionalId, s.errorCode]), [
      ['listed', ErrorCode.NONE],
      ['missing', ErrorCode.TRANSACTIONAL_ID_NOT_FOUND],
      ['', ErrorCode.INVALID_REQUEST],
    ]);
    assert.equal(d.transactionStates[0]!.transactionTimeoutMs, 60_000);
    assert.ok(d.transactionStates[0]!.transactionStartTimeMs > 0n);
    for (let v = 0; v <= 1; v++) {
      const all = await c.request(ApiKey.ListTransactions, v, ListTransactionsRequest, ListTransactionsResponse, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [p.producerId] });
      assert.deepEqual([all.errorCode, all.unknownStateFilters, all.transactionStates.map((t) => [t.transactionalId, t.transactionState])], [ErrorCode.NONE, ['Bogus'], [['listed', 'Ongoing']]], `v${v}`);
    }
    const young = await c.request(ApiKey.ListTransactions, 1, ListTransactionsRequest, ListTransactionsResponse, { stateFilters: ['Ongoing'], producerIdFilters: [p.producerId], durationFilter: 3_600_000n });
    assert.deepEqual(young.transactionStates, [], 'not running for an hour');
    assert.equal((await endTxn(4, 'listed', p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.NONE);
    await settle();
  });

  it('DescribeProducers v0: the producers a partition holds state for, from the producer state', async () => {
    await b.broker.topics.create('dp', 2, 1, {});
    const idem = await c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: 60_000 });
    const batch = await encodeBatch({
      records: [{ value: Buffer.from('a'), timestamp: 1_700_000_000_000 }, { value: Buffer.from('b'), timestamp: 1_700_000_000_005 }],
      producerId: Number(idem.producerId),
      producerEpoch: idem.producerEpoch,
      baseSequence: 0,
    });
    const produced = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
      transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'dp', partitionData: [{ index: 1, records: batch }] }],
    });
    assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    const d = await c.request(ApiKey.DescribeProducers, 0, DescribeProducersRequest, DescribeProducersResponse, { topics: [{ name: 'dp', partitionIndexes: [0, 1, 7] }] });
    const [p0, p1, p7] = d.topics[0]!.partitions;
    assert.deepEqual([p0!.errorCode, p0!.activeProducers], [ErrorCode.NONE, []]);
    assert.equal(p1!.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      p1!.activeProducers.map((x) => [x.producerId, x.producerEpoch, x.lastSequence, x.lastTimestamp, x.coordinatorEpoch, x.currentTxnStartOffset]),
      [[idem.producerId, 0, 1, 1_700_000_000_005n, -1, -1n]],
    );
    assert.equal(p7!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('DescribeTransactions stays within RESPONSE_MAX_BYTES: ids past it are INVALID_REQUEST, without partitions', async () => {
    await b.broker.topics.create('wide', 10_000, 1, {});
    const p = await init(4, 'wide-tx');
    // In requests of 1,000 partitions: a request's decoded elements are bounded by its bytes (issue 14).
    for (let from = 0; from < 10_000; from += 1_000) {
      const some = Array.from({ length: 1_000 }, (_, i) => from + i);
      assert.ok(codesOf(await addPartitions(3, 'wide-tx', p.producerId, p.producerEpoch, some, 'wide')).every((x) => x === ErrorCode.NONE));
    }
    const d = await c.request(ApiKey.DescribeTransactions, 0, DescribeTransactionsRequest, DescribeTransactionsResponse, {
      transactionalIds: Array.from({ length: 1_000 }, () => 'wide-tx'),
    });
    const served = d.transactionStates.filter((x) => x.errorCode === ErrorCode.NONE);
    assert.ok(served.length > 0 && served.length < 1_000, `a prefix is served: ${served.length}`);
    assert.equal(served[0]!.topics[0]!.partitions.length, 10_000);
    const rest = d.transactionStates.slice(served.length);
    assert.ok(rest.every((x) => x.errorCode === ErrorCode.INVALID_REQUEST && x.topics.length === 0), 'then errors, never holes');
    assert.equal((await endTxn(4, 'wide-tx', p.producerId, p.producerEpoch, false)).errorCode, ErrorCode.NONE);
    await settle();
  });
});
