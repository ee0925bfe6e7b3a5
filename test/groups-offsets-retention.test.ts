/**
 * Offsets retention with OffsetCommit v2–4 `retention_time_ms`, on every storage engine (memory,
 * memory with its write-ahead log, log, rocksdb): an explicit retention gives the offset an expire
 * timestamp (commit time + retention) that the engine keeps across a restart, and the retention pass
 * removes it then, while offsets committed without one (-1, or v5+) wait for
 * `offsets.retention.minutes`; the group goes once its last offset has. And, as Kafka, an expire
 * timestamp counts only when the group's offsets may expire at all: a Stable group keeps the offsets
 * of topics it subscribes to. The coordinator's clock is moved; nothing waits.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningBroker, StartBrokerOptions } from '../src/broker/index.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { testBroker } from './helpers/broker.js';
import { GroupClient, assignment, subscription } from './helpers/group-client.js';

const NONE = 0;
const MINUTE_MS = 60_000;
const RETENTION_MINUTES = 60;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rafka-offsets-retention-'));
  dirs.push(d);
  return d;
}

/** Each engine, as options for a broker that can be started again on the same storage. */
const ENGINES: [string, () => StartBrokerOptions['storage']][] = [
  ['memory', () => new MemoryEngine()],
  ['memory with its write-ahead log', () => ({ type: 'memory', path: tempDir() })],
  ['log', () => ({ type: 'log', path: tempDir() })],
  ['rocksdb', () => ({ type: 'rocksdb', path: tempDir() })],
];

const stored = (b: RunningBroker, groupId: string) =>
  Object.fromEntries([...b.broker.storage.fetchOffsets(groupId).values()].map((o) => [`${o.topic}-${o.partition}`, o.expireTimestampMs ?? null]));

for (const [name, storageOf] of ENGINES) {
  describe(`retention_time_ms on the ${name} engine`, { timeout: 60_000 }, () => {
    it('is kept with the offset across a restart and expires it at commit time + retention', async () => {
      const storage = storageOf();
      const options: StartBrokerOptions = { storage, offsetsRetentionMinutes: RETENTION_MINUTES, groupInitialRebalanceDelayMs: 0 };
      let b = await testBroker(options);
      let c = await GroupClient.connect(b.port);
      let t0: number;
      try {
        await b.broker.topics.create('ret', 3, 1, {});
        t0 = Date.now();
        // A simple group (generation -1): partition 0 with a retention of its own, 1 without (-1), at v2 and v4.
        let res = await c.commit(2, { groupId: 'ret-simple', generationIdOrMemberEpoch: -1, retentionTimeMs: 5n * BigInt(MINUTE_MS), topics: [{ name: 'ret', partitions: [{ partitionIndex: 0, committedOffset: 10n }] }] });
        assert.equal(res.topics[0]!.partitions[0]!.errorCode, NONE);
        res = await c.commit(4, { groupId: 'ret-simple', generationIdOrMemberEpoch: -1, retentionTimeMs: -1n, topics: [{ name: 'ret', partitions: [{ partitionIndex: 1, committedOffset: 11n }] }] });
        assert.equal(res.topics[0]!.partitions[0]!.errorCode, NONE);
        // v5+ has no retention_time_ms: what a client would have sent is not on the wire.
        res = await c.commit(5, { groupId: 'ret-simple', generationIdOrMemberEpoch: -1, retentionTimeMs: 1n, topics: [{ name: 'ret', partitions: [{ partitionIndex: 2, committedOffset: 12n }] }] });
        assert.equal(res.topics[0]!.partitions[0]!.errorCode, NONE);
        const expire = stored(b, 'ret-simple')['ret-0'];
        assert.ok(typeof expire === 'number' && expire >= t0 + 5 * MINUTE_MS && expire <= Date.now() + 5 * MINUTE_MS, `expire timestamp ${expire}`);
        assert.deepEqual(stored(b, 'ret-simple'), { 'ret-0': expire, 'ret-1': null, 'ret-2': null });
      } finally {
        c.close();
        await b.close();
      }

      b = await testBroker(options);
      c = await GroupClient.connect(b.port);
      const groups = b.broker.groups;
      try {
        const expire = stored(b, 'ret-simple')['ret-0'] as number;
        assert.deepEqual(stored(b, 'ret-simple'), { 'ret-0': expire, 'ret-1': null, 'ret-2': null }, 'kept by the engine across the restart');
        groups.now = () => expire - 1;
        assert.deepEqual(await groups.expireOffsets(), []);
        assert.equal(b.broker.storage.fetchOffsets('ret-simple').size, 3);
        groups.now = () => expire;
        assert.deepEqual(await groups.expireOffsets(), []);
        assert.deepEqual(Object.keys(stored(b, 'ret-simple')), ['ret-1', 'ret-2'], 'only the offset with its own retention expired');
        const f = await c.fetchOffsets(7, { groupId: 'ret-simple', topics: [{ name: 'ret', partitionIndexes: [0, 1] }] });
        assert.deepEqual(f.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]), [[0, -1n], [1, 11n]]);
        // The others go by offsets.retention.minutes from their commit; then the group goes too.
        groups.now = () => t0 + RETENTION_MINUTES * MINUTE_MS + MINUTE_MS;
        assert.deepEqual(await groups.expireOffsets(), ['ret-simple']);
        assert.equal(b.broker.storage.fetchOffsets('ret-simple').size, 0);
      } finally {
        groups.now = Date.now;
        c.close();
        await b.close();
      }
    });
  });
}

