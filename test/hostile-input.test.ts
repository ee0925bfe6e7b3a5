/**
 * The hostile-input limits one by one (src/base/limits.ts), in process: the reader's element
 * budget, the writer's size limit, the record decoder's header and element limits, duplicates
 * answered as Kafka answers them (Metadata, Produce, Fetch; ListOffsets INVALID_REQUEST), the log line naming the
 * client of a refused request, and topic names that collide once '.' and '_' are unified.
 * test/adversarial-*.test.ts run the same classes against a broker process under load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../src/protocol/codec/reader.js';
import { Writer } from '../src/protocol/codec/writer.js';
import { DecodeLimitError, EncodeLimitError } from '../src/protocol/codec/errors.js';
import { BATCH_DECODED_ELEMENTS_MAX, RECORD_HEADERS_MAX, REQUEST_DECODED_ELEMENTS_MAX, requestElementBudget } from '../src/base/limits.js';
import { decodeBatch, decodeRecords, encodeBatch } from '../src/protocol/records/record.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { RecordsError, INVALID_RECORD } from '../src/protocol/records/errors.js';
import { Compression } from '../src/protocol/records/compression.js';
import { headerBomb, recordBomb } from './helpers/adversarial.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { createLogger } from '../src/broker/logger.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '../src/protocol/messages/list-offsets.js';
import { OffsetFetchRequest } from '../src/protocol/messages/offset-fetch.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

test('the request element budget: proportional to the request size, capped', () => {
  assert.equal(requestElementBudget(0), 1000);
  assert.equal(requestElementBudget(80_000), 11_000);
  assert.equal(requestElementBudget(100 * 1024 * 1024), REQUEST_DECODED_ELEMENTS_MAX);
});

test('Reader.limitElements: counts every array (nested too) and refuses before allocating', () => {
  const w = new Writer();
  w.arrayLength(3);
  for (let i = 0; i < 3; i++) w.arrayLength(2).int8(1).int8(2);
  const bytes = w.toBuffer();
  const read = (limit: number) => {
    const r = new Reader(bytes).limitElements(limit);
    const outer = r.arrayLength(1);
    for (let i = 0; i < outer; i++) {
      const inner = r.arrayLength(1);
      for (let j = 0; j < inner; j++) r.int8();
    }
    return r.elementsDecoded;
  };
  assert.equal(read(9), 9);
  assert.throws(() => read(8), DecodeLimitError);
  // A count within the bytes left but past the budget fails on the count itself.
  const big = new Writer().compactArrayLength(5000).raw(Buffer.alloc(5000)).toBuffer();
  assert.throws(() => new Reader(big).limitElements(4999).compactArrayLength(1), /past the request's limit of 4999/);
});

test('primitive arrays are charged their wire size: a consumer\'s OffsetFetch of 20,000 partition indexes fits its budget', () => {
  // An int32 partition index is 4 bytes on the wire and a number in an array once decoded, not an
  // object: charging it a whole element would close real clients with many partitions (an
  // OffsetFetch or AddPartitionsToTxn listing thousands of one topic's partitions).
  const w = new Writer();
  OffsetFetchRequest.encode(w, { groupId: 'g', topics: [{ name: 't', partitionIndexes: Array.from({ length: 20_000 }, (_, i) => i) }] }, 7);
  const bytes = w.toBuffer();
  const r = new Reader(bytes).limitElements(requestElementBudget(bytes.length));
  const req = OffsetFetchRequest.decode(r, 7);
  assert.equal(req.topics![0]!.partitionIndexes.length, 20_000);
  assert.equal(r.elementsDecoded, 1 + 10_000, 'one topic, and 20,000 int32s charged as 80,000 bytes / 8');
  // Struct elements are still charged one each: 20,000 topics of the same size do not fit.
  const w2 = new Writer();
  MetadataRequest.encode(w2, { topics: new Array(20_000).fill({ name: '' }) }, 1);
  const meta = w2.toBuffer();
  assert.throws(() => MetadataRequest.decode(new Reader(meta).limitElements(requestElementBudget(meta.length)), 1), DecodeLimitError);
});

test('Writer.limitBytes: refuses to grow past the limit', () => {
  const w = new Writer().limitBytes(64 * 1024);
  assert.throws(() => {
    for (let i = 0; i < 100_000; i++) w.int32(i);
  }, EncodeLimitError);
  assert.ok(w.length <= 64 * 1024 + 8192, `${w.length} bytes written (the limit, plus at most the chunk in use)`);
  assert.throws(() => new Writer().limitBytes(1000).raw(Buffer.alloc(4096)), EncodeLimitError);
});

test('record decoding: headers per record and records plus headers per batch are limited', async () => {
  const tooManyHeaders = await headerBomb(RECORD_HEADERS_MAX + 1);
  await assert.rejects(decodeBatch(tooManyHeaders), (e: unknown) => e instanceof RecordsError && e.errorCode === INVALID_RECORD && /record headers are more than/.test(e.message));
  const okHeaders = await decodeBatch(await headerBomb(RECORD_HEADERS_MAX));
  assert.equal(okHeaders.records[0]!.headers.length, RECORD_HEADERS_MAX);
  // Records over the limit are refused on the batch header's count, before decompressing.
  const manyRecords = await recordBomb(BATCH_DECODED_ELEMENTS_MAX + 1);
  await assert.rejects(decodeBatch(manyRecords), /more than the 500000 records a batch may hold/);
  // Records plus headers over the limit are refused while decoding.
  const mixed = await recordBomb(BATCH_DECODED_ELEMENTS_MAX / 2 + 1, 1);
  await assert.rejects(decodeBatch(mixed), /take the batch past 500000 records and headers/);
  // The synchronous decoder applies the same limits.
  const plain = await encodeBatch({ records: [{ value: Buffer.from('x'), headers: Array.from({ length: RECORD_HEADERS_MAX + 1 }, () => ({ key: '', value: null })) }], compression: Compression.none });
  assert.throws(() => decodeRecords(readBatchHeader(plain), plain.subarray(61)), /record headers are more than/);
});

test('a request past its element budget closes the connection with one log line naming the client', async () => {
  const lines: string[] = [];
  const b = await testBroker({ logger: createLogger('warn', (l) => lines.push(l)) });
  try {
    const c = await RawClient.connect(b.port);
    c.write(c.frame(ApiKey.Metadata, 1, MetadataRequest, { topics: new Array(500_000).fill({ name: '' }) }, 5, 'greedy-client'));
    assert.equal(await c.readFrame(), null, 'closed without an answer');
    const logged = lines.filter((l) => l.includes('greedy-client'));
    assert.equal(logged.length, 1, lines.join('\n'));
    assert.match(logged[0]!, /WARN connection 127\.0\.0\.1:\d+ \(client id "greedy-client"\): MetadataRequest v1 of \d+ bytes: array of 500000 elements is past the request's limit of \d+ decoded elements; closing/);
    const ok = await RawClient.connect(b.port);
    const meta = await ok.request(ApiKey.Metadata, 1, MetadataRequest, MetadataResponse, { topics: [] });
    assert.equal(meta.topics.length, 0);
    ok.close();
  } finally {
    await b.close();
  }
});

test('duplicates: Metadata answers a topic once; Produce and Fetch a partition once (last occurrence); ListOffsets refuses a repeat', async () => {
  const b = await testBroker();
  try {
    const c = await RawClient.connect(b.port);
    const created = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, { topics: [{ name: 'dup', numPartitions: 2, replicationFactor: 1 }] });
    assert.equal(created.topics[0]!.errorCode, 0);
    const meta = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 'dup' }, { name: 'dup' }, { name: 'nope' }, { name: 'nope' }], allowAutoTopicCreation: false });
    assert.deepEqual(meta.topics.map((t) => [t.name, t.errorCode]), [['dup', 0], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);

    const first = await encodeBatch({ records: [{ value: Buffer.from('first') }] });
    const last = await encodeBatch({ records: [{ value: Buffer.from('last') }, { value: Buffer.from('last') }] });
    const produced = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'dup', partitionData: [{ index: 0, records: first }, { index: 1, records: first }] },
        { name: 'dup', partitionData: [{ index: 0, records: last }] },
      ],
    });
    assert.equal(produced.responses.length, 1);
    assert.deepEqual(produced.responses[0]!.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]), [[0, 0, 0n], [1, 0, 0n]]);

    const fetched = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'dup', partitions: [{ partition: 0, fetchOffset: 5n, partitionMaxBytes: 1 << 20 }, { partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    assert.equal(fetched.responses[0]!.partitions.length, 1);
    const p0 = fetched.responses[0]!.partitions[0]!;
    assert.equal(p0.errorCode, 0, 'read at the last occurrence\'s offset 0, not 5');
    assert.equal(p0.highWatermark, 2n, 'only the last of the duplicate batches (two records) was appended');

    const v1 = await c.request(ApiKey.ListOffsets, 1, ListOffsetsRequest, ListOffsetsResponse, {
      replicaId: -1,
      topics: [{ name: 'dup', partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 0, timestamp: -1n }] }],
    });
    assert.deepEqual(v1.topics[0]!.partitions.map((p) => p.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    c.close();
  } finally {
    await b.close();
  }
});

test('topic names that collide once "." and "_" are unified are refused, in CreateTopics and auto-creation', async () => {
  const b = await testBroker();
  try {
    const c = await RawClient.connect(b.port);
    const create = (name: string) => c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }] });
    assert.equal((await create('a.b_c-1')).topics[0]!.errorCode, 0);
    const second = (await create('a_b.c-1')).topics[0]!;
    assert.equal(second.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(second.errorMessage, "Topic 'a_b.c-1' collides with existing topic: a.b_c-1");
    assert.equal((await create('a_b_c-1')).topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const meta = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 'a.b.c-1' }], allowAutoTopicCreation: true });
    assert.equal(meta.topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    // Once the first is deleted the name is free again.
    assert.equal((await create('x.y')).topics[0]!.errorCode, 0);
    const { DeleteTopicsRequest, DeleteTopicsResponse } = await import('../src/protocol/messages/delete-topics.js');
    const deleted = await c.request(ApiKey.DeleteTopics, 6, DeleteTopicsRequest, DeleteTopicsResponse, { topics: [{ name: 'x.y' }], timeoutMs: 5000 });
    assert.equal(deleted.responses[0]!.errorCode, 0);
    assert.equal((await create('x_y')).topics[0]!.errorCode, 0);
    c.close();
  } finally {
    await b.close();
  }
});
