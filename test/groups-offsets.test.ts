/**
 * Committed offsets and the admin side of groups, at exact wire versions: simple (generation -1)
 * commits, metadata, commit timestamps and leader epochs, OFFSET_METADATA_TOO_LARGE, unknown topics
 * and partitions, OffsetFetch for uncommitted, unknown and deleted topics (and v0's Kafka answers),
 * several groups per OffsetFetch (v8+), GROUP_ID_NOT_FOUND from OffsetCommit v9; ListGroups filters,
 * DescribeGroups of unknown groups, DeleteGroups and OffsetDelete rules; group state and offsets
 * surviving a broker restart on the same storage; offsets.retention.minutes expiry (with the
 * coordinator's clock moved, never by waiting); consumer lag; a coordinator that is not loaded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { GroupCoordinator } from '../src/broker/groups/coordinator.js';
import { consumerGroupLag, totalLag } from '../src/broker/groups/lag.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { createLogger } from '../src/broker/logger.js';
import { testBroker } from './helpers/broker.js';
import { GroupClient, assignment, pollUntil, subscription } from './helpers/group-client.js';

const NONE = 0;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const OFFSET_METADATA_TOO_LARGE = 12;
const COORDINATOR_NOT_AVAILABLE = 15;
const ILLEGAL_GENERATION = 22;
const INVALID_GROUP_ID = 24;
const UNKNOWN_MEMBER_ID = 25;
const NON_EMPTY_GROUP = 68;
const GROUP_ID_NOT_FOUND = 69;
const GROUP_SUBSCRIBED_TO_TOPIC = 86;

const DAY_MS = 24 * 3600 * 1000;

const partitionsOf = (topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[]) =>
  topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]);

/** Join a one-member group and sync it: a Stable group with `memberId` at generation 1. */
async function stableGroup(c: GroupClient, groupId: string, topics: string[], protocolType = 'consumer', sessionTimeoutMs = 30_000) {
  const joined = await c.joinWithId(5, { groupId, sessionTimeoutMs, rebalanceTimeoutMs: 30_000, protocolType, protocols: [{ name: 'range', metadata: subscription(topics) }] });
  assert.equal(joined.errorCode, NONE);
  const a = assignment(Object.fromEntries(topics.map((t) => [t, [0]])));
  const synced = await c.sync(3, { groupId, generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: a }] });
  assert.equal(synced.errorCode, NONE);
  return { memberId: joined.memberId, generationId: joined.generationId, assignment: a };
}

