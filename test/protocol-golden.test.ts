/**
 * Golden bytes from an independent implementation: kafkajs 2.2.4's request encoders (and a couple of
 * its response decoders). Our decoders must read kafkajs's frames into exactly what was sent, and our
 * encoders must write byte-identical frames for the same content.
 *
 * kafkajs stops before the flexible versions; test/protocol-golden-capture.test.ts checks the
 * versions clients send today against frames captured from the Java client, librdkafka and Kafka.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { crc32c } from '@node-rs/crc32';
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  FetchRequest,
  ListOffsetsRequest,
  MetadataRequest,
  MetadataResponse,
  ProduceRequest,
  RequestHeader,
  requestHeaderVersion,
} from '../src/protocol/messages/index.js';
import type { Init, MessageCodec } from '../src/protocol/codec/message.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { Writer } from '../src/protocol/codec/writer.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
}
type RequestFactory = (args?: unknown) => KafkajsRequest;

const frameRequest = require('kafkajs/src/protocol/request') as (args: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<{ buffer: Buffer }>;

function kafkajsRequest(api: string, version: number): RequestFactory {
  return require(`kafkajs/src/protocol/requests/${api}/v${version}/request`) as RequestFactory;
}

const CORRELATION_ID = 0x01020304;
const CLIENT_ID = 'rafka-golden';

/**
 * Frame `args` with kafkajs, decode it with our header + body codecs, compare with `expected`, then
 * encode `expected` (and `input`, a partial value relying on defaults, when given) and compare bytes.
 */
async function golden<T>(
  api: string,
  version: number,
  args: unknown,
  codec: MessageCodec<T>,
  expected: T,
  input?: Init<T>,
): Promise<T> {
  const req = kafkajsRequest(api, version)(args);
  assert.equal(req.apiKey, codec.apiKey);
  assert.equal(req.apiVersion, version);
  const frame = (await frameRequest({ correlationId: CORRELATION_ID, clientId: CLIENT_ID, request: req })).buffer;

  const r = new Reader(frame);
  assert.equal(r.int32(), frame.length - 4);
  const hv = requestHeaderVersion(req.apiKey, version);
  assert.equal(hv, 1);
  const header = RequestHeader.decode(r, hv);
  assert.deepStrictEqual(header, {
    requestApiKey: req.apiKey,
    requestApiVersion: version,
    correlationId: CORRELATION_ID,
    clientId: CLIENT_ID,
  });
  const body = codec.decode(r, version);
  assert.equal(r.remaining, 0, 'kafkajs frame not fully consumed');
  assert.deepStrictEqual(body, expected);

  for (const value of input === undefined ? [expected as Init<T>] : [expected as Init<T>, input]) {
    const w = new Writer();
    w.int32(0); // size placeholder
    RequestHeader.encode(w, header, hv);
    codec.encode(w, value, version);
    const ours = w.toBuffer();
    ours.writeInt32BE(ours.length - 4, 0);
    assert.equal(ours.toString('hex'), frame.toString('hex'), `${codec.name} v${version}: bytes differ from kafkajs`);
  }
  return body;
}

test('ApiVersions v0-v2 (empty bodies)', async () => {
  for (const v of [0, 1, 2]) {
    await golden('apiVersions', v, undefined, ApiVersionsRequest, { clientSoftwareName: '', clientSoftwareVersion: '' }, {});
  }
});

