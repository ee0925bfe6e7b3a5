/**
 * KIP-848 consumer groups at the wire (RawClient, exact versions): ConsumerGroupHeartbeat's state
 * machine — join, epochs, target assignment, incremental reconciliation (a partition is revoked by
 * its owner before another member gets it), leave, static members (-2 and rejoin with the same
 * partitions, UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID), session expiry, regex subscriptions that
 * pick up a new topic, new partitions, the range and uniform assignors — every error by its Kafka
 * code; OffsetCommit/OffsetFetch v9 member-epoch checks; ListGroups/DescribeGroups/
 * ConsumerGroupDescribe beside a classic group (the online migration between the two is
 * test/groups-migration.test.ts); and the group reloaded after a restart on every
 * engine.
 *
 * Timing: nothing asserts how long something took; the member that must expire has a short session
 * (the broker's group.consumer.session.timeout.ms in its own broker) and the test polls with a deadline.
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/log-engine.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  type ConsumerGroupHeartbeatRequest as HbReq,
  type ConsumerGroupHeartbeatResponse as HbRes,
} from '../src/protocol/messages/index.js';
import type { Init } from '../src/protocol/codec/message.js';
import { randomUuid } from '../src/protocol/codec/uuid.js';
import { subscription } from './helpers/group-client.js';

type Parts = Record<string, number[]>;

/** A member speaking ConsumerGroupHeartbeat over its own connection. */
class Member {
  epoch = 0;
  owned: Parts = {};
  constructor(
    readonly c: RawClient,
    readonly groupId: string,
    readonly memberId: string,
    readonly instanceId: string | null = null,
  ) {}

  static async connect(b: RunningBroker, groupId: string, instanceId: string | null = null): Promise<Member> {
    return new Member(await RawClient.connect(b.port), groupId, randomUuid(), instanceId);
  }

  send(fields: Partial<Init<HbReq>>, version = 1): Promise<HbRes> {
    return this.c.request(ApiKey.ConsumerGroupHeartbeat, version, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: this.instanceId,
      ...fields,
    });
  }

  /** Join with a subscription (names or regex). */
  async join(sub: { names?: string[]; regex?: string; assignor?: string }): Promise<HbRes> {
    const r = await this.send({
      memberEpoch: 0,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: sub.names ?? (sub.regex === undefined ? [] : null),
      subscribedTopicRegex: sub.regex ?? null,
      serverAssignor: sub.assignor ?? null,
      topicPartitions: [],
    });
    this.take(r);
    return r;
  }

  /** A heartbeat reporting what it owns; takes whatever assignment comes back. */
  async beat(): Promise<HbRes> {
    const r = await this.send({ topicPartitions: Object.entries(this.owned).map(([topicId, partitions]) => ({ topicId, partitions })) });
    this.take(r);
    return r;
  }

  private take(r: HbRes): void {
    assert.equal(r.errorCode, ErrorCode.NONE, `heartbeat of ${this.memberId}: ${r.errorCode} ${r.errorMessage}`);
    this.epoch = r.memberEpoch;
    if (r.assignment !== null) this.owned = Object.fromEntries(r.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]));
  }

  count(): number {
    return Object.values(this.owned).reduce((n, ps) => n + ps.length, 0);
  }

  close(): void {
    this.c.close();
  }
}

/** Heartbeat every member until none changes (epochs and assignments settle), at most `rounds` rounds. */
async function settle(members: Member[], rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const before = JSON.stringify(members.map((m) => [m.epoch, m.owned]));
    for (const m of members) await m.beat();
    if (JSON.stringify(members.map((m) => [m.epoch, m.owned])) === before) return;
  }
  throw new Error('the group did not settle');
}

function noOverlap(members: Member[]): void {
  const seen = new Map<string, string>();
  for (const m of members) {
    for (const [t, ps] of Object.entries(m.owned)) {
      for (const p of ps) {
        const k = `${t}:${p}`;
        assert.ok(!seen.has(k), `partition ${k} owned by ${seen.get(k)} and ${m.memberId}`);
        seen.set(k, m.memberId);
      }
    }
  }
}

