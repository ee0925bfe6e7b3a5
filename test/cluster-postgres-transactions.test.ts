/**
 * Issue 19 item 2, transactions across brokers sharing one PostgreSQL database (docs/cluster.md,
 * "Transactions"): three brokers in one process, each with its own engine and pool.
 * - a kafkajs transactional producer writes to partitions led by all three brokers; the coordinator
 *   sends WriteTxnMarkers to the other leaders; a read_committed consumer sees exactly the committed
 *   records and no partition keeps an open transaction;
 * - the coordinator stopped in the middle of a transaction: another broker takes the transactional
 *   id from the database, the transaction times out there and is aborted (markers to every leader),
 *   nothing of it is ever visible, the old producer is fenced;
 * - a coordinator gone after storing PrepareCommit: the broker that takes the id writes the COMMIT
 *   markers at every leader and completes it;
 * - consume-transform-produce with sendOffsets where the group's coordinator is not the
 *   transaction's: the offsets are pending at the group's coordinator (require_stable answers
 *   UNSTABLE_OFFSET_COMMIT), become the group's on commit and stay as they were on abort, and the
 *   transactional id never leaves its coordinator;
 * - producer ids handed out by brokers started together never collide (blocks reserved in the database);
 * - a coordinator that lost a transactional id cannot store its state (fenced in the database).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, OffsetFetchRequest, OffsetFetchResponse, WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../src/protocol/messages/index.js';
import { RawClient } from './helpers/raw-client.js';
import { fileCluster, sql } from './helpers/postgres.js';
import { decodeTxn, encodeTxn } from '../src/broker/transactions/metadata.js';
import { testBroker } from './helpers/broker.js';
import { PgBrokers, readCommitted as readAll, until } from './helpers/pg-brokers.js';
import { PostgresEngine } from '../src/storage/postgres/postgres-engine.js';
import { assignedLeader } from '../src/broker/shared-cluster.js';
import { PRODUCER_ID_BLOCK } from '../src/broker/producer-state.js';
import { NotCoordinatorError } from '../src/storage/errors.js';

const { skip, pgc } = await fileCluster();

const TIMING = { brokerSessionTimeoutMs: 1500, brokerHeartbeatIntervalMs: 200, transactionAbortTimedOutTransactionCleanupIntervalMs: 200 };
const TOPIC = 'txn-spread';
const PARTITIONS = 6;

describe('transactions across brokers sharing one PostgreSQL database', { skip, timeout: 240_000 }, () => {
  let url: string;
  const cluster = new PgBrokers(() => url, TIMING);
  const brokers = cluster.brokers;
  const start = (id: number) => cluster.start(id);
  const stopBroker = (id: number) => cluster.stop(id);
  const kafka = () =>
    new Kafka({
      clientId: 'txn-cluster', brokers: [...brokers.values()].map((b) => `127.0.0.1:${b.port}`), logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 30 },
    });
  /** The broker FindCoordinator names for a key (0 group, 1 transaction), asked of any live broker. */
  const coordinatorOf = async (key: string, keyType: 0 | 1) => {
    const raw = await RawClient.connect([...brokers.values()][0]!.port);
    try {
      const r = await raw.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { key: '', keyType, coordinatorKeys: [key] });
      assert.equal(r.coordinators[0]!.errorCode, ErrorCode.NONE);
      return r.coordinators[0]!.nodeId;
    } finally {
      raw.socket.destroy();
    }
  };
  /** A transactional id `prefix-N` coordinated by a broker other than 1 (broker 1 stays), and that broker. */
  const awayFromBroker1 = async (prefix: string) => {
    for (let i = 0; ; i++) {
      const txnId = `${prefix}-${i}`;
      const old = await coordinatorOf(txnId, 1);
      if (old !== 1) return { txnId, old };
    }
  };
  /** Stop the transactional id's coordinator; the broker FindCoordinator names next. */
  const stopCoordinator = async (txnId: string, old: number) => {
    await stopBroker(old);
    return until('a new coordinator for the id', async () => {
      const c = await coordinatorOf(txnId, 1);
      return c !== old && c;
    });
  };
  /** Start a stopped broker again, until every broker sees three. */
  const restart = async (id: number) => {
    await start(id);
    await until('every broker sees three brokers again', () => [...brokers.values()].every((b) => b.broker.cluster!.ids.length === 3));
  };
  /** Leaders of the topic's partitions as the lowest live broker sees them (-1 everywhere while it does not know the topic yet). */
  const leaders = () => {
    const b = brokers.get(Math.min(...brokers.keys()))!.broker;
    const t = b.topics.get(TOPIC);
    return Array.from({ length: PARTITIONS }, (_, p) => (t === undefined ? -1 : b.cluster!.leader(t, p).leaderId));
  };
  /**
   * Leadership at rest: every broker sees every live broker, names the same leader and epoch for
   * each partition, that leader is the one the assignment gives and has loaded the partition. A
   * kafkajs send racing a leader move can drop a partition's records without an error (kafkajs
   * issue 1303: a partition whose new leader already answered the same send is never sent again),
   * so the scenarios below that are not about leader moves start from here.
   */
  const settled = () => {
    const all = [...brokers.values()].map((b) => b.broker);
    const ids = [...brokers.keys()].sort((a, b) => a - b);
    if (!all.every((b) => b.cluster!.ids.join() === ids.join())) return false;
    const t = all[0]!.topics.get(TOPIC);
    if (t === undefined) return false;
    for (let p = 0; p < PARTITIONS; p++) {
      const l = all[0]!.cluster!.leader(t, p);
      if (l.leaderId !== assignedLeader(t.id, p, ids)) return false;
      if (!all.every((b) => b.topics.get(TOPIC)?.id === t.id && b.cluster!.leader(b.topics.get(TOPIC)!, p).leaderEpoch === l.leaderEpoch && b.cluster!.leader(b.topics.get(TOPIC)!, p).leaderId === l.leaderId)) return false;
      if ((brokers.get(l.leaderId)!.broker.storage as PostgresEngine).heldEpoch(TOPIC, p) !== l.leaderEpoch) return false;
    }
    return true;
  };
  /** No partition holds an open transaction at its leader: every marker was written. */
  const noOpenTransaction = () =>
    leaders().every((l, p) => {
      const b = brokers.get(l);
      return b !== undefined && b.broker.producers.firstUnstableOffset(TOPIC, p) === null;
    });
  /** What each partition holds, for a failed read's message: its leader's offsets, LSO and aborted index, and its stored batches. */
  const explain = async (topic: string, seen: string[]): Promise<string> => {
    const lines = [`seen: ${[...seen].sort().join(' ')}`];
    const b = brokers.get(Math.min(...brokers.keys()))!.broker;
    const t = b.topics.get(topic)!;
    for (let p = 0; p < t.partitionCount; p++) {
      const l = b.cluster!.leader(t, p);
      const lb = brokers.get(l.leaderId)?.broker;
      const off = lb?.storage.offsets(topic, p);
      lines.push(`p${p}: leader ${l.leaderId}@${l.leaderEpoch} hw ${off?.highWatermark} fuo ${lb?.producers.firstUnstableOffset(topic, p)} aborted ${JSON.stringify(lb?.producers.partitionAborted(topic, p))}`);
    }
    const rows = await sql<{ partition: number; base_offset: string; last_offset: string; producer_id: string; producer_epoch: number; base_sequence: number; attributes: number }>(
      url,
      'SELECT partition, base_offset, last_offset, producer_id, producer_epoch, base_sequence, attributes FROM rafka_batches WHERE topic_id = $1 ORDER BY partition, base_offset',
      [t.id],
    );
    for (const r of rows) lines.push(`  p${r.partition} ${r.base_offset}-${r.last_offset} pid ${r.producer_id}/${r.producer_epoch} seq ${r.base_sequence} attr ${r.attributes}`);
    return lines.join('\n');
  };
  /** Every record a read_committed consumer of a fresh group reads from the beginning, with the partitions' state when it times out. */
  const readCommitted = (topic: string, expected: number): Promise<string[]> => readAll(kafka, topic, expected, (seen) => explain(topic, seen));
  const send = (p: Producer | Awaited<ReturnType<Producer['transaction']>>, tag: string, topic = TOPIC) =>
    p.send({ topic, acks: -1, messages: Array.from({ length: PARTITIONS * 2 }, (_, i) => ({ partition: i % PARTITIONS, value: `${tag}-${i}` })) });

  before(async () => {
    url = await pgc().createDatabase();
    await Promise.all([start(1), start(2), start(3)]);
    await brokers.get(1)!.broker.topics.create(TOPIC, PARTITIONS, 1, {});
    await until('leaders on all three brokers', () => {
      for (const b of brokers.values()) if (b.broker.cluster!.ids.length !== 3) return false;
      const l = leaders();
      return l.every((x) => x > 0) && new Set(l).size === 3;
    });
    await until('leadership at rest', settled);
  });
  after(async () => {
    for (const id of [...brokers.keys()]) await stopBroker(id);
  });

  it('commit and abort across partitions led by all three brokers: read_committed sees exactly the committed records', async () => {
    const producer = kafka().producer({ transactionalId: 'tx-spread', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const t1 = await producer.transaction();
    await send(t1, 'c1');
    await t1.commit();
    const t2 = await producer.transaction();
    await send(t2, 'a2');
    await t2.abort();
    const t3 = await producer.transaction();
    await send(t3, 'c3');
    await t3.commit();
    await producer.disconnect();
    const coordinator = await coordinatorOf('tx-spread', 1);
    assert.ok(leaders().some((l) => l !== coordinator), 'some partitions are led by another broker than the coordinator');
    await until('every marker written at every leader', noOpenTransaction);
    const seen = await readCommitted(TOPIC, 4 * PARTITIONS);
    const committed = [...Array.from({ length: 2 * PARTITIONS }, (_, i) => `c1-${i}`), ...Array.from({ length: 2 * PARTITIONS }, (_, i) => `c3-${i}`)];
    assert.deepEqual([...seen].sort(), committed.sort(), 'exactly the committed records, each once, nothing of the aborted one');
    const state = brokers.get(coordinator)!.broker.transactions.get('tx-spread');
    assert.equal(state?.state, 'CompleteCommit');
  });

  it('the coordinator stopped mid-transaction: another broker takes the id, the transaction times out there and is aborted everywhere', async () => {
    const { txnId, old } = await awayFromBroker1('tx-moving');
    const producer = kafka().producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 3000 });
    await producer.connect();
    const t = await producer.transaction();
    await send(t, 'lost');
    const next = await stopCoordinator(txnId, old);
    // The new coordinator took the id from the database at its look, and aborts it after its timeout.
    await until('the transaction aborted by the new coordinator', () => brokers.get(next)!.broker.transactions.get(txnId)?.state === 'CompleteAbort');
    await until('every partition has a leader and its abort marker', () => leaders().every((l) => l > 0 && brokers.has(l)) && noOpenTransaction());
    await assert.rejects(t.commit(), 'the old producer is fenced');
    await producer.disconnect().catch(() => {});
    const seen = await readCommitted(TOPIC, 4 * PARTITIONS);
    assert.equal(seen.filter((v) => v.startsWith('lost-')).length, 0, 'nothing of the aborted transaction is visible');
    assert.equal(seen.length, 4 * PARTITIONS);
    await restart(old);
  });

  // Once flaky (2 of 3 loaded runs): a partition's records were missing because kafkajs never sent
  // them (its send retried after NOT_LEADER_OR_FOLLOWER only to leaders that had not answered yet,
  // kafkajs issue 1303), as leadership was still moving after the previous test's restart; and the
  // brokers handed out the same producer ids. The test now starts from leadership at rest and checks
  // the send stored every partition's batch before the coordinator goes.
  it('a coordinator gone after storing PrepareCommit: the broker that takes the id writes the COMMIT markers at every leader', async () => {
    const { txnId, old } = await awayFromBroker1('tx-prepared');
    await until('leadership at rest after the previous restart', settled);
    const producer = kafka().producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
    await producer.connect();
    const t = await producer.transaction();
    await send(t, 'resumed');
    // As if the coordinator had stored PrepareCommit (EndTxn answered) and died before any marker.
    const [row] = await sql<{ value: Buffer }>(url, 'SELECT value FROM rafka_transactions WHERE transactional_id = $1', [txnId]);
    const facts = decodeTxn(row!.value);
    assert.equal(facts.state, 'Ongoing');
    assert.equal(facts.partitions.size, PARTITIONS);
    const stored = await sql<{ n: number }>(url, 'SELECT count(DISTINCT partition)::int AS n FROM rafka_batches WHERE producer_id = $1 AND base_sequence >= 0', [facts.producerId]);
    assert.equal(stored[0]!.n, PARTITIONS, 'the send stored a batch in every partition before the coordinator goes');
    await sql(url, 'UPDATE rafka_transactions SET value = $2 WHERE transactional_id = $1', [txnId, encodeTxn({ ...facts, state: 'PrepareCommit' })]);
    const next = await stopCoordinator(txnId, old);
    await until('the transaction completed by the new coordinator', () => brokers.get(next)!.broker.transactions.get(txnId)?.state === 'CompleteCommit');
    await until('every partition has a leader and its commit marker', () => leaders().every((l) => l > 0 && brokers.has(l)) && noOpenTransaction());
    await producer.disconnect().catch(() => {});
    const seen = await readCommitted(TOPIC, 6 * PARTITIONS);
    assert.equal(seen.filter((v) => v.startsWith('resumed-')).length, 2 * PARTITIONS, 'every record of the resumed transaction, once');
    await restart(old);
  });

  it('consume-transform-produce: offsets sent to a group coordinated by another broker are pending at the group, committed with the transaction, not on abort', async () => {
    let groupId = '';
    let txnId = '';
    for (let i = 0; ; i++) {
      groupId = `ctp-group-${i}`;
      txnId = `ctp-tx-${i}`;
      if ((await coordinatorOf(groupId, 0)) !== (await coordinatorOf(txnId, 1))) break;
    }
    await until('leadership at rest', settled);
    const groupCoordinator = await coordinatorOf(groupId, 0);
    const txnCoordinator = await coordinatorOf(txnId, 1);
    const admin = kafka().admin();
    const producer = kafka().producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1 });
    const raw = await RawClient.connect(brokers.get(groupCoordinator)!.port);
    try {
      await admin.connect();
      const committedOffsets = async () => {
        const r = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
        return r[0]!.partitions.map((p) => Number(p.offset)).sort((a, b) => a - b);
      };
      /** OffsetFetch v8 with require_stable at the group's coordinator: each partition's error code. */
      const stableCodes = async () => {
        const r = await raw.request(ApiKey.OffsetFetch, 8, OffsetFetchRequest, OffsetFetchResponse, {
          groups: [{ groupId, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }] }],
          requireStable: true,
        });
        assert.equal(r.groups[0]!.errorCode, ErrorCode.NONE);
        return r.groups[0]!.topics[0]!.partitions.map((p) => p.errorCode);
      };
      /** The transaction's coordinator has stored the end of the transaction (kafkajs does not retry AddOffsetsToTxn's CONCURRENT_TRANSACTIONS before it). */
      const completed = (state: string) => () => brokers.get(txnCoordinator)!.broker.transactions.get(txnId)?.state === state;
      await producer.connect();
      const offsets = (o: number) => ({ consumerGroupId: groupId, topics: [{ topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: String(o) })) }] });
      const t1 = await producer.transaction();
      await send(t1, 'ctp1');
      await t1.sendOffsets(offsets(2));
      assert.deepEqual(await stableCodes(), Array(PARTITIONS).fill(ErrorCode.UNSTABLE_OFFSET_COMMIT), 'require_stable: pending at the group coordinator while the transaction is open');
      await t1.commit();
      await until('the committed offsets visible at the group coordinator', async () => (await committedOffsets()).every((o) => o === 2));
      await until('the first transaction completed', completed('CompleteCommit'));
      assert.deepEqual(await stableCodes(), Array(PARTITIONS).fill(ErrorCode.NONE), 'nothing pending once committed');
      const t2 = await producer.transaction();
      await send(t2, 'ctp2');
      await t2.sendOffsets(offsets(5));
      await t2.abort();
      await until('every marker written', noOpenTransaction);
      await until('the second transaction completed', completed('CompleteAbort'));
      assert.deepEqual(await committedOffsets(), Array(PARTITIONS).fill(2), 'the aborted transaction left the offsets as they were');
      assert.deepEqual(await stableCodes(), Array(PARTITIONS).fill(ErrorCode.NONE), 'nothing pending once aborted');
      const t3 = await producer.transaction();
      await t3.sendOffsets(offsets(7));
      await t3.commit();
      await until('the second commit visible', async () => (await committedOffsets()).every((o) => o === 7));
      // The transactional id never left its coordinator: the group's coordinator does not take it.
      assert.equal((await sql<{ node_id: number }>(url, "SELECT node_id FROM rafka_coordinators WHERE kind = 't' AND key = $1", [txnId]))[0]!.node_id, txnCoordinator);
    } finally {
      raw.socket.destroy();
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  });

  it('WriteTxnMarkers at a broker that does not lead the partition: NOT_LEADER_OR_FOLLOWER, nothing written', async () => {
    const l = leaders();
    const p = l.findIndex((x) => x !== l[0]);
    const notLeader = brokers.get(l[0]!)!;
    const hw = brokers.get(l[p]!)!.broker.storage.offsets(TOPIC, p).highWatermark;
    const raw = await RawClient.connect(notLeader.port);
    try {
      const r = await raw.request(ApiKey.WriteTxnMarkers, 1, WriteTxnMarkersRequest, WriteTxnMarkersResponse, {
        markers: [{ producerId: 424242n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [{ name: TOPIC, partitionIndexes: [p] }] }],
      });
      assert.equal(r.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      raw.socket.destroy();
    }
    assert.equal(brokers.get(l[p]!)!.broker.storage.offsets(TOPIC, p).highWatermark, hw);
  });

  it('producer ids: brokers sharing the database never hand out the same one (blocks reserved in the database)', async () => {
    // Brokers of their own, started together: each read the same counter at start.
    const own = await pgc().createDatabase();
    const pair = await Promise.all([91, 92].map((nodeId) => testBroker({ storage: { type: 'postgres', url: own }, nodeId, ...TIMING })));
    try {
      const ids = await Promise.all(pair.flatMap(({ broker }) => Array.from({ length: 3 }, () => broker.allocateProducerId())));
      assert.equal(new Set(ids).size, ids.length, `every id once: ${ids.join(', ')}`);
      const [row] = await sql<{ next: string }>(own, 'SELECT next_producer_id AS next FROM rafka_cluster');
      assert.equal(Number(row!.next), 2 * PRODUCER_ID_BLOCK, 'one block reserved per broker');
    } finally {
      await Promise.all(pair.map((b) => b.close()));
    }
  });

  it('a coordinator that lost a transactional id (another broker took it) cannot store its state', async () => {
    // A database of their own: the brokers above would take a stored id assigned to them at their next look.
    const own = await pgc().createDatabase();
    const a = new PostgresEngine({ url: own, nodeId: 91, leadership: 'assigned' });
    const b = new PostgresEngine({ url: own, nodeId: 92, leadership: 'assigned' });
    await a.open();
    await b.open();
    try {
      await assert.rejects(a.putTransactionState('fenced-tx', Buffer.from('x')), NotCoordinatorError, 'not taken: refused before any write');
      assert.equal(await a.claimTransaction('fenced-tx'), 0);
      await a.putTransactionState('fenced-tx', Buffer.from('one'));
      assert.equal(await b.claimTransaction('fenced-tx'), 1);
      assert.equal(b.transactionStates().get('fenced-tx')?.toString(), 'one', 'taken over with what the first stored');
      await assert.rejects(a.putTransactionState('fenced-tx', Buffer.from('stale')), NotCoordinatorError);
      assert.equal(a.transactionEpoch('fenced-tx'), -1, 'the loser forgot it');
      await b.putTransactionState('fenced-tx', Buffer.from('two'));
      assert.equal((await a.readTransactionState('fenced-tx'))?.toString(), 'two');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