describe('committed offsets and group administration', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  let c: GroupClient;

  before(async () => {
    b = await testBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 10 });
    await b.broker.topics.create('off-a', 3, 1, {});
    await b.broker.topics.create('off-b', 2, 1, {});
    c = await GroupClient.connect(b.port);
  });

  after(async () => {
    c?.close();
    await b?.close();
  });

  it('simple commits (generation -1) create a group; OffsetFetch returns offsets, metadata, epochs and -1 for the rest', async () => {
    const r = await c.commit(2, {
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      topics: [
        { name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 10n, committedMetadata: 'm0' }, { partitionIndex: 1, committedOffset: 0n, committedMetadata: null }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
        { name: 'off-b', partitions: [{ partitionIndex: 7, committedOffset: 1n }] },
      ],
    });
    assert.deepEqual(partitionsOf(r.topics), [
      ['off-a', [[0, NONE], [1, NONE]]],
      ['no-such-topic', [[0, UNKNOWN_TOPIC_OR_PARTITION]]],
      ['off-b', [[7, UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    const listed = (await c.list(5)).groups.find((g) => g.groupId === 'simple');
    assert.deepEqual(listed, { groupId: 'simple', protocolType: '', groupState: 'Empty', groupType: 'classic' });

    const f = await c.fetchOffsets(1, { groupId: 'simple', topics: [{ name: 'off-a', partitionIndexes: [0, 1, 2] }, { name: 'no-such-topic', partitionIndexes: [0] }] });
    assert.deepEqual(
      f.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode])]),
      [
        // Null metadata is stored as "" (Kafka's NO_METADATA); uncommitted and unknown: -1, no error.
        ['off-a', [[0, 10n, 'm0', NONE], [1, 0n, '', NONE], [2, -1n, '', NONE]]],
        ['no-such-topic', [[0, -1n, '', NONE]]],
      ],
    );
    // v2+: all committed partitions with a null topic list.
    const all = await c.fetchOffsets(2, { groupId: 'simple', topics: null });
    assert.deepEqual([all.errorCode, all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])])], [NONE, [['off-a', [[0, 10n], [1, 0n]]]]]);
  });

  it('stamps commits with the commit time and keeps v6+ leader epochs; refuses oversized metadata', async () => {
    const before = Date.now();
    const v2 = await c.commit(2, { groupId: 'stamps', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 5n }] }] });
    assert.equal(v2.topics[0]!.partitions[0]!.errorCode, NONE);
    const stored = b.broker.storage.fetchOffsets('stamps').get('off-a\u00000')!;
    assert.equal(stored.offset, 5);
    assert.ok(stored.commitTimestampMs >= before && stored.commitTimestampMs <= Date.now(), 'commit time is now');

    const v8 = await c.commit(8, { groupId: 'stamps', generationIdOrMemberEpoch: -1, topics: [{ name: 'off-a', partitions: [{ partitionIndex: 1, committedOffset: 9n, committedLeaderEpoch: 4 }] }] });
    assert.equal(v8.topics[0]!.partitions[0]!.errorCode, NONE);
    const f = await c.fetchOffsets(6, { groupId: 'stamps', topics: [{ name: 'off-a', partitionIndexes: [0, 1] }] });
    assert.deepEqual(f.topics[0]!.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch]), [[5n, -1], [9n, 4]]);

    const big = await c.commit(8, {
      groupId: 'stamps',
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 'off-a', partitions: [{ partitionIndex: 2, committedOffset: 1n, committedMetadata: 'x'.repeat(4097) }, { partitionIndex: 0, committedOffset: 6n, committedMetadata: 'y'.repeat(4096) }] }],
    });
    assert.deepEqual(big.topics[0]!.partitions.map((p) => p.errorCode), [OFFSET_METADATA_TOO_LARGE, NONE], 'offset.metadata.max.bytes = 4096');
  });

  it('OffsetFetch v8+ answers several groups; OffsetCommit to a missing group with a generation: ILLEGAL_GENERATION, from v9 GROUP_ID_NOT_FOUND', async () => {
    const r = await c.fetchOffsets(8, {
      groups: [
        { groupId: 'simple', topics: [{ name: 'off-a', partitionIndexes: [0] }] },
        { groupId: 'never-seen', topics: null },
        { groupId: 'never-seen-2', topics: [{ name: 'off-a', partitionIndexes: [0] }] },
      ],
    });
    assert.deepEqual(
      r.groups.map((g) => [g.groupId, g.errorCode, g.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])]),
      [
        ['simple', NONE, [['off-a', [10n]]]],
        ['never-seen', NONE, []],
        ['never-seen-2', NONE, [['off-a', [-1n]]]],
      ],
    );
    const body = { groupId: 'missing', generationIdOrMemberEpoch: 3, memberId: 'm', topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] };
    assert.equal((await c.commit(8, body)).topics[0]!.partitions[0]!.errorCode, ILLEGAL_GENERATION);
    assert.equal((await c.commit(9, body)).topics[0]!.partitions[0]!.errorCode, GROUP_ID_NOT_FOUND);
    assert.equal(b.broker.groups.group('missing'), undefined, 'no group was created');
  });

  it('a deleted topic reads as never committed', async () => {
    await b.broker.topics.create('doomed', 2, 1, {});
    await c.commit(5, { groupId: 'deleter', generationIdOrMemberEpoch: -1, topics: [{ name: 'doomed', partitions: [{ partitionIndex: 0, committedOffset: 3n }] }] });
    const admin = new Kafka({ clientId: 'offsets-admin', brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: ['doomed'] });
    } finally {
      await admin.disconnect();
    }
    const f = await c.fetchOffsets(7, { groupId: 'deleter', topics: [{ name: 'doomed', partitionIndexes: [0] }] });
    assert.deepEqual(f.topics[0]!.partitions.map((p) => [p.committedOffset, p.errorCode]), [[-1n, NONE]]);
    assert.deepEqual((await c.fetchOffsets(7, { groupId: 'deleter', topics: null })).topics, []);
  });

  it('ListGroups filters by state (v4) and type (v5); DescribeGroups of an unknown group is Dead', async () => {
    const m = await GroupClient.connect(b.port);
    try {
      await stableGroup(m, 'listed-stable', ['off-a']);
      const names = (gs: { groupId: string }[]) => gs.map((g) => g.groupId).filter((g) => g === 'listed-stable' || g === 'simple').sort();
      assert.deepEqual(names((await c.list(0)).groups), ['listed-stable', 'simple']);
      assert.deepEqual(names((await c.list(4, { statesFilter: ['stable'] })).groups), ['listed-stable']);
      assert.deepEqual(names((await c.list(4, { statesFilter: ['EMPTY', 'Dead'] })).groups), ['simple']);
      assert.deepEqual(names((await c.list(5, { typesFilter: ['Classic'] })).groups), ['listed-stable', 'simple']);
      assert.deepEqual(names((await c.list(5, { typesFilter: ['consumer'] })).groups), []);
      const stable = (await c.list(5, { statesFilter: ['Stable'] })).groups.find((g) => g.groupId === 'listed-stable');
      assert.deepEqual(stable, { groupId: 'listed-stable', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' });
      const unknown = (await c.describe(5, ['nobody-here'])).groups[0]!;
      assert.deepEqual([unknown.errorCode, unknown.groupId, unknown.groupState, unknown.protocolType, unknown.members], [NONE, 'nobody-here', 'Dead', '', []]);
    } finally {
      m.close();
    }
  });

  it('DeleteGroups deletes empty groups with their offsets; refuses groups with members and unknown ones', async () => {
    const m = await GroupClient.connect(b.port);
    try {
      const { memberId } = await stableGroup(m, 'busy', ['off-a']);
      await c.commit(5, { groupId: 'idle', generationIdOrMemberEpoch: -1, topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] });
      const r = await c.deleteGroups(2, ['busy', 'idle', 'ghost', 'idle']);
      assert.deepEqual(
        r.results.map((x) => [x.groupId, x.errorCode]),
        [
          ['busy', NON_EMPTY_GROUP],
          ['idle', NONE],
          ['ghost', GROUP_ID_NOT_FOUND],
        ],
      );
      assert.equal((await c.describe(5, ['idle'])).groups[0]!.groupState, 'Dead');
      assert.equal(b.broker.storage.fetchOffsets('idle').size, 0);
      assert.deepEqual((await c.fetchOffsets(5, { groupId: 'idle', topics: null })).topics, []);
      // Once its member leaves, the group can go.
      await m.leave(3, { groupId: 'busy', members: [{ memberId }] });
      assert.deepEqual((await c.deleteGroups(0, ['busy'])).results.map((x) => x.errorCode), [NONE]);
    } finally {
      m.close();
    }
  });

  it('OffsetDelete: unsubscribed topics only while a consumer group has members; NON_EMPTY_GROUP for other protocols', async () => {
    const m = await GroupClient.connect(b.port);
    const n = await GroupClient.connect(b.port);
    try {
      const g = await stableGroup(m, 'od-consumer', ['off-a']);
      const commit = await m.commit(7, {
        groupId: 'od-consumer',
        generationIdOrMemberEpoch: g.generationId,
        memberId: g.memberId,
        topics: [
          { name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 4n }] },
          { name: 'off-b', partitions: [{ partitionIndex: 1, committedOffset: 8n }] },
        ],
      });
      assert.deepEqual(partitionsOf(commit.topics), [['off-a', [[0, NONE]]], ['off-b', [[1, NONE]]]]);
      const r = await c.deleteOffsets({
        groupId: 'od-consumer',
        topics: [
          { name: 'off-a', partitions: [{ partitionIndex: 0 }] },
          { name: 'off-b', partitions: [{ partitionIndex: 1 }, { partitionIndex: 9 }] },
        ],
      });
      assert.equal(r.errorCode, NONE);
      assert.deepEqual(partitionsOf(r.topics), [['off-a', [[0, GROUP_SUBSCRIBED_TO_TOPIC]]], ['off-b', [[1, NONE], [9, UNKNOWN_TOPIC_OR_PARTITION]]]]);
      const left = await c.fetchOffsets(7, { groupId: 'od-consumer', topics: null });
      assert.deepEqual(left.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)]), [['off-a', [4n]]]);

      await stableGroup(n, 'od-connect', ['off-a'], 'connect');
      assert.equal((await c.deleteOffsets({ groupId: 'od-connect', topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0 }] }] })).errorCode, NON_EMPTY_GROUP);
      assert.equal((await c.deleteOffsets({ groupId: 'od-ghost', topics: [] })).errorCode, GROUP_ID_NOT_FOUND);
      assert.equal((await c.deleteOffsets({ groupId: '', topics: [] })).errorCode, INVALID_GROUP_ID);
      // An Empty group loses any offsets.
      const e = await c.deleteOffsets({ groupId: 'simple', topics: [{ name: 'off-a', partitions: [{ partitionIndex: 1 }] }] });
      assert.deepEqual([e.errorCode, partitionsOf(e.topics)], [NONE, [['off-a', [[1, NONE]]]]]);
      assert.equal(b.broker.storage.fetchOffsets('simple').has('off-a\u00001'), false);
    } finally {
      m.close();
      n.close();
    }
  });

  it('a simple commit into a group with members is UNKNOWN_MEMBER_ID; a member commit refreshes its session', async () => {
    const m = await GroupClient.connect(b.port);
    try {
      const g = await stableGroup(m, 'commit-keeps-alive', ['off-a'], 'consumer', 1_500);
      const simple = await c.commit(2, { groupId: 'commit-keeps-alive', generationIdOrMemberEpoch: -1, topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] });
      assert.equal(simple.topics[0]!.partitions[0]!.errorCode, UNKNOWN_MEMBER_ID);
      // Commits alone (no heartbeats) for longer than the 1.5 s session keep the member in.
      const until = Date.now() + 2_000;
      let offset = 0n;
      while (Date.now() < until) {
        const r = await m.commit(5, {
          groupId: 'commit-keeps-alive',
          generationIdOrMemberEpoch: g.generationId,
          memberId: g.memberId,
          topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: ++offset }] }],
        });
        assert.equal(r.topics[0]!.partitions[0]!.errorCode, NONE, `commit ${offset}`);
        await new Promise((r2) => setTimeout(r2, 100));
      }
      // Then silence: the session expires and the group empties.
      const members = await pollUntil(async () => (await c.describe(5, ['commit-keeps-alive'])).groups[0]!.members.length, (n) => n === 0, 20_000, 100);
      assert.equal(members, 0);
    } finally {
      m.close();
    }
  });

  it('computes consumer lag from committed offsets and high watermarks', async () => {
    await b.broker.topics.create('lagging', 2, 1, {});
    const producer = new Kafka({ clientId: 'lag-producer', brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'lagging', messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
      await producer.send({ topic: 'lagging', messages: Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `w${i}` })) });
    } finally {
      await producer.disconnect();
    }
    await c.commit(5, {
      groupId: 'lag-group',
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 'lagging', partitions: [{ partitionIndex: 0, committedOffset: 4n }, { partitionIndex: 1, committedOffset: 4n }] }],
    });
    const lag = consumerGroupLag(b.broker.storage, b.broker.topics, 'lag-group');
    assert.deepEqual(
      lag.map((l) => [l.topic, l.partition, l.committedOffset, l.logEndOffset, l.lag]),
      [
        ['lagging', 0, 4, 10, 6],
        ['lagging', 1, 4, 4, 0],
      ],
    );
    assert.equal(totalLag(lag), 6);
    assert.deepEqual(b.broker.groups.lag('lag-group'), lag, 'the coordinator answers the same');
    assert.deepEqual(b.broker.groups.lag('no-commits'), []);
  });

  it('expires offsets after offsets.retention.minutes and then deletes the empty group', async () => {
    const m = await GroupClient.connect(b.port);
    const groups = b.broker.groups;
    const realNow = groups.now;
    try {
      // A simple group: its offsets expire by commit time.
      await c.commit(5, { groupId: 'expiring-simple', generationIdOrMemberEpoch: -1, topics: [{ name: 'off-a', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] });
      // A group that had a member: its clock starts when it became Empty.
      const g = await stableGroup(m, 'expiring-consumer', ['off-a']);
      await m.commit(5, { groupId: 'expiring-consumer', generationIdOrMemberEpoch: g.generationId, memberId: g.memberId, topics: [{ name: 'off-a', partitions: [{ partitionIndex: 1, committedOffset: 2n }] }, { name: 'off-b', partitions: [{ partitionIndex: 0, committedOffset: 3n }] }] });
      const t0 = Date.now();

      // While Stable, only offsets of topics it does not subscribe to (off-b) expire, by commit time.
      groups.now = () => t0 + 7 * DAY_MS + 60_000;
      let deleted = await groups.expireOffsets();
      assert.ok(deleted.includes('expiring-simple'), 'the simple group expired and was deleted');
      assert.ok(!deleted.includes('expiring-consumer'));
      assert.deepEqual([...b.broker.storage.fetchOffsets('expiring-consumer').keys()], ['off-a\u00001']);

      groups.now = realNow;
      await m.leave(3, { groupId: 'expiring-consumer', members: [{ memberId: g.memberId }] });
      const emptySince = groups.group('expiring-consumer')!.stateTimestampMs!;
      groups.now = () => emptySince + 7 * DAY_MS - 60_000;
      deleted = await groups.expireOffsets();
      assert.ok(!deleted.includes('expiring-consumer'), 'not yet 7 days empty');
      assert.equal(b.broker.storage.fetchOffsets('expiring-consumer').size, 1);
      groups.now = () => emptySince + 7 * DAY_MS;
      deleted = await groups.expireOffsets();
      assert.ok(deleted.includes('expiring-consumer'));
      assert.equal(b.broker.storage.fetchOffsets('expiring-consumer').size, 0);
      assert.equal((await c.describe(5, ['expiring-consumer'])).groups[0]!.groupState, 'Dead');
      assert.equal(b.broker.storage.groupMetadata().has('expiring-consumer'), false, 'its metadata was deleted too');
    } finally {
      groups.now = realNow;
      m.close();
    }
  });
});

