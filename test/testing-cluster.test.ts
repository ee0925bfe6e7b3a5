/**
 * startCluster (issue 20, item 5; src/testing/cluster.ts, src/broker/cluster.ts): several brokers in
 * one process over one state.
 * - kafkajs sees 3 brokers, with partition leaders on all of them;
 * - at the protocol level: Produce, Fetch and ListOffsets to a node that does not lead the partition
 *   are NOT_LEADER_OR_FOLLOWER, with KIP-951's current leader and its endpoint; an old leader epoch is
 *   FENCED_LEADER_EPOCH; a stopped broker's port refuses connections and its partitions move to live
 *   brokers at epoch + 1; FindCoordinator names a live broker;
 * - a kafkajs producer and consumer group carry on, every record written once and consumed, while
 *   their partition's leader is stopped and started again, and while a leader moves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster, uniqueName, type TestCluster } from '../src/testing/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProduceRequest,
  ProduceResponse,
} from '../src/protocol/messages/index.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';
import { RawClient } from './helpers/raw-client.js';
import { idempotentBatch, initProducerId } from './helpers/robust.js';
import { carryOnThroughLeaderChanges } from './helpers/client-cases.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('startCluster', { timeout: 120_000 }, () => {
  let c: TestCluster;
  let kafka: Kafka;
  before(async () => {
    c = await startCluster({ brokers: 3 });
    kafka = new Kafka({ clientId: 'cluster', brokers: c.bootstrapServers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 10 } });
  });
  after(() => c.close());

  const portOf = (id: number) => c.brokers().find((b) => b.id === id)!.port;

  it('kafkajs sees three brokers, with partition leaders spread over all of them', async () => {
    assert.deepEqual(c.brokerIds, [1, 2, 3]);
    assert.equal(new Set(c.brokers().map((b) => b.port)).size, 3, 'each broker on a port of its own');
    const topic = uniqueName('spread');
    await c.createTopics([{ topic, partitions: 6 }]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      assert.deepEqual(cluster.brokers.map((b) => b.port).sort(), c.brokers().map((b) => b.port).sort());
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const leaders = meta!.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
      assert.deepEqual(leaders, [1, 2, 3, 1, 2, 3], 'partition p led by node ids[p mod 3]');
      // Three brokers reach a replication factor of 3, not 4.
      const replicated = uniqueName('rf3');
      assert.equal(await admin.createTopics({ topics: [{ topic: replicated, numPartitions: 2, replicationFactor: 3 }] }), true);
      await assert.rejects(admin.createTopics({ topics: [{ topic: uniqueName('rf4'), replicationFactor: 4 }] }), (err: { errors?: { type: string; message: string }[] }) => {
        assert.equal(err.errors?.[0]?.type, 'INVALID_REPLICATION_FACTOR');
        return true;
      });
      // DeleteRecords goes to each partition's leader: kafkajs finds them.
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: replicated, messages: [0, 1, 2, 3].map((i) => ({ partition: i % 2, value: `v${i}` })) });
      await producer.disconnect();
      await admin.deleteTopicRecords({ topic: replicated, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '2' }] });
      assert.deepEqual([0, 1].map((p) => c.broker.storage.offsets(replicated, p).logStartOffset), [1, 2]);
    } finally {
      await admin.disconnect();
    }
  });

  it('a node that does not lead the partition answers NOT_LEADER_OR_FOLLOWER with the current leader (KIP-951)', async () => {
    const topic = uniqueName('not-leader');
    await c.createTopics([{ topic, partitions: 1 }]); // partition 0: node 1
    const raw = await RawClient.connect(portOf(2));
    try {
      const pid = await initProducerId(raw);
      const produce = await raw.request(ApiKey.Produce, 11, ProduceRequest, ProduceResponse, {
        transactionalId: null, acks: -1, timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: await idempotentBatch(['x'], pid.producerId, pid.producerEpoch, 0) }] }],
      });
      const pr = produce.responses[0]!.partitionResponses[0]!;
      assert.equal(pr.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.deepEqual(pr.currentLeader, { leaderId: 1, leaderEpoch: 0 });
      assert.deepEqual(produce.nodeEndpoints, [{ nodeId: 1, host: '127.0.0.1', port: portOf(1), rack: null }]);

      const fetch = await raw.request(ApiKey.Fetch, 16, FetchRequest, FetchResponse, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionEpoch: -1,
        topics: [{ topicId: c.broker.topics.get(topic)!.id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }],
      });
      const fp = fetch.responses[0]!.partitions[0]!;
      assert.equal(fp.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.deepEqual(fp.currentLeader, { leaderId: 1, leaderEpoch: 0 });
      assert.deepEqual(fetch.nodeEndpoints.map((e) => [e.nodeId, e.port]), [[1, portOf(1)]]);

      const list = await raw.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
        replicaId: -1, isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] }],
      });
      assert.equal(list.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);

      const del = await raw.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, {
        timeoutMs: 1000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: -1n }] }],
      });
      assert.equal(del.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      raw.close();
    }
    // Nothing was written by the refused produce; the leader takes it.
    assert.equal(c.broker.storage.offsets(topic, 0).highWatermark, 0);
  });

  it('a stopped broker refuses connections and its partitions move at epoch + 1; a leader moves on request', async () => {
    const topic = uniqueName('failover');
    await c.createTopics([{ topic, partitions: 3 }]);
    const port3 = portOf(3);
    assert.deepEqual(c.leaderOf(topic, 2), { leaderId: 3, leaderEpoch: 0 });
    await c.stopBroker(3);
    try {
      assert.equal(await refused(port3), true, "the stopped broker's port refuses connections");
      assert.deepEqual(c.leaderOf(topic, 2), { leaderId: 1, leaderEpoch: 1 }, 'the next live broker leads it');
      assert.deepEqual(c.leaderOf(topic, 0), { leaderId: 1, leaderEpoch: 0 }, 'partitions of live brokers stay');
      assert.equal(c.bootstrapServers.length, 2);

      const raw = await RawClient.connect(portOf(2));
      try {
        const meta = await raw.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: topic, topicId: ZERO_UUID }], allowAutoTopicCreation: false });
        assert.deepEqual(meta.brokers.map((b) => b.nodeId).sort(), [1, 2], 'only live brokers are listed');
        const p2 = meta.topics[0]!.partitions.find((p) => p.partitionIndex === 2)!;
        assert.deepEqual([p2.leaderId, p2.leaderEpoch, p2.isrNodes, p2.offlineReplicas], [1, 1, [1, 2], [3]]);
        // A fetch with the old epoch is fenced; with the new one, sent to the new leader, it is served.
        const fetchAt = (r: RawClient, epoch: number) =>
          r.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
            maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionEpoch: -1,
            topics: [{ topic, partitions: [{ partition: 2, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: epoch }] }],
          });
        const fenced = (await fetchAt(raw, 0)).responses[0]!.partitions[0]!;
        assert.equal(fenced.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
        assert.deepEqual(fenced.currentLeader, { leaderId: 1, leaderEpoch: 1 });
        const leader = await RawClient.connect(portOf(1));
        try {
          assert.equal((await fetchAt(leader, 1)).responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
          assert.equal((await fetchAt(leader, 2)).responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
        } finally {
          leader.close();
        }
        // FindCoordinator names live brokers only.
        const found = await raw.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, {
          keyType: 0, coordinatorKeys: Array.from({ length: 20 }, (_, i) => `group-${i}`),
        });
        const nodes = new Set(found.coordinators.map((f) => f.nodeId));
        assert.deepEqual([...nodes].sort(), [1, 2], 'coordinators spread over the live brokers');
        for (const f of found.coordinators) assert.equal(f.port, portOf(f.nodeId));
      } finally {
        raw.close();
      }
    } finally {
      await c.startBroker(3);
    }
    assert.equal(portOf(3), port3, 'started again on the same port');
    assert.equal(await refused(port3), false);
    assert.deepEqual(c.leaderOf(topic, 2), { leaderId: 1, leaderEpoch: 1 }, 'leadership does not move back by itself');
    assert.deepEqual(c.moveLeader(topic, 2, 3), { leaderId: 3, leaderEpoch: 2 });
    assert.throws(() => c.moveLeader(topic, 7, 3), /no partition 7/);
    assert.throws(() => c.moveLeader(topic, 0, 9), /no broker 9/);
  });

  it('a kafkajs producer and consumer group carry on while the leader stops and starts, and while a leader moves', async () => {
    const topic = uniqueName('carry-on');
    await c.createTopics([{ topic, partitions: 1 }]);
    const groupId = uniqueName('carry-on-group');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, heartbeatInterval: 200, sessionTimeout: 6000 });
    const seen: string[] = [];
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await carryOnThroughLeaderChanges(c, topic, {
      send: (value) => producer.send({ topic, messages: [{ value }] }),
      seen,
      stop: async () => {
        await consumer.disconnect();
        await producer.disconnect();
      },
    });
  });
});
