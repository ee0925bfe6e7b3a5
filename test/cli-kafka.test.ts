/**
 * The `rafka` operations commands against Apache Kafka 4.1.1 (one KRaft node started as
 * bench/kafka/systems.ts starts it, from the jars bench/kafka/maven.ts resolves from Maven Central):
 * the same core commands as against Rafka (test/cli-ops.test.ts) give the same output, so the CLI
 * works with Kafka as well as Rafka. The Kafka process is stopped (SIGTERM, then SIGKILL) and its
 * directory removed whatever happens.
 *
 * Skipped when Java or the Kafka jars are missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI): then it fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKafka } from '../bench/kafka/maven.js';
import { kafkaSystem, type RunningSystem } from '../bench/kafka/systems.js';
import { skipOrFail } from './helpers/skips.js';
import { fails, ok, okJson } from './helpers/cli.js';

describe('rafka CLI against Apache Kafka 4.1.1', { timeout: 600_000 }, () => {
  let kafka: RunningSystem | null = null;
  let missing: string | null = null;
  let b = '';

  before(async () => {
    const runtime = await resolveKafka();
    if (!runtime.available) {
      missing = `Apache Kafka is not available: ${runtime.reason}`;
      return;
    }
    kafka = await kafkaSystem(runtime, { fsyncEveryAppend: false }).start();
    b = kafka.bootstrap;
  });
  after(async () => {
    await kafka?.stop();
  });

  /** Runs `fn` when Kafka is up; otherwise skips saying why (fails under RAFKA_REQUIRE_CLIENTS=1). */
  const withKafka = (fn: () => Promise<void>) => async (t: { skip(message?: string): void }) => {
    if (missing !== null) return skipOrFail(t, missing);
    await fn();
  };

  test('topics: create, list, describe, alter, delete; the broker refusing', withKafka(async () => {
    assert.equal(await ok(b, ['topics', 'create', 'k-t', '-p', '2', '-c', 'retention.ms=3600000']), 'created topic k-t\n');
    await fails(b, ['topics', 'create', 'k-t'], 1, /^rafka: TOPIC_ALREADY_EXISTS: k-t/);
    assert.match(await ok(b, ['topics', 'list']), /^k-t\s+2\s+1\s+\S+$/m);
    await ok(b, ['topics', 'alter', 'k-t', '--partitions', '3', '-c', 'cleanup.policy=compact']);
    const [d] = await okJson<{ partitions: { partition: number; leader: number; endOffset: number }[]; configs: Record<string, string> }[]>(b, ['topics', 'describe', 'k-t']);
    assert.deepEqual(d!.partitions.map((p) => [p.partition, p.leader, p.endOffset]), [[0, 1, 0], [1, 1, 0], [2, 1, 0]]);
    assert.equal(d!.configs['retention.ms'], '3600000');
    assert.equal(d!.configs['cleanup.policy'], 'compact');
    await fails(b, ['topics', 'describe', 'k-missing'], 1, /^rafka: UNKNOWN_TOPIC_OR_PARTITION: k-missing$/);
    assert.equal(await ok(b, ['topics', 'delete', 'k-t']), 'deleted topic k-t\n');
  }));

  test('produce and consume: keys, headers, template, JSON, offsets', withKafka(async () => {
    await ok(b, ['topics', 'create', 'k-p', '-p', '1']);
    assert.equal(await ok(b, ['produce', 'k-p', '-k', ':', '-H', 'src=cli', '--compression', 'lz4'], { input: 'k1:one\nk2:two\nnokey\n' }), 'produced 3 records to k-p (partition 0: offsets 0-2)\n');
    assert.equal(await ok(b, ['consume', 'k-p', '-o', 'beginning', '-e', '-f', '%p/%o %k=%s [%h]\\n']), '0/0 k1=one [src=cli]\n0/1 k2=two [src=cli]\n0/2 =nokey [src=cli]\n');
    assert.equal(await ok(b, ['consume', 'k-p', '-o', '-1', '-e']), 'nokey\n');
    assert.equal(await ok(b, ['consume', 'k-p', '-o', '1', '-c', '1']), 'two\n');
    const input = JSON.stringify({ value: 'a', key: 'ka', headers: [{ key: 'h', value: 'x' }], timestamp: 1000 }) + '\n' + JSON.stringify({ value: 'b', timestamp: 2000 }) + '\n';
    await ok(b, ['topics', 'create', 'k-ts', '-p', '1']);
    assert.deepEqual(await okJson(b, ['produce', 'k-ts'], { input }), { topic: 'k-ts', records: 2, partitions: [{ partition: 0, records: 2, firstOffset: 0, lastOffset: 1 }] });
    const rows = (await ok(b, ['consume', 'k-ts', '-o', 's@1500', '-e', '--json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { offset: number; timestamp: number; value: string });
    assert.deepEqual(rows.map((r) => [r.offset, r.timestamp, r.value]), [[1, 2000, 'b']]);
  }));

  test('groups: describe with lag, reset offsets, delete', withKafka(async () => {
    await ok(b, ['topics', 'create', 'k-g', '-p', '1']);
    await ok(b, ['produce', 'k-g'], { input: 'a\nb\nc\n' });
    assert.equal(await ok(b, ['consume', 'k-g', '-g', 'k-group', '-o', 'beginning', '-e']), 'a\nb\nc\n');
    assert.match(await ok(b, ['groups', 'list']), /^k-group\s+Empty\s+consumer$/m);
    await ok(b, ['produce', 'k-g'], { input: 'd\n' });
    type Described = { state: string; offsets: { partition: number; committedOffset: number; logEndOffset: number; lag: number }[] };
    let g = await okJson<Described>(b, ['groups', 'describe', 'k-group']);
    assert.equal(g.state, 'Empty');
    assert.deepEqual(g.offsets.map((o) => [o.partition, o.committedOffset, o.logEndOffset, o.lag]), [[0, 3, 4, 1]]);
    await ok(b, ['groups', 'reset-offsets', 'k-group', '--topic', 'k-g', '--to-earliest', '--execute']);
    g = await okJson<Described>(b, ['groups', 'describe', 'k-group']);
    assert.deepEqual(g.offsets.map((o) => [o.committedOffset, o.lag]), [[0, 4]]);
    assert.equal(await ok(b, ['groups', 'delete', 'k-group']), 'deleted group k-group\n');
    await fails(b, ['groups', 'describe', 'k-group'], 1, /^rafka: GROUP_ID_NOT_FOUND: .*k-group$/);
  }));

  test('configs get and set', withKafka(async () => {
    await ok(b, ['topics', 'create', 'k-c']);
    await ok(b, ['configs', 'set', 'topic', 'k-c', 'retention.ms=5000']);
    const entries = await okJson<{ name: string; value: string; source: string }[]>(b, ['configs', 'get', 'topic', 'k-c', 'retention.ms']);
    assert.deepEqual(entries.map((e) => [e.name, e.value, e.source]), [['retention.ms', '5000', 'DYNAMIC_TOPIC_CONFIG']]);
    await fails(b, ['configs', 'set', 'topic', 'k-c', 'no.such.config=1'], 1, /^rafka: [A-Z_]+: k-c/);
    assert.ok((await okJson<unknown[]>(b, ['configs', 'get', 'broker', '1'])).length > 50);
  }));

  test('cluster, transactions and producers', withKafka(async () => {
    const c = await okJson<{ clusterId: string; controllerId: number; brokers: { nodeId: number; port: number; apis: { name: string; usableVersion: number | null }[] }[] }>(b, ['cluster']);
    assert.equal(c.brokers.length, 1);
    assert.equal(c.brokers[0]!.port, kafka!.port);
    for (const name of ['Produce', 'Fetch', 'DescribeTransactions', 'ListTransactions', 'DescribeProducers']) {
      assert.notEqual(c.brokers[0]!.apis.find((a) => a.name === name)?.usableVersion ?? null, null, name);
    }
    assert.deepEqual(await okJson(b, ['transactions', 'list', '--state', 'Ongoing']), []);
    await fails(b, ['transactions', 'describe', 'k-nobody'], 1, /^rafka: TRANSACTIONAL_ID_NOT_FOUND: transactional id k-nobody$/);
    // The CLI's producer is idempotent: the leader holds its state.
    await ok(b, ['topics', 'create', 'k-idem']);
    await ok(b, ['produce', 'k-idem'], { input: 'x\ny\n' });
    const [p] = await okJson<{ partition: number; activeProducers: { lastSequence: number; currentTransactionStartOffset: number | null }[] }[]>(b, ['producers', 'describe', 'k-idem:0']);
    assert.deepEqual(p!.activeProducers.map((a) => [a.lastSequence, a.currentTransactionStartOffset]), [[1, null]]);
  }));
});
