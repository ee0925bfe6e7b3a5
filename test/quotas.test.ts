/**
 * Client quotas (issue 18): DescribeClientQuotas / AlterClientQuotas through the Admin client and at
 * the wire, Kafka's resolution order, durability across a restart, and enforcement as behaviour:
 * a producer or consumer over its byte rate gets throttle_time_ms and its mean rate settles at the
 * quota (measured over seconds — a behaviour check, not a performance figure), request_percentage
 * throttles, controller_mutation_rate refuses topics with THROTTLING_QUOTA_EXCEEDED (strict
 * versions) or only throttles (older ones).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBroker, withBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { Admin, KafkaProtocolError } from '../src/client/index.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { DescribeClientQuotasRequest, DescribeClientQuotasResponse } from '../src/protocol/messages/describe-client-quotas.js';
import { AlterClientQuotasRequest, AlterClientQuotasResponse } from '../src/protocol/messages/alter-client-quotas.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { ClientQuotas } from '../src/broker/quotas/client-quotas.js';
import { SampledRate, TokenBucket, bucketThrottleMs, rateThrottleMs } from '../src/base/rates.js';

const WINDOWS = { quotaWindowNum: 11, quotaWindowSizeSeconds: 1, controllerQuotaWindowNum: 11, controllerQuotaWindowSizeSeconds: 1 };

describe('quota arithmetic (Kafka metrics)', () => {
  test("a sampled rate is measured over at least samples - 1 windows, and throttles by Kafka's formula", () => {
    const r = new SampledRate(11, 1000);
    r.record(1_000_000, 0);
    assert.equal(r.windowSize(0), 10_000); // padded to 10 full windows
    assert.equal(r.rate(0), 100_000);
    assert.equal(rateThrottleMs(r.rate(0), 50_000, r.windowSize(0)), 10_000);
    assert.equal(rateThrottleMs(r.rate(0), 100_000, r.windowSize(0)), 0);
    // 11 s later the sample has expired: nothing left.
    assert.equal(r.rate(11_000), 0);
  });

  test('a token bucket starts full (samples × window × quota) and throttles until the tokens are back', () => {
    const b = new TokenBucket(11, 1000);
    assert.equal(b.measure(2, 0), 22);
    b.record(2, 30, 0);
    assert.equal(b.measure(2, 0), -8);
    assert.equal(bucketThrottleMs(-8, 2), 4000);
    assert.equal(b.measure(2, 4000), 0);
  });
});

describe("quota resolution (Kafka's DefaultQuotaCallback order)", () => {
  test('user+client-id, user+<default>, user, <default>+client-id, <default>+<default>, <default user>, client-id, <default client-id>', async () => {
    const engine = new MemoryEngine();
    await engine.open();
    const q = new ClientQuotas(engine, WINDOWS);
    q.load();
    const set = (entity: { user?: string | null; clientId?: string | null }, v: number) => q.store.put(entity, new Map([['producer_byte_rate', v]]));
    // Each applies once everything more specific is absent; most specific added last.
    const steps: [{ user?: string | null; clientId?: string | null }, number][] = [
      [{ clientId: null }, 8],
      [{ clientId: 'app' }, 7],
      [{ user: null }, 6],
      [{ user: null, clientId: null }, 5],
      [{ user: null, clientId: 'app' }, 4],
      [{ user: 'alice' }, 3],
      [{ user: 'alice', clientId: null }, 2],
      [{ user: 'alice', clientId: 'app' }, 1],
    ];
    const type = (q as unknown as { produceType: { tags(u: string, c: string): [string, string]; limit(u: string, c: string): number | undefined } }).produceType;
    const applying = () => {
      const tags = type.tags('alice', 'app');
      return type.limit(tags[0], tags[1]);
    };
    for (const [entity, v] of steps) {
      await set(entity, v);
      assert.equal(applying(), v, `after setting ${JSON.stringify(entity)}`);
    }
    // A quota on the user alone is shared by every client id of that user (tags without client id).
    await q.store.put({ user: 'bob' }, new Map([['producer_byte_rate', 9]]));
    assert.deepEqual(type.tags('bob', 'x'), ['bob', '']);
    assert.deepEqual(type.tags('bob', 'y'), ['bob', '']);
    // Another user falls to <default user>+client-id.
    assert.equal(type.limit(...type.tags('carol', 'app')), 4);
    await engine.close();
  });
});

describe('DescribeClientQuotas / AlterClientQuotas', () => {
  test('set, describe with filters, remove; defaults and combinations; validate_only', async () => {
    await withBroker(async (b) => {
      const admin = new Admin({ bootstrap: b.bootstrap });
      try {
        await admin.alterClientQuotas([
          { entity: { user: 'alice' }, ops: [{ key: 'producer_byte_rate', value: 1024 }, { key: 'consumer_byte_rate', value: 2048 }] },
          { entity: { user: null }, ops: [{ key: 'request_percentage', value: 50.5 }] },
          { entity: { user: 'alice', clientId: 'app' }, ops: [{ key: 'controller_mutation_rate', value: 10 }] },
          { entity: { clientId: null }, ops: [{ key: 'producer_byte_rate', value: 4096 }] },
        ]);
        const all = await admin.describeClientQuotas();
        assert.equal(all.length, 4);
        assert.deepEqual(all.find((e) => e.entity.user === 'alice' && e.entity.clientId === undefined)?.quotas, { producer_byte_rate: 1024, consumer_byte_rate: 2048 });
        // Exact user: alice alone and alice+app (not strict); strict: alice alone.
        assert.equal((await admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }])).length, 2);
        assert.deepEqual((await admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true })).map((e) => e.entity), [{ user: 'alice' }]);
        // Default user.
        assert.deepEqual((await admin.describeClientQuotas([{ entityType: 'user', match: null }])).map((e) => e.quotas), [{ request_percentage: 50.5 }]);
        // Any client id (specified).
        assert.equal((await admin.describeClientQuotas([{ entityType: 'client-id' }])).length, 2);
        // validate_only changes nothing.
        await admin.alterClientQuotas([{ entity: { user: 'bob' }, ops: [{ key: 'producer_byte_rate', value: 1 }] }], { validateOnly: true });
        assert.equal((await admin.describeClientQuotas([{ entityType: 'user', match: 'bob' }])).length, 0);
        // Remove one key, then the last: the entity goes.
        await admin.alterClientQuotas([{ entity: { user: 'alice' }, ops: [{ key: 'consumer_byte_rate', value: null }] }]);
        assert.deepEqual((await admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true }))[0]?.quotas, { producer_byte_rate: 1024 });
        await admin.alterClientQuotas([{ entity: { user: 'alice' }, ops: [{ key: 'producer_byte_rate', value: null }, { key: 'not_a_quota', value: null }] }]);
        assert.equal((await admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true })).length, 0);
      } finally {
        await admin.close();
      }
    });
  });

  test("Kafka's validation errors", async () => {
    await withBroker(async (b) => {
      const c = await RawClient.connect(b.port);
      try {
        const alter = (entries: { entity: { entityType: string; entityName: string | null }[]; ops: { key: string; value: number; remove?: boolean }[] }[]) =>
          c.request(ApiKey.AlterClientQuotas, 1, AlterClientQuotasRequest, AlterClientQuotasResponse, {
            entries: entries.map((e) => ({ entity: e.entity, ops: e.ops.map((o) => ({ key: o.key, value: o.value, remove: o.remove ?? false })) })),
            validateOnly: false,
          });
        const user = (name: string | null) => ({ entityType: 'user', entityName: name });
        const cases: [string, Parameters<typeof alter>[0][number], RegExp][] = [
          ['empty entity', { entity: [], ops: [{ key: 'producer_byte_rate', value: 1 }] }, /Invalid empty client quota entity/],
          ['unknown type', { entity: [{ entityType: 'group', entityName: 'g' }], ops: [{ key: 'producer_byte_rate', value: 1 }] }, /Unhandled client quota entity type: group/],
          ['empty name', { entity: [user('')], ops: [{ key: 'producer_byte_rate', value: 1 }] }, /Empty user not supported/],
          ['unknown key', { entity: [user('u')], ops: [{ key: 'bogus', value: 1 }] }, /Invalid configuration key bogus/],
          ['zero', { entity: [user('u')], ops: [{ key: 'request_percentage', value: 0 }] }, /must be greater than 0/],
          ['fractional long', { entity: [user('u')], ops: [{ key: 'producer_byte_rate', value: 1.5 }] }, /cannot be a fractional value/],
          ['duplicate key', { entity: [user('u')], ops: [{ key: 'producer_byte_rate', value: 1 }, { key: 'producer_byte_rate', value: 2 }] }, /Duplicate quota key/],
          ['ip', { entity: [{ entityType: 'ip', entityName: '1.2.3.4' }], ops: [{ key: 'connection_creation_rate', value: 1 }] }, /not supported/],
        ];
        for (const [name, entry, message] of cases) {
          const res = await alter([entry]);
          assert.equal(res.entries[0]!.errorCode, ErrorCode.INVALID_REQUEST, name);
          assert.match(res.entries[0]!.errorMessage ?? '', message, name);
        }
        // One entity refused does not stop the others; none of a refused entity's ops apply.
        const mixed = await alter([
          { entity: [user('ok')], ops: [{ key: 'producer_byte_rate', value: 100 }] },
          { entity: [user('bad')], ops: [{ key: 'producer_byte_rate', value: 100 }, { key: 'bogus', value: 1 }] },
        ]);
        assert.deepEqual(mixed.entries.map((e) => e.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_REQUEST]);
        const describe = (components: { entityType: string; matchType: number; match: string | null }[], version = 1) =>
          c.request(ApiKey.DescribeClientQuotas, version, DescribeClientQuotasRequest, DescribeClientQuotasResponse, { components, strict: false });
        const found = await describe([{ entityType: 'user', matchType: 0, match: 'ok' }], 0);
        assert.deepEqual(found.entries, [{ entity: [{ entityType: 'user', entityName: 'ok' }], values: [{ key: 'producer_byte_rate', value: 100 }] }]);
        assert.equal((await describe([{ entityType: 'user', matchType: 0, match: 'bad' }])).entries!.length, 0);
        const bad = await describe([{ entityType: 'user', matchType: 0, match: null }]);
        assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
        assert.equal(bad.entries, null);
        assert.equal((await describe([{ entityType: 'user', matchType: 1, match: 'x' }])).errorCode, ErrorCode.INVALID_REQUEST);
        assert.equal((await describe([{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }])).errorCode, ErrorCode.INVALID_REQUEST);
        assert.equal((await describe([{ entityType: 'group', matchType: 2, match: null }])).errorCode, ErrorCode.UNSUPPORTED_VERSION);
        assert.equal((await describe([{ entityType: 'ip', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }])).errorCode, ErrorCode.INVALID_REQUEST);
      } finally {
        c.close();
      }
    });
  });

  for (const type of ['memory', 'log', 'rocksdb'] as const) {
    test(`quotas survive a restart (${type} storage) and apply after it`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rafka-quotas-'));
      try {
        const storage = { type, path: dir }; // memory with a path: the memory-wal engine
        let b = await testBroker({ storage });
        const admin = new Admin({ bootstrap: b.bootstrap });
        await admin.alterClientQuotas([{ entity: { user: null, clientId: 'app' }, ops: [{ key: 'consumer_byte_rate', value: 5000 }] }]);
        await admin.close();
        await b.close();
        b = await testBroker({ storage });
        try {
          assert.equal(b.broker.quotas.store.get({ user: null, clientId: 'app' }, 'consumer_byte_rate'), 5000);
          assert.equal(b.broker.quotas.fetchMaxBytes('ANONYMOUS', 'app'), 5000 * 10);
        } finally {
          await b.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

async function setQuota(bootstrap: string, entity: { user?: string | null; clientId?: string | null }, key: string, value: number): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    await admin.alterClientQuotas([{ entity, ops: [{ key, value }] }]);
  } finally {
    await admin.close();
  }
}

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ bootstrap });
  try {
    await admin.createTopics([{ topic, numPartitions: 1 }]);
  } finally {
    await admin.close();
  }
}

describe('enforcement', () => {
  // Two windows of one second: the first burst a client gets before any throttle is one window's
  // worth, so the mean settles within a few seconds (Kafka's default 11 windows takes ~10 s).
  const quick = { quotaWindowNum: 2, quotaWindowSizeSeconds: 1 };

  test('a producer over producer_byte_rate is throttled and its mean rate settles at the quota', async (t) => {
    await withBroker(async (b) => {
      const quota = 200_000;
      await createTopic(b.bootstrap, 'q-produce');
      await setQuota(b.bootstrap, { clientId: 'rafka-test' }, 'producer_byte_rate', quota);
      const c = await RawClient.connect(b.port);
      try {
        const batch = await encodeBatch({ records: [{ value: Buffer.alloc(20_000, 1) }] });
        let throttled = 0;
        let maxThrottle = 0;
        const started = Date.now();
        let measuredFrom = 0;
        let bytes = 0;
        while (Date.now() - started < 5000) {
          const res = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
            acks: 1, timeoutMs: 1000, topicData: [{ name: 'q-produce', partitionData: [{ index: 0, records: batch }] }],
          });
          assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
          if (res.throttleTimeMs > 0) throttled++;
          maxThrottle = Math.max(maxThrottle, res.throttleTimeMs);
          // Measure after the first second (the initial burst); this client ignores throttle_time_ms,
          // so only the broker's muting holds it back.
          if (measuredFrom === 0 && Date.now() - started >= 1000) measuredFrom = Date.now();
          else if (measuredFrom !== 0) bytes += batch.length;
        }
        const rate = (bytes * 1000) / (Date.now() - measuredFrom);
        t.diagnostic(`producer: ${Math.round(rate)} B/s against a quota of ${quota}; ${throttled} throttled answers, longest ${maxThrottle} ms`);
        assert.ok(throttled > 0, 'some responses carry throttle_time_ms');
        assert.ok(rate > quota * 0.6 && rate < quota * 1.4, `mean rate ${Math.round(rate)} B/s should be near the quota ${quota} (throttles seen ${throttled}, max ${maxThrottle} ms)`);
        assert.ok(b.broker.quotas.throttleTallies().get('producer_byte_rate')!.count > 0);
      } finally {
        c.close();
      }
    }, quick);
  });

  test('kafkajs (which honours throttle_time_ms) producing over producer_byte_rate settles at the quota', async (t) => {
    await withBroker(async (b) => {
      const quota = 150_000;
      await createTopic(b.bootstrap, 'q-kafkajs');
      await setQuota(b.bootstrap, { clientId: 'kjs-producer' }, 'producer_byte_rate', quota);
      const kafka = new Kafka({ clientId: 'kjs-producer', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      try {
        const value = Buffer.alloc(15_000, 3);
        const started = Date.now();
        let measuredFrom = 0;
        let bytes = 0;
        while (Date.now() - started < 5000) {
          await producer.send({ topic: 'q-kafkajs', messages: [{ value }] });
          if (measuredFrom === 0 && Date.now() - started >= 1000) measuredFrom = Date.now();
          else if (measuredFrom !== 0) bytes += value.length;
        }
        const rate = (bytes * 1000) / (Date.now() - measuredFrom);
        const tally = b.broker.quotas.throttleTallies().get('producer_byte_rate')!;
        t.diagnostic(`kafkajs: ${Math.round(rate)} B/s against a quota of ${quota}; ${tally.count} throttled answers`);
        assert.ok(tally.count > 0);
        assert.ok(rate > quota * 0.6 && rate < quota * 1.4, `mean rate ${Math.round(rate)} B/s should be near the quota ${quota}`);
      } finally {
        await producer.disconnect();
      }
    }, quick);
  });

  test('a consumer over consumer_byte_rate is throttled with empty answers and its mean rate settles at the quota', async (t) => {
    await withBroker(async (b) => {
      await createTopic(b.bootstrap, 'q-fetch');
      const seed = await RawClient.connect(b.port);
      const batch = await encodeBatch({ records: [{ value: Buffer.alloc(10_000, 2) }] });
      for (let i = 0; i < 300; i++) {
        await seed.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'q-fetch', partitionData: [{ index: 0, records: batch }] }] });
      }
      seed.close();
      const quota = 300_000;
      await setQuota(b.bootstrap, { user: 'ANONYMOUS', clientId: null }, 'consumer_byte_rate', quota);
      const c = await RawClient.connect(b.port);
      try {
        let offset = 0n;
        let throttledEmpty = 0;
        let maxAnswer = 0;
        const started = Date.now();
        let measuredFrom = 0;
        let bytes = 0;
        while (Date.now() - started < 5000) {
          const res = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
            maxWaitMs: 0, minBytes: 0, maxBytes: 60_000,
            topics: [{ topic: 'q-fetch', partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 60_000 }] }],
          });
          const records = res.responses[0]?.partitions[0]?.records ?? null;
          const n = records === null ? 0 : records.length;
          if (res.throttleTimeMs > 0 && res.responses.length === 0) throttledEmpty++;
          maxAnswer = Math.max(maxAnswer, n);
          // Each stored batch holds one record: the next offset is the count of batches read.
          offset += BigInt(Math.floor(n / batch.length));
          if (measuredFrom === 0 && Date.now() - started >= 1000) measuredFrom = Date.now();
          else if (measuredFrom !== 0) bytes += n;
        }
        const rate = (bytes * 1000) / (Date.now() - measuredFrom);
        t.diagnostic(`consumer: ${Math.round(rate)} B/s against a quota of ${quota}; ${throttledEmpty} throttled empty answers, largest answer ${maxAnswer} B`);
        assert.ok(throttledEmpty > 0, 'throttled fetches answer empty with throttle_time_ms');

        assert.ok(rate > quota * 0.6 && rate < quota * 1.4, `mean rate ${Math.round(rate)} B/s should be near the quota ${quota}`);
      } finally {
        c.close();
      }
    }, quick);
  });

  test('request_percentage throttles a client that keeps the broker busy, and the connection is muted for the throttle', async () => {
    await withBroker(async (b) => {
      await setQuota(b.bootstrap, { user: null }, 'request_percentage', 0.01);
      const c = await RawClient.connect(b.port);
      try {
        let throttle = 0;
        for (let i = 0; i < 200 && throttle === 0; i++) {
          throttle = (await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).throttleTimeMs;
        }
        assert.ok(throttle > 0, 'a Metadata answer carries a throttle');
        const at = Date.now();
        await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        assert.ok(Date.now() - at >= throttle - 20, `the next request waited out the mute (${Date.now() - at} ms of ${throttle})`);
        const metrics = await (await fetch(`${b.httpUrl}/metrics`)).text();
        assert.match(metrics, /^rafka_quota_throttled_responses_total\{quota="request_percentage"\} [1-9]/m);
        assert.match(metrics, /^rafka_quota_throttle_seconds_total\{quota="request_percentage"\} [\d.]*[1-9]/m);
      } finally {
        c.close();
      }
    }, { ...quick, httpListener: '127.0.0.1:0' });
  });

  test('controller_mutation_rate: strict versions refuse with THROTTLING_QUOTA_EXCEEDED, older ones only throttle', async () => {
    await withBroker(async (b) => {
      // 2 partitions a second, a burst of one window: 2 tokens.
      await setQuota(b.bootstrap, { clientId: 'rafka-test' }, 'controller_mutation_rate', 2);
      const c = await RawClient.connect(b.port);
      const create = (version: number, name: string, numPartitions: number) =>
        c.request(ApiKey.CreateTopics, version, CreateTopicsRequest, CreateTopicsResponse, {
          topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
        });
      try {
        // Strict (v6+), as Kafka's StrictControllerMutationQuota: a request is admitted while tokens
        // are left, even one that overdraws the bucket (2 tokens, 5 partitions: -3), unthrottled;
        const first = await create(7, 'mut-a', 5);
        assert.equal(first.topics[0]!.errorCode, ErrorCode.NONE);
        assert.equal(first.throttleTimeMs, 0);
        // the next is refused, throttled until the tokens are back (3 tokens at 2/s: 1.5 s).
        const refused = await create(7, 'mut-b', 1);
        assert.equal(refused.topics[0]!.errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
        assert.equal(refused.topics[0]!.errorMessage, 'The throttling quota has been exceeded.');
        assert.ok(refused.throttleTimeMs > 1300 && refused.throttleTimeMs <= 1500, `throttle ${refused.throttleTimeMs}`);
        assert.equal(b.broker.topics.get('mut-b'), undefined);
        // Permissive (v5): created even while the bucket is empty, only throttled.
        const permissive = await create(5, 'mut-c', 4);
        assert.equal(permissive.topics[0]!.errorCode, ErrorCode.NONE);
        assert.ok(permissive.throttleTimeMs > 0, `throttle ${permissive.throttleTimeMs}`);
        assert.ok(b.broker.topics.get('mut-c'));
      } finally {
        c.close();
      }
    }, { controllerQuotaWindowNum: 1 });
  });

  test('the Admin client sees THROTTLING_QUOTA_EXCEEDED as an error naming the topic', async () => {
    await withBroker(async (b) => {
      await setQuota(b.bootstrap, { user: null }, 'controller_mutation_rate', 1);
      const admin = new Admin({ bootstrap: b.bootstrap });
      try {
        await admin.createTopics([{ topic: 'adm-a', numPartitions: 3 }]);
        await assert.rejects(admin.createTopics([{ topic: 'adm-b', numPartitions: 1 }]), (e: unknown) => e instanceof KafkaProtocolError && e.errorCode === ErrorCode.THROTTLING_QUOTA_EXCEEDED);
      } finally {
        await admin.close();
      }
    }, { controllerQuotaWindowNum: 1 });
  });
});
