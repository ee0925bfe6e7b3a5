/**
 * The assignors as pure functions (Kafka's RangeAssignor, RoundRobinAssignor and
 * CooperativeStickyAssignor behaviour), and the ConsumerProtocol subscription/assignment bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, type MemberSubscription, type TopicPartition } from '../src/client/index.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../src/client/assignors.js';

const member = (memberId: string, topics: string[], owned: TopicPartition[] = [], generation = -1): MemberSubscription => ({ memberId, groupInstanceId: null, topics, ownedPartitions: owned, generation, userData: null });
const show = (a: Map<string, TopicPartition[]>) => Object.fromEntries([...a].map(([m, tps]) => [m, tps.map((t) => `${t.topic}${t.partition}`).sort()]));

test('range: contiguous ranges per topic, extra partitions to the first members', () => {
  const a = rangeAssignor.assign([member('c', ['t', 'u']), member('a', ['t', 'u']), member('b', ['t'])], new Map([['t', 7], ['u', 2]]));
  assert.deepEqual(show(a), { a: ['t0', 't1', 't2', 'u0'], b: ['t3', 't4'], c: ['t5', 't6', 'u1'] });
});

test('roundrobin: partitions dealt in turn across topics, skipping members not subscribed', () => {
  const a = roundRobinAssignor.assign([member('a', ['t', 'u']), member('b', ['t', 'u']), member('c', ['u'])], new Map([['t', 3], ['u', 3]]));
  assert.deepEqual(show(a), { a: ['t0', 't2', 'u2'], b: ['t1', 'u0'], c: ['u1'] });
});

test('cooperative-sticky: balanced, keeps owned partitions, and withholds moved ones for one round', () => {
  const counts = new Map([['t', 6]]);
  // One member owns everything; two join.
  const all = [0, 1, 2, 3, 4, 5].map((partition) => ({ topic: 't', partition }));
  const first = cooperativeStickyAssignor.assign([member('a', ['t'], all, 1), member('b', ['t']), member('c', ['t'])], counts);
  // a keeps two of its own; the four that move are withheld (their owner must revoke them first).
  assert.equal(first.get('a')!.length, 2);
  assert.ok(first.get('a')!.every((tp) => all.some((o) => o.partition === tp.partition)));
  assert.deepEqual([first.get('b')!.length, first.get('c')!.length], [0, 0]);
  // Second round: a owns its two; the rest go to b and c, two each.
  const second = cooperativeStickyAssignor.assign([member('a', ['t'], first.get('a')!, 2), member('b', ['t'], [], 2), member('c', ['t'], [], 2)], counts);
  assert.deepEqual(second.get('a'), first.get('a'));
  assert.deepEqual([second.get('b')!.length, second.get('c')!.length], [2, 2]);
  const union = [...second.values()].flat().map((t) => t.partition).sort();
  assert.deepEqual(union, [0, 1, 2, 3, 4, 5]);
  // A member leaves: only its partitions move.
  const third = cooperativeStickyAssignor.assign([member('a', ['t'], second.get('a')!, 3), member('b', ['t'], second.get('b')!, 3)], counts);
  assert.ok(second.get('a')!.every((tp) => third.get('a')!.some((x) => x.partition === tp.partition)));
  assert.ok(second.get('b')!.every((tp) => third.get('b')!.some((x) => x.partition === tp.partition)));
  assert.deepEqual([third.get('a')!.length, third.get('b')!.length], [3, 3]);
  // A partition claimed by two members goes to the higher generation.
  const dup = cooperativeStickyAssignor.assign([member('a', ['t'], [{ topic: 't', partition: 0 }], 4), member('b', ['t'], [{ topic: 't', partition: 0 }], 5)], new Map([['t', 1]]));
  assert.deepEqual(show(dup).b, ['t0']);
});

test('subscription and assignment bytes round-trip (ConsumerProtocol v3) and read older versions', () => {
  const owned = [{ topic: 't', partition: 1 }, { topic: 't', partition: 0 }];
  const bytes = encodeSubscription(['t', 'a'], owned, 7, Buffer.from([1, 2]));
  assert.equal(bytes.readInt16BE(0), 3);
  const s = decodeSubscription('m', null, bytes);
  assert.deepEqual(s.topics, ['a', 't']);
  assert.deepEqual(s.ownedPartitions, [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
  assert.equal(s.generation, 7);
  // v0 (Java < 2.4, librdkafka): topics and user data only.
  const v0 = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, 1]), Buffer.from('x'), Buffer.from([255, 255, 255, 255])]);
  assert.deepEqual(decodeSubscription('m', null, v0).topics, ['x']);
  const a = encodeAssignment(owned);
  assert.deepEqual(decodeAssignment(a), [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
  assert.deepEqual(decodeAssignment(Buffer.alloc(0)), []);
});
