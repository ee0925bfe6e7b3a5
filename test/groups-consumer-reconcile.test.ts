/**
 * Properties of KIP-848 groups below the wire (the coordinator over a memory engine):
 * - the server assignors: every subscribed partition assigned exactly once, only to a member
 *   subscribed to its topic; `uniform` balanced (counts differ by at most one among members with the
 *   same subscription) and sticky (a member keeps its partitions when nothing changed); `range`
 *   co-partitioned;
 * - random runs of members joining, heartbeating in any order, leaving and topics growing: no
 *   partition is ever owned by two members at once (as each client last heard), and once everyone
 *   heartbeats again the group settles Stable with every partition owned once, balanced.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SERVER_ASSIGNORS, type Assignment, type AssignorMember } from '../src/broker/groups/server-assignors.js';
import { GroupCoordinator } from '../src/broker/groups/coordinator.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { createLogger } from '../src/broker/logger.js';
import type { Topic } from '../src/broker/topics.js';
import { randomUuid } from '../src/protocol/codec/uuid.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

function flatten(a: Assignment): string[] {
  return [...a].flatMap(([t, ps]) => [...ps].map((p) => `${t}:${p}`));
}

describe('server assignors', () => {
  const topicsArb = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 });
  const check = (name: string, homogeneous: boolean) =>
    fc.assert(
      fc.property(topicsArb, fc.integer({ min: 1, max: 6 }), fc.array(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), { minLength: 6, maxLength: 6 }), (counts, n, subs) => {
        const topics = new Map(counts.map((c, i) => [`id${i}`, { name: `t${i}`, partitions: c }]));
        const members: AssignorMember[] = Array.from({ length: n }, (_, m) => ({
          memberId: `m${m}`,
          instanceId: null,
          subscribedTopicIds: new Set([...topics.keys()].filter((_, i) => homogeneous || subs[m]![i])),
          previous: new Map(),
        }));
        const out = SERVER_ASSIGNORS.get(name)!.assign(members, topics);
        const owners = new Map<string, string>();
        for (const m of members) {
          for (const [t, ps] of out.get(m.memberId)!) {
            assert.ok(m.subscribedTopicIds.has(t), `${m.memberId} got ${t} it does not subscribe to`);
            for (const p of ps) {
              assert.ok(p < topics.get(t)!.partitions);
              assert.ok(!owners.has(`${t}:${p}`), `${t}:${p} assigned twice`);
              owners.set(`${t}:${p}`, m.memberId);
            }
          }
        }
        for (const [t, topic] of topics) {
          const subscribed = members.some((m) => m.subscribedTopicIds.has(t));
          for (let p = 0; p < topic.partitions; p++) assert.equal(owners.has(`${t}:${p}`), subscribed, `${t}:${p}`);
        }
        if (homogeneous && name === 'uniform') {
          const sizes = members.map((m) => flatten(out.get(m.memberId)!).length);
          assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced ${sizes}`);
          // Sticky: the same inputs with this result as the previous assignment change nothing.
          const again = SERVER_ASSIGNORS.get(name)!.assign(members.map((m) => ({ ...m, previous: out.get(m.memberId)! })), topics);
          for (const m of members) assert.deepEqual(flatten(again.get(m.memberId)!).sort(), flatten(out.get(m.memberId)!).sort());
        }
      }),
      { numRuns: 200 },
    );

  it('uniform: every partition once, to a subscriber; balanced and sticky with one subscription', () => check('uniform', true));
  it('uniform: every partition once, to a subscriber, with different subscriptions', () => check('uniform', false));
  it('range: every partition once, to a subscriber', () => {
    check('range', true);
    check('range', false);
  });

  it('uniform: a joining member takes only what balance requires from the others', () => {
    const topics = new Map([['a', { name: 'a', partitions: 12 }]]);
    const sub = new Set(['a']);
    const three = SERVER_ASSIGNORS.get('uniform')!.assign(
      ['x', 'y', 'z'].map((memberId) => ({ memberId, instanceId: null, subscribedTopicIds: sub, previous: new Map() })),
      topics,
    );
    const four = SERVER_ASSIGNORS.get('uniform')!.assign(
      ['x', 'y', 'z', 'w'].map((memberId) => ({ memberId, instanceId: null, subscribedTopicIds: sub, previous: three.get(memberId) ?? new Map() })),
      topics,
    );
    let kept = 0;
    for (const id of ['x', 'y', 'z']) kept += flatten(four.get(id)!).filter((p) => flatten(three.get(id)!).includes(p)).length;
    assert.equal(kept, 9, 'each old member keeps three of its four partitions');
    assert.equal(flatten(four.get('w')!).length, 3);
  });

  it('range: co-partitioned topics give a member the same partition numbers', () => {
    const topics = new Map([
      ['a', { name: 'a', partitions: 5 }],
      ['b', { name: 'b', partitions: 5 }],
    ]);
    const sub = new Set(['a', 'b']);
    const out = SERVER_ASSIGNORS.get('range')!.assign(
      ['m1', 'm2'].map((memberId) => ({ memberId, instanceId: null, subscribedTopicIds: sub, previous: new Map() })),
      topics,
    );
    for (const id of ['m1', 'm2']) assert.deepEqual([...out.get(id)!.get('a')!], [...out.get(id)!.get('b')!]);
    assert.deepEqual([...out.get('m1')!.get('a')!], [0, 1, 2]);
  });
});

/** A mutable topic set standing in for the broker's TopicManager. */
class FakeTopics {
  private readonly byName = new Map<string, Topic>();
  version = 0;
  add(name: string, partitions: number): Topic {
    const t: Topic = { name, id: randomUuid(), partitionCount: partitions, configs: {} };
    this.byName.set(name, t);
    this.version++;
    return t;
  }
  grow(name: string, partitions: number): void {
    const t = this.byName.get(name)!;
    this.byName.set(name, { ...t, partitionCount: partitions });
    this.version++;
  }
  get(name: string) {
    return this.byName.get(name);
  }
  getById(id: string) {
    return [...this.byName.values()].find((t) => t.id === id);
  }
  list() {
    return [...this.byName.values()];
  }
  hasPartition(name: string, p: number) {
    const t = this.byName.get(name);
    return t !== undefined && p >= 0 && p < t.partitionCount;
  }
}