test('Metadata v0, v1 (empty list = null = all topics), v4, v6', async () => {
  const topic = (name: string) => ({ topicId: ZERO_UUID, name });
  const rest = { allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
  await golden('metadata', 0, { topics: ['a', 'bb'] }, MetadataRequest, { topics: [topic('a'), topic('bb')], ...rest }, {
    topics: [{ name: 'a' }, { name: 'bb' }],
  });
  await golden('metadata', 1, { topics: ['orders'] }, MetadataRequest, { topics: [topic('orders')], ...rest });
  await golden('metadata', 1, { topics: [] }, MetadataRequest, { topics: null, ...rest }, { topics: null });
  await golden('metadata', 4, { topics: ['a'], allowAutoTopicCreation: false }, MetadataRequest, {
    ...rest,
    topics: [topic('a')],
    allowAutoTopicCreation: false,
  });
  await golden('metadata', 6, { topics: ['x', 'y', 'z'] }, MetadataRequest, { topics: ['x', 'y', 'z'].map(topic), ...rest });
});

/** The record batch kafkajs's produce encoder builds for `messages` (explicit timestamps: deterministic). */
async function kafkajsBatch(messages: { key: string; value: string; timestamp: number; headers?: Record<string, string> }[]) {
  const Long = require('kafkajs/src/utils/long');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
  const ts = messages.map((m) => m.timestamp).sort();
  const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - ts[0]! }));
  const batch = await RecordBatch({
    compression: 0,
    records,
    firstTimestamp: ts[0],
    maxTimestamp: ts[ts.length - 1],
    producerId: Long.fromInt(-1),
    producerEpoch: 0,
    transactional: false,
    lastOffsetDelta: records.length - 1,
  });
  return batch.buffer as Buffer;
}

function checkBatch(b: Buffer, count: number): void {
  assert.equal(b.readBigInt64BE(0), 0n); // baseOffset
  assert.equal(b.readInt32BE(8), b.length - 12); // batchLength
  assert.equal(b.readInt8(16), 2); // magic
  assert.equal(b.readUInt32BE(17), crc32c(b.subarray(21))); // CRC-32C over attributes..end
  assert.equal(b.readInt32BE(57), count); // recordsCount
}

test('Produce v3 and v7 with a record batch', async () => {
  const messages = [
    { key: 'k1', value: 'hello', timestamp: 1_700_000_000_000, headers: { h: 'v' } },
    { key: 'k2', value: 'world', timestamp: 1_700_000_000_005 },
  ];
  const batch = await kafkajsBatch(messages);
  checkBatch(batch, 2);
  for (const v of [3, 7]) {
    const args = {
      acks: -1,
      timeout: 30000,
      topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages }] }],
    };
    const body = await golden('produce', v, args, ProduceRequest, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'orders', topicId: ZERO_UUID, partitionData: [{ index: 2, records: batch }] }],
    });
    checkBatch(body.topicData[0]!.partitionData[0]!.records as Buffer, 2);
  }
  // Transactional: TransactionalId set, and the batch's transactional bit (attributes bit 4).
  const req = kafkajsRequest('produce', 3)({
    acks: -1,
    timeout: 1000,
    transactionalId: 'tx-1',
    topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [messages[0]] }] }],
  });
  const body = ProduceRequest.decode(new Reader((await req.encode()).buffer), 3);
  assert.equal(body.transactionalId, 'tx-1');
  const rec = body.topicData[0]!.partitionData[0]!.records as Buffer;
  checkBatch(rec, 1);
  assert.equal(rec.readInt16BE(21) & 0x10, 0x10);
});

test('Fetch v4 and v11', async () => {
  const partition = {
    partition: 0,
    currentLeaderEpoch: -1,
    fetchOffset: 0n,
    lastFetchedEpoch: -1,
    logStartOffset: -1n,
    partitionMaxBytes: 0,
    replicaDirectoryId: ZERO_UUID,
    highWatermark: 9223372036854775807n,
  };
  const base = {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 5000,
    minBytes: 1,
    maxBytes: 10485760,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    forgottenTopicsData: [],
    rackId: '',
  };
  await golden(
    'fetch',
    4,
    {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: '42', maxBytes: 1048576 }, { partition: 1, fetchOffset: '7', maxBytes: 1048576 }] }],
    },
    FetchRequest,
    {
      ...base,
      topics: [{
        topic: 'orders',
        topicId: ZERO_UUID,
        partitions: [
          { ...partition, partition: 0, fetchOffset: 42n, partitionMaxBytes: 1048576 },
          { ...partition, partition: 1, fetchOffset: 7n, partitionMaxBytes: 1048576 },
        ],
      }],
    },
    {
      replicaId: -1,
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 42n, partitionMaxBytes: 1048576 }, { partition: 1, fetchOffset: 7n, partitionMaxBytes: 1048576 }] }],
    },
  );
  await golden(
    'fetch',
    11,
    {
      replicaId: -1,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 0,
      sessionId: 12,
      sessionEpoch: 3,
      rackId: 'rack-a',
      topics: [{ topic: 'a', partitions: [{ partition: 3, currentLeaderEpoch: 5, fetchOffset: '9007199254740993', logStartOffset: '1', maxBytes: 100 }] }],
      forgottenTopics: [{ topic: 'old', partitions: [1, 2] }],
    },
    FetchRequest,
    {
      ...base,
      maxWaitMs: 100,
      maxBytes: 52428800,
      isolationLevel: 0,
      sessionId: 12,
      sessionEpoch: 3,
      rackId: 'rack-a',
      topics: [{
        topic: 'a',
        topicId: ZERO_UUID,
        partitions: [{ ...partition, partition: 3, currentLeaderEpoch: 5, fetchOffset: 9007199254740993n, logStartOffset: 1n, partitionMaxBytes: 100 }],
      }],
      forgottenTopicsData: [{ topic: 'old', topicId: ZERO_UUID, partitions: [1, 2] }],
    },
  );
});