describe('group state across a broker restart (same storage engine)', { timeout: 60_000 }, () => {
  it('reloads groups, generations, members, assignments and offsets; then expires silent members', async () => {
    const engine = new MemoryEngine();
    const options = { groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 10, storage: engine };
    let b = await testBroker(options);
    await b.broker.topics.create('kept', 2, 1, {});
    let c = await GroupClient.connect(b.port);
    const g = await stableGroup(c, 'durable', ['kept'], 'consumer', 1_500);
    await c.commit(7, { groupId: 'durable', generationIdOrMemberEpoch: g.generationId, memberId: g.memberId, topics: [{ name: 'kept', partitions: [{ partitionIndex: 1, committedOffset: 12n, committedMetadata: 'before restart' }] }] });
    c.close();
    await b.close();

    b = await testBroker(options);
    c = await GroupClient.connect(b.port);
    try {
      const d = (await c.describe(5, ['durable'])).groups[0]!;
      assert.deepEqual([d.groupState, d.protocolType, d.protocolData], ['Stable', 'consumer', 'range']);
      assert.deepEqual(d.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.memberAssignment]), [[g.memberId, 'rafka-test', '/127.0.0.1', g.assignment]]);
      // The member carries on in its generation, as if nothing happened.
      assert.equal((await c.heartbeat(3, { groupId: 'durable', generationId: g.generationId, memberId: g.memberId })).errorCode, NONE);
      const f = await c.fetchOffsets(7, { groupId: 'durable', topics: [{ name: 'kept', partitionIndexes: [1] }] });
      assert.deepEqual(f.topics[0]!.partitions.map((p) => [p.committedOffset, p.metadata]), [[12n, 'before restart']]);
      // It goes silent: its session (1.5 s) expires and the group, now without members, is Empty.
      const state = await pollUntil(async () => (await c.describe(5, ['durable'])).groups[0]!.groupState, (s) => s === 'Empty', 20_000, 100);
      assert.equal(state, 'Empty');
    } finally {
      c.close();
      await b.close();
    }

    // The Empty generation was stored too.
    b = await testBroker(options);
    c = await GroupClient.connect(b.port);
    try {
      const d = (await c.describe(5, ['durable'])).groups[0]!;
      assert.deepEqual([d.groupState, d.protocolType, d.members], ['Empty', 'consumer', []]);
      assert.equal(b.broker.groups.group('durable')!.generationId, g.generationId + 1);
      const f = await c.fetchOffsets(7, { groupId: 'durable', topics: null });
      assert.deepEqual(f.topics.map((t) => t.partitions.map((p) => p.committedOffset)), [[12n]]);
    } finally {
      c.close();
      await b.close();
    }
  });
});

