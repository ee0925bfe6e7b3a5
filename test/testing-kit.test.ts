/**
 * `rafka/testing` (issue 20, item 2): the presets, `reset()`, the helpers, and the global setups.
 * The node:test setup runs for real (`node --test --import` on a fixture test file). Vitest and Jest
 * are not dev dependencies (their install is larger than everything else here and their runs slower
 * than CI's budget for this): their setup modules are tested by calling them as those runners do —
 * Vitest calls `setup(project)` then `teardown()`, Jest the default export of each module — and
 * checking what they promise: one broker per worker, reachable at the addresses they publish.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import {
  TEST_BROKER_OPTIONS,
  consumeAll,
  createTopics,
  lag,
  startTestBroker,
  uniqueName,
  waitFor,
  workerBootstrap,
  type TestBroker,
} from '../src/testing/index.js';
import * as vitestSetup from '../src/testing/vitest.js';
import jestSetup from '../src/testing/jest-setup.js';
import jestTeardown from '../src/testing/jest-teardown.js';
import { Admin } from '../src/client/admin.js';
import { runNodeTest } from './helpers/node-test-run.js';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey, FetchRequest, FetchResponse } from '../src/protocol/messages/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

describe('a test broker', { timeout: 60_000 }, () => {
  let b: TestBroker;
  let kafka: Kafka;
  before(async () => {
    b = await startTestBroker();
    kafka = new Kafka({ clientId: 'testing-kit', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 8 } });
  });
  after(() => b.close());

  it('starts with the presets: memory engine, free loopback port, auto-create, no rebalance delay, short sessions, quiet', () => {
    const c = b.broker.config;
    assert.equal(c.storage.type, 'memory');
    assert.equal(c.storage.path, null);
    assert.equal(c.host, '127.0.0.1');
    assert.ok(b.port > 0);
    assert.equal(c.autoCreateTopicsEnable, true);
    assert.equal(c.groupInitialRebalanceDelayMs, 0);
    assert.equal(c.groupMinSessionTimeoutMs, TEST_BROKER_OPTIONS.groupMinSessionTimeoutMs);
    assert.equal(c.logLevel, 'error');
  });

  it('createTopics, consumeAll, lag and waitFor', async () => {
    const topic = uniqueName('helpers');
    const groupId = uniqueName('helpers-group');
    await createTopics(b, [{ topic, partitions: 3 }]);
    assert.equal(b.broker.topics.get(topic)?.partitionCount, 3);
    await assert.rejects(b.createTopics([topic]), /TOPIC_ALREADY_EXISTS|already exists/);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2, 3, 4, 5].map((i) => ({ partition: i % 3, value: `v${i}` })) });
    await producer.disconnect();
    const all = await b.consumeAll(topic);
    assert.deepEqual(all.map((m) => m.value?.toString()).sort(), ['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    for (const p of [0, 1, 2]) assert.deepEqual(all.filter((m) => m.partition === p).map((m) => m.offset), [0, 1]);

    // A group that committed partition 0 fully and partition 1 half: lag 1 + 2 (partition 2 never committed).
    const admin = new Admin({ bootstrap: b.bootstrap });
    try {
      await admin.alterGroupOffsets(groupId, [{ topic, partition: 0, offset: 2 }, { topic, partition: 1, offset: 1 }]);
    } finally {
      await admin.close();
    }
    const l = await lag(b.bootstrap, groupId);
    assert.equal(l.total, 1);
    assert.deepEqual(l.partitions.map((p) => [p.partition, p.committed, p.highWatermark, p.lag]), [[0, 2, 2, 0], [1, 1, 2, 1]]);

    let calls = 0;
    assert.equal(await waitFor(() => (++calls >= 3 ? 'ready' : null), { intervalMs: 1 }), 'ready');
    await assert.rejects(waitFor(() => false, { timeoutMs: 30, message: 'never' }), /waitFor \(never\): not met within 30 ms/);
    await assert.rejects(waitFor(() => { throw new Error('still broken'); }, { timeoutMs: 30 }), /still broken/);
  });

  it('reset() drops topics with their data, groups with their offsets, transactions, producer state, fetch sessions and faults', async () => {
    const topic = uniqueName('before-reset');
    const groupId = uniqueName('before-reset-group');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: uniqueName('txn') });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'in a transaction' }] });
    await txn.commit();
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let got = 0;
    await consumer.run({ eachMessage: async () => void got++ });
    await waitFor(() => got === 1);
    await consumer.disconnect();
    b.faults.inject({ api: 'Metadata', delayMs: 1, times: 'always' });
    // A fetch session (KIP-227), as the Java client opens one.
    const raw = await RawClient.connect(b.port);
    try {
      const full = await raw.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: 0,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      });
      assert.ok(full.sessionId > 0 && b.broker.fetchSessions.stats().sessions === 1);
    } finally {
      raw.close();
    }
    assert.ok(b.broker.topics.list().length > 0 && b.broker.producers.size > 0 && b.broker.transactions.list([], []).length > 0);
    assert.ok(b.broker.groups.group(groupId) !== undefined);

    const started = process.hrtime.bigint();
    await b.reset();
    const resetMs = Number(process.hrtime.bigint() - started) / 1e6;

    assert.deepEqual(b.broker.topics.list(), []);
    assert.equal(b.broker.groups.group(groupId), undefined);
    assert.deepEqual(b.broker.storage.listOffsetGroups(), []);
    assert.deepEqual(b.broker.transactions.list([], []), []);
    assert.equal(b.broker.producers.size, 0);
    assert.equal(b.broker.fetchSessions.stats().sessions, 0);
    assert.equal(b.faults.active, false);
    assert.deepEqual(b.faults.history, []);
    // The same names work again, from scratch.
    await b.createTopics([topic]);
    assert.deepEqual(await b.consumeAll(topic), []);
    assert.deepEqual((await lag(b, groupId)).partitions, []);
    // Not a timing assertion (npm run bench measures): the figure, for the report.
    console.log(`# reset() of 1 topic, 1 group, 1 transactional id: ${resetMs.toFixed(2)} ms`);
  });
});

describe('global setups', { timeout: 60_000 }, () => {
  it('node:test: --import rafka/testing/node-test gives each test file a broker in KAFKA_BOOTSTRAP, and the process ends when its tests do', async () => {
    const env = { ...process.env };
    delete env.KAFKA_BOOTSTRAP;
    const setup = join(ROOT, 'dist', 'src', 'testing', 'node-test.js');
    const file = join(HERE, 'fixtures', 'testing', 'node-test-setup.js');
    const { code, out } = await runNodeTest(['--import', setup, file], { env });
    assert.equal(code, 0, out);
    assert.match(out, /^# pass 2$/m, out);
  });

  it('Vitest: setup(project) starts a broker per worker and publishes them; teardown() closes them', async () => {
    const env = process.env;
    const saved = { ...env };
    const provided = new Map<string, unknown>();
    try {
      await vitestSetup.setup({ config: { maxWorkers: 2 }, provide: (k, v) => provided.set(k, v) });
      const list = provided.get('kafkaBootstrap') as string[];
      assert.equal(list.length, 2);
      assert.notEqual(list[0], list[1]);
      assert.equal(env.KAFKA_BOOTSTRAP, list[0]);
      assert.equal(workerBootstrap({ ...env, VITEST_POOL_ID: '2' }), list[1]);
      assert.equal(workerBootstrap({ KAFKA_BOOTSTRAP: 'h:1' }), 'h:1');
      for (const bootstrap of list) await createTopics(bootstrap, ['reachable']); // each its own broker: no clash
      await vitestSetup.teardown();
      const admin = new Admin({ bootstrap: list[0]!, connectTimeoutMs: 200, retryBackoffMs: 10, retryBackoffMaxMs: 20, requestTimeoutMs: 500 });
      await assert.rejects(admin.listTopics(), 'closed by teardown');
      await admin.close();
    } finally {
      for (const k of Object.keys(env)) if (!(k in saved)) delete env[k];
      Object.assign(env, saved);
    }
  });

  it('Jest: the global setup starts a broker per worker (JEST_WORKER_ID picks one); the global teardown closes them', async () => {
    const env = process.env;
    const saved = { ...env };
    try {
      env.RAFKA_TEST_BROKERS = '3'; // wins over the runner's count
      await jestSetup({ maxWorkers: 1 });
      const addresses = [1, 2, 3].map((n) => env[`KAFKA_BOOTSTRAP_${n}`]);
      assert.equal(new Set(addresses).size, 3);
      assert.equal(env.KAFKA_BOOTSTRAP, addresses[0]);
      assert.equal(workerBootstrap({ ...env, JEST_WORKER_ID: '3' }), addresses[2]);
      await createTopics(addresses[2]!, ['on-worker-3']);
      assert.deepEqual(await consumeAll(addresses[2]!, 'on-worker-3'), []);
      await jestTeardown();
      assert.throws(() => workerBootstrap({}), /KAFKA_BOOTSTRAP is not set/);
    } finally {
      for (const k of Object.keys(env)) if (!(k in saved)) delete env[k];
      Object.assign(env, saved);
    }
  });
});
