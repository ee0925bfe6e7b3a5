/**
 * KIP-848's online migration between the classic and the consumer group protocols, at the wire
 * (RawClient, exact versions), for each value of `group.consumer.migration.policy`:
 * - upgrade: a ConsumerGroupHeartbeat member joining a classic group with members converts it; the
 *   classic member stays, served by the consumer group (Heartbeat says REBALANCE_IN_PROGRESS, its
 *   JoinGroup is answered with its member epoch as generation and no leader, its SyncGroup carries
 *   the server-side assignor's partitions as classic ConsumerProtocol bytes), and no partition is
 *   ever held by two members;
 * - a classic member joining a consumer group that has members is admitted (whatever the policy);
 * - downgrade: when the last consumer-protocol member leaves, the classic members form a classic
 *   group again, which rebalances;
 * - the policy refusing: GROUP_ID_NOT_FOUND for the upgrade, no conversion for the downgrade;
 * - a group with classic members is stored and reloaded after a restart.
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import type { BrokerConfig } from '../src/config/types.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { GroupClient, assignment as classicAssignment, subscription } from './helpers/group-client.js';
import { tempDir } from './helpers/log-engine.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  ConsumerProtocolAssignment,
  ListGroupsRequest,
  ListGroupsResponse,
  type ConsumerGroupHeartbeatRequest as HbReq,
  type ConsumerGroupHeartbeatResponse as HbRes,
} from '../src/protocol/messages/index.js';
import type { Init } from '../src/protocol/codec/message.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { randomUuid } from '../src/protocol/codec/uuid.js';

const JOIN_V = 9;
const SYNC_V = 5;
const HB_V = 4;
const LEAVE_V = 5;
const TOPIC = 'mig';

/** A KIP-848 member over its own connection. */
class ConsumerMember {
  epoch = 0;
  owned: Record<string, number[]> = {};
  readonly memberId = randomUuid();
  constructor(
    readonly c: RawClient,
    readonly groupId: string,
  ) {}

  send(fields: Partial<Init<HbReq>>): Promise<HbRes> {
    return this.c.request(ApiKey.ConsumerGroupHeartbeat, 1, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      ...fields,
    });
  }

  async join(): Promise<HbRes> {
    return this.take(await this.send({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] }));
  }

  async beat(): Promise<HbRes> {
    return this.take(await this.send({ topicPartitions: Object.entries(this.owned).map(([topicId, partitions]) => ({ topicId, partitions })) }));
  }

  private take(r: HbRes): HbRes {
    assert.equal(r.errorCode, ErrorCode.NONE, `heartbeat: ${r.errorCode} ${r.errorMessage}`);
    this.epoch = r.memberEpoch;
    if (r.assignment !== null) this.owned = Object.fromEntries(r.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]));
    return r;
  }

  partitions(): number[] {
    return Object.values(this.owned).flat().sort((a, b) => a - b);
  }
}

/** A classic member (JoinGroup/SyncGroup/Heartbeat) over its own connection. */
class ClassicMember {
  memberId = '';
  generation = -1;
  partitions: number[] = [];
  constructor(
    readonly g: GroupClient,
    readonly groupId: string,
    readonly protocols = ['range', 'roundrobin'],
  ) {}

  /** Join (with MEMBER_ID_REQUIRED handled); a leader assigns every partition to the members named. */
  async join(): Promise<{ errorCode: number; leader: string; protocolName: string | null; members: { memberId: string }[] }> {
    const r = await this.g.joinWithId(JOIN_V, {
      groupId: this.groupId,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: this.protocols.map((name) => ({ name, metadata: subscription([TOPIC], 1) })),
      reason: null,
    });
    if (r.errorCode === ErrorCode.NONE) {
      this.memberId = r.memberId;
      this.generation = r.generationId;
    }
    return r;
  }

  async sync(assignments: { memberId: string; assignment: Buffer }[] = [], protocolName = this.protocols[0]!) {
    const r = await this.g.sync(SYNC_V, {
      groupId: this.groupId,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName,
      assignments,
    });
    if (r.errorCode === ErrorCode.NONE) this.partitions = decodeAssignment(r.assignment);
    return r;
  }

  async heartbeat(): Promise<number> {
    return (await this.g.heartbeat(HB_V, { groupId: this.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null })).errorCode;
  }
}