test('ListOffsets v1 and v3', async () => {
  const p = { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n };
  await golden(
    'listOffsets',
    1,
    { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0, timestamp: -2 }, { partition: 1 }] }] },
    ListOffsetsRequest,
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 't', partitions: [{ ...p, timestamp: -2n }, { ...p, partitionIndex: 1 }] }],
      timeoutMs: 0,
    },
  );
  await golden(
    'listOffsets',
    3,
    { replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 4, timestamp: '1700000000000' }] }] },
    ListOffsetsRequest,
    {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: 't', partitions: [{ ...p, partitionIndex: 4, timestamp: 1700000000000n }] }],
      timeoutMs: 0,
    },
  );
});

test('CreateTopics v2 and v3', async () => {
  const topics = [
    {
      topic: 'orders',
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: null }],
    },
    { topic: 'manual', replicaAssignment: [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [2] }] },
  ];
  const expectedTopics = [
    {
      name: 'orders',
      numPartitions: 3,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: null }],
    },
    {
      name: 'manual',
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2] }],
      configs: [],
    },
  ];
  await golden('createTopics', 2, { topics, timeout: 5000 }, CreateTopicsRequest, {
    topics: expectedTopics,
    timeoutMs: 5000,
    validateOnly: false,
  });
  await golden('createTopics', 3, { topics, timeout: 1000, validateOnly: true }, CreateTopicsRequest, {
    topics: expectedTopics,
    timeoutMs: 1000,
    validateOnly: true,
  });
});

// The other direction: kafkajs's response decoders read what our encoders write.

test('kafkajs decodes our ApiVersions and Metadata responses', async () => {
  const apiVersions = [
    { apiKey: 0, minVersion: 0, maxVersion: 11 },
    { apiKey: 18, minVersion: 0, maxVersion: 4 },
  ];
  for (const v of [0, 1, 2]) {
    const w = new Writer();
    ApiVersionsResponse.encode(w, { errorCode: 0, apiKeys: apiVersions, throttleTimeMs: 0 }, v);
    const { decode, parse } = require(`kafkajs/src/protocol/requests/apiVersions/v${v}/response`);
    const parsed = await parse(await decode(w.toBuffer()));
    assert.equal(parsed.errorCode, 0);
    assert.deepEqual(parsed.apiVersions, apiVersions);
  }

  const w = new Writer();
  MetadataResponse.encode(
    w,
    {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
      clusterId: 'cluster-1',
      controllerId: 1,
      topics: [{
        errorCode: 0,
        name: 'orders',
        isInternal: false,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
      }],
    },
    5,
  );
  const { decode, parse } = require('kafkajs/src/protocol/requests/metadata/v5/response');
  const parsed = await parse(await decode(w.toBuffer()));
  assert.deepEqual(parsed.brokers, [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }]);
  assert.equal(parsed.clusterId, 'cluster-1');
  assert.equal(parsed.controllerId, 1);
  assert.deepEqual(parsed.topicMetadata, [{
    topicErrorCode: 0,
    topic: 'orders',
    isInternal: false,
    partitionMetadata: [{ partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] }],
  }]);
});