describe('retention_time_ms and group state', { timeout: 60_000 }, () => {
  it('a Stable group keeps subscribed offsets past their expire timestamp; once Empty they go by it', async () => {
    const b = await testBroker({ groupInitialRebalanceDelayMs: 0, offsetsRetentionMinutes: RETENTION_MINUTES });
    const c = await GroupClient.connect(b.port);
    const groups = b.broker.groups;
    try {
      await b.broker.topics.create('sub', 1, 1, {});
      await b.broker.topics.create('other', 1, 1, {});
      const joined = await c.joinWithId(5, { groupId: 'ret-stable', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['sub']) }] });
      assert.equal(joined.errorCode, NONE);
      const synced = await c.sync(3, { groupId: 'ret-stable', generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: assignment({ sub: [0] }) }] });
      assert.equal(synced.errorCode, NONE);
      const t0 = Date.now();
      const res = await c.commit(3, {
        groupId: 'ret-stable',
        generationIdOrMemberEpoch: joined.generationId,
        memberId: joined.memberId,
        retentionTimeMs: 1000n,
        topics: [
          { name: 'sub', partitions: [{ partitionIndex: 0, committedOffset: 3n }] },
          { name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 4n }] },
        ],
      });
      assert.deepEqual(res.topics.map((t) => t.partitions[0]!.errorCode), [NONE, NONE]);

      groups.now = () => t0 + 10 * MINUTE_MS;
      assert.deepEqual(await groups.expireOffsets(), []);
      assert.deepEqual([...b.broker.storage.fetchOffsets('ret-stable').keys()], ['sub\u00000'], 'a topic it does not subscribe to expired; its own did not');

      groups.now = Date.now;
      assert.equal((await c.leave(3, { groupId: 'ret-stable', members: [{ memberId: joined.memberId }] })).errorCode, NONE);
      assert.equal(groups.group('ret-stable')!.state, 'Empty');
      // Empty: the expire timestamp (commit + 1 s) decides, not offsets.retention.minutes (60) since it emptied.
      groups.now = () => t0 + 10 * MINUTE_MS;
      assert.deepEqual(await groups.expireOffsets(), ['ret-stable']);
      assert.equal(b.broker.storage.fetchOffsets('ret-stable').size, 0);
    } finally {
      groups.now = Date.now;
      c.close();
      await b.close();
    }
  });
});
