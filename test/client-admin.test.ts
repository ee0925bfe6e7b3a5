/**
 * The client Admin against a live broker: topics (create, list, describe, delete), partitions,
 * configs (describe, incremental alter), offsets by spec and timestamp, and the cluster description.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin, KafkaProtocolError, Producer } from '../src/client/index.js';

describe('client admin', () => {
  let broker: RunningBroker;
  let admin: Admin;
  before(async () => {
    broker = await testBroker({ autoCreateTopicsEnable: false });
    admin = new Admin({ bootstrap: broker.bootstrap });
  });
  after(async () => {
    await admin.close();
    await broker.close();
  });

  test('create, list, describe and delete topics', async () => {
    await admin.createTopics([{ topic: 'a-one', numPartitions: 3, configs: { 'retention.ms': '3600000' } }, { topic: 'a-two' }]);
    assert.ok((await admin.listTopics()).includes('a-one'));
    const [d] = await admin.describeTopics(['a-one']);
    assert.equal(d!.partitions.length, 3);
    assert.ok(d!.partitions.every((p) => p.leader === 1));
    assert.notEqual(d!.topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
    await assert.rejects(admin.createTopics([{ topic: 'a-one' }]), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'TOPIC_ALREADY_EXISTS' && !e.retriable);
    await admin.createTopics([{ topic: 'a-one' }], { ignoreExisting: true });
    await admin.createTopics([{ topic: 'a-validate' }], { validateOnly: true });
    assert.ok(!(await admin.listTopics()).includes('a-validate'));
    await admin.deleteTopics(['a-two']);
    assert.ok(!(await admin.listTopics()).includes('a-two'));
    await assert.rejects(admin.deleteTopics(['a-missing']), (e: unknown) => e instanceof KafkaProtocolError && e.errorCode === 3);
  });

  test('create partitions', async () => {
    await admin.createTopics([{ topic: 'a-grow', numPartitions: 1 }]);
    await admin.createPartitions([{ topic: 'a-grow', count: 4 }]);
    assert.equal((await admin.describeTopics(['a-grow']))[0]!.partitions.length, 4);
    await assert.rejects(admin.createPartitions([{ topic: 'a-grow', count: 2 }]), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'INVALID_PARTITIONS');
  });

  test('describe and alter configs', async () => {
    await admin.createTopics([{ topic: 'a-config', configs: { 'cleanup.policy': 'compact' } }]);
    let [r] = await admin.describeConfigs([{ type: 'topic', name: 'a-config' }]);
    const get = (name: string) => r!.configs.find((c) => c.name === name);
    assert.equal(get('cleanup.policy')!.value, 'compact');
    assert.equal(get('cleanup.policy')!.source, 'DYNAMIC_TOPIC_CONFIG');
    assert.equal(get('retention.ms')!.isDefault, true);
    await admin.alterConfigs([{ type: 'topic', name: 'a-config', configs: [{ name: 'retention.ms', value: '1000' }, { name: 'cleanup.policy', op: 'delete' }] }]);
    [r] = await admin.describeConfigs([{ type: 'topic', name: 'a-config', keys: ['retention.ms', 'cleanup.policy'] }]);
    assert.equal(get('retention.ms')!.value, '1000');
    assert.equal(get('cleanup.policy')!.value, 'delete');
    await assert.rejects(admin.alterConfigs([{ type: 'topic', name: 'a-config', configs: [{ name: 'no.such.config', value: '1' }] }]), KafkaProtocolError);
    const [b] = await admin.describeConfigs([{ type: 'broker', name: '1' }]);
    assert.ok(b!.configs.length > 0);
  });

  test('list offsets: earliest, latest, by timestamp, max timestamp', async () => {
    await admin.createTopics([{ topic: 'a-offsets', numPartitions: 2 }]);
    const producer = new Producer({ bootstrap: broker.bootstrap });
    await producer.send('a-offsets', [0, 1, 2, 3, 4].map((i) => ({ value: String(i), partition: 0, timestamp: 1_000_000 + i * 1000 })));
    await producer.close();
    assert.deepEqual(await admin.listOffsets('a-offsets', 'earliest'), [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }]);
    assert.deepEqual(await admin.listOffsets('a-offsets', 'latest'), [{ partition: 0, offset: 5 }, { partition: 1, offset: 0 }]);
    assert.deepEqual((await admin.listOffsets('a-offsets', { timestamp: 1_002_500 }))[0], { partition: 0, offset: 3 });
    assert.deepEqual((await admin.listOffsets('a-offsets', { timestamp: 9_999_999 }))[0], { partition: 0, offset: -1 });
    assert.deepEqual((await admin.listOffsets('a-offsets', 'max-timestamp'))[0], { partition: 0, offset: 4 });
  });

  test('describe cluster', async () => {
    const c = await admin.describeCluster();
    assert.equal(c.clusterId, broker.clusterId);
    assert.equal(c.controllerId, 1);
    assert.deepEqual(c.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
  });
});
