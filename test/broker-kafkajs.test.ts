/**
 * kafkajs (a real client, unchanged) against the broker: admin (create/delete topics, partitions,
 * metadata, configs, offsets, offsets by timestamp) and an idempotent producer, with every record
 * read back through Fetch and compared key by key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { testBroker } from './helpers/broker.js';
import { fetchAll } from './helpers/fetch-all.js';
import type { RunningBroker } from '../src/broker/index.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

let broker: RunningBroker;
let kafka: InstanceType<typeof Kafka>;

before(async () => {
  broker = await testBroker();
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'rafka-kafkajs-test', retry: { retries: 2 } });
});

after(async () => {
  await broker.close();
});

test('admin creates, lists, describes, grows and deletes topics', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [
        { topic: 'admin-a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: 'admin-b', numPartitions: 1 },
      ],
    });
    assert.equal(created, true);
    // Creating again: kafkajs reports TOPIC_ALREADY_EXISTS as `false`.
    assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] }), false);
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }), kafkaErrorType('INVALID_TOPIC_EXCEPTION'));
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'rf3', numPartitions: 1, replicationFactor: 3 }] }),
      kafkaErrorType('INVALID_REPLICATION_FACTOR'),
    );
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'badcfg', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      kafkaErrorType('INVALID_CONFIG'),
    );

    const topics = await admin.listTopics();
    assert.deepEqual(topics.filter((t) => t.startsWith('admin-')).sort(), ['admin-a', 'admin-b']);

    const meta = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
    assert.equal(meta.topics[0]!.partitions.length, 3);
    for (const p of meta.topics[0]!.partitions) {
      assert.equal(p.leader, 1);
      assert.deepEqual(p.replicas, [1]);
      assert.deepEqual(p.isr, [1]);
    }

    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'admin-a' }], includeSynonyms: true });
    const entries = configs.resources[0]!.configEntries;
    const retention = entries.find((e) => e.configName === 'retention.ms')!;
    assert.equal(retention.configValue, '3600000');
    assert.equal(retention.isDefault, false);
    const cleanup = entries.find((e) => e.configName === 'cleanup.policy')!;
    assert.equal(cleanup.configValue, 'delete');
    assert.equal(cleanup.isDefault, true);

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'admin-b', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const altered = await admin.describeConfigs({ resources: [{ type: 2, name: 'admin-b', configNames: ['cleanup.policy'] }], includeSynonyms: false });
    assert.equal(altered.resources[0]!.configEntries[0]!.configValue, 'compact');

    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-b', count: 4 }] });
    const grown = await admin.fetchTopicMetadata({ topics: ['admin-b'] });
    assert.equal(grown.topics[0]!.partitions.length, 4);
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'admin-b', count: 2 }] }), kafkaErrorType('INVALID_PARTITIONS'));

    await admin.deleteTopics({ topics: ['admin-a', 'admin-b'] });
    const after = await admin.listTopics();
    assert.ok(!after.includes('admin-a') && !after.includes('admin-b'));

    const brokerConfigs = await admin.describeConfigs({ resources: [{ type: 4, name: '1' }], includeSynonyms: false });
    const byName = new Map(brokerConfigs.resources[0]!.configEntries.map((e) => [e.configName, e]));
    assert.equal(byName.get('num.partitions')?.configValue, '1');
    assert.equal(byName.get('group.max.size')?.configValue, '2147483647');
    assert.equal(byName.get('max.connections.per.ip')?.readOnly, true);

    const cluster = await admin.describeCluster();
    assert.equal(cluster.clusterId, broker.clusterId);
    assert.deepEqual(cluster.brokers.map((b) => `${b.host}:${b.port}`), [broker.bootstrap]);
  } finally {
    await admin.disconnect();
  }
});

test('idempotent producer: every key, value, header and offset comes back through Fetch', async () => {
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'produce-fetch', numPartitions: 2 }] });
    const sent: { partition: number; key: string | null; value: string | null; headers: Record<string, string> }[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push({ partition: i % 2, key: i % 7 === 0 ? null : `key-${i}`, value: i % 11 === 0 ? '' : `value-${i}-ü€`, headers: { n: String(i), kind: 'test' } });
    }
    const compressions = [CompressionTypes.None, CompressionTypes.GZIP];
    const offsets = new Map<number, number[]>();
    for (let i = 0; i < sent.length; i += 10) {
      const chunk = sent.slice(i, i + 10);
      const res = await producer.send({
        topic: 'produce-fetch',
        compression: compressions[(i / 10) % 2],
        messages: chunk.map((m) => ({ partition: m.partition, key: m.key, value: m.value, headers: m.headers })),
      });
      for (const r of res) {
        assert.equal(r.errorCode, 0);
        const list = offsets.get(r.partition) ?? [];
        list.push(Number(r.baseOffset));
        offsets.set(r.partition, list);
      }
    }
    for (const partition of [0, 1]) {
      const expected = sent.filter((m) => m.partition === partition);
      const got = await fetchAll(broker.port, 'produce-fetch', partition);
      assert.equal(got.length, expected.length);
      got.forEach((r, i) => {
        assert.equal(r.offset, i, 'offsets are consecutive from 0');
        assert.equal(r.key === null ? null : r.key.toString(), expected[i]!.key);
        assert.equal(r.value === null ? null : r.value.toString(), expected[i]!.value);
        assert.deepEqual(Object.fromEntries(r.headers.map((h) => [h.key, h.value?.toString()])), expected[i]!.headers);
      });
    }

    const topicOffsets = await admin.fetchTopicOffsets('produce-fetch');
    assert.deepEqual(
      topicOffsets.map((o) => [o.partition, o.low, o.high]).sort(),
      [
        [0, '0', '25'],
        [1, '0', '25'],
      ],
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('offsets by timestamp find the first record at or after the time', async () => {
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'by-time', numPartitions: 1 }] });
    const base = 1_700_000_000_000;
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic: 'by-time', messages: [{ value: `m${i}`, timestamp: String(base + i * 1000) }] });
    }
    const at = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp('by-time', ts))[0]!.offset;
    assert.equal(await at(base - 1), '0');
    assert.equal(await at(base), '0');
    assert.equal(await at(base + 1), '1');
    assert.equal(await at(base + 2500), '3');
    assert.equal(await at(base + 4000), '4');
    // Past the last record Kafka answers -1, which kafkajs turns into the high watermark.
    assert.equal(await at(base + 99_000), '5');
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

/** kafkajs wraps per-topic errors in an aggregate; match the Kafka error type inside. */
function kafkaErrorType(type: string) {
  return (err: any): boolean => {
    const types = [err?.type, ...(err?.errors ?? []).map((e: any) => e?.type)].filter(Boolean);
    assert.ok(types.includes(type), `expected ${type}, got ${JSON.stringify(types)} (${err?.message})`);
    return true;
  };
}
