/**
 * WriteTxnMarkers (api 27, v1) on one broker: the leader side of Kafka's coordinator-to-leader
 * markers (src/broker/api/27-write-txn-markers.ts). A COMMIT/ABORT marker ends the producer's open
 * transaction on the partition (LSO moves, an abort is listed); unknown partitions answer
 * UNKNOWN_TOPIC_OR_PARTITION; an older producer epoch INVALID_PRODUCER_EPOCH and an older
 * coordinator epoch TRANSACTION_COORDINATOR_FENCED, without writing; without CLUSTER_ACTION
 * (authorizer on) every partition is CLUSTER_AUTHORIZATION_FAILED. Across brokers it is exercised by
 * test/cluster-postgres-transactions.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { createTopic, produce } from './helpers/robust.js';
import { allowTransactions, committedValues, fetchPartition, txnBatch } from './helpers/txn.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../src/protocol/messages/index.js';

const T = 'wtm';

function markers(client: RawClient, producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean, topics: { name: string; partitionIndexes: number[] }[]) {
  return client.request(ApiKey.WriteTxnMarkers, 1, WriteTxnMarkersRequest, WriteTxnMarkersResponse, {
    markers: [{ producerId: BigInt(producerId), producerEpoch, transactionResult: commit, coordinatorEpoch, topics }],
  });
}

test('WriteTxnMarkers v1 ends open transactions at the leader, per partition; refusals write nothing', async () => {
  const b = await testBroker();
  const client = await RawClient.connect(b.port);
  try {
    await createTopic(client, T, 2);
    const allowed = allowTransactions(b.broker);
    allowed.add(`1/${T}/0`).add(`1/${T}/1`).add(`2/${T}/0`);
    assert.equal((await produce(client, T, 0, await txnBatch(['p1-a'], 1, 0, 0))).baseOffset, 0);
    assert.equal((await produce(client, T, 1, await txnBatch(['p1-b'], 1, 0, 0))).baseOffset, 0);
    assert.equal((await produce(client, T, 0, await txnBatch(['p2-c'], 2, 0, 0))).baseOffset, 1);

    const commit = await markers(client, 1, 0, 3, true, [{ name: T, partitionIndexes: [0, 1, 7] }, { name: 'nope', partitionIndexes: [0] }]);
    assert.deepEqual(commit.markers, [
      {
        producerId: 1n,
        topics: [
          { name: T, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }, { partitionIndex: 1, errorCode: ErrorCode.NONE }, { partitionIndex: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
          { name: 'nope', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
        ],
      },
    ]);
    assert.deepEqual(committedValues(await fetchPartition(client, T, 1, 0)), ['p1-b'], 'committed on partition 1');
    let rc = await fetchPartition(client, T, 0, 0);
    assert.equal(rc.lastStableOffset, 1, 'producer 2 still holds partition 0');

    const abort = await markers(client, 2, 0, 0, false, [{ name: T, partitionIndexes: [0] }]);
    assert.equal(abort.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    rc = await fetchPartition(client, T, 0, 0);
    assert.deepEqual([rc.highWatermark, rc.lastStableOffset], [4, 4]);
    assert.deepEqual(rc.aborted, [{ producerId: 2, firstOffset: 1 }]);
    assert.deepEqual(committedValues(rc), ['p1-a']);

    // Producer 1's last marker came from coordinator epoch 3: an older coordinator is fenced, an older producer epoch refused.
    const stale = await markers(client, 1, 0, 2, false, [{ name: T, partitionIndexes: [0] }]);
    assert.equal(stale.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal((await produce(client, T, 1, await txnBatch(['p1-e1'], 1, 1, 0))).baseOffset, 2, 'producer 1 at epoch 1 on partition 1');
    const oldProducerEpoch = await markers(client, 1, 0, 3, true, [{ name: T, partitionIndexes: [1] }]);
    assert.equal(oldProducerEpoch.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await fetchPartition(client, T, 1, 0)).highWatermark, 3, 'nothing written');
    const oldEpoch = await markers(client, 2, 0, 0, true, [{ name: T, partitionIndexes: [0] }]);
    assert.equal(oldEpoch.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'a marker for a producer with nothing open still writes (as Kafka)');
    assert.equal((await fetchPartition(client, T, 0, 0)).highWatermark, 5);
  } finally {
    client.close();
    await b.close();
  }
});

test('WriteTxnMarkers needs CLUSTER_ACTION on the cluster when an authorizer is on', async () => {
  const b = await testBroker({ authorizerEnabled: true, superUsers: 'User:admin' });
  const client = await RawClient.connect(b.port);
  try {
    await b.broker.topics.create(T, 1, 1, {});
    const r = await markers(client, 1, 0, 0, true, [{ name: T, partitionIndexes: [0] }]);
    assert.equal(r.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal(b.broker.storage.offsets(T, 0).highWatermark, 0, 'nothing written');
  } finally {
    client.close();
    await b.close();
  }
});
