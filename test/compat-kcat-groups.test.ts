/**
 * Real-client compatibility of consumer groups with librdkafka's balanced consumer: two `kcat -G`
 * members of one group share a 4-partition topic. Both join the first generation (the broker's
 * initial rebalance delay gives the second time to arrive), each gets part of the topic, and between
 * them every message is consumed exactly once. On exit each commits its offsets (librdkafka's
 * auto-commit on close) and leaves: the broker then holds the high watermark as the group's
 * committed offset for every partition, and the group is Empty; a third run reads nothing.
 *
 * Skipped when kcat is not on PATH, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findKcat, requireClient, run, skipUnless } from './helpers/external.js';
import { seedTopic } from './helpers/seed-topic.js';

const kcat = findKcat();
const PARTITIONS = 4;
const PER_PARTITION = 50;

interface KcatJsonMessage {
  topic: string;
  partition: number;
  offset: number;
  payload: string | null;
}

describe('kcat -G (librdkafka balanced consumer) groups', { skip: skipUnless(kcat), timeout: 90_000 }, () => {
  let b: RunningBroker;
  const topic = `kcat-groups-${randomBytes(4).toString('hex')}`;
  const group = `kcat-group-${randomBytes(4).toString('hex')}`;

  before(async () => {
    requireClient(kcat);
    // Long enough for two processes started together to land in the first generation.
    b = await testBroker({ groupInitialRebalanceDelayMs: 1_000 });
    await seedTopic(b.bootstrap, topic, PARTITIONS, PER_PARTITION, 'kcat-groups-setup');
  });

  after(async () => {
    await b?.close();
  });

  /** One `kcat -G` member that exits once all its partitions reached their end. */
  async function member(): Promise<KcatJsonMessage[]> {
    const args = ['-b', b.bootstrap, '-G', group, '-J', '-q', '-e', '-X', 'auto.offset.reset=earliest', '-X', 'heartbeat.interval.ms=500', topic];
    const r = await run(kcat.command, args, { timeoutMs: 45_000 });
    return r.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as KcatJsonMessage);
  }

  it('two members share the topic and consume every message exactly once, then commit and leave', async () => {
    const [one, two] = await Promise.all([member(), member()]);
    assert.ok(one.length > 0 && two.length > 0, `both members must get partitions (got ${one.length} and ${two.length} messages)`);
    const all = [...one, ...two];
    const where = (m: KcatJsonMessage) => `${m.partition}/${m.offset}`;
    const counts = new Map<string, number>();
    for (const m of all) counts.set(where(m), (counts.get(where(m)) ?? 0) + 1);
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'messages consumed twice');
    assert.equal(counts.size, PARTITIONS * PER_PARTITION, 'every message consumed');
    for (const m of all) assert.equal(m.payload, `p${m.partition}-${m.offset}`);

    const committed = b.broker.storage.fetchOffsets(group);
    assert.deepEqual(
      Array.from({ length: PARTITIONS }, (_, p) => committed.get(`${topic}\u0000${p}`)?.offset),
      Array.from({ length: PARTITIONS }, () => PER_PARTITION),
      'committed offsets at the high watermark',
    );
    const described = b.broker.groups.describeGroup(group);
    assert.deepEqual([described.groupState, described.protocolType, described.members.length], ['Empty', 'consumer', 0]);
  });

  it('a member joining later starts from the committed offsets', async () => {
    assert.deepEqual(await member(), []);
  });
});
