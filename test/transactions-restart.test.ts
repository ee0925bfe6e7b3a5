/**
 * Transaction coordinator state across restarts of a broker on durable storage: an Ongoing
 * transaction is still Ongoing (and a new InitProducerId aborts it, writing the ABORT marker to the
 * log); a PrepareCommit left behind (markers not written) is completed at start, its offsets applied;
 * and with `kill -9` right after an acknowledged EndTxn the commit is never lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { tempDir } from './helpers/log-engine.js';
import { RawClient } from './helpers/raw-client.js';
import { kill9, startBrokerProcess, stop } from './helpers/broker-process.js';
import type { RunningBroker } from '../src/broker/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { decodeBatches, ControlRecordType } from '../src/protocol/records/record.js';
import {
  ApiKey,
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  FetchRequest,
  FetchResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '../src/protocol/messages/index.js';

/** The wire steps of a transaction, at fixed versions. */
function txnClient(c: RawClient) {
  return {
    init: (id: string) => c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: id, transactionTimeoutMs: 60_000 }),
    add: async (id: string, pid: bigint, epoch: number, topic: string, partitions: number[]) => {
      const r = await c.request(ApiKey.AddPartitionsToTxn, 3, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
        v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: topic, partitions }],
      });
      return r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
    },
    addOffsets: async (id: string, pid: bigint, epoch: number, groupId: string) =>
      (await c.request(ApiKey.AddOffsetsToTxn, 3, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, { transactionalId: id, producerId: pid, producerEpoch: epoch, groupId })).errorCode,
    commitOffset: async (id: string, pid: bigint, epoch: number, groupId: string, topic: string, offset: bigint) => {
      const r = await c.request(ApiKey.TxnOffsetCommit, 3, TxnOffsetCommitRequest, TxnOffsetCommitResponse, {
        transactionalId: id, groupId, producerId: pid, producerEpoch: epoch, generationId: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset }] }],
      });
      return r.topics[0]!.partitions[0]!.errorCode;
    },
    end: async (id: string, pid: bigint, epoch: number, committed: boolean) =>
      (await c.request(ApiKey.EndTxn, 3, EndTxnRequest, EndTxnResponse, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed })).errorCode,
    describe: async (id: string) =>
      (await c.request(ApiKey.DescribeTransactions, 0, DescribeTransactionsRequest, DescribeTransactionsResponse, { transactionalIds: [id] })).transactionStates[0]!,
    committed: async (groupId: string, topic: string) =>
      (await c.request(ApiKey.OffsetFetch, 7, OffsetFetchRequest, OffsetFetchResponse, { groupId, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: true })).topics[0]!.partitions[0]!,
    /** The control markers in partition 0 of `topic`: [type, producer id, epoch]. */
    markers: async (topic: string) => {
      const f = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      });
      const records = f.responses[0]!.partitions[0]!.records as Buffer | null;
      const batches = records ? await decodeBatches(records) : [];
      return batches.filter((b) => b.header.isControl).map((b) => [b.records[0]!.control!.type, b.header.producerId, b.header.producerEpoch]);
    },
  };
}

test('an Ongoing transaction survives a restart; the next InitProducerId aborts it with an ABORT marker in the log', async () => {
  const data = tempDir('rafka-txn-restart-');
  const start = () => testBroker({ storage: { type: 'log', path: data.dir } });
  let b: RunningBroker = await start();
  try {
    await b.broker.topics.create('tr', 1, 1, {});
    let c = await RawClient.connect(b.port);
    let t = txnClient(c);
    const p = await t.init('tx-r');
    assert.deepEqual(await t.add('tx-r', p.producerId, p.producerEpoch, 'tr', [0]), [ErrorCode.NONE]);
    c.close();
    await b.close();

    b = await start();
    c = await RawClient.connect(b.port);
    t = txnClient(c);
    const d = await t.describe('tx-r');
    assert.deepEqual([d.transactionState, d.producerId, d.producerEpoch, d.topics.map((x) => [x.topic, x.partitions])], ['Ongoing', p.producerId, 0, [['tr', [0]]]]);
    assert.equal((await t.init('tx-r')).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'the ongoing transaction is aborted first');
    await b.broker.transactions.settle();
    assert.deepEqual(await t.markers('tr'), [[ControlRecordType.abort, Number(p.producerId), 1]]);
    const again = await t.init('tx-r');
    assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [ErrorCode.NONE, p.producerId, 2]);
    c.close();
  } finally {
    await b.close();
    data.remove();
  }
});

