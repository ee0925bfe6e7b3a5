/**
 * Consumer groups with the client against a live broker (classic protocol): three-member rebalances
 * with each assignor, every record delivered to exactly one member while members come and go,
 * commit and resume, heartbeats that keep a busy member in the group, rebalance callbacks, and the
 * admin client's group operations.
 *
 * The broker runs with no initial rebalance delay and a small minimum session timeout so that
 * rebalances take milliseconds; the client uses 100 ms heartbeats.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin, Consumer, Producer, type ConsumerMessage, type ConsumerOptions, type TopicPartition } from '../src/client/index.js';


async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const key = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`;
const sortTps = (tps: TopicPartition[]) => tps.map(key).sort();

describe('client consumer groups', () => {
  let broker: RunningBroker;
  let producer: Producer;
  let admin: Admin;
  const opts = (groupId: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions => ({
    bootstrap: broker.bootstrap,
    groupId,
    autoOffsetReset: 'earliest',
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 3000,
    rebalanceTimeoutMs: 5000,
    ...extra,
  });

  before(async () => {
    broker = await testBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 100 });
    producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
    admin = new Admin({ bootstrap: broker.bootstrap });
  });
  after(async () => {
    await producer.close();
    await admin.close();
    await broker.close();
  });

  /** Run a consumer loop that records what it receives until stopped. */
  function run(c: Consumer, into: ConsumerMessage[]): { stop: () => Promise<void> } {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const batch = await c.poll(50, 50).catch(() => []);
        into.push(...batch);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }

  for (const assignor of ['range', 'roundrobin', 'cooperative-sticky'] as const) {
    test(`${assignor}: three members share six partitions; each record goes to exactly one member`, async () => {
      const topic = `g-${assignor}`;
      const groupId = `grp-${assignor}`;
      await admin.createTopics([{ topic, numPartitions: 6 }]);
      await producer.send(topic, Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, value: String(i) })));
      const events: string[] = [];
      const mk = (name: string) =>
        new Consumer(
          opts(groupId, {
            assignors: [assignor],
            clientId: name,
            onPartitionsAssigned: (tps) => void events.push(`${name}+${sortTps(tps).join(',')}`),
            onPartitionsRevoked: (tps) => void events.push(`${name}-${sortTps(tps).join(',')}`),
          }),
        );
      const received: ConsumerMessage[][] = [[], [], []];
      const c1 = mk('c1');
      c1.subscribe(topic);
      await c1.ready();
      assert.equal(c1.protocolName, assignor);
      assert.equal(c1.assignment().length, 6, 'a lone member owns every partition');
      const r1 = run(c1, received[0]!);
      await until(() => received[0]!.length > 50, 10_000, 'c1 to consume');
      const c2 = mk('c2');
      c2.subscribe(topic);
      const r2 = run(c2, received[1]!);
      const c3 = mk('c3');
      c3.subscribe(topic);
      const r3 = run(c3, received[2]!);
      // Rebalances settle with two partitions each.
      await until(() => [c1, c2, c3].every((c) => c.assignment().length === 2), 15_000, 'two partitions each');
      const all = [c1, c2, c3].flatMap((c) => c.assignment().map(key));
      assert.equal(new Set(all).size, 6, 'no partition owned twice');
      if (assignor === 'range') {
        // Range gives each member a contiguous pair, in member-id order.
        for (const c of [c1, c2, c3]) {
          const ps = c.assignment().map((t) => t.partition).sort();
          assert.equal(ps[1]! - ps[0]!, 1, `range pair ${ps}`);
        }
      }
      if (assignor === 'cooperative-sticky') {
        // Sticky: c1 kept two of its original partitions and never gave up all six at once.
        assert.ok(!events.includes(`c1-${[0, 1, 2, 3, 4, 5].map((p) => `${topic}-${p}`).join(',')}`), 'no full revocation');
        assert.ok(events.filter((e) => e.startsWith('c1-')).length >= 1, 'c1 revoked the partitions that moved');
      } else {
        assert.ok(events.includes(`c1-${[0, 1, 2, 3, 4, 5].map((p) => `${topic}-${p}`).join(',')}`), 'eager: c1 revoked everything first');
      }
      await until(() => received.flat().length >= 600, 15_000, 'all 600 records');
      // A member leaves: its partitions move to the others without redelivery.
      await r3.stop();
      await c3.close();
      await producer.send(topic, Array.from({ length: 60 }, (_, i) => ({ key: `n${i}`, value: String(600 + i) })));
      await until(() => received.flat().length >= 660, 15_000, 'all 660 records');
      await until(() => c1.assignment().length + c2.assignment().length === 6, 15_000, 'c3 partitions moved');
      await r1.stop();
      await r2.stop();
      await c1.close();
      await c2.close();
      const values = received.flat().map((m) => Number(m.value!.toString()));
      assert.equal(values.length, 660, `received ${values.length} records (duplicates: ${values.length - new Set(values).size})`);
      assert.deepEqual([...new Set(values)].sort((a, b) => a - b), Array.from({ length: 660 }, (_, i) => i));
      const offsets = await admin.listGroupOffsets(groupId);
      assert.equal(offsets.reduce((n, o) => n + o.offset, 0), 660, 'committed positions cover every record');
    });
  }

  test('manual commit and resume: a new member starts at the committed offsets', async () => {
    const topic = 'g-commit';
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await producer.send(topic, Array.from({ length: 100 }, (_, i) => ({ value: String(i), partition: i % 2 })));
    const c1 = new Consumer(opts('grp-commit', { autoCommit: false }));
    c1.subscribe(topic);
    const first: ConsumerMessage[] = [];
    while (first.length < 30) first.push(...(await c1.poll(30 - first.length, 2000)));
    await c1.commit();
    const committed = await c1.committed([{ topic, partition: 0 }, { topic, partition: 1 }]);
    const expected = [0, 1].map((p) => Math.max(-1, ...first.filter((m) => m.partition === p).map((m) => m.offset)) + 1);
    assert.deepEqual([committed.get(`${topic}\u00000`), committed.get(`${topic}\u00001`)], expected, 'committed = position after the last message handed out');
    // Read more without committing: not remembered.
    await c1.poll(10, 500);
    await c1.close();
    const c2 = new Consumer(opts('grp-commit', { autoCommit: false }));
    c2.subscribe(topic);
    const rest: ConsumerMessage[] = [];
    while (rest.length < 70) rest.push(...(await c2.poll(70 - rest.length, 2000)));
    await c2.close();
    const values = [...first, ...rest].map((m) => Number(m.value!.toString())).sort((a, b) => a - b);
    assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i), 'resumed exactly after the commit');
    // Explicit offsets can be committed too.
    const c3 = new Consumer(opts('grp-commit', { autoCommit: false }));
    c3.subscribe(topic);
    await c3.ready();
    await c3.commit([{ topic, partition: 0, offset: 5 }]);
    assert.equal((await c3.committed([{ topic, partition: 0 }])).get(`${topic}\u00000`), 5);
    await c3.close();
  });

  test('auto-commit stores consumed positions on close', async () => {
    const topic = 'g-autocommit';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    await producer.send(topic, Array.from({ length: 20 }, (_, i) => ({ value: String(i) })));
    const c = new Consumer(opts('grp-auto', { autoCommitIntervalMs: 100 }));
    c.subscribe(topic);
    const got: ConsumerMessage[] = [];
    while (got.length < 20) got.push(...(await c.poll(20, 2000)));
    await until(async () => (await admin.listGroupOffsets('grp-auto'))[0]?.offset === 20, 5000, 'the periodic auto-commit');
    await c.close();
    assert.deepEqual(await admin.listGroupOffsets('grp-auto'), [{ topic, partition: 0, offset: 20 }]);
  });

  test('heartbeats keep a busy member in the group past its session timeout', async () => {
    const topic = 'g-busy';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    await producer.send(topic, { value: 'work' });
    const c = new Consumer(opts('grp-busy', { sessionTimeoutMs: 500, heartbeatIntervalMs: 100 }));
    c.subscribe(topic);
    const [m] = await c.poll(1, 5000);
    assert.ok(m);
    const { memberId, generationId } = { memberId: c.memberId, generationId: c.generationId };
    // The application "works" on the message for four session timeouts without calling the consumer.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(c.memberId, memberId);
    assert.equal(c.generationId, generationId, 'no rebalance: the session never expired');
    const [d] = await admin.describeGroups(['grp-busy']);
    assert.equal(d!.state, 'Stable');
    assert.deepEqual(d!.members.map((x) => x.memberId), [memberId]);
    assert.deepEqual(d!.members[0]!.assignment, [{ topic, partition: 0 }]);
    await c.close();
  });

  test('new partitions of a subscribed topic are picked up by a rebalance', async () => {
    const topic = 'g-grow';
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    const c = new Consumer(opts('grp-grow', { metadataMaxAgeMs: 100 }));
    c.subscribe(topic);
    await c.ready();
    assert.equal(c.assignment().length, 2);
    await admin.createPartitions([{ topic, count: 4 }]);
    await until(() => c.assignment().length === 4, 10_000, 'the new partitions');
    await producer.send(topic, { value: 'to a new partition', partition: 3 });
    const [m] = await c.poll(1, 5000);
    assert.equal(m!.partition, 3);
    await c.close();
  });

  test('admin: list, describe, alter, reset and delete group offsets; delete groups', async () => {
    const topic = 'g-admin';
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ value: String(i), partition: i % 2 })));
    const c = new Consumer(opts('grp-admin'));
    c.subscribe(topic);
    await c.ready();
    const groups = await admin.listGroups();
    assert.ok(groups.some((g) => g.groupId === 'grp-admin' && g.protocolType === 'consumer' && g.state === 'Stable'));
    const [d] = await admin.describeGroups(['grp-admin']);
    assert.equal(d!.protocol, 'range');
    assert.deepEqual(d!.members[0]!.topics, [topic]);
    await c.close();
    await admin.alterGroupOffsets('grp-admin', [{ topic, partition: 0, offset: 3 }, { topic, partition: 1, offset: 4 }]);
    assert.deepEqual(await admin.listGroupOffsets('grp-admin'), [{ topic, partition: 0, offset: 3 }, { topic, partition: 1, offset: 4 }]);
    await admin.resetGroupOffsets('grp-admin', topic, 'latest');
    assert.deepEqual(await admin.listGroupOffsets('grp-admin', [topic]), [{ topic, partition: 0, offset: 5 }, { topic, partition: 1, offset: 5 }]);
    await admin.resetGroupOffsets('grp-admin', topic, 'earliest');
    assert.deepEqual((await admin.listGroupOffsets('grp-admin')).map((o) => o.offset), [0, 0]);
    await admin.deleteGroupOffsets('grp-admin', [{ topic, partition: 1 }]);
    assert.deepEqual(await admin.listGroupOffsets('grp-admin'), [{ topic, partition: 0, offset: 0 }]);
    await admin.deleteGroups(['grp-admin']);
    assert.ok(!(await admin.listGroups()).some((g) => g.groupId === 'grp-admin'));
  });
});

