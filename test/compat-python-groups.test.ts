/**
 * Real-client compatibility of consumer groups with Python's confluent-kafka (librdkafka), through
 * test/clients/python_client.py's "group" mode: a subscribed consumer with manual commits reads part
 * of a 3-partition topic, commits its positions with metadata, and its committed() and position()
 * must agree with what the broker stores; a second member of the group then resumes exactly where
 * the first committed (no message twice, none lost). While the first member is in the group the
 * AdminClient lists and describes it (ListGroups v5 / DescribeGroups v5: state, assignor, client id,
 * host, assignment); afterwards it reads (OffsetFetch v8+), alters (a simple commit into the empty
 * group) and deletes the group's offsets.
 *
 * Skipped when python3 cannot import confluent_kafka, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which
 * makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findConfluentKafka, requireClient, skipUnless } from './helpers/external.js';
import { runPythonJob } from './helpers/python-client.js';
import { seedTopic } from './helpers/seed-topic.js';

const python = findConfluentKafka();

const PARTITIONS = 3;
const PER_PARTITION = 30;
const FIRST = 40;

interface KafkaErr {
  code: number | null;
  name: string;
  str: string;
}
type Outcome<T = undefined> = { ok: true; value: T } | { ok: false; error: KafkaErr };
interface TpJson {
  partition: number;
  offset: number;
  metadata: string | null;
  error: string | null;
}
interface Msg {
  partition: number;
  offset: number;
  v: string | null;
  error?: string;
}
interface FirstResult {
  first: Msg[];
  assigned: number[];
  commit: Outcome<TpJson[]>;
  committed: Outcome<TpJson[]>;
  position: TpJson[];
  listed: Outcome<{ group_id: string; is_simple: boolean; state: string }[]>;
  described: Outcome<{ group_id: string; state: string; is_simple: boolean; assignor: string; members: { client_id: string; host: string; partitions: number[] }[] }>;
  errors: KafkaErr[];
}
interface SecondResult {
  second: Msg[];
  second_commit: Outcome<TpJson[]>;
  admin_offsets: Outcome<TpJson[]>;
  admin_alter: Outcome<TpJson[]>;
  admin_delete: Outcome;
  errors: KafkaErr[];
}

function runJob<T>(job: Record<string, unknown>): Promise<T> {
  return runPythonJob<T>(python.command, job);
}

function ok<T>(outcome: Outcome<T>, what: string): T {
  if (!outcome.ok) assert.fail(`${what} failed: ${outcome.error.name} (${outcome.error.code}): ${outcome.error.str}`);
  return outcome.value;
}

describe('confluent-kafka (Python, librdkafka) consumer groups', { skip: skipUnless(python), timeout: 90_000 }, () => {
  let b: RunningBroker;
  const topic = `py-groups-${randomBytes(4).toString('hex')}`;
  const group = `py-group-${randomBytes(4).toString('hex')}`;

  before(async () => {
    requireClient(python);
    b = await testBroker({ groupInitialRebalanceDelayMs: 100 });
    await seedTopic(b.bootstrap, topic, PARTITIONS, PER_PARTITION, 'py-groups-setup');
  });

  after(async () => {
    await b?.close();
  });

  it('manual commits: committed() and position() agree with the broker; a new member resumes there; admin views', async () => {
    const job = { bootstrap: b.bootstrap, topic, group, partitions: PARTITIONS };
    const r = await runJob<FirstResult>({ ...job, mode: 'group-first', first: FIRST });
    assert.deepEqual(r.errors, [], 'librdkafka errors');
    assert.deepEqual(r.assigned, [0, 1, 2], 'the only member gets every partition');
    assert.equal(r.first.length, FIRST);
    assert.deepEqual(r.first.filter((m) => m.error), []);

    // What the first member consumed per partition, and so where it stands.
    const next = Array.from({ length: PARTITIONS }, () => -1);
    for (const m of r.first) next[m.partition] = Math.max(next[m.partition]!, m.offset + 1);
    const committed = ok(r.committed, 'committed()');
    const stored = b.broker.storage.fetchOffsets(group);
    for (let p = 0; p < PARTITIONS; p++) {
      const c = committed.find((x) => x.partition === p)!;
      const pos = r.position.find((x) => x.partition === p)!;
      const s = stored.get(`${topic}\u0000${p}`);
      if (next[p] === -1) {
        // Nothing consumed there yet: no position, nothing committed (librdkafka's OFFSET_INVALID).
        assert.deepEqual([c.offset, pos.offset, s], [-1001, -1001, undefined], `partition ${p}`);
        continue;
      }
      assert.equal(pos.offset, next[p], `partition ${p}: position() is the next offset to consume`);
      assert.deepEqual([c.offset, c.metadata, c.error], [next[p], `meta-${p}`, null], `partition ${p}: committed()`);
      // Client quirk: confluent-kafka-python hands librdkafka the metadata with its C string's NUL
      // terminator counted, so the broker receives (and, like Kafka, stores) "meta-N\0"; committed()
      // reads it back as a C string. The broker keeps exactly the bytes it was sent.
      assert.deepEqual([s?.offset, s?.metadata], [c.offset, `${c.metadata}\u0000`], `partition ${p}: committed() is what the broker stores`);
    }

    // While the first member was in the group, the admin views showed it.
    const listed = ok(r.listed, 'list_consumer_groups');
    assert.deepEqual(listed.filter((g) => g.group_id === group), [{ group_id: group, is_simple: false, state: 'STABLE' }]);
    const described = ok(r.described, 'describe_consumer_groups');
    assert.deepEqual(
      { ...described, members: described.members.map((m) => ({ ...m, client_id: typeof m.client_id })) },
      { group_id: group, state: 'STABLE', is_simple: false, assignor: 'range', members: [{ client_id: 'string', host: '/127.0.0.1', partitions: [0, 1, 2] }] },
    );

    // The second member starts exactly at the committed offsets: every message once, none lost.
    const r2 = await runJob<SecondResult>({ ...job, mode: 'group-second', remaining: PARTITIONS * PER_PARTITION - FIRST });
    assert.deepEqual(r2.errors, [], 'librdkafka errors');
    assert.deepEqual(r2.second.filter((m) => m.error), []);
    const seen = new Map<string, number>();
    for (const m of [...r.first, ...r2.second]) seen.set(`${m.partition}/${m.offset}`, (seen.get(`${m.partition}/${m.offset}`) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1), [], 'consumed twice');
    assert.equal(seen.size, PARTITIONS * PER_PARTITION);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = r2.second.filter((m) => m.partition === p).map((m) => m.offset);
      if (next[p] === PER_PARTITION) assert.deepEqual(offsets, [], `partition ${p} was read to its end by the first member`);
      else assert.equal(Math.min(...offsets), Math.max(next[p]!, 0), `partition ${p}: the second member starts at the committed offset`);
    }
    ok(r2.second_commit, 'second commit()');

    // AdminClient on the empty group: offsets (at the end), a simple commit into it, deletion.
    const adminOffsets = ok(r2.admin_offsets, 'list_consumer_group_offsets');
    assert.deepEqual(
      adminOffsets.map((x) => [x.partition, x.offset, x.error]),
      Array.from({ length: PARTITIONS }, (_, p) => [p, PER_PARTITION, null]),
    );
    const altered = ok(r2.admin_alter, 'alter_consumer_group_offsets');
    assert.deepEqual(altered.map((x) => [x.partition, x.offset, x.error]), [[0, 1, null]]);
    ok(r2.admin_delete, 'delete_consumer_groups');
    assert.equal(b.broker.storage.fetchOffsets(group).size, 0);
    assert.equal(b.broker.groups.describeGroup(group).groupState, 'Dead');
  });
});