function decodeAssignment(bytes: Buffer): number[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const v = r.int16();
  return ConsumerProtocolAssignment.decode(r, Math.min(v, ConsumerProtocolAssignment.maxVersion))
    .assignedPartitions.filter((t) => t.topic === TOPIC)
    .flatMap((t) => t.partitions)
    .sort((a, b) => a - b);
}

async function listed(c: RawClient, groupId: string) {
  const r = await c.request(ApiKey.ListGroups, 5, ListGroupsRequest, ListGroupsResponse, { statesFilter: [], typesFilter: [] });
  return r.groups.find((g) => g.groupId === groupId);
}

async function describeGroup(c: RawClient, groupId: string) {
  const r = await c.request(ApiKey.ConsumerGroupDescribe, 1, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, { groupIds: [groupId], includeAuthorizedOperations: false });
  return r.groups[0]!;
}

/** A classic group of one member holding every partition of the topic (Stable). */
async function stableClassicGroup(b: RunningBroker, groupId: string): Promise<ClassicMember> {
  const c = new ClassicMember(await GroupClient.connect(b.port), groupId);
  const j = await c.join();
  assert.equal(j.errorCode, ErrorCode.NONE);
  assert.equal(j.leader, c.memberId);
  const s = await c.sync([{ memberId: c.memberId, assignment: classicAssignment({ [TOPIC]: [0, 1, 2, 3] }) }], j.protocolName!);
  assert.equal(s.errorCode, ErrorCode.NONE);
  assert.deepEqual(c.partitions, [0, 1, 2, 3]);
  return c;
}

function assertDisjoint(a: number[], b: number[]): void {
  for (const p of a) assert.ok(!b.includes(p), `partition ${p} held by two members: ${JSON.stringify([a, b])}`);
}

async function withPolicy(policy: BrokerConfig['groupConsumerMigrationPolicy'], fn: (b: RunningBroker, admin: RawClient) => Promise<void>): Promise<void> {
  const b = await testBroker({ groupInitialRebalanceDelayMs: 0, groupConsumerMigrationPolicy: policy });
  const admin = await RawClient.connect(b.port);
  try {
    await b.broker.topics.create(TOPIC, 4, 1, {});
    await fn(b, admin);
  } finally {
    admin.close();
    await b.close();
  }
}