type Op = { kind: 'join' } | { kind: 'beat'; who: number } | { kind: 'leave'; who: number } | { kind: 'grow' };

describe('reconciliation never gives a partition to two members', () => {
  it('random joins, heartbeats, leaves and new partitions; then the group settles balanced', async () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 2, arbitrary: fc.constant({ kind: 'join' as const }) },
      { weight: 8, arbitrary: fc.nat(9).map((who) => ({ kind: 'beat' as const, who })) },
      { weight: 1, arbitrary: fc.nat(9).map((who) => ({ kind: 'leave' as const, who })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'grow' as const }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.constantFrom('uniform', 'range'), fc.array(opArb, { minLength: 1, maxLength: 60 }), async (partitions, assignor, ops) => {
        const storage = new MemoryEngine();
        await storage.open();
        const topics = new FakeTopics();
        const topic = topics.add('t', partitions);
        const coordinator = new GroupCoordinator({ config: { ...DEFAULT_CONFIG }, storage, log: createLogger('error'), topics });
        await coordinator.load();
        interface Client {
          id: string;
          epoch: number;
          owned: Set<number>;
        }
        const live: Client[] = [];
        const beat = async (c: Client, join = false) => {
          const r = await coordinator.consumerGroupHeartbeat({
            groupId: 'g',
            memberId: c.id,
            memberEpoch: join ? 0 : c.epoch,
            instanceId: null,
            rackId: null,
            rebalanceTimeoutMs: join ? 60_000 : -1,
            subscribedTopicNames: join ? ['t'] : null,
            subscribedTopicRegex: null,
            serverAssignor: join ? assignor : null,
            topicPartitions: join ? [] : [{ topicId: topic.id, partitions: [...c.owned] }],
            apiVersion: 1,
            clientId: 'c',
            clientHost: '/127.0.0.1',
          });
          assert.equal(r.errorCode, ErrorCode.NONE, `${r.errorCode} ${r.errorMessage}`);
          c.epoch = r.memberEpoch;
          if (r.assignment !== null) c.owned = new Set(r.assignment.topicPartitions.flatMap((tp) => tp.partitions));
        };
        const noOverlap = () => {
          const seen = new Set<number>();
          for (const c of live) for (const p of c.owned) {
            assert.ok(!seen.has(p), `partition ${p} owned twice`);
            seen.add(p);
          }
        };
        try {
          for (const op of ops) {
            if (op.kind === 'join' && live.length < 5) {
              const c = { id: randomUuid(), epoch: 0, owned: new Set<number>() };
              live.push(c);
              await beat(c, true);
            } else if (op.kind === 'beat' && live.length > 0) {
              await beat(live[op.who % live.length]!);
            } else if (op.kind === 'leave' && live.length > 0) {
              const [c] = live.splice(op.who % live.length, 1);
              const r = await coordinator.consumerGroupHeartbeat({
                groupId: 'g', memberId: c!.id, memberEpoch: -1, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
                subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, apiVersion: 1, clientId: 'c', clientHost: '/127.0.0.1',
              });
              assert.equal(r.errorCode, ErrorCode.NONE);
            } else if (op.kind === 'grow') {
              partitions++;
              topics.grow('t', partitions);
            }
            noOverlap();
          }
          for (let round = 0; round < 12; round++) for (const c of live) await beat(c);
          noOverlap();
          if (live.length > 0) {
            const all = live.flatMap((c) => [...c.owned]).sort((a, b) => a - b);
            assert.deepEqual(all, Array.from({ length: partitions }, (_, i) => i), 'every partition owned once');
            const sizes = live.map((c) => c.owned.size);
            assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes}`);
            assert.equal(coordinator.consumerGroupDescribe('g', false).groupState, 'Stable');
          }
        } finally {
          await coordinator.close();
          await storage.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
