/**
 * The broker at the wire: exact versions, pipelining, frame reassembly, bad input, long polling,
 * idempotence and shutdown, spoken through our own codec (test/helpers/raw-client.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../src/protocol/messages/api-versions.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '../src/protocol/messages/list-offsets.js';
import { InitProducerIdRequest, InitProducerIdResponse } from '../src/protocol/messages/init-producer-id.js';
import { encodeBatch, type RecordInput } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { HANDLERS } from '../src/broker/api/index.js';
import type { RunningBroker } from '../src/broker/index.js';

let broker: RunningBroker;

before(async () => {
  broker = await testBroker({ socketRequestMaxBytes: 1 << 20 });
});

after(async () => {
  await broker.close();
});

async function createTopic(client: RawClient, name: string, partitions = 1, configs: { name: string; value: string }[] = []) {
  const res = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, configs }],
    timeoutMs: 1000,
  });
  assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE, res.topics[0]!.errorMessage ?? '');
}

function records(n: number, prefix = 'v'): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${prefix}${i}`) }));
}

async function produce(client: RawClient, topic: string, batch: Buffer, version = 9, acks = -1, partition = 0) {
  return client.request(ApiKey.Produce, version, ProduceRequest, ProduceResponse, {
    acks,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
}

test('ApiVersions advertises exactly the registered handlers, at every version 0-4', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    for (let v = 0; v <= 4; v++) {
      const res = await client.request(ApiKey.ApiVersions, v, ApiVersionsRequest, ApiVersionsResponse, {
        clientSoftwareName: 'rafka-test',
        clientSoftwareVersion: '1.0',
      });
      assert.equal(res.errorCode, 0);
      assert.deepEqual(
        res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
        [...HANDLERS.values()].sort((a, b) => a.apiKey - b.apiKey).map((h) => [h.apiKey, h.advertisedMinVersion ?? h.minVersion, h.maxVersion]),
      );
    }
    const bad = await client.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, {
      clientSoftwareName: '-bad name-',
      clientSoftwareVersion: '1.0',
    });
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
  } finally {
    client.close();
  }
});

test('ApiVersions at an unsupported version answers v0 UNSUPPORTED_VERSION with our ranges', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    // A v9 request body is unknown to us; the header is all we read (KIP-511).
    const frame = client.frame(ApiKey.ApiVersions, 4, ApiVersionsRequest, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 77);
    frame.writeInt16BE(9, 6); // request_api_version
    client.write(frame);
    const res = decodeResponse((await client.readFrame())!, ApiKey.ApiVersions, 0, ApiVersionsResponse, 77);
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.ok(res.apiKeys.some((k) => k.apiKey === ApiKey.ApiVersions && k.maxVersion === 4));
    // The connection stays usable.
    const ok = await client.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    assert.equal(ok.errorCode, 0);
  } finally {
    client.close();
  }
});

test('bad frames close only their own connection', async () => {
  const healthy = await RawClient.connect(broker.port);
  const cases: [string, (c: RawClient) => void][] = [
    ['oversized frame', (c) => c.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0]))],
    ['negative size', (c) => c.write(Buffer.from([0xff, 0xff, 0xff, 0xfe]))],
    // Alone in its chunk, it once threw out of the data handler and ended the broker process.
    ['empty frame', (c) => c.write(Buffer.from([0, 0, 0, 0]))],
    ['unknown api key', (c) => c.write(Buffer.from([0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff]))],
    [
      'unsupported Metadata version',
      (c) => {
        const f = c.frame(ApiKey.Metadata, 13, MetadataRequest, { topics: null });
        f.writeInt16BE(14, 6);
        c.write(f);
      },
    ],
    [
      'truncated request body',
      (c) => {
        const f = c.frame(ApiKey.Metadata, 4, MetadataRequest, { topics: [{ name: 'some-topic' }] });
        const cut = f.subarray(0, f.length - 3);
        cut.writeInt32BE(cut.length - 4, 0);
        c.write(cut);
      },
    ],
    [
      'Produce below v3 (advertised from v0 for librdkafka, KAFKA-18659, but not served)',
      (c) => {
        const f = c.frame(ApiKey.Produce, 3, ProduceRequest, { acks: 1, timeoutMs: 1000, topicData: [] });
        f.writeInt16BE(2, 6);
        c.write(f);
      },
    ],
    ['hostile array count', (c) => c.write(Buffer.from([0, 0, 0, 14, 0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]))],
  ];
  try {
    for (const [name, send] of cases) {
      const c = await RawClient.connect(broker.port);
      send(c);
      assert.equal(await c.waitClosed(), true, `${name}: connection should be closed`);
      const res = await healthy.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [] });
      assert.equal(res.brokers.length, 1, `${name}: other connections keep being served`);
    }
  } finally {
    healthy.close();
  }
});

test('bytes after a request body are ignored, as Kafka ignores them (librdkafka sends some)', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    const f = client.frame(ApiKey.Metadata, 12, MetadataRequest, { topics: null }, 9);
    const longer = Buffer.concat([f, Buffer.from([0, 0, 0])]);
    longer.writeInt32BE(longer.length - 4, 0);
    client.write(longer);
    const res = decodeResponse((await client.readFrame())!, ApiKey.Metadata, 12, MetadataResponse, 9);
    assert.equal(res.brokers.length, 1);
  } finally {
    client.close();
  }
});

test('pipelined requests split at random byte boundaries are reassembled and answered in order', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    const frames: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const v = i % 13;
      frames.push(client.frame(ApiKey.Metadata, v, MetadataRequest, { topics: v === 0 ? [] : null }, 1000 + i));
    }
    const all = Buffer.concat(frames);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 23) + 1;
    for (let at = 0; at < all.length; ) {
      const n = Math.min(rand(), all.length - at);
      client.write(all.subarray(at, at + n));
      at += n;
      await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 40; i++) {
      const frame = (await client.readFrame())!;
      const res = decodeResponse(frame, ApiKey.Metadata, i % 13, MetadataResponse, 1000 + i);
      assert.equal(res.brokers[0]!.port, broker.port);
    }
  } finally {
    client.close();
  }
});

test('produce validation: corrupt CRC, unknown partition, too large, bad acks, invalid names', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'validation', 1, [{ name: 'max.message.bytes', value: '2000' }]);
    const good = await encodeBatch({ records: records(3) });

    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1]! ^= 0xff;
    assert.equal((await produce(client, 'validation', corrupt)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.CORRUPT_MESSAGE);

    const unknown = await produce(client, 'validation', good, 9, -1, 5);
    assert.equal(unknown.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const noTopic = await produce(client, 'no-such-topic', good);
    assert.equal(noTopic.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    const big = await encodeBatch({ records: [{ value: Buffer.alloc(5000, 1) }] });
    assert.equal((await produce(client, 'validation', big)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.MESSAGE_TOO_LARGE);

    const badAcks = await produce(client, 'validation', good, 9, 2);
    assert.equal(badAcks.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);

    const twoBatches = Buffer.concat([good, good]);
    assert.equal((await produce(client, 'validation', twoBatches)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_RECORD);

    const oldMagic = Buffer.from(good);
    oldMagic[16] = 1;
    assert.notEqual((await produce(client, 'validation', oldMagic)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

    // Nothing above was written.
    const ok = await produce(client, 'validation', good);
    assert.equal(ok.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(ok.responses[0]!.partitionResponses[0]!.baseOffset, 0n);

    const meta = await client.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, {
      topics: [{ name: 'bad/name' }, { name: 'x'.repeat(250) }],
      allowAutoTopicCreation: true,
    });
    assert.deepEqual(meta.topics.map((t) => t.errorCode), [ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.INVALID_TOPIC_EXCEPTION]);
    const create = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: '..', numPartitions: 1, replicationFactor: 1 }],
    });
    assert.equal(create.topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  } finally {
    client.close();
  }
});

test('acks=0 gets no response; the next request is answered with its own correlation id', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'acks0');
    const batch = await encodeBatch({ records: records(2) });
    client.write(client.frame(ApiKey.Produce, 9, ProduceRequest, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'acks0', partitionData: [{ index: 0, records: batch }] }] }, 500));
    const res = await client.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
      replicaId: -1,
      topics: [{ name: 'acks0', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    assert.equal(res.topics[0]!.partitions[0]!.offset, 2n);
  } finally {
    client.close();
  }
});

test('idempotent produce: a retried batch is acknowledged once, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'idem');
    const init = await client.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: 60000 });
    assert.equal(init.errorCode, 0);
    const producerId = Number(init.producerId);
    const batch = (seq: number, n: number) => encodeBatch({ records: records(n), producerId, producerEpoch: 0, baseSequence: seq });
    const first = await produce(client, 'idem', await batch(0, 3));
    assert.equal(first.responses[0]!.partitionResponses[0]!.baseOffset, 0n);
    const retry = await produce(client, 'idem', await batch(0, 3));
    assert.equal(retry.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(retry.responses[0]!.partitionResponses[0]!.baseOffset, 0n, 'duplicate gets the original offset');
    const next = await produce(client, 'idem', await batch(3, 2));
    assert.equal(next.responses[0]!.partitionResponses[0]!.baseOffset, 3n);
    const gap = await produce(client, 'idem', await batch(10, 1));
    assert.equal(gap.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const offsets = await client.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
      replicaId: -1,
      topics: [{ name: 'idem', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    assert.equal(offsets.topics[0]!.partitions[0]!.offset, 5n, 'the duplicate was not written twice');
    const txn = await client.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: 'tx', transactionTimeoutMs: 60000 });
    assert.equal(txn.errorCode, ErrorCode.NONE, 'a transactional id gets its producer id from the transaction coordinator');
    assert.notEqual(txn.producerId, init.producerId, 'never the id of the idempotent producer');
  } finally {
    client.close();
  }
});

test('fetch: long poll woken by produce, first batch returned even past max_bytes, out of range, topic ids', async () => {
  const client = await RawClient.connect(broker.port);
  const producer = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'longpoll');
    const started = Date.now();
    const pending = client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 10_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic: 'longpoll', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    await new Promise((r) => setTimeout(r, 100));
    const big = await encodeBatch({ records: [{ value: Buffer.alloc(4000, 7) }] });
    await produce(producer, 'longpoll', big);
    const res = await pending;
    assert.ok(Date.now() - started < 5000, 'woken by the produce, not the timeout');
    const p = res.responses[0]!.partitions[0]!;
    assert.equal(p.highWatermark, 1n);
    assert.equal((p.records as Buffer).length, big.length);

    // max_bytes smaller than the first batch: it is still returned (KIP-74).
    const small = await client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 100,
      topics: [{ topic: 'longpoll', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }] }],
    });
    assert.equal((small.responses[0]!.partitions[0]!.records as Buffer).length, big.length);

    const out = await client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 100,
      topics: [{ topic: 'longpoll', partitions: [{ partition: 0, fetchOffset: 5n, partitionMaxBytes: 100 }] }],
    });
    assert.equal(out.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    const meta = await client.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 'longpoll' }] });
    const topicId = meta.topics[0]!.topicId;
    const byId = await client.request(ApiKey.Fetch, 13, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        { topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
        { topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
      ],
    });
    assert.equal(byId.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal(byId.responses[1]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);

    // An incremental fetch (session epoch > 0) of a session that does not exist.
    const incremental = await client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      sessionId: 5,
      sessionEpoch: 1,
      maxWaitMs: 0,
      minBytes: 0,
      topics: [],
    });
    assert.equal(incremental.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  } finally {
    client.close();
    producer.close();
  }
});

test('list offsets: earliest, latest, by timestamp and max timestamp', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'offsets');
    const t0 = 1_600_000_000_000;
    await produce(client, 'offsets', await encodeBatch({ records: [{ value: Buffer.from('a'), timestamp: t0 }, { value: Buffer.from('b'), timestamp: t0 + 50 }] }));
    await produce(client, 'offsets', await encodeBatch({ records: [{ value: Buffer.from('c'), timestamp: t0 + 20 }] }));
    const ask = async (timestamp: bigint, version = 7) => {
      const res = await client.request(ApiKey.ListOffsets, version, ListOffsetsRequest, ListOffsetsResponse, {
        replicaId: -1,
        topics: [{ name: 'offsets', partitions: [{ partitionIndex: 0, timestamp }] }],
      });
      return res.topics[0]!.partitions[0]!;
    };
    assert.equal((await ask(-2n)).offset, 0n);
    assert.equal((await ask(-1n)).offset, 3n);
    assert.equal((await ask(BigInt(t0 + 10))).offset, 1n);
    assert.equal((await ask(BigInt(t0 + 10))).timestamp, BigInt(t0 + 50));
    const max = await ask(-3n);
    assert.equal(max.offset, 1n);
    assert.equal(max.timestamp, BigInt(t0 + 50));
    assert.equal((await ask(BigInt(t0 + 1000))).offset, -1n);
  } finally {
    client.close();
  }
});

test('graceful shutdown answers a waiting long poll before closing', async () => {
  const local = await testBroker();
  const client = await RawClient.connect(local.port);
  const create = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name: 'shutdown', numPartitions: 1, replicationFactor: 1 }],
  });
  assert.equal(create.topics[0]!.errorCode, 0);
  const pending = client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
    maxWaitMs: 30_000,
    minBytes: 1,
    topics: [{ topic: 'shutdown', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }],
  });
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await local.close();
  const res = await pending;
  assert.equal(res.responses[0]!.partitions[0]!.errorCode, 0);
  assert.ok(Date.now() - started < 5000);
  assert.equal(await client.waitClosed(), true);
});

test('in-flight limit: requests past it stay unread until earlier ones are answered, then all answer in order', async () => {
  const local = await testBroker({ maxInFlightRequestsPerConnection: 2 });
  const client = await RawClient.connect(local.port);
  try {
    const create = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 'inflight', numPartitions: 1, replicationFactor: 1 }],
    });
    assert.equal(create.topics[0]!.errorCode, 0);
    const frames = [
      client.frame(ApiKey.Fetch, 12, FetchRequest, {
        maxWaitMs: 400,
        minBytes: 1,
        topics: [{ topic: 'inflight', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }],
      }, 1),
    ];
    for (let i = 0; i < 20; i++) frames.push(client.frame(ApiKey.ApiVersions, 3, ApiVersionsRequest, { clientSoftwareName: 'a', clientSoftwareVersion: '1' }, 100 + i));
    client.write(Buffer.concat(frames));
    await new Promise((r) => setTimeout(r, 150));
    const [stats] = local.broker.connectionStats();
    assert.ok(stats!.inFlight <= 2, `in flight ${stats!.inFlight}`);
    assert.ok(stats!.bufferedBytes > 0, 'later requests wait unparsed');
    assert.equal(stats!.readingPaused, true);
    decodeResponse((await client.readFrame())!, ApiKey.Fetch, 12, FetchResponse, 1);
    for (let i = 0; i < 20; i++) decodeResponse((await client.readFrame())!, ApiKey.ApiVersions, 3, ApiVersionsResponse, 100 + i);
  } finally {
    client.close();
    await local.close();
  }
});

test('records are checked where the topic asks: keys on compacted topics, timestamp bounds', async () => {
  const client = await RawClient.connect(broker.port);
  try {
    await createTopic(client, 'compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    const noKey = await encodeBatch({ records: [{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: null, value: Buffer.from('2') }] });
    const refused = (await produce(client, 'compacted', noKey)).responses[0]!.partitionResponses[0]!;
    assert.equal(refused.errorCode, ErrorCode.INVALID_RECORD);
    assert.deepEqual(refused.recordErrors.map((e) => e.batchIndex), [1]);
    assert.match(refused.errorMessage ?? '', /without key/);
    const keyed = await encodeBatch({ records: [{ key: Buffer.from('a'), value: Buffer.from('1') }], compression: 1 });
    assert.equal((await produce(client, 'compacted', keyed)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

    await createTopic(client, 'bounded-time', 1, [{ name: 'message.timestamp.before.max.ms', value: '60000' }]);
    const old = await encodeBatch({ records: [{ value: Buffer.from('old'), timestamp: Date.now() - 3_600_000 }] });
    assert.equal((await produce(client, 'bounded-time', old)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_TIMESTAMP);
    const fresh = await encodeBatch({ records: [{ value: Buffer.from('new') }] });
    assert.equal((await produce(client, 'bounded-time', fresh)).responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

    await createTopic(client, 'append-time', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const before = Date.now();
    const stamped = (await produce(client, 'append-time', old)).responses[0]!.partitionResponses[0]!;
    assert.equal(stamped.errorCode, ErrorCode.NONE);
    assert.ok(Number(stamped.logAppendTimeMs) >= before);
    const res = await client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      topics: [{ topic: 'append-time', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 10000 }] }],
    });
    const { decodeBatch } = await import('../src/protocol/records/record.js');
    const decoded = await decodeBatch(res.responses[0]!.partitions[0]!.records as Buffer);
    assert.equal(decoded.header.timestampType, 1);
    assert.equal(decoded.records[0]!.timestamp, Number(stamped.logAppendTimeMs));
  } finally {
    client.close();
  }
});
