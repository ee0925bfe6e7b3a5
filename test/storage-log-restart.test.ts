/**
 * Restart tests on the log engine through the whole broker and a real client (kafkajs): topics with
 * their configs, data, the log start moved by DeleteRecords, committed offsets, consumer group
 * metadata and the cluster id come back after a clean restart on the same data directory; offsets
 * continue. Also: the standalone broker (`rafka start` without flags) uses the log engine in
 * ./data, and an unusable data directory stops it at start with a readable error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { testBroker } from './helpers/broker.js';
import { tempDir } from './helpers/log-engine.js';
import { fetchAll } from './helpers/fetch-all.js';
import { BIN, cleanEnv, startBrokerProcess, stop } from './helpers/broker-process.js';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '../src/protocol/messages/delete-records.js';

test('topics, configs, data, log start, committed offsets, group metadata and cluster id survive a restart', { timeout: 60_000 }, async () => {
  const data = tempDir('rafka-restart-');
  const start = () => testBroker({ storage: { type: 'log', path: data.dir }, groupInitialRebalanceDelayMs: 0 });
  const client = (bootstrap: string) =>
    new Kafka({ clientId: 'restart', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 10 } });
  let b = await start();
  try {
    const clusterId = b.clusterId;
    let kafka = client(b.bootstrap);
    let admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '123456789' }] }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kept', messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    // DeleteRecords (raw: kafkajs' admin.deleteTopicRecords needs a leader lookup we do not need here).
    const raw = await RawClient.connect(b.port);
    const del = await raw.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, {
      topics: [{ name: 'kept', partitions: [{ partitionIndex: 1, offset: 4n }] }],
      timeoutMs: 1000,
    });
    raw.close();
    assert.equal(del.topics[0]!.partitions[0]!.lowWatermark, 4n);
    // A consumer group consumes everything and commits.
    const consumer = kafka.consumer({ groupId: 'g-restart', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kept', fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async () => void (++seen === 16 && resolve()) }).catch(reject);
    });
    await consumer.commitOffsets([]);
    await consumer.stop();
    const groupsBefore = (await admin.listGroups()).groups.map((g) => g.groupId);
    const offsetsBefore = await admin.fetchOffsets({ groupId: 'g-restart', topics: ['kept'] });
    await consumer.disconnect();
    await admin.disconnect();
    const storedGroups = [...b.broker.storage.groupMetadata().keys()];
    await b.close();

    b = await start();
    assert.equal(b.clusterId, clusterId, 'cluster id kept');
    kafka = client(b.bootstrap);
    admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: ['kept'] });
    assert.equal(meta.topics[0]!.partitions.length, 2);
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'kept', configNames: ['retention.ms'] }], includeSynonyms: false });
    assert.equal(configs.resources[0]!.configEntries[0]!.configValue, '123456789');
    const offsets = await admin.fetchTopicOffsets('kept');
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.low, o.high]).sort(),
      [
        [0, '0', '10'],
        [1, '4', '10'],
      ],
    );
    assert.deepEqual(await admin.fetchOffsets({ groupId: 'g-restart', topics: ['kept'] }), offsetsBefore, 'committed offsets kept');
    assert.deepEqual((await admin.listGroups()).groups.map((g) => g.groupId).sort(), groupsBefore.sort());
    assert.deepEqual([...b.broker.storage.groupMetadata().keys()], storedGroups, 'group metadata kept');
    const records = await fetchAll(b.port, 'kept', 0);
    assert.deepEqual(records.map((r) => r.value!.toString()), Array.from({ length: 10 }, (_, i) => `v${i * 2}`));
    const p2 = kafka.producer();
    await p2.connect();
    const [res] = await p2.send({ topic: 'kept', messages: [{ partition: 1, value: 'after' }] });
    assert.equal(res!.baseOffset, '10', 'offsets continue after the restart');
    await p2.disconnect();
    await admin.disconnect();
  } finally {
    await b.close();
    data.remove();
  }
});

test('rafka start without flags runs the log engine in ./data and keeps data across restarts', { timeout: 30_000 }, async () => {
  const cwd = tempDir('rafka-cwd-');
  try {
    let b = await startBrokerProcess([], { cwd: cwd.dir });
    assert.match(b.line, /\(storage: log, cluster \S+\)$/);
    const clusterId = /cluster (\S+)\)/.exec(b.line)![1];
    const kafka = new Kafka({ clientId: 'cli', brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'auto', messages: [{ value: 'one' }, { value: 'two' }] });
    await producer.disconnect();
    assert.equal(await stop(b), 0);
    assert.ok(existsSync(join(cwd.dir, 'data', 'auto-0', '00000000000000000000.log')));
    assert.ok(existsSync(join(cwd.dir, 'data', '.clean-shutdown')));
    b = await startBrokerProcess([], { cwd: cwd.dir });
    assert.equal(/cluster (\S+)\)/.exec(b.line)![1], clusterId, 'cluster id stable across restarts');
    assert.deepEqual((await fetchAll(b.port, 'auto', 0)).map((r) => r.value!.toString()), ['one', 'two']);
    assert.equal(await stop(b), 0);
  } finally {
    cwd.remove();
  }
});

test('an unusable data directory stops the broker at start with a readable error', { timeout: 30_000 }, async (t) => {
  const d = tempDir('rafka-bad-');
  try {
    const file = join(d.dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--storage', 'log', '--data-dir', join(file, 'data')], { env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^rafka: failed to start: storage: cannot use data directory .*not-a-dir\/data: /m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    // Missing permission: meaningful only for a user the file system checks (root bypasses modes).
    const locked = join(d.dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (process.getuid?.() === 0) chmodSync(d.dir, 0o755);
    const p = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--storage', 'log', '--data-dir', join(locked, 'data')], {
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 20_000,
      ...asNobody,
    });
    if (p.error || /EACCES.*(dist|bin)|Cannot find module/.test(p.stderr)) {
      t.diagnostic(`permission case not run: ${p.error?.message ?? p.stderr.split('\n')[0]}`);
    } else {
      assert.equal(p.status, 1, p.stderr);
      assert.match(p.stderr, /^rafka: failed to start: storage: cannot use data directory .*locked\/data: permission denied/m);
    }
    assert.deepEqual(readdirSync(locked), []);
  } finally {
    chmodSync(join(d.dir, 'locked'), 0o700);
    d.remove();
  }
});
