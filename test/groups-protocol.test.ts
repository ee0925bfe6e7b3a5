/**
 * The group coordinator at the wire, at exact versions (RawClient): FindCoordinator, the join/sync
 * protocol at every JoinGroup version, MEMBER_ID_REQUIRED (KIP-394), protocol selection and
 * INCONSISTENT_GROUP_PROTOCOL, session-timeout eviction, rebalance timeouts, static membership
 * (KIP-345: rejoin without a rebalance, FENCED_INSTANCE_ID), stale generations, group.max.size, and
 * a parked JoinGroup answered at shutdown. Every error is asserted by its exact Kafka code.
 *
 * Timing: nothing asserts how long something took. Members that must survive have long session
 * timeouts; the one that must be evicted has a short one, and the test polls for the outcome with a
 * deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { GroupClient, MEMBER_ID_REQUIRED, assignment, pollUntil, subscription, versionsFor } from './helpers/group-client.js';
import { kafkaClientHost } from '../src/broker/api/group-common.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';

const NONE = 0;
const INVALID_REQUEST = 42;
const NOT_COORDINATOR = 16;
const ILLEGAL_GENERATION = 22;
const INCONSISTENT_GROUP_PROTOCOL = 23;
const INVALID_GROUP_ID = 24;
const UNKNOWN_MEMBER_ID = 25;
const INVALID_SESSION_TIMEOUT = 26;
const REBALANCE_IN_PROGRESS = 27;
const GROUP_MAX_SIZE_REACHED = 81;
const FENCED_INSTANCE_ID = 82;

const consumerProtocols = (topics: string[], names = ['range']) => names.map((name) => ({ name, metadata: subscription(topics) }));

describe('group coordinator over the wire', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  const clients: GroupClient[] = [];
  const connect = async () => {
    const c = await GroupClient.connect(b.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    b = await testBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 10 });
    await b.broker.topics.create('gp-topic', 4, 1, {});
  });

  after(async () => {
    for (const c of clients) c.close();
    await b?.close();
  });

  it('FindCoordinator names this broker for groups and transactional ids at every version; share groups are refused', async () => {
    const c = await connect();
    for (let v = 0; v <= 3; v++) {
      const r = await c.findCoordinator(v, { key: 'any-group', keyType: 0 });
      assert.deepEqual([r.errorCode, r.nodeId, r.host, r.port], [NONE, 1, b.host, b.port], `v${v}`);
      if (v >= 1) {
        const txn = await c.findCoordinator(v, { key: 'txn-id', keyType: 1 });
        assert.deepEqual([txn.errorCode, txn.nodeId, txn.host, txn.port], [NONE, 1, b.host, b.port], `v${v} transaction key`);
        assert.equal((await c.findCoordinator(v, { key: 'share', keyType: 2 })).errorCode, INVALID_REQUEST, `v${v} share key`);
      }
    }
    for (let v = 4; v <= 6; v++) {
      const r = await c.findCoordinator(v, { keyType: 0, coordinatorKeys: ['g1', 'g2'] });
      assert.deepEqual(
        r.coordinators.map((x) => [x.key, x.errorCode, x.nodeId, x.host, x.port]),
        [
          ['g1', NONE, 1, b.host, b.port],
          ['g2', NONE, 1, b.host, b.port],
        ],
        `v${v}`,
      );
      const txn = await c.findCoordinator(v, { keyType: 1, coordinatorKeys: ['t1'] });
      assert.deepEqual(txn.coordinators.map((x) => [x.key, x.errorCode, x.nodeId, x.port]), [['t1', NONE, 1, b.port]], `v${v} transaction key`);
    }
  });

  for (let v = 0; v <= 9; v++) {
    it(`works end to end at JoinGroup v${v} (with the matching Sync/Heartbeat/Commit/Fetch/Describe/Leave versions)`, async () => {
      const vs = versionsFor(v);
      const group = `sweep-v${v}`;
      const c = await connect();
      const protocols = [
        { name: 'range', metadata: subscription(['gp-topic']) },
        { name: 'roundrobin', metadata: subscription(['gp-topic'], 1) },
      ];
      const body = { groupId: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols };
      const first = await c.join(v, body);
      let joined = first;
      if (v >= 4) {
        // KIP-394: the first JoinGroup of a dynamic member only gets its member id.
        assert.equal(first.errorCode, MEMBER_ID_REQUIRED);
        assert.match(first.memberId, /^rafka-test-[0-9a-f-]{36}$/);
        assert.equal(first.generationId, -1);
        joined = await c.join(v, { ...body, memberId: first.memberId });
      }
      assert.equal(joined.errorCode, NONE);
      assert.equal(joined.generationId, 1);
      assert.equal(joined.leader, joined.memberId);
      assert.equal(joined.protocolName, 'range', 'the only member prefers range');
      assert.equal(joined.protocolType, v >= 7 ? 'consumer' : null);
      assert.deepEqual(joined.members.map((m) => [m.memberId, m.metadata]), [[joined.memberId, protocols[0]!.metadata]]);
      const memberId = joined.memberId;

      const mine = assignment({ 'gp-topic': [0, 1, 2, 3] });
      const synced = await c.sync(vs.sync, { groupId: group, generationId: 1, memberId, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId, assignment: mine }] });
      assert.equal(synced.errorCode, NONE);
      assert.deepEqual(synced.assignment, mine);
      if (vs.sync >= 5) assert.deepEqual([synced.protocolType, synced.protocolName], ['consumer', 'range']);

      assert.equal((await c.heartbeat(vs.heartbeat, { groupId: group, generationId: 1, memberId })).errorCode, NONE);

      const commit = await c.commit(vs.commit, {
        groupId: group,
        generationIdOrMemberEpoch: 1,
        memberId,
        topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 2, committedOffset: 42n, committedLeaderEpoch: 3, committedMetadata: `meta-v${v}` }] }],
      });
      assert.deepEqual(commit.topics, [{ name: 'gp-topic', topicId: ZERO_UUID, partitions: [{ partitionIndex: 2, errorCode: NONE }] }]);

      const wanted = [{ name: 'gp-topic', partitionIndexes: [2, 3] }];
      const fetchedTopics = async () => {
        if (vs.fetch < 8) return (await c.fetchOffsets(vs.fetch, { groupId: group, topics: wanted })).topics;
        const r = await c.fetchOffsets(vs.fetch, { groups: [{ groupId: group, topics: wanted }] });
        assert.deepEqual([r.groups.length, r.groups[0]!.groupId, r.groups[0]!.errorCode], [1, group, NONE]);
        return r.groups[0]!.topics;
      };
      assert.deepEqual(
        (await fetchedTopics()).map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode, p.committedLeaderEpoch])]),
        [
          [
            'gp-topic',
            [
              [2, 42n, `meta-v${v}`, NONE, vs.fetch >= 5 ? (vs.commit >= 6 ? 3 : -1) : -1],
              [3, -1n, '', NONE, -1],
            ],
          ],
        ],
      );

      const described = (await c.describe(vs.describe, [group])).groups[0]!;
      assert.deepEqual([described.errorCode, described.groupState, described.protocolType, described.protocolData], [NONE, 'Stable', 'consumer', 'range']);
      assert.deepEqual(
        described.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.memberMetadata, m.memberAssignment]),
        [[memberId, 'rafka-test', '/127.0.0.1', protocols[0]!.metadata, mine]],
      );

      const left = vs.leave >= 3 ? await c.leave(vs.leave, { groupId: group, members: [{ memberId }] }) : await c.leave(vs.leave, { groupId: group, memberId });
      assert.equal(left.errorCode, NONE);
      if (vs.leave >= 3) assert.deepEqual(left.members.map((m) => [m.memberId, m.errorCode]), [[memberId, NONE]]);
      const after = (await c.describe(vs.describe, [group])).groups[0]!;
      assert.deepEqual([after.groupState, after.members.length], ['Empty', 0]);
      assert.equal((await c.heartbeat(vs.heartbeat, { groupId: group, generationId: 1, memberId })).errorCode, UNKNOWN_MEMBER_ID);
    });
  }

  it('refuses bad joins with Kafka codes: empty group id, session timeout bounds, stale member id, unknown group', async () => {
    const c = await connect();
    const body = { groupId: 'bad-joins', sessionTimeoutMs: 30_000, protocolType: 'consumer', protocols: consumerProtocols(['gp-topic']) };
    assert.equal((await c.join(5, { ...body, groupId: '' })).errorCode, INVALID_GROUP_ID);
    assert.equal((await c.join(5, { ...body, sessionTimeoutMs: 5 })).errorCode, INVALID_SESSION_TIMEOUT, 'below group.min.session.timeout.ms');
    assert.equal((await c.join(5, { ...body, sessionTimeoutMs: 1_800_001 })).errorCode, INVALID_SESSION_TIMEOUT, 'above group.max.session.timeout.ms');
    assert.equal((await c.join(5, { ...body, memberId: 'made-up' })).errorCode, UNKNOWN_MEMBER_ID, 'a member id for a group that does not exist');
    assert.equal((await c.heartbeat(3, { groupId: 'no-such-group', generationId: 1, memberId: 'x' })).errorCode, UNKNOWN_MEMBER_ID);
    assert.equal((await c.heartbeat(3, { groupId: '', generationId: 1, memberId: 'x' })).errorCode, INVALID_GROUP_ID);
    assert.equal((await c.sync(3, { groupId: 'no-such-group', generationId: 1, memberId: 'x' })).errorCode, UNKNOWN_MEMBER_ID);
    const leave = await c.leave(3, { groupId: 'no-such-group', members: [{ memberId: 'x' }] });
    assert.deepEqual([leave.errorCode, leave.members.map((m) => m.errorCode)], [NONE, [UNKNOWN_MEMBER_ID]]);
    assert.equal((await c.leave(0, { groupId: 'no-such-group', memberId: 'x' })).errorCode, UNKNOWN_MEMBER_ID, 'v0 carries the member error at the top');
    // SyncGroup v5 without protocol type/name (KIP-559: mandatory).
    assert.equal((await c.sync(5, { groupId: 'bad-joins', generationId: 1, memberId: 'x', protocolType: null, protocolName: 'range' })).errorCode, INCONSISTENT_GROUP_PROTOCOL);
  });

  it('selects the protocol every member supports that most prefer; the leader gets all metadata; followers wait for its SyncGroup', async () => {
    const group = 'selection';
    const a = await connect();
    const bb = await connect();
    const proto = (name: string, who: string) => ({ name, metadata: Buffer.from(`${name}:${who}`) });
    const aBody = { groupId: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: [proto('roundrobin', 'a'), proto('range', 'a')] };
    const a1 = await a.joinWithId(5, aBody);
    assert.deepEqual([a1.errorCode, a1.generationId, a1.protocolName], [NONE, 1, 'roundrobin']);
    await a.sync(3, { groupId: group, generationId: 1, memberId: a1.memberId, assignments: [] });

    // b supports roundrobin only as its second choice; range not at all.
    const bJoin = bb.joinWithId(5, { ...aBody, protocols: [proto('sticky', 'b'), proto('roundrobin', 'b')] });
    const hb = await pollUntil(() => a.heartbeat(3, { groupId: group, generationId: 1, memberId: a1.memberId }), (r) => r.errorCode !== NONE);
    assert.equal(hb.errorCode, REBALANCE_IN_PROGRESS);
    const [a2, b2] = await Promise.all([a.join(5, { ...aBody, memberId: a1.memberId }), bJoin]);
    assert.deepEqual([a2.errorCode, b2.errorCode], [NONE, NONE]);
    assert.deepEqual([a2.generationId, b2.generationId, a2.protocolName, b2.protocolName], [2, 2, 'roundrobin', 'roundrobin']);
    assert.equal(a2.leader, a1.memberId, 'the leader stays the leader when it rejoins');
    assert.equal(b2.leader, a1.memberId);
    assert.deepEqual(b2.members, [], 'followers get no member list');
    assert.deepEqual(
      a2.members.map((m) => [m.memberId, m.metadata.toString()]).sort(),
      [
        [a1.memberId, 'roundrobin:a'],
        [b2.memberId, 'roundrobin:b'],
      ].sort(),
    );

    // A member that shares no protocol, or speaks another protocol type, cannot join.
    const c = await connect();
    assert.equal((await c.join(5, { ...aBody, protocols: [proto('cooperative-sticky', 'c')] })).errorCode, INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.join(5, { ...aBody, protocolType: 'connect' })).errorCode, INCONSISTENT_GROUP_PROTOCOL);

    // The follower asks first and waits for the leader's assignment.
    const bSync = bb.sync(3, { groupId: group, generationId: 2, memberId: b2.memberId, assignments: [] });
    const aSync = await a.sync(3, {
      groupId: group,
      generationId: 2,
      memberId: a1.memberId,
      assignments: [
        { memberId: a1.memberId, assignment: Buffer.from('for-a') },
        { memberId: b2.memberId, assignment: Buffer.from('for-b') },
      ],
    });
    assert.deepEqual([aSync.errorCode, aSync.assignment.toString()], [NONE, 'for-a']);
    const bSynced = await bSync;
    assert.deepEqual([bSynced.errorCode, bSynced.assignment.toString()], [NONE, 'for-b']);
    assert.equal((await c.describe(5, [group])).groups[0]!.groupState, 'Stable');
  });

  it('evicts a member whose session times out; the survivor rebalances; stale generations are ILLEGAL_GENERATION', async () => {
    const group = 'eviction';
    const live = await connect();
    const dying = await connect();
    const body = (sessionTimeoutMs: number) => ({ groupId: group, sessionTimeoutMs, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: consumerProtocols(['gp-topic']) });
    const l1 = await live.joinWithId(5, body(30_000));
    await live.sync(3, { groupId: group, generationId: 1, memberId: l1.memberId, assignments: [] });
    const dJoin = dying.joinWithId(5, body(500));
    await pollUntil(() => live.heartbeat(3, { groupId: group, generationId: 1, memberId: l1.memberId }), (r) => r.errorCode === REBALANCE_IN_PROGRESS);
    const [l2, d2] = await Promise.all([live.join(5, { ...body(30_000), memberId: l1.memberId }), dJoin]);
    assert.deepEqual([l2.generationId, d2.generationId], [2, 2]);
    await Promise.all([
      live.sync(3, { groupId: group, generationId: 2, memberId: l1.memberId, assignments: [] }),
      dying.sync(3, { groupId: group, generationId: 2, memberId: d2.memberId, assignments: [] }),
    ]);
    assert.equal((await dying.heartbeat(3, { groupId: group, generationId: 2, memberId: d2.memberId })).errorCode, NONE);

    // The dying member goes silent; the live one keeps heartbeating until it is told to rejoin.
    const hb = await pollUntil(() => live.heartbeat(3, { groupId: group, generationId: 2, memberId: l1.memberId }), (r) => r.errorCode !== NONE, 15_000, 100);
    assert.equal(hb.errorCode, REBALANCE_IN_PROGRESS);
    assert.equal((await dying.heartbeat(3, { groupId: group, generationId: 2, memberId: d2.memberId })).errorCode, UNKNOWN_MEMBER_ID, 'evicted');
    const l3 = await live.join(5, { ...body(30_000), memberId: l1.memberId });
    assert.deepEqual([l3.errorCode, l3.generationId, l3.members.map((m) => m.memberId)], [NONE, 3, [l1.memberId]]);

    // Generation 2 is now stale for every API that carries one.
    assert.equal((await live.sync(3, { groupId: group, generationId: 2, memberId: l1.memberId, assignments: [] })).errorCode, ILLEGAL_GENERATION);
    assert.equal((await live.heartbeat(3, { groupId: group, generationId: 2, memberId: l1.memberId })).errorCode, ILLEGAL_GENERATION);
    const staleCommit = await live.commit(7, {
      groupId: group,
      generationIdOrMemberEpoch: 2,
      memberId: l1.memberId,
      topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    assert.equal(staleCommit.topics[0]!.partitions[0]!.errorCode, ILLEGAL_GENERATION);
    // Before its SyncGroup, the member of the new generation may not commit yet.
    const early = await live.commit(7, {
      groupId: group,
      generationIdOrMemberEpoch: 3,
      memberId: l1.memberId,
      topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    assert.equal(early.topics[0]!.partitions[0]!.errorCode, REBALANCE_IN_PROGRESS);
    const synced = await live.sync(3, { groupId: group, generationId: 3, memberId: l1.memberId, assignments: [] });
    assert.equal(synced.errorCode, NONE);
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const group = 'rebalance-timeout';
    const a = await connect();
    const slow = await connect();
    const late = await connect();
    const body = { groupId: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 600, protocolType: 'consumer', protocols: consumerProtocols(['gp-topic']) };
    const a1 = await a.joinWithId(5, body);
    await a.sync(3, { groupId: group, generationId: 1, memberId: a1.memberId, assignments: [] });
    const sJoin = slow.joinWithId(5, body);
    await pollUntil(() => a.heartbeat(3, { groupId: group, generationId: 1, memberId: a1.memberId }), (r) => r.errorCode === REBALANCE_IN_PROGRESS);
    const [a2, s2] = await Promise.all([a.join(5, { ...body, memberId: a1.memberId }), sJoin]);
    await Promise.all([
      a.sync(3, { groupId: group, generationId: 2, memberId: a1.memberId, assignments: [] }),
      slow.sync(3, { groupId: group, generationId: 2, memberId: s2.memberId, assignments: [] }),
    ]);
    assert.equal(a2.generationId, 2);

    // A third member arrives; `a` rejoins, `slow` never does (its session is long: only the
    // rebalance timeout can drop it).
    const lateJoin = late.joinWithId(5, body);
    await pollUntil(() => a.heartbeat(3, { groupId: group, generationId: 2, memberId: a1.memberId }), (r) => r.errorCode === REBALANCE_IN_PROGRESS);
    const [a3, l3] = await Promise.all([a.join(5, { ...body, memberId: a1.memberId }), lateJoin]);
    assert.deepEqual([a3.errorCode, a3.generationId, l3.generationId], [NONE, 3, 3]);
    assert.deepEqual(a3.members.map((m) => m.memberId).sort(), [a1.memberId, l3.memberId].sort());
    assert.equal((await slow.heartbeat(3, { groupId: group, generationId: 2, memberId: s2.memberId })).errorCode, UNKNOWN_MEMBER_ID);
  });

  it('static membership: a restarted static member gets its assignment back without a rebalance; the old id is fenced', async () => {
    const group = 'static';
    const s = await connect();
    const d = await connect();
    const body = { groupId: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: consumerProtocols(['gp-topic']) };
    const s1 = await s.join(5, { ...body, groupInstanceId: 'instance-1' });
    assert.equal(s1.errorCode, NONE, 'static members get no MEMBER_ID_REQUIRED');
    assert.match(s1.memberId, /^instance-1-/);
    await s.sync(3, { groupId: group, generationId: 1, memberId: s1.memberId, groupInstanceId: 'instance-1', assignments: [] });
    const dJoin = d.joinWithId(5, body);
    await pollUntil(() => s.heartbeat(3, { groupId: group, generationId: 1, memberId: s1.memberId, groupInstanceId: 'instance-1' }), (r) => r.errorCode === REBALANCE_IN_PROGRESS);
    const [s2, d2] = await Promise.all([s.join(5, { ...body, memberId: s1.memberId, groupInstanceId: 'instance-1' }), dJoin]);
    assert.equal(s2.leader, s1.memberId);
    const forS = assignment({ 'gp-topic': [0, 1] });
    const forD = assignment({ 'gp-topic': [2, 3] });
    await Promise.all([
      s.sync(3, { groupId: group, generationId: 2, memberId: s1.memberId, groupInstanceId: 'instance-1', assignments: [{ memberId: s1.memberId, assignment: forS }, { memberId: d2.memberId, assignment: forD }] }),
      d.sync(3, { groupId: group, generationId: 2, memberId: d2.memberId, assignments: [] }),
    ]);

    // The static member restarts (new connection, no member id).
    const s2b = await connect();
    const back = await s2b.join(5, { ...body, groupInstanceId: 'instance-1' });
    assert.equal(back.errorCode, NONE);
    assert.notEqual(back.memberId, s1.memberId);
    assert.equal(back.generationId, 2, 'same generation: no rebalance');
    assert.equal(back.leader, s1.memberId, 'before v9 the old leader id is named, so the returning leader acts as a follower');
    assert.deepEqual(back.members, []);
    assert.equal((await d.heartbeat(3, { groupId: group, generationId: 2, memberId: d2.memberId })).errorCode, NONE, 'the other member sees no rebalance');
    const again = await s2b.sync(3, { groupId: group, generationId: 2, memberId: back.memberId, groupInstanceId: 'instance-1', assignments: [] });
    assert.deepEqual([again.errorCode, again.assignment], [NONE, forS], 'the old assignment, unchanged');
    const described = (await d.describe(4, [group])).groups[0]!;
    assert.equal(described.groupState, 'Stable');
    assert.deepEqual(described.members.map((m) => [m.memberId, m.groupInstanceId]).sort(), [[back.memberId, 'instance-1'], [d2.memberId, null]].sort());

    // The old incarnation is fenced wherever it shows up.
    const old = { groupId: group, generationId: 2, memberId: s1.memberId, groupInstanceId: 'instance-1' };
    assert.equal((await s.heartbeat(3, old)).errorCode, FENCED_INSTANCE_ID);
    assert.equal((await s.sync(3, { ...old, assignments: [] })).errorCode, FENCED_INSTANCE_ID);
    assert.equal((await s.join(5, { ...body, memberId: s1.memberId, groupInstanceId: 'instance-1' })).errorCode, FENCED_INSTANCE_ID);
    const fencedCommit = await s.commit(7, {
      groupId: group,
      generationIdOrMemberEpoch: 2,
      memberId: s1.memberId,
      groupInstanceId: 'instance-1',
      topics: [{ name: 'gp-topic', partitions: [{ partitionIndex: 0, committedOffset: 5n }] }],
    });
    assert.equal(fencedCommit.topics[0]!.partitions[0]!.errorCode, FENCED_INSTANCE_ID);
    const fencedLeave = await s.leave(3, { groupId: group, members: [{ memberId: s1.memberId, groupInstanceId: 'instance-1' }] });
    assert.deepEqual(fencedLeave.members.map((m) => m.errorCode), [FENCED_INSTANCE_ID]);

    // From v9 the returning leader is told to skip the assignment, and is named leader.
    const s3 = await connect();
    const v9 = await s3.join(9, { ...body, groupInstanceId: 'instance-1' });
    assert.deepEqual([v9.errorCode, v9.generationId, v9.skipAssignment, v9.leader], [NONE, 2, true, v9.memberId]);
    assert.equal(v9.members.length, 2, 'the leader still sees the members');
    assert.equal((await s2b.heartbeat(3, { groupId: group, generationId: 2, memberId: back.memberId, groupInstanceId: 'instance-1' })).errorCode, FENCED_INSTANCE_ID);
    assert.equal((await d.heartbeat(3, { groupId: group, generationId: 2, memberId: d2.memberId })).errorCode, NONE);

    // An admin removes the static member by instance id alone (LeaveGroup v3+): now it rebalances.
    const removed = await d.leave(3, { groupId: group, members: [{ memberId: '', groupInstanceId: 'instance-1' }] });
    assert.deepEqual(removed.members.map((m) => [m.groupInstanceId, m.errorCode]), [['instance-1', NONE]]);
    assert.equal((await d.heartbeat(3, { groupId: group, generationId: 2, memberId: d2.memberId })).errorCode, REBALANCE_IN_PROGRESS);
  });

  it('group.max.size: a member beyond the limit gets GROUP_MAX_SIZE_REACHED', async () => {
    const small = await testBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 10, groupMaxSize: 2 });
    const cs: GroupClient[] = [];
    try {
      for (let i = 0; i < 3; i++) cs.push(await GroupClient.connect(small.port));
      const [a, bb, c] = cs as [GroupClient, GroupClient, GroupClient];
      const body = { groupId: 'capped', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: consumerProtocols(['t']) };
      const a1 = await a.joinWithId(5, body);
      await a.sync(3, { groupId: 'capped', generationId: 1, memberId: a1.memberId, assignments: [] });
      const bJoin = bb.joinWithId(5, body);
      await pollUntil(() => a.heartbeat(3, { groupId: 'capped', generationId: 1, memberId: a1.memberId }), (r) => r.errorCode === REBALANCE_IN_PROGRESS);
      const [a2] = await Promise.all([a.join(5, { ...body, memberId: a1.memberId }), bJoin]);
      assert.equal(a2.members.length, 2);
      const third = await c.joinWithId(5, body);
      assert.equal(third.errorCode, GROUP_MAX_SIZE_REACHED);
    } finally {
      for (const c of cs) c.close();
      await small.close();
    }
  });

  it("shows client hosts as Kafka does (Java's InetAddress.toString())", () => {
    assert.equal(kafkaClientHost('127.0.0.1'), '/127.0.0.1');
    assert.equal(kafkaClientHost('::ffff:10.1.2.3'), '/10.1.2.3');
    assert.equal(kafkaClientHost('::1'), '/0:0:0:0:0:0:0:1');
    assert.equal(kafkaClientHost('fe80::a:0b%eth0'), '/fe80:0:0:0:0:0:a:b%eth0');
  });

  it('answers a parked JoinGroup with NOT_COORDINATOR when the broker shuts down', async () => {
    const slow = await testBroker({ groupInitialRebalanceDelayMs: 600_000 });
    const c = await GroupClient.connect(slow.port);
    try {
      const body = { groupId: 'parked', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 900_000, protocolType: 'consumer', protocols: consumerProtocols(['t']) };
      const first = await c.join(5, body);
      const parked = c.join(5, { ...body, memberId: first.memberId });
      await pollUntil(async () => slow.broker.groups.group('parked')?.state, (s) => s === 'PreparingRebalance');
      const [answer] = await Promise.all([parked, slow.close()]);
      assert.equal(answer.errorCode, NOT_COORDINATOR);
    } finally {
      c.close();
      await slow.close();
    }
  });
});