describe('online migration with group.consumer.migration.policy=bidirectional (the default)', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  let admin: RawClient;
  const clients: { close(): void }[] = [];
  before(async () => {
    b = await testBroker({ groupInitialRebalanceDelayMs: 0 });
    await b.broker.topics.create(TOPIC, 4, 1, {});
    admin = await RawClient.connect(b.port);
  });
  after(async () => {
    for (const c of clients) c.close();
    admin?.close();
    await b?.close();
  });

  it('upgrades a classic group when a consumer-protocol member joins, then downgrades it when that member leaves', async () => {
    const classic = await stableClassicGroup(b, 'up-down');
    clients.push(classic.g);
    assert.equal((await listed(admin, 'up-down'))?.groupType, 'classic');

    // Upgrade: the consumer member joins; the classic member keeps its partitions until it rejoins.
    const k = new ConsumerMember(await RawClient.connect(b.port), 'up-down');
    clients.push(k.c);
    await k.join();
    assert.deepEqual(k.partitions(), [], 'nothing is given while the classic member still holds everything');
    const l = await listed(admin, 'up-down');
    assert.equal(l?.groupType, 'consumer');
    assert.equal(l?.protocolType, 'consumer');
    const d = await describeGroup(admin, 'up-down');
    assert.equal(d.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      d.members.map((m) => [m.memberId, m.memberType]).sort(),
      [
        [classic.memberId, 0],
        [k.memberId, 1],
      ].sort(),
    );
    assert.equal(d.members.find((m) => m.memberId === classic.memberId)!.memberEpoch, classic.generation, 'the classic member keeps its generation as epoch');

    // The classic member learns of the rebalance from its heartbeat and rejoins.
    assert.equal(await classic.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await classic.join();
    assert.equal(rejoin.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.leader, '', 'a classic member of a consumer group is never the leader');
    assert.equal(rejoin.protocolName, 'range');
    assert.deepEqual(rejoin.members, []);
    assert.equal(classic.generation, d.groupEpoch);
    // SyncGroup with the wrong protocol name, then the right one.
    assert.equal((await classic.sync([], 'roundrobin')).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await classic.sync()).errorCode, ErrorCode.NONE);
    assert.equal(classic.partitions.length, 2);
    await k.beat();
    assert.equal(k.partitions().length, 2);
    assertDisjoint(classic.partitions, k.partitions());
    assert.equal(await classic.heartbeat(), ErrorCode.NONE);
    assert.equal((await describeGroup(admin, 'up-down')).groupState, 'Stable');

    // The classic member commits with a pre-v9 OffsetCommit, its generation being its epoch.
    const commit = (generationIdOrMemberEpoch: number) =>
      classic.g.commit(8, {
        groupId: 'up-down',
        generationIdOrMemberEpoch,
        memberId: classic.memberId,
        groupInstanceId: null,
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: classic.partitions[0]!, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    assert.equal((await commit(classic.generation)).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit(classic.generation + 7)).topics[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    // A wrong generation on Heartbeat and SyncGroup too.
    assert.equal((await classic.g.heartbeat(HB_V, { groupId: 'up-down', generationId: 99, memberId: classic.memberId, groupInstanceId: null })).errorCode, ErrorCode.ILLEGAL_GENERATION);
    // The consumer member may not use the classic APIs.
    assert.equal((await classic.g.heartbeat(HB_V, { groupId: 'up-down', generationId: k.epoch, memberId: k.memberId, groupInstanceId: null })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

    // Downgrade: the last consumer-protocol member leaves; the classic group rebalances.
    const left = await k.send({ memberEpoch: -1 });
    assert.equal(left.errorCode, ErrorCode.NONE);
    const after = await listed(admin, 'up-down');
    assert.equal(after?.groupType, 'classic');
    assert.equal(after?.groupState, 'PreparingRebalance');
    assert.equal((await describeGroup(admin, 'up-down')).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    const hb = await classic.heartbeat();
    assert.ok(hb === ErrorCode.REBALANCE_IN_PROGRESS || hb === ErrorCode.ILLEGAL_GENERATION, `heartbeat after the downgrade: ${hb}`);
    const j = await classic.join();
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.leader, classic.memberId, 'the classic group has a leader again');
    const s = await classic.sync([{ memberId: classic.memberId, assignment: classicAssignment({ [TOPIC]: [0, 1, 2, 3] }) }]);
    assert.equal(s.errorCode, ErrorCode.NONE);
    assert.equal((await listed(admin, 'up-down'))?.groupState, 'Stable');
    // The offsets committed inside the consumer group belong to the group id: still there.
    const fetched = await classic.g.fetchOffsets(7, { groupId: 'up-down', topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2, 3] }], requireStable: false });
    assert.ok(fetched.topics[0]!.partitions.some((p) => p.committedOffset === 5n));
  });

  it('admits a classic member into a consumer group with members; its LeaveGroup bumps the group epoch', async () => {
    const k = new ConsumerMember(await RawClient.connect(b.port), 'mixed');
    clients.push(k.c);
    await k.join();
    assert.equal(k.partitions().length, 4);
    const classic = new ClassicMember(await GroupClient.connect(b.port), 'mixed');
    clients.push(classic.g);
    const j = await classic.join();
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.leader, '');
    // Its partitions are still k's: it gets them once k revoked them.
    assert.equal((await classic.sync()).errorCode, ErrorCode.NONE);
    assert.deepEqual(classic.partitions, []);
    await k.beat(); // asked to revoke two
    await k.beat(); // revoked
    assert.equal(k.partitions().length, 2);
    assert.equal(await classic.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS, 'released partitions: rejoin to collect them');
    assert.equal((await classic.join()).errorCode, ErrorCode.NONE);
    assert.equal((await classic.sync()).errorCode, ErrorCode.NONE);
    assert.equal(classic.partitions.length, 2);
    assertDisjoint(classic.partitions, k.partitions());
    // A classic member with protocols none of the group's classic members support is refused.
    const odd = new ClassicMember(await GroupClient.connect(b.port), 'mixed', ['sticky']);
    clients.push(odd.g);
    assert.equal((await odd.join()).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    const epoch = (await describeGroup(admin, 'mixed')).groupEpoch;
    const leave = await classic.g.leave(LEAVE_V, { groupId: 'mixed', members: [{ memberId: classic.memberId, groupInstanceId: null, reason: null }] });
    assert.equal(leave.errorCode, ErrorCode.NONE);
    assert.equal(leave.members[0]!.errorCode, ErrorCode.NONE);
    const d = await describeGroup(admin, 'mixed');
    assert.equal(d.groupEpoch, epoch + 1);
    assert.deepEqual(d.members.map((m) => m.memberId), [k.memberId]);
    // k is not a classic member: LeaveGroup does not remove it.
    const notClassic = await classic.g.leave(LEAVE_V, { groupId: 'mixed', members: [{ memberId: k.memberId, groupInstanceId: null, reason: null }] });
    assert.equal(notClassic.members[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('static members: a consumer-protocol member takes over a classic static member\'s instance id at once, and the other way round', async () => {
    const k = new ConsumerMember(await RawClient.connect(b.port), 'static-mix');
    clients.push(k.c);
    await k.join();
    // A classic static member joins the consumer group.
    const g = await GroupClient.connect(b.port);
    clients.push(g);
    const body = {
      groupId: 'static-mix',
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      groupInstanceId: 'inst-1',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription([TOPIC], 1) }],
      reason: null,
    };
    const first = await g.join(JOIN_V, body);
    assert.equal(first.errorCode, ErrorCode.NONE);
    // A known instance id with another member id is fenced; an unknown one is unknown.
    assert.equal((await g.join(JOIN_V, { ...body, memberId: 'someone-else' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await g.join(JOIN_V, { ...body, memberId: 'x', groupInstanceId: 'inst-9' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // A consumer-protocol member with the same instance id replaces the classic one without waiting
    // for a leave (a classic member's instance id is never "unreleased", as in Kafka).
    const s = new ConsumerMember(await RawClient.connect(b.port), 'static-mix');
    clients.push(s.c);
    const r = await s.send({ memberEpoch: 0, instanceId: 'inst-1', rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
    assert.equal(r.errorCode, ErrorCode.NONE);
    const d = await describeGroup(admin, 'static-mix');
    assert.deepEqual(d.members.map((m) => m.memberId).sort(), [k.memberId, s.memberId].sort());
    assert.equal(d.members.find((m) => m.memberId === s.memberId)!.instanceId, 'inst-1');
    // A second consumer-protocol member with that instance id is refused: s has not left.
    const t2 = new ConsumerMember(await RawClient.connect(b.port), 'static-mix');
    clients.push(t2.c);
    const r2 = await t2.send({ memberEpoch: 0, instanceId: 'inst-1', rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
    assert.equal(r2.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    // A classic member joining without a member id takes the instance id over from s.
    const again = await g.join(JOIN_V, body);
    assert.equal(again.errorCode, ErrorCode.NONE);
    const d2 = await describeGroup(admin, 'static-mix');
    assert.equal(d2.members.find((m) => m.instanceId === 'inst-1')!.memberId, again.memberId);
    assert.equal(d2.members.find((m) => m.instanceId === 'inst-1')!.memberType, 0);
  });

  it('does not upgrade a classic group of another protocol type', async () => {
    const g = await GroupClient.connect(b.port);
    clients.push(g);
    const j = await g.joinWithId(JOIN_V, {
      groupId: 'connect-like',
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'connect',
      protocols: [{ name: 'sessioned', metadata: Buffer.from([0, 1]) }],
      reason: null,
    });
    assert.equal(j.errorCode, ErrorCode.NONE);
    const k = new ConsumerMember(await RawClient.connect(b.port), 'connect-like');
    clients.push(k.c);
    const r = await k.send({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
    assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(r.errorMessage, 'Group connect-like is not a consumer group.');
  });
});

for (const policy of ['downgrade', 'disabled'] as const) {
  test(`policy ${policy}: a consumer-protocol member may not join a classic group with members (GROUP_ID_NOT_FOUND)`, { timeout: 30_000 }, async () => {
    await withPolicy(policy, async (b, admin) => {
      const classic = await stableClassicGroup(b, 'no-upgrade');
      const k = new ConsumerMember(await RawClient.connect(b.port), 'no-upgrade');
      try {
        const r = await k.send({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
        assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
        assert.equal(r.errorMessage, 'Group no-upgrade is not a consumer group.');
        assert.equal((await listed(admin, 'no-upgrade'))?.groupType, 'classic');
        assert.equal(await classic.heartbeat(), ErrorCode.NONE, 'the classic group is untouched');
      } finally {
        k.c.close();
        classic.g.close();
      }
    });
  });
}

for (const policy of ['upgrade', 'disabled'] as const) {
  test(`policy ${policy}: the last consumer-protocol member leaving does not downgrade the group`, { timeout: 30_000 }, async () => {
    await withPolicy(policy, async (b, admin) => {
      const k = new ConsumerMember(await RawClient.connect(b.port), 'no-downgrade');
      const classic = new ClassicMember(await GroupClient.connect(b.port), 'no-downgrade');
      try {
        await k.join();
        assert.equal((await classic.join()).errorCode, ErrorCode.NONE, 'a classic member is admitted whatever the policy');
        assert.equal((await k.send({ memberEpoch: -1 })).errorCode, ErrorCode.NONE);
        const l = await listed(admin, 'no-downgrade');
        assert.equal(l?.groupType, 'consumer');
        const d = await describeGroup(admin, 'no-downgrade');
        assert.deepEqual(d.members.map((m) => [m.memberId, m.memberType]), [[classic.memberId, 0]]);
        // The classic member carries on inside the consumer group: it rejoins and gets everything.
        assert.equal(await classic.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
        assert.equal((await classic.join()).errorCode, ErrorCode.NONE);
        assert.equal((await classic.sync()).errorCode, ErrorCode.NONE);
        assert.deepEqual(classic.partitions, [0, 1, 2, 3]);
      } finally {
        k.c.close();
        classic.g.close();
      }
    });
  });
}

test('policy upgrade: the upgrade happens', { timeout: 30_000 }, async () => {
  await withPolicy('upgrade', async (b, admin) => {
    const classic = await stableClassicGroup(b, 'up-only');
    const k = new ConsumerMember(await RawClient.connect(b.port), 'up-only');
    try {
      await k.join();
      assert.equal((await listed(admin, 'up-only'))?.groupType, 'consumer');
    } finally {
      k.c.close();
      classic.g.close();
    }
  });
});

for (const type of ['memory', 'log', 'rocksdb'] as const) {
  test(`${type} engine: a consumer group with a classic member is reloaded after a restart`, { timeout: 60_000 }, async () => {
    const data = tempDir();
    const start = () => testBroker({ groupInitialRebalanceDelayMs: 0, storage: { type, path: data.dir } });
    let b = await start();
    try {
      await b.broker.topics.create(TOPIC, 4, 1, {});
      const classic = await stableClassicGroup(b, 'reload');
      const k = new ConsumerMember(await RawClient.connect(b.port), 'reload');
      await k.join();
      assert.equal(await classic.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
      assert.equal((await classic.join()).errorCode, ErrorCode.NONE);
      assert.equal((await classic.sync()).errorCode, ErrorCode.NONE);
      await k.beat();
      const admin = await RawClient.connect(b.port);
      const before = await describeGroup(admin, 'reload');
      admin.close();
      k.c.close();
      classic.g.close();
      await b.close();

      b = await start();
      const c = await RawClient.connect(b.port);
      const g = await GroupClient.connect(b.port);
      try {
        const after = await describeGroup(c, 'reload');
        const norm = (d: typeof before) => d.members.map((m) => ({ ...m, clientHost: '' })).sort((x, y) => (x.memberId < y.memberId ? -1 : 1));
        assert.deepEqual(norm(after), norm(before));
        assert.equal(after.groupEpoch, before.groupEpoch);
        // The classic member carries on with its generation and gets its partitions from SyncGroup.
        const again = new ClassicMember(g, 'reload');
        again.memberId = classic.memberId;
        again.generation = classic.generation;
        assert.equal(await again.heartbeat(), ErrorCode.NONE);
        assert.equal((await again.sync()).errorCode, ErrorCode.NONE);
        assert.deepEqual(again.partitions, classic.partitions);
      } finally {
        c.close();
        g.close();
      }
    } finally {
      await b.close();
      data.remove();
    }
  });
}