test('client consumer group: a broker restart is survived; committed offsets resume without redelivery', async () => {
  const { MemoryEngine } = await import('../src/storage/memory/memory-engine.js');
  const engine = new MemoryEngine();
  let broker = await testBroker({ storage: engine, groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 100 });
  const port = broker.port;
  const producer = new Producer({ bootstrap: broker.bootstrap, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
  const consumer = new Consumer({ bootstrap: broker.bootstrap, groupId: 'grp-restart', autoOffsetReset: 'earliest', heartbeatIntervalMs: 100, sessionTimeoutMs: 3000, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
  try {
    await producer.send('g-restart', Array.from({ length: 20 }, (_, i) => ({ value: String(i) })));
    consumer.subscribe('g-restart');
    const got: ConsumerMessage[] = [];
    while (got.length < 20) got.push(...(await consumer.poll(20, 2000)));
    await consumer.commit();
    await broker.close();
    broker = await testBroker({ storage: engine, port, groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 100 });
    await producer.send('g-restart', Array.from({ length: 20 }, (_, i) => ({ value: String(20 + i) })));
    const deadline = Date.now() + 15_000;
    while (got.length < 40 && Date.now() < deadline) got.push(...(await consumer.poll(40, 200)));
    const values = got.map((m) => Number(m.value!.toString()));
    assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => i), 'every record once, in order');
  } finally {
    await consumer.close();
    await producer.close();
    await broker.close();
  }
});
