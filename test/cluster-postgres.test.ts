/**
 * Issue 19, items 2–3: several brokers over one PostgreSQL database (src/broker/shared-cluster.ts,
 * docs/cluster.md). Each broker here has its own engine and pool, as separate processes would (the
 * separate-process tests with kcat, confluent-kafka and the kill test are in test/slow/).
 * - registration: Metadata and DescribeCluster of every broker list every live broker; a second
 *   process with a live broker's node id waits for its lease and then gives up;
 * - topics created on one broker are seen by the others (at once for a Metadata naming it);
 * - leadership spread over the live brokers, one leader per partition in the database; a broker
 *   that leaves: its partitions move at epoch + 1; a broker that joins takes its share;
 * - a stale leader's append fails the epoch check and answers NOT_LEADER_OR_FOLLOWER with the new
 *   leader (KIP-951); kafkajs produces and consumes across the moves, each record once;
 * - coordinators: FindCoordinator names the same live broker everywhere; another broker answers
 *   the group APIs NOT_COORDINATOR.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  ProduceRequest,
  ProduceResponse,
} from '../src/protocol/messages/index.js';
import { assignedLeader } from '../src/broker/shared-cluster.js';
import { RawClient } from './helpers/raw-client.js';
import { idempotentBatch, initProducerId } from './helpers/robust.js';
import { fileCluster, sql } from './helpers/postgres.js';
import { PgBrokers, metadata, until, withRaw } from './helpers/pg-brokers.js';
import { PostgresEngine } from '../src/storage/postgres/postgres-engine.js';
import { NotCoordinatorError } from '../src/storage/errors.js';

const { skip, pgc } = await fileCluster();

describe('brokers sharing one PostgreSQL database', { skip, timeout: 180_000 }, () => {
  let url: string;
  const cluster = new PgBrokers(() => url);
  const brokers = cluster.brokers;
  const start = (id: number) => cluster.start(id);
  const stopBroker = (id: number) => cluster.stop(id);
  const portOf = (id: number) => brokers.get(id)!.port;
  /** One idempotent record to a partition of `spread`, sent to broker `id`. */
  const produceOne = (id: number, partition: number, value: string) =>
    withRaw(portOf(id), async (raw) => {
      const pid = await initProducerId(raw);
      return raw.request(ApiKey.Produce, 11, ProduceRequest, ProduceResponse, {
        transactionalId: null, acks: -1, timeoutMs: 5000,
        topicData: [{ name: 'spread', partitionData: [{ index: partition, records: await idempotentBatch([value], pid.producerId, pid.producerEpoch, 0) }] }],
      });
    });
  const liveIdsAt = async (id: number) => (await metadata(portOf(id))).brokers.map((b) => b.nodeId).sort();

  before(async () => {
    url = await pgc().createDatabase();
    await Promise.all([start(1), start(2), start(3)]);
  });
  after(async () => {
    for (const id of [...brokers.keys()]) await stopBroker(id);
  });

  it('every broker lists every live broker with its own address (Metadata, DescribeCluster)', async () => {
    for (const id of [1, 2, 3]) await until(`broker ${id} to see 3 brokers`, async () => (await liveIdsAt(id)).join() === '1,2,3');
    const md = await metadata(portOf(2));
    assert.deepEqual(md.brokers.map((b) => [b.nodeId, b.port]).sort(), [1, 2, 3].map((id) => [id, portOf(id)]));
    const raw = await RawClient.connect(portOf(3));
    try {
      const dc = await raw.request(ApiKey.DescribeCluster, 0, DescribeClusterRequest, DescribeClusterResponse, { includeClusterAuthorizedOperations: false });
      assert.deepEqual(dc.brokers.map((b) => b.brokerId).sort(), [1, 2, 3]);
      assert.equal(dc.clusterId, brokers.get(1)!.broker.clusterId, 'one cluster id, kept in the database');
    } finally {
      raw.socket.destroy();
    }
    const rows = await sql<{ node_id: number }>(url, 'SELECT node_id FROM rafka_brokers WHERE lease_expires_at > now() ORDER BY node_id');
    assert.deepEqual(rows.map((r) => r.node_id), [1, 2, 3]);
  });

  it('a topic created on one broker is seen by the others, with leaders spread over all three', async () => {
    await brokers.get(1)!.broker.topics.create('spread', 6, 1, { 'retention.ms': '3600000' });
    // Asked by name, broker 3 looks in the database at once rather than at its next heartbeat.
    const md3 = await metadata(portOf(3), ['spread']);
    assert.equal(md3.topics[0]!.errorCode, ErrorCode.NONE);
    assert.equal(brokers.get(3)!.broker.topics.get('spread')!.configs['retention.ms'], '3600000');
    const leaders = await until('leaders on every partition, seen alike by every broker', async () => {
      const views = await Promise.all([1, 2, 3].map(async (id) => (await metadata(portOf(id), ['spread'])).topics[0]!.partitions.map((p) => p.leaderId)));
      return views.every((v) => v.length === 6 && v.every((l) => l > 0) && v.join() === views[0]!.join()) && views[0];
    });
    assert.deepEqual([...new Set(leaders)].sort(), [1, 2, 3], 'leaders on all three brokers');
    const topicId = brokers.get(1)!.broker.topics.get('spread')!.id;
    assert.deepEqual(leaders, [0, 1, 2, 3, 4, 5].map((p) => assignedLeader(topicId, p, [1, 2, 3])), 'the deterministic assignment');
    const rows = await sql<{ partition: number; leader_node_id: number }>(url, 'SELECT partition, leader_node_id FROM rafka_partitions WHERE topic_id = $1 ORDER BY partition', [topicId]);
    assert.deepEqual(rows.map((r) => r.leader_node_id), leaders, 'the database holds the same leaders');
  });

  it('a broker that does not lead a partition answers NOT_LEADER_OR_FOLLOWER with the leader (KIP-951)', async () => {
    const md = await metadata(portOf(1), ['spread']);
    const p = md.topics[0]!.partitions.find((x) => x.leaderId !== 1)!;
    const produce = await produceOne(1, p.partitionIndex, 'x');
    const pr = produce.responses[0]!.partitionResponses[0]!;
    assert.equal(pr.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(pr.currentLeader, { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch });
    assert.deepEqual(produce.nodeEndpoints.map((e) => [e.nodeId, e.port]), [[p.leaderId, portOf(p.leaderId)]]);
  });

  it('a stale leader cannot append: its epoch was replaced in the database, it answers NOT_LEADER_OR_FOLLOWER and gives the partition up', async () => {
    const b1 = brokers.get(1)!.broker;
    const topicId = b1.topics.get('spread')!.id;
    const md = await metadata(portOf(1), ['spread']);
    const p = md.topics[0]!.partitions.find((x) => x.leaderId === 1)!;
    // Another broker's claim, as if broker 1 had been thought dead: the row moves to broker 2 at epoch + 1.
    await sql(url, 'UPDATE rafka_partitions SET leader_epoch = leader_epoch + 1, leader_node_id = 2 WHERE topic_id = $1 AND partition = $2', [topicId, p.partitionIndex]);
    const produce = await produceOne(1, p.partitionIndex, 'stale');
    assert.equal(produce.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const [row] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM rafka_batches WHERE topic_id = $1 AND partition = $2', [topicId, p.partitionIndex]);
    assert.equal(Number(row!.n), 0, 'nothing of the stale append was stored');
    // The assignment still names broker 1: at its next look it takes the partition back, epoch + 1 again.
    await until('broker 1 to lead it again', async () => {
      const now = (await metadata(portOf(1), ['spread'])).topics[0]!.partitions[p.partitionIndex]!;
      return now.leaderId === 1 && now.leaderEpoch === p.leaderEpoch + 2;
    });
  });

  it('kafkajs produces (idempotent, acks=all) and a group consumes across a broker leaving and joining: every record once', async () => {
    const kafka = new Kafka({
      clientId: 'shared', brokers: [1, 2, 3].map((id) => `127.0.0.1:${portOf(id)}`), logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 30 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent: string[] = [];
    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        await producer.send({ topic: 'spread', acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
        sent.push(`v${i}`);
      }
    };
    await send(0, 60);
    const before = (await metadata(portOf(1), ['spread'])).topics[0]!.partitions;
    await stopBroker(3); // leaves: the others take its partitions at their next look
    await until('no partition led by broker 3', async () => (await metadata(portOf(1), ['spread'])).topics[0]!.partitions.every((p) => p.leaderId !== 3 && p.leaderId > 0));
    const moved = (await metadata(portOf(1), ['spread'])).topics[0]!.partitions;
    for (const p of before) {
      if (p.leaderId === 3) assert.ok(moved[p.partitionIndex]!.leaderEpoch > p.leaderEpoch, `partition ${p.partitionIndex} moved at a higher epoch`);
    }
    await send(60, 60);
    await start(3); // joins: takes its share back
    await until('broker 3 leads again', async () => (await metadata(portOf(1), ['spread'])).topics[0]!.partitions.some((p) => p.leaderId === 3));
    await send(120, 60);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'shared-g', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'spread', fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${sent.length}`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await new Promise((r) => setTimeout(r, 300));
    await consumer.disconnect();
    assert.equal(seen.length, sent.length, 'nothing duplicated');
    assert.deepEqual([...seen].sort(), [...sent].sort(), 'nothing lost');
  });

  const findCoordinator = (id: number, key: string) =>
    withRaw(portOf(id), async (raw) => {
      const r = await raw.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { key: '', keyType: 0, coordinatorKeys: [key] });
      return r.coordinators[0]!;
    });
  const commit = (id: number, groupId: string, offset: number) =>
    withRaw(portOf(id), async (raw) => {
      const r = await raw.request(ApiKey.OffsetCommit, 8, OffsetCommitRequest, OffsetCommitResponse, {
        groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 'spread', partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
      return r.topics[0]!.partitions[0]!.errorCode;
    });
  const fetchOffset = (id: number, groupId: string) =>
    withRaw(portOf(id), async (raw) => {
      const r = await raw.request(ApiKey.OffsetFetch, 7, OffsetFetchRequest, OffsetFetchResponse, {
        groupId, topics: [{ name: 'spread', partitionIndexes: [0] }], groups: [], requireStable: false,
      });
      return { errorCode: r.errorCode, offset: Number(r.topics[0]?.partitions[0]?.committedOffset ?? -2) };
    });

  it('coordinators: every broker names the same one; another broker answers NOT_COORDINATOR; a coordinator that leaves hands the committed offsets on', async () => {
    const ids = [...brokers.keys()];
    for (const id of ids) await until(`broker ${id} to see every broker`, async () => (await liveIdsAt(id)).length === ids.length);
    // A group coordinated by a broker other than 1, so broker 1 stays to ask.
    let groupId = '';
    for (let i = 0; ; i++) {
      groupId = `coord-${i}`;
      const c = await findCoordinator(1, groupId);
      if (c.nodeId !== 1) break;
    }
    const named = await Promise.all(ids.map(async (id) => (await findCoordinator(id, groupId)).nodeId));
    assert.equal(new Set(named).size, 1, `one coordinator for every broker: ${named.join()}`);
    const coordinator = named[0]!;
    assert.equal((await findCoordinator(1, groupId)).port, portOf(coordinator));
    assert.equal(await commit(coordinator, groupId, 10), ErrorCode.NONE);
    assert.equal(await commit(1, groupId, 11), ErrorCode.NOT_COORDINATOR);
    assert.equal((await fetchOffset(1, groupId)).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(await fetchOffset(coordinator, groupId), { errorCode: ErrorCode.NONE, offset: 10 });

    await stopBroker(coordinator);
    const next = await until('a new coordinator', async () => {
      const c = await findCoordinator(1, groupId);
      return c.errorCode === ErrorCode.NONE && c.nodeId !== coordinator && c.nodeId;
    });
    assert.deepEqual(await fetchOffset(next, groupId), { errorCode: ErrorCode.NONE, offset: 10 }, 'the new coordinator loaded the offset from the database');
    assert.equal(await commit(next, groupId, 12), ErrorCode.NONE);
    await start(coordinator);
    await until('the old coordinator back as the group\'s coordinator', async () => (await findCoordinator(1, groupId)).nodeId === coordinator);
    assert.deepEqual(await fetchOffset(coordinator, groupId), { errorCode: ErrorCode.NONE, offset: 12 }, 'never backwards: it reloaded, it did not keep its old 10');
  });

  it('two brokers creating the same topic at once: one creates it, the other answers TOPIC_ALREADY_EXISTS', async () => {
    const ids = [...brokers.keys()].slice(0, 2);
    const outcomes = await Promise.allSettled(ids.map((id) => brokers.get(id)!.broker.topics.create('raced', 2, 1, {})));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'exactly one create succeeded');
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as { errorCode?: number }).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS, String(refused.reason));
    const [row] = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM rafka_topics WHERE name = 'raced'");
    assert.equal(Number(row!.n), 1);
    for (const id of ids) await until(`broker ${id} to know the topic`, () => brokers.get(id)!.broker.topics.get('raced') !== undefined);
  });

  it('a coordinator that lost its group (another broker took it) cannot write its offsets: the epoch in the database fences it', async () => {
    const a = new PostgresEngine({ url, nodeId: 91, leadership: 'assigned' });
    const b = new PostgresEngine({ url, nodeId: 92, leadership: 'assigned' });
    await a.open();
    await b.open();
    try {
      const entry = (offset: number) => [{ topic: 'spread', partition: 1, committed: { offset, leaderEpoch: -1, metadata: null, commitTimestampMs: offset } }];
      await assert.rejects(a.commitOffsets('fenced-g', entry(1)), NotCoordinatorError, 'not taken: refused before any write');
      await a.claimGroup('fenced-g');
      await a.commitOffsets('fenced-g', entry(5));
      await b.claimGroup('fenced-g');
      assert.equal(b.fetchOffsets('fenced-g').get('spread\u00001')?.offset, 5, 'taken over with what the first wrote');
      await assert.rejects(a.commitOffsets('fenced-g', entry(3)), NotCoordinatorError);
      await b.commitOffsets('fenced-g', entry(7));
      const [row] = await sql<{ committed_offset: string }>(url, "SELECT committed_offset FROM rafka_committed_offsets WHERE group_id = 'fenced-g'");
      assert.equal(Number(row!.committed_offset), 7);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