describe('coordinator lifecycle', () => {
  it('answers COORDINATOR_NOT_AVAILABLE until loaded, skips unreadable stored groups, and stops at shutdown', async () => {
    const engine = new MemoryEngine();
    await engine.open();
    await engine.putGroupMetadata('garbled', Buffer.from([0, 99, 1, 2]));
    // A consumer-protocol group (format 2) cut short.
    await engine.putGroupMetadata('garbled-consumer', Buffer.from([0, 2, 0, 0, 0, 1]));
    const lines: string[] = [];
    const coordinator = new GroupCoordinator({
      config: { ...DEFAULT_CONFIG, groupInitialRebalanceDelayMs: 0 },
      storage: engine,
      log: createLogger('error', (l) => lines.push(l)),
      topics: { get: () => undefined, getById: () => undefined, list: () => [], hasPartition: () => false, version: 0 },
    });
    const join = { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null, apiVersion: 5, clientId: 'c', clientHost: '/127.0.0.1' };
    assert.equal((await coordinator.joinGroup(join)).errorCode, COORDINATOR_NOT_AVAILABLE);
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }), COORDINATOR_NOT_AVAILABLE);
    assert.equal(coordinator.fetchOffsets('g', null).errorCode, COORDINATOR_NOT_AVAILABLE);
    await coordinator.load();
    assert.equal(coordinator.group('garbled'), undefined);
    assert.match(lines.join('\n'), /group garbled: stored metadata unreadable/);
    assert.equal(coordinator.consumer.get('garbled-consumer'), undefined);
    assert.match(lines.join('\n'), /group garbled-consumer: stored metadata unreadable/);
    assert.equal((await coordinator.joinGroup(join)).errorCode, 79, 'MEMBER_ID_REQUIRED once loaded');
    await coordinator.close();
    assert.equal((await coordinator.joinGroup(join)).errorCode, COORDINATOR_NOT_AVAILABLE);
  });
});
