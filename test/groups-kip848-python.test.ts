/**
 * confluent-kafka for Python (librdkafka) with `group.protocol=consumer` (KIP-848) against Rafka,
 * driven through test/clients/python_client.py's kip848-* modes:
 * - two members share a topic (the second joining while the first reads), every record is read
 *   exactly once with a synchronous commit each; the AdminClient lists the group as a consumer
 *   group and describes it; a later member resumes after the commits (reads only newer records);
 * - a regex subscription picks up a topic created after the member joined.
 *
 * Skipped when python3 cannot import confluent_kafka, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findConfluentKafka, requireClient, skipUnless } from './helpers/external.js';
import { runPythonJob } from './helpers/python-client.js';
import { seedTopic } from './helpers/seed-topic.js';

const python = findConfluentKafka();
const PARTITIONS = 4;
const PER_PARTITION = 20;

interface KafkaErr {
  code: number | null;
  name: string;
  str: string;
}
type Outcome<T> = { ok: true; value: T } | { ok: false; error: KafkaErr };
type Read = (string | { error: string })[];

function runJob<T>(job: Record<string, unknown>): Promise<T> {
  return runPythonJob<T>(python.command, job, 90_000);
}

const records = (r: Read): string[] => r.filter((x): x is string => typeof x === 'string');

describe('confluent-kafka (Python) with group.protocol=consumer (KIP-848)', { skip: skipUnless(python), timeout: 180_000 }, () => {
  let b: RunningBroker;

  before(async () => {
    requireClient(python);
    b = await testBroker({ groupConsumerHeartbeatIntervalMs: 300 });
  });
  after(async () => {
    await b?.close();
  });

  it('two members share a topic, every record is read once, admin views, and a later member resumes after the commits', async () => {
    const topic = 'py848';
    await seedTopic(b.bootstrap, topic, PARTITIONS, PER_PARTITION, 'py848-seed');
    const total = PARTITIONS * PER_PARTITION;
    const r = await runJob<{
      alone: string[];
      shared: [string[], string[]] | null;
      final: [string[], string[]];
      read1: Read;
      read2: Read;
      listed: Outcome<{ group_id: string; type: string | null; state: string }[]>;
      described: Outcome<{ state: string; type: string | null; members: string[][] }>;
      errors: KafkaErr[];
    }>({ mode: 'kip848-members', bootstrap: b.bootstrap, topic, group: 'py848-group', total });
    assert.deepEqual(r.errors, [], 'librdkafka errors');
    assert.deepEqual(r.alone, [0, 1, 2, 3].map((p) => `${topic}:${p}`), 'the first member alone owns every partition');
    assert.ok(r.shared !== null, 'both members owned partitions at once');
    const [a1, a2] = r.final;
    assert.deepEqual([...a1, ...a2].sort(), r.alone, 'the final assignments split the topic');
    assert.equal(a1.filter((p) => a2.includes(p)).length, 0, 'no partition owned twice');
    const all = [...records(r.read1), ...records(r.read2)];
    assert.equal(all.length, total, `every record read once (${all.length} reads)`);
    assert.equal(new Set(all).size, total);
    assert.deepEqual([...r.read1, ...r.read2].filter((x) => typeof x !== 'string'), []);
    assert.ok(r.listed.ok, JSON.stringify(r.listed));
    if (r.listed.ok) {
      const listed = r.listed.value.find((g) => g.group_id === 'py848-group');
      assert.equal(listed?.type, 'CONSUMER');
      assert.equal(listed?.state, 'STABLE');
    }
    assert.ok(r.described.ok, JSON.stringify(r.described));
    if (r.described.ok) {
      assert.equal(r.described.value.state, 'STABLE');
      assert.equal(r.described.value.members.length, 2);
    }

    await seedTopic(b.bootstrap, topic, PARTITIONS, 3, 'py848-more');
    const resumed = await runJob<{ read: Read; errors: KafkaErr[] }>({ mode: 'kip848-resume', bootstrap: b.bootstrap, topic, group: 'py848-group', want: PARTITIONS * 3 });
    assert.deepEqual(resumed.errors, []);
    const again = records(resumed.read);
    assert.equal(again.length, PARTITIONS * 3, `only the newer records: ${JSON.stringify(resumed.read)}`);
    assert.deepEqual(again.filter((x) => all.includes(x)), []);
  });

  it('a regex subscription picks up a topic created after the member joined', async () => {
    const r = await runJob<{ before: string[]; after: string[]; created: { ok: boolean }; read: Read; errors: KafkaErr[] }>({
      mode: 'kip848-regex',
      bootstrap: b.bootstrap,
      group: 'py848-regex',
      prefix: 'pyrx-',
    });
    assert.deepEqual(r.errors, []);
    assert.ok(r.created.ok);
    assert.deepEqual(r.before, []);
    assert.deepEqual(r.after, ['pyrx-new:0', 'pyrx-new:1']);
    assert.equal(records(r.read).length, 10);
  });
});