test('a PrepareCommit left at shutdown is completed at the next start: the COMMIT marker written, the offsets applied', async () => {
  const data = tempDir('rafka-txn-prepare-');
  const start = () => testBroker({ storage: { type: 'log', path: data.dir } });
  let b: RunningBroker = await start();
  try {
    await b.broker.topics.create('tp', 1, 1, {});
    // Every marker fails: the transaction stays PrepareCommit until shutdown stops the retries.
    b.broker.txnMarkers = { writeTxnMarker: async () => ErrorCode.KAFKA_STORAGE_ERROR };
    let c = await RawClient.connect(b.port);
    let t = txnClient(c);
    const p = await t.init('tx-p');
    assert.deepEqual(await t.add('tx-p', p.producerId, p.producerEpoch, 'tp', [0]), [ErrorCode.NONE]);
    assert.equal(await t.addOffsets('tx-p', p.producerId, p.producerEpoch, 'gp'), ErrorCode.NONE);
    assert.equal(await t.commitOffset('tx-p', p.producerId, p.producerEpoch, 'gp', 'tp', 7n), ErrorCode.NONE);
    assert.equal(await t.end('tx-p', p.producerId, p.producerEpoch, true), ErrorCode.NONE);
    assert.equal((await t.describe('tx-p')).transactionState, 'PrepareCommit');
    assert.equal((await t.committed('gp', 'tp')).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    c.close();
    await b.close();

    b = await start();
    await b.broker.transactions.settle();
    c = await RawClient.connect(b.port);
    t = txnClient(c);
    assert.equal((await t.describe('tx-p')).transactionState, 'CompleteCommit');
    assert.deepEqual(await t.markers('tp'), [[ControlRecordType.commit, Number(p.producerId), 0]]);
    const o = await t.committed('gp', 'tp');
    assert.deepEqual([o.errorCode, o.committedOffset], [ErrorCode.NONE, 7n]);
    c.close();
  } finally {
    await b.close();
    data.remove();
  }
});

test('kill -9 right after an acknowledged EndTxn: the commit and its offsets are there after the restart (log engine, fsync=always)', { timeout: 60_000 }, async () => {
  const data = tempDir('rafka-txn-kill-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  const env = { RAFKA_STORAGE_FSYNC: 'always' };
  let broker = await startBrokerProcess(args, { env });
  try {
    let c = await RawClient.connect(broker.port);
    const created = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 'tk', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
    });
    assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
    let t = txnClient(c);
    const committedIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `tx-k${i}`;
      const p = await t.init(id);
      assert.deepEqual(await t.add(id, p.producerId, p.producerEpoch, 'tk', [0]), [ErrorCode.NONE]);
      assert.equal(await t.addOffsets(id, p.producerId, p.producerEpoch, 'gk'), ErrorCode.NONE);
      assert.equal(await t.commitOffset(id, p.producerId, p.producerEpoch, 'gk', 'tk', BigInt(100 + i)), ErrorCode.NONE);
      assert.equal(await t.end(id, p.producerId, p.producerEpoch, true), ErrorCode.NONE);
      committedIds.push(id);
    }
    await kill9(broker); // at once: the last EndTxn's markers may not be written yet
    c.close();

    broker = await startBrokerProcess(args, { env });
    c = await RawClient.connect(broker.port);
    t = txnClient(c);
    for (let tries = 0; ; tries++) {
      const states = await Promise.all(committedIds.map(async (id) => (await t.describe(id)).transactionState));
      if (states.every((s) => s === 'CompleteCommit')) break;
      assert.ok(tries < 100, `completed after the restart: ${states.join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const markers = await t.markers('tk');
    assert.equal(markers.length >= committedIds.length, true, `a COMMIT marker per transaction (a repeated one is harmless): ${JSON.stringify(markers)}`);
    assert.ok(markers.every(([type]) => type === ControlRecordType.commit));
    const o = await t.committed('gk', 'tk');
    assert.deepEqual([o.errorCode, o.committedOffset], [ErrorCode.NONE, 104n], 'the last transaction offsets');
    c.close();
  } finally {
    await stop(broker);
    data.remove();
  }
});