async function describeGroup(c: RawClient, groupId: string, version = 1) {
  const r = await c.request(ApiKey.ConsumerGroupDescribe, version, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, { groupIds: [groupId], includeAuthorizedOperations: false });
  return r.groups[0]!;
}

describe('KIP-848 consumer groups over the wire', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  let admin: RawClient;
  const open: Member[] = [];
  const member = async (groupId: string, instanceId: string | null = null) => {
    const m = await Member.connect(b, groupId, instanceId);
    open.push(m);
    return m;
  };
  let topicId: string;

  before(async () => {
    b = await testBroker({ groupConsumerHeartbeatIntervalMs: 1234, groupConsumerMaxSize: 3, groupInitialRebalanceDelayMs: 0 });
    topicId = (await b.broker.topics.create('cg-topic', 4, 1, {})).id;
    admin = await RawClient.connect(b.port);
  });

  after(async () => {
    for (const m of open) m.close();
    admin?.close();
    await b?.close();
  });

  it('a single member joins, gets every partition at epoch 1, and heartbeats without an assignment when nothing changed', async () => {
    const m = await member('cg-single');
    const r = await m.join({ names: ['cg-topic'] });
    assert.equal(r.memberId, m.memberId);
    assert.equal(r.memberEpoch, 1);
    assert.equal(r.heartbeatIntervalMs, 1234);
    assert.deepEqual(m.owned, { [topicId]: [0, 1, 2, 3] });
    const again = await m.beat();
    assert.equal(again.memberEpoch, 1);
    assert.equal(again.assignment, null, 'no assignment when it did not change and the request was not full');
    const d = await describeGroup(admin, 'cg-single');
    assert.equal(d.errorCode, ErrorCode.NONE);
    assert.equal(d.groupState, 'Stable');
    assert.equal(d.groupEpoch, 1);
    assert.equal(d.assignmentEpoch, 1);
    assert.equal(d.assignorName, 'uniform');
    assert.equal(d.members[0]!.memberType, 1);
    assert.deepEqual(d.members[0]!.assignment.topicPartitions, [{ topicId, topicName: 'cg-topic', partitions: [0, 1, 2, 3] }]);
  });

  it('v0 without a member id gets one; v1 without one is INVALID_REQUEST', async () => {
    const c = await RawClient.connect(b.port);
    try {
      const body = { groupId: 'cg-v0', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['cg-topic'], topicPartitions: [] };
      const v0 = await c.request(ApiKey.ConsumerGroupHeartbeat, 0, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, body);
      assert.equal(v0.errorCode, ErrorCode.NONE);
      assert.ok(v0.memberId && v0.memberId.length > 0);
      const v1 = await c.request(ApiKey.ConsumerGroupHeartbeat, 1, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, body);
      assert.equal(v1.errorCode, ErrorCode.INVALID_REQUEST);
      assert.equal(v1.errorMessage, "MemberId can't be empty.");
    } finally {
      c.close();
    }
  });

  it('a second member gets partitions only after the first revoked them (never two owners)', async () => {
    const m1 = await member('cg-two');
    await m1.join({ names: ['cg-topic'] });
    assert.equal(m1.count(), 4);
    const m2 = await member('cg-two');
    const j2 = await m2.join({ names: ['cg-topic'] });
    // m2 is at the new epoch but its partitions are still m1's: nothing yet.
    assert.equal(j2.memberEpoch, 2);
    assert.equal(m2.count(), 0);
    // m1 is asked to revoke two partitions and stays at epoch 1 until it confirms.
    const r1 = await m1.beat();
    assert.equal(r1.memberEpoch, 1);
    assert.equal(m1.count(), 2);
    let d = await describeGroup(admin, 'cg-two');
    assert.equal(d.groupState, 'Reconciling');
    noOverlap([m1, m2]);
    // Confirming (owning two) moves m1 to epoch 2; then m2 gets the released partitions.
    const c1 = await m1.beat();
    assert.equal(c1.memberEpoch, 2);
    await m2.beat();
    assert.equal(m2.count(), 2);
    noOverlap([m1, m2]);
    await settle([m1, m2]);
    d = await describeGroup(admin, 'cg-two');
    assert.equal(d.groupState, 'Stable');
  });

  it('a member leaving (epoch -1) gives its partitions to the others', async () => {
    const ms = [await member('cg-leave'), await member('cg-leave'), await member('cg-leave')];
    for (const m of ms) await m.join({ names: ['cg-topic'] });
    await settle(ms);
    assert.deepEqual(ms.map((m) => m.count()).sort(), [1, 1, 2]);
    const left = await ms[0]!.send({ memberEpoch: -1 });
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(left.memberEpoch, -1);
    await settle(ms.slice(1));
    assert.deepEqual(ms.slice(1).map((m) => m.count()), [2, 2]);
    noOverlap(ms.slice(1));
    const unknown = await ms[0]!.send({ memberEpoch: 5 });
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('epochs: a greater or an old epoch is FENCED_MEMBER_EPOCH; the previous epoch with owned ⊆ assignment is accepted', async () => {
    const m1 = await member('cg-epochs');
    await m1.join({ names: ['cg-topic'] });
    assert.equal((await m1.send({ memberEpoch: 7 })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    const m2 = await member('cg-epochs');
    await m2.join({ names: ['cg-topic'] });
    await settle([m1, m2]);
    assert.equal(m1.epoch, 2);
    // The answer that moved m1 from 1 to 2 was lost: epoch 1 with a subset of its partitions is fine.
    const lost = await m1.send({ memberEpoch: 1, topicPartitions: [{ topicId, partitions: m1.owned[topicId]! }] });
    assert.equal(lost.errorCode, ErrorCode.NONE);
    assert.equal(lost.memberEpoch, 2);
    const stale = await m1.send({ memberEpoch: 0 + 1, topicPartitions: [{ topicId, partitions: [0, 1, 2, 3] }] });
    assert.equal(stale.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  });

  it('request errors: UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, INVALID_REQUEST, GROUP_MAX_SIZE_REACHED', async () => {
    const m = await member('cg-errors');
    const bad = await m.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['cg-topic'], topicPartitions: [], serverAssignor: 'sticky' });
    assert.equal(bad.errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    const regex = await m.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicRegex: '(unclosed', topicPartitions: [] });
    assert.equal(regex.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    // RE2 has no lookaround (Kafka's RE2/J refuses it too).
    const look = await m.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicRegex: 'a(?=b)', topicPartitions: [] });
    assert.equal(look.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    const noTimeout = await m.send({ memberEpoch: 0, subscribedTopicNames: ['cg-topic'], topicPartitions: [] });
    assert.equal(noTimeout.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(noTimeout.errorMessage, 'RebalanceTimeoutMs must be provided in first request.');
    const owned = await m.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['cg-topic'], topicPartitions: [{ topicId, partitions: [0] }] });
    assert.equal(owned.errorCode, ErrorCode.INVALID_REQUEST);
    const epoch = await m.send({ memberEpoch: -3 });
    assert.equal(epoch.errorCode, ErrorCode.INVALID_REQUEST);
    const missing = await m.send({ memberEpoch: 3 });
    assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    // group.consumer.max.size is 3 in this broker.
    const ms = [await member('cg-full'), await member('cg-full'), await member('cg-full')];
    for (const x of ms) await x.join({ names: ['cg-topic'] });
    const fourth = await member('cg-full');
    const full = await fourth.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['cg-topic'], topicPartitions: [] });
    assert.equal(full.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('static members: -2 keeps the partitions for the same instance id; UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID', async () => {
    const a = await member('cg-static', 'instance-a');
    const c = await member('cg-static', 'instance-c');
    await a.join({ names: ['cg-topic'] });
    await c.join({ names: ['cg-topic'] });
    await settle([a, c]);
    const aParts = a.owned;
    // Another process with the same instance id while a still holds it.
    const intruder = await member('cg-static', 'instance-a');
    const unreleased = await intruder.send({ memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['cg-topic'], topicPartitions: [] });
    assert.equal(unreleased.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    const fenced = await intruder.send({ memberEpoch: a.epoch });
    assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    // a restarts: leaves with -2; nobody else gets its partitions meanwhile.
    const bye = await a.send({ memberEpoch: -2 });
    assert.equal(bye.memberEpoch, -2);
    const epochBefore = (await describeGroup(admin, 'cg-static')).groupEpoch;
    await c.beat();
    assert.equal(c.count(), 2, 'the other member does not get the restarting member\'s partitions');
    // The new process (new member id, same instance id) gets the same partitions, without a new group epoch.
    const back = await member('cg-static', 'instance-a');
    const r = await back.join({ names: ['cg-topic'] });
    assert.equal(r.memberEpoch, epochBefore);
    assert.deepEqual(back.owned, aParts);
    const d = await describeGroup(admin, 'cg-static');
    assert.equal(d.groupEpoch, epochBefore);
    assert.deepEqual(d.members.map((m) => m.memberId).sort(), [back.memberId, c.memberId].sort());
    // The old member id is gone.
    assert.equal((await a.send({ memberEpoch: a.epoch })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a regex subscription picks up a topic created later, and new partitions are assigned', async () => {
    const m = await member('cg-regex');
    await m.join({ regex: 'rx-.*' });
    assert.equal(m.count(), 0);
    const t1 = await b.broker.topics.create('rx-one', 2, 1, {});
    await b.broker.topics.create('other-topic', 2, 1, {});
    await m.beat();
    assert.deepEqual(m.owned, { [t1.id]: [0, 1] });
    const t2 = await b.broker.topics.create('rx-two', 1, 1, {});
    await m.beat();
    assert.deepEqual(m.owned, { [t1.id]: [0, 1], [t2.id]: [0] });
    await b.broker.topics.setPartitionCount('rx-two', 3);
    await m.beat();
    assert.deepEqual(m.owned, { [t1.id]: [0, 1], [t2.id]: [0, 1, 2] });
    const d = await describeGroup(admin, 'cg-regex');
    assert.equal(d.members[0]!.subscribedTopicRegex, 'rx-.*');
    // The Java client resolves the topic ids of such an assignment with Metadata by id, name '' (not null).
    const md = await admin.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ topicId: t2.id, name: '' }], allowAutoTopicCreation: false });
    assert.equal(md.topics[0]!.errorCode, ErrorCode.NONE);
    assert.equal(md.topics[0]!.name, 'rx-two');
  });

  it('range: co-partitioned topics give each member the same partition numbers', async () => {
    const a = await b.broker.topics.create('co-a', 4, 1, {});
    const bb = await b.broker.topics.create('co-b', 4, 1, {});
    const m1 = await member('cg-range');
    const m2 = await member('cg-range');
    await m1.join({ names: ['co-a', 'co-b'], assignor: 'range' });
    await m2.join({ names: ['co-a', 'co-b'], assignor: 'range' });
    await settle([m1, m2]);
    for (const m of [m1, m2]) assert.deepEqual(m.owned[a.id], m.owned[bb.id]);
    assert.deepEqual([m1.count(), m2.count()], [4, 4]);
    assert.equal((await describeGroup(admin, 'cg-range')).assignorName, 'range');
  });

  it('OffsetCommit v9 and OffsetFetch v9 check the member epoch', async () => {
    const m = await member('cg-offsets');
    await m.join({ names: ['cg-topic'] });
    const commit = (memberId: string, epoch: number, version = 9) =>
      admin.request(ApiKey.OffsetCommit, version, OffsetCommitRequest, OffsetCommitResponse, {
        groupId: 'cg-offsets',
        generationIdOrMemberEpoch: epoch,
        memberId,
        topics: [{ name: 'cg-topic', partitions: [{ partitionIndex: 0, committedOffset: 42n }] }],
      });
    const code = (r: { topics: { partitions: { errorCode: number }[] }[] }) => r.topics[0]!.partitions[0]!.errorCode;
    assert.equal(code(await commit(m.memberId, m.epoch + 1)), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(code(await commit('nobody', m.epoch)), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(code(await commit('', -1)), ErrorCode.UNKNOWN_MEMBER_ID, 'an admin commit while the group has members');
    assert.equal(code(await commit(m.memberId, m.epoch, 8)), ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(code(await commit(m.memberId, m.epoch)), ErrorCode.NONE);
    const fetch = (memberId: string | null, memberEpoch: number) =>
      admin.request(ApiKey.OffsetFetch, 9, OffsetFetchRequest, OffsetFetchResponse, {
        groups: [{ groupId: 'cg-offsets', memberId, memberEpoch, topics: [{ name: 'cg-topic', partitionIndexes: [0] }] }],
      });
    const stale = await fetch(m.memberId, m.epoch + 3);
    assert.equal(stale.groups[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal((await fetch('nobody', 1)).groups[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const ok = await fetch(m.memberId, m.epoch);
    assert.equal(ok.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 42n);
    const adminFetch = await fetch(null, -1);
    assert.equal(adminFetch.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 42n);
  });

  it('classic and consumer groups side by side: ListGroups types, DescribeGroups, ConsumerGroupDescribe and the mixed cases', async () => {
    const c = await RawClient.connect(b.port);
    try {
      // A classic group with a member waiting in its join phase.
      const joining = c.request(ApiKey.JoinGroup, 5, JoinGroupRequest, JoinGroupResponse, {
        groupId: 'classic-one',
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: '',
        groupInstanceId: 'ci',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(['cg-topic']) }],
      });
      const m = await member('consumer-one');
      await m.join({ names: ['cg-topic'] });
      await joining;
      const list = await admin.request(ApiKey.ListGroups, 5, ListGroupsRequest, ListGroupsResponse, { statesFilter: [], typesFilter: ['Consumer'] });
      assert.ok(list.groups.some((g) => g.groupId === 'consumer-one' && g.groupType === 'consumer' && g.protocolType === 'consumer' && g.groupState === 'Stable'));
      assert.ok(!list.groups.some((g) => g.groupType === 'classic'));
      const classic = await admin.request(ApiKey.ListGroups, 5, ListGroupsRequest, ListGroupsResponse, { statesFilter: [], typesFilter: ['classic'] });
      assert.ok(classic.groups.some((g) => g.groupId === 'classic-one' && g.groupType === 'classic'));
      assert.ok(!classic.groups.some((g) => g.groupType === 'consumer'));
      const dg = await admin.request(ApiKey.DescribeGroups, 6, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['consumer-one'] });
      assert.equal(dg.groups[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(dg.groups[0]!.errorMessage, 'Group consumer-one is not a classic group.');
      const dg5 = await admin.request(ApiKey.DescribeGroups, 5, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['consumer-one'] });
      assert.equal(dg5.groups[0]!.groupState, 'Dead');
      const cgd = await describeGroup(admin, 'classic-one');
      assert.equal(cgd.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal((await describeGroup(admin, 'no-such-group')).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      // Only a joining member (epoch 0) may convert a classic group with members (the online
      // upgrade, test/groups-migration.test.ts): any other epoch is GROUP_ID_NOT_FOUND.
      const intruder = await member('classic-one');
      const r = await intruder.send({ memberEpoch: 3 });
      assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(r.errorMessage, 'Group classic-one is not a consumer group.');
      // Once the consumer group is empty, a classic member replaces it (its offsets stay).
      await m.send({ memberEpoch: -1 });
      const j2 = await c.request(ApiKey.JoinGroup, 3, JoinGroupRequest, JoinGroupResponse, {
        groupId: 'consumer-one',
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(['cg-topic']) }],
      });
      assert.equal(j2.errorCode, ErrorCode.NONE);
      assert.equal((await describeGroup(admin, 'consumer-one')).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      c.close();
    }
  });
});

test('a member that stops heartbeating is removed after group.consumer.session.timeout.ms; its partitions go to the other', { timeout: 30_000 }, async () => {
  const b = await testBroker({ groupConsumerSessionTimeoutMs: 300 });
  const members: Member[] = [];
  try {
    const t = await b.broker.topics.create('cg-session', 2, 1, {});
    const m1 = await Member.connect(b, 'cg-session');
    const m2 = await Member.connect(b, 'cg-session');
    members.push(m1, m2);
    await m1.join({ names: ['cg-session'] });
    await m2.join({ names: ['cg-session'] });
    await settle([m1, m2]);
    assert.deepEqual([m1.count(), m2.count()], [1, 1]);
    // m1 keeps heartbeating; m2 goes silent.
    const deadline = Date.now() + 15_000;
    while (m1.count() < 2) {
      assert.ok(Date.now() < deadline, 'm2 was never removed');
      await new Promise((r) => setTimeout(r, 50));
      await m1.beat();
    }
    assert.deepEqual(m1.owned, { [t.id]: [0, 1] });
    assert.equal((await m2.send({ memberEpoch: m2.epoch })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  } finally {
    for (const m of members) m.close();
    await b.close();
  }
});

for (const type of ['memory', 'log', 'rocksdb'] as const) {
  test(`${type} engine: a consumer group (epochs, assignments, static member, offsets) is reloaded after a restart`, { timeout: 60_000 }, async () => {
    const data = tempDir();
    const start = () => testBroker({ storage: { type, path: data.dir } });
    let b = await start();
    const members: Member[] = [];
    try {
      const t = await b.broker.topics.create('cg-restart', 4, 1, {});
      const m1 = await Member.connect(b, 'cg-restart', 'static-1');
      const m2 = await Member.connect(b, 'cg-restart');
      members.push(m1, m2);
      await m1.join({ names: ['cg-restart'] });
      await m2.join({ names: ['cg-restart'], assignor: 'range' });
      await settle([m1, m2]);
      const commit = await m1.c.request(ApiKey.OffsetCommit, 9, OffsetCommitRequest, OffsetCommitResponse, {
        groupId: 'cg-restart',
        generationIdOrMemberEpoch: m1.epoch,
        memberId: m1.memberId,
        topics: [{ name: 'cg-restart', partitions: [{ partitionIndex: m1.owned[t.id]![0]!, committedOffset: 7n }] }],
      });
      assert.equal(commit.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      const admin = await RawClient.connect(b.port);
      const before = await describeGroup(admin, 'cg-restart');
      admin.close();
      for (const m of members) m.close();
      members.length = 0;
      await b.close();

      b = await start();
      const c = await RawClient.connect(b.port);
      try {
        const after = await describeGroup(c, 'cg-restart');
        assert.equal(after.groupState, 'Stable');
        assert.equal(after.groupEpoch, before.groupEpoch);
        assert.equal(after.assignmentEpoch, before.assignmentEpoch);
        assert.equal(after.assignorName, 'range');
        const norm = (g: typeof before) => g.members.map((m) => ({ ...m, clientHost: '' })).sort((x, y) => (x.memberId < y.memberId ? -1 : 1));
        assert.deepEqual(norm(after), norm(before));
        // The members carry on with their epochs.
        const r1 = new Member(c, 'cg-restart', m1.memberId, 'static-1');
        r1.epoch = m1.epoch;
        r1.owned = m1.owned;
        const hb = await r1.beat();
        assert.equal(hb.memberEpoch, m1.epoch);
        const fetched = await c.request(ApiKey.OffsetFetch, 9, OffsetFetchRequest, OffsetFetchResponse, {
          groups: [{ groupId: 'cg-restart', memberId: m1.memberId, memberEpoch: m1.epoch, topics: [{ name: 'cg-restart', partitionIndexes: [m1.owned[t.id]![0]!] }] }],
        });
        assert.equal(fetched.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 7n);
      } finally {
        c.close();
      }
    } finally {
      for (const m of members) m.close();
      await b.close();
      data.remove();
    }
  });
}
