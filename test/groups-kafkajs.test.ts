/**
 * kafkajs consumer groups against the broker: three consumers share a 6-partition topic and consume
 * every record exactly once; a member leaves and its partitions move to the others within the
 * rebalance timeout; the group resumes from its committed offsets after every consumer restarts, and
 * again after the broker restarts on the same storage engine (memory: the same MemoryEngine object,
 * in this process). Then the admin views — listGroups, describeGroups, fetchOffsets, setOffsets,
 * resetOffsets, deleteGroups — are checked against what Kafka answers.
 *
 * The steps run in order and share the group. Nothing asserts how long something took except the
 * rebalance-timeout deadline the issue asks for; every wait polls with a deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { testBroker } from './helpers/broker.js';
import { pollUntil } from './helpers/group-client.js';

const PARTITIONS = 6;
const REBALANCE_TIMEOUT_MS = 10_000;

interface Seen {
  consumer: string;
  partition: number;
  offset: number;
  value: string;
}

describe('kafkajs consumer groups', { timeout: 120_000 }, () => {
  const engine = new MemoryEngine();
  const topic = `kjs-groups-${randomBytes(4).toString('hex')}`;
  const groupId = `kjs-group-${randomBytes(4).toString('hex')}`;
  let b: RunningBroker;
  let kafka: Kafka;
  let admin: Admin;
  const consumers = new Map<string, Consumer>();
  const seen: Seen[] = [];
  /** Records produced so far per partition (= the offset the next one gets). */
  const produced = Array.from({ length: PARTITIONS }, () => 0);

  async function startBrokerAndClients(): Promise<void> {
    b = await testBroker({ storage: engine, groupInitialRebalanceDelayMs: 100 });
    kafka = new Kafka({ clientId: 'groups-kafkajs', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 20 } });
    admin = kafka.admin();
    await admin.connect();
  }

  async function produce(perPartition: number): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    try {
      const messages = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (let i = 0; i < perPartition; i++) messages.push({ partition: p, key: `k${p}`, value: `p${p}-o${produced[p]! + i}` });
      }
      await producer.send({ topic, messages });
      for (let p = 0; p < PARTITIONS; p++) produced[p]! += perPartition;
    } finally {
      await producer.disconnect();
    }
  }

  async function startConsumer(name: string): Promise<void> {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, rebalanceTimeout: REBALANCE_TIMEOUT_MS, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ consumer: name, partition, offset: Number(message.offset), value: message.value!.toString() });
      },
    });
    consumers.set(name, consumer);
  }

  async function stopConsumer(name: string): Promise<void> {
    await consumers.get(name)!.disconnect();
    consumers.delete(name);
  }

  /** The group as the broker describes it: state and each member's assigned partitions. */
  async function assignments(): Promise<{ state: string; members: Map<string, number[]> }> {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0]!;
    const members = new Map<string, number[]>();
    for (const m of g.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      members.set(m.memberId, [...(a?.assignment[topic] ?? [])].sort((x, y) => x - y));
    }
    return { state: g.state, members };
  }

  /** Wait until `n` members hold every partition between them. */
  async function waitForBalanced(n: number, timeoutMs = 30_000): Promise<Map<string, number[]>> {
    const done = (g: { state: string; members: Map<string, number[]> }) =>
      g.state === 'Stable' && g.members.size === n && [...g.members.values()].flat().sort((x, y) => x - y).join() === [...Array(PARTITIONS).keys()].join();
    const g = await pollUntil(assignments, done, timeoutMs, 100);
    assert.ok(done(g), `group never balanced over ${n} members: ${g.state} ${JSON.stringify([...g.members])}`);
    return g.members;
  }

  /** Wait until the group has committed everything produced so far. */
  async function waitForCommitted(): Promise<void> {
    const want = produced.map(String);
    const read = async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return [...t!.partitions].sort((x, y) => x.partition - y.partition).map((p) => p.offset);
    };
    const got = await pollUntil(read, (o) => o.join() === want.join(), 30_000, 100);
    assert.deepEqual(got, want, 'committed offsets');
  }

  /** Wait until `count` records were seen since index `from`; check they are exactly `expected`. */
  async function waitForRecords(from: number, expected: { partition: number; offset: number }[]): Promise<Seen[]> {
    await pollUntil(async () => seen.length - from, (n) => n >= expected.length, 30_000, 50);
    const got = seen.slice(from);
    const key = (r: { partition: number; offset: number }) => `${r.partition}/${r.offset}`;
    const counts = new Map<string, number>();
    for (const r of got) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
    const dupes = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(dupes, [], 'records consumed more than once');
    assert.deepEqual([...counts.keys()].sort(), expected.map(key).sort(), 'records consumed');
    for (const r of got) assert.equal(r.value, `p${r.partition}-o${r.offset}`);
    return got;
  }

  const range = (fromPerPartition: number[], toPerPartition: number[]) =>
    fromPerPartition.flatMap((from, partition) => Array.from({ length: toPerPartition[partition]! - from }, (_, i) => ({ partition, offset: from + i })));

  before(async () => {
    await startBrokerAndClients();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  });

  after(async () => {
    for (const c of consumers.values()) await c.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await b?.close();
  });

  it('three consumers split the 6 partitions and consume every record exactly once', async () => {
    await Promise.all(['a', 'b', 'c'].map(startConsumer));
    const members = await waitForBalanced(3);
    assert.deepEqual([...members.values()].map((ps) => ps.length), [2, 2, 2]);
    const before = produced.slice();
    await produce(10);
    const got = await waitForRecords(0, range(before, produced));
    // Each consumer read exactly the partitions it was assigned.
    const byConsumer = new Map<string, Set<number>>();
    for (const r of got) byConsumer.set(r.consumer, (byConsumer.get(r.consumer) ?? new Set()).add(r.partition));
    assert.equal(byConsumer.size, 3, 'every consumer got records');
    assert.deepEqual([...byConsumer.values()].map((s) => s.size), [2, 2, 2]);
    await waitForCommitted();
  });

  it('moves a leaving member’s partitions to the others within the rebalance timeout', async () => {
    const leaving = [...consumers.keys()][2]!;
    const startedMs = Date.now();
    await stopConsumer(leaving);
    const members = await waitForBalanced(2, REBALANCE_TIMEOUT_MS);
    assert.ok(Date.now() - startedMs < REBALANCE_TIMEOUT_MS, 'rebalanced within the rebalance timeout');
    assert.deepEqual([...members.values()].map((ps) => ps.length), [3, 3]);
    const from = seen.length;
    const before = produced.slice();
    await produce(5);
    const got = await waitForRecords(from, range(before, produced));
    assert.ok(got.every((r) => r.consumer !== leaving));
    await waitForCommitted();
  });

  it('resumes from the committed offsets after every consumer restarts', async () => {
    for (const name of [...consumers.keys()]) await stopConsumer(name);
    assert.equal((await assignments()).state, 'Empty');
    const before = produced.slice();
    await produce(4);
    const from = seen.length;
    await Promise.all(['d', 'e', 'f'].map(startConsumer));
    // fromBeginning would re-read everything without commits: only the new records arrive.
    await waitForRecords(from, range(before, produced));
    await waitForBalanced(3);
    await waitForCommitted();
  });

  it('resumes from the committed offsets after the broker restarts on the same storage', async () => {
    for (const name of [...consumers.keys()]) await stopConsumer(name);
    await admin.disconnect();
    await b.close();
    await startBrokerAndClients();
    const described = await assignments();
    assert.deepEqual([described.state, described.members.size], ['Empty', 0]);
    await waitForCommitted(); // the offsets came back with the broker
    const before = produced.slice();
    await produce(3);
    const from = seen.length;
    await Promise.all(['g', 'h'].map(startConsumer));
    await waitForRecords(from, range(before, produced));
    await waitForCommitted();
  });

  it('admin views: listGroups, describeGroups, fetchOffsets', async () => {
    const members = await waitForBalanced(2);
    const { groups } = await admin.listGroups();
    assert.deepEqual(
      groups.filter((g) => g.groupId === groupId),
      [{ groupId, protocolType: 'consumer' }],
    );
    const { groups: described } = await admin.describeGroups([groupId, 'no-such-group']);
    const g = described.find((x) => x.groupId === groupId)!;
    assert.deepEqual([(g as unknown as { errorCode: number }).errorCode, g.state, g.protocolType, g.protocol], [0, 'Stable', 'consumer', 'RoundRobinAssigner']);
    assert.equal(g.members.length, 2);
    for (const m of g.members) {
      assert.equal(m.clientId, 'groups-kafkajs');
      assert.equal(m.clientHost, '/127.0.0.1');
      const sub = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
      assert.deepEqual(sub?.topics, [topic]);
      assert.deepEqual(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic]?.slice().sort(), members.get(m.memberId));
    }
    const unknown = described.find((x) => x.groupId === 'no-such-group')!;
    assert.deepEqual([(unknown as unknown as { errorCode: number }).errorCode, unknown.state, unknown.members], [0, 'Dead', []]);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      [...offsets!.partitions].sort((x, y) => x.partition - y.partition).map((p) => [p.partition, p.offset, p.metadata]),
      produced.map((o, p) => [p, String(o), null]),
    );
  });

  it('admin setOffsets / resetOffsets need an empty group, then move the committed offsets; deleteGroups removes it', async () => {
    await assert.rejects(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] }), /must have no running instances/);
    for (const name of [...consumers.keys()]) await stopConsumer(name);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }, { partition: 5, offset: '2' }] });
    const read = async (resolveOffsets = false) => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets });
      return [...t!.partitions].sort((x, y) => x.partition - y.partition).map((p) => p.offset);
    };
    assert.deepEqual(await read(), produced.map((o, p) => (p === 0 ? '1' : p === 5 ? '2' : String(o))));

    // kafkajs commits the sentinel (-2 = earliest) as the offset; Kafka stores whatever is committed.
    await admin.resetOffsets({ groupId, topic, earliest: true });
    assert.deepEqual(await read(), produced.map(() => '-2'));
    assert.deepEqual(await read(true), produced.map(() => '0'));

    // A consumer starting now reads everything again.
    const from = seen.length;
    await startConsumer('replay');
    await waitForRecords(from, range(produced.map(() => 0), produced));
    await stopConsumer('replay');

    await admin.deleteGroups([groupId]);
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(t!.partitions.map((p) => p.offset), produced.map(() => '-1'), 'a deleted group has no offsets');
    const { groups } = await admin.listGroups();
    assert.equal(groups.find((g) => g.groupId === groupId), undefined);
    await assert.rejects(admin.deleteGroups([groupId]), (e: Error & { groups?: { error?: { type?: string } }[] }) => {
      assert.equal(e.groups?.[0]?.error?.type, 'GROUP_ID_NOT_FOUND');
      return true;
    });
  });
});
