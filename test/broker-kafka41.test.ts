/**
 * The versions Kafka 4.1 clients prefer, through the broker at the wire with our own codec
 * (test/helpers/raw-client.ts): Produce v12/v13 (topic ids), Fetch v18, Metadata v13, DescribeCluster
 * v2, DescribeGroups v6, DescribeTopicPartitions v0; and the versions Kafka 4.0 removed, refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import {
  ApiKey,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
  FetchRequest,
  FetchResponse,
  ListOffsetsRequest,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  ProduceRequest,
  ProduceResponse,
} from '../src/protocol/messages/index.js';
import { encodeBatch, decodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';
import { PARTITIONS_PER_RESPONSE_MAX } from '../src/broker/api/75-describe-topic-partitions.js';
import type { RunningBroker } from '../src/broker/index.js';

let broker: RunningBroker;
let client: RawClient;

before(async () => {
  broker = await testBroker({ autoCreateTopicsEnable: false });
  client = await RawClient.connect(broker.port);
});

after(async () => {
  client.close();
  await broker.close();
});

/** Creates the topic and returns its id. */
async function createTopic(name: string, partitions: number): Promise<string> {
  const res = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1 }],
    timeoutMs: 1000,
  });
  assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE, res.topics[0]!.errorMessage ?? '');
  return res.topics[0]!.topicId;
}

const UNKNOWN_ID = 'AAECAwQFBgcICQoLDA0ODw'; // 00 01 02 … 0f: no topic has it

test('Produce v13 names topics by id: appended, fetched back at v18; an unknown id is UNKNOWN_TOPIC_ID', async () => {
  const id = await createTopic('by-id', 2);
  const batch = await encodeBatch({ records: [{ value: Buffer.from('v13') }] });
  const res = await client.request(ApiKey.Produce, 13, ProduceRequest, ProduceResponse, {
    acks: -1,
    timeoutMs: 1000,
    topicData: [
      { topicId: id, partitionData: [{ index: 1, records: batch }, { index: 7, records: batch }] },
      { topicId: UNKNOWN_ID, partitionData: [{ index: 0, records: batch }] },
    ],
  });
  assert.deepEqual(
    res.responses.map((t) => [t.topicId, t.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset])]),
    [
      [id, [[1, ErrorCode.NONE, 0n], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n]]],
      [UNKNOWN_ID, [[0, ErrorCode.UNKNOWN_TOPIC_ID, -1n]]],
    ],
  );
  // v12 is v11: by name.
  const v12 = await client.request(ApiKey.Produce, 12, ProduceRequest, ProduceResponse, {
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 'by-id', partitionData: [{ index: 1, records: await encodeBatch({ records: [{ value: Buffer.from('v12') }] }) }] }],
  });
  assert.deepEqual(v12.responses.map((t) => [t.name, t.partitionResponses.map((p) => [p.errorCode, p.baseOffset])]), [['by-id', [[ErrorCode.NONE, 1n]]]]);

  const fetched = await client.request(ApiKey.Fetch, 18, FetchRequest, FetchResponse, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topicId: id, partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
  });
  const p = fetched.responses[0]!.partitions[0]!;
  assert.deepEqual([fetched.responses[0]!.topicId, p.errorCode, p.highWatermark], [id, ErrorCode.NONE, 2n]);
  const values: string[] = [];
  let bytes = p.records as Buffer;
  while (bytes.length > 0) {
    const len = bytes.readInt32BE(8) + 12;
    values.push(...(await decodeBatch(bytes.subarray(0, len))).records.map((r) => r.value!.toString()));
    bytes = bytes.subarray(len);
  }
  assert.deepEqual(values, ['v13', 'v12']);
});

test('Metadata v13 answers a top-level error code (NONE) with the topics', async () => {
  const id = await createTopic('meta13', 1);
  const res = await client.request(ApiKey.Metadata, 13, MetadataRequest, MetadataResponse, {
    topics: [{ name: 'meta13' }, { topicId: UNKNOWN_ID, name: null }],
    allowAutoTopicCreation: false,
  });
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.deepEqual(res.topics.map((t) => [t.name, t.topicId, t.errorCode]), [['meta13', id, ErrorCode.NONE], [null, UNKNOWN_ID, ErrorCode.UNKNOWN_TOPIC_ID]]);
});

test('DescribeCluster v2: the broker, not fenced', async () => {
  const res = await client.request(ApiKey.DescribeCluster, 2, DescribeClusterRequest, DescribeClusterResponse, { includeFencedBrokers: true });
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.deepEqual(res.brokers.map((b) => [b.brokerId, b.port, b.isFenced]), [[broker.broker.nodeId, broker.port, false]]);
});

test('DescribeGroups v6: an unknown group is GROUP_ID_NOT_FOUND with a message; before v6 Dead without error', async () => {
  const v6 = await client.request(ApiKey.DescribeGroups, 6, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['nobody'] });
  assert.deepEqual(v6.groups.map((g) => [g.groupId, g.errorCode, g.errorMessage, g.groupState]), [['nobody', ErrorCode.GROUP_ID_NOT_FOUND, 'Group nobody not found.', 'Dead']]);
  const v5 = await client.request(ApiKey.DescribeGroups, 5, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['nobody'] });
  assert.deepEqual(v5.groups.map((g) => [g.errorCode, g.groupState]), [[ErrorCode.NONE, 'Dead']]);
  // A group that exists is described as before.
  const commit = await client.request(ApiKey.OffsetCommit, 9, OffsetCommitRequest, OffsetCommitResponse, {
    groupId: 'someone',
    generationIdOrMemberEpoch: -1,
    topics: [{ name: 'meta13', partitions: [{ partitionIndex: 0, committedOffset: 0n }] }],
  });
  assert.equal(commit.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
  const known = await client.request(ApiKey.DescribeGroups, 6, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['someone'] });
  assert.deepEqual(known.groups.map((g) => [g.errorCode, g.errorMessage, g.groupState]), [[ErrorCode.NONE, null, 'Empty']]);
});

test('DescribeTopicPartitions: named and all topics, sorted, paged by the cursor; unknown and illegal names', async () => {
  const ids = new Map<string, string>();
  for (const [name, n] of [['dtp-b', 3], ['dtp-a', 2], ['dtp-c', 1]] as const) ids.set(name, await createTopic(name, n));
  const ask = (body: Parameters<typeof DescribeTopicPartitionsRequest.encode>[1]) =>
    client.request(ApiKey.DescribeTopicPartitions, 0, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, body);
  const view = (r: DescribeTopicPartitionsResponse) => ({
    topics: r.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)]),
    next: r.nextCursor === null ? null : [r.nextCursor.topicName, r.nextCursor.partitionIndex],
  });

  const named = await ask({ topics: [{ name: 'dtp-c' }, { name: 'dtp-a' }, { name: 'dtp-missing' }, { name: 'bad/name' }] });
  assert.deepEqual(view(named), {
    topics: [
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION, []],
      ['dtp-a', ErrorCode.NONE, [0, 1]],
      ['dtp-c', ErrorCode.NONE, [0]],
      ['dtp-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ],
    next: null,
  });
  const a = named.topics[1]!;
  assert.equal(a.topicId, ids.get('dtp-a'));
  assert.equal(named.topics[3]!.topicId, ZERO_UUID);
  const nodeId = broker.broker.nodeId;
  assert.deepEqual(
    a.partitions.map((p) => [p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes, p.eligibleLeaderReplicas, p.lastKnownElr, p.offlineReplicas]),
    [[nodeId, 0, [nodeId], [nodeId], [], [], []], [nodeId, 0, [nodeId], [nodeId], [], [], []]],
  );
  assert.equal(a.topicAuthorizedOperations, 0b1101_1111_1000, 'READ..DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: every topic operation, no authorizer');

  // All topics from a cursor ('dtp-' sorts before them and is no topic), two partitions a page:
  // a cut topic goes on at its next partition, a topic that no longer fits at partition 0.
  const pages = [];
  let cursor: { topicName: string; partitionIndex: number } | null = { topicName: 'dtp-', partitionIndex: 0 };
  while (cursor !== null && pages.length < 10) {
    const r = await ask({ topics: [], responsePartitionLimit: 2, cursor });
    pages.push(view(r));
    cursor = r.nextCursor;
  }
  assert.deepEqual(pages, [
    { topics: [['dtp-a', ErrorCode.NONE, [0, 1]]], next: ['dtp-b', 0] },
    { topics: [['dtp-b', ErrorCode.NONE, [0, 1]]], next: ['dtp-b', 2] },
    { topics: [['dtp-b', ErrorCode.NONE, [2]], ['dtp-c', ErrorCode.NONE, [0]]], next: ['meta13', 0] },
    { topics: [['meta13', ErrorCode.NONE, [0]]], next: null },
  ]);

  // The cursor's topic must be one of the named topics.
  const bad = await ask({ topics: [{ name: 'dtp-a' }], cursor: { topicName: 'dtp-b', partitionIndex: 0 } });
  assert.deepEqual(bad.topics.map((t) => [t.name, t.errorCode]), [['dtp-a', ErrorCode.INVALID_REQUEST]]);
  // The limit is capped at Kafka's max.request.partition.size.limit default.
  assert.equal(PARTITIONS_PER_RESPONSE_MAX, 2000);
});

test('versions Kafka 4.0 removed (KIP-896) close the connection, as for any unsupported version', async () => {
  for (const [apiKey, version, req, body] of [
    [ApiKey.ListOffsets, 0, ListOffsetsRequest, { topics: [] }],
    [ApiKey.OffsetCommit, 1, OffsetCommitRequest, { groupId: 'g', topics: [] }],
    [ApiKey.Fetch, 3, FetchRequest, { topics: [] }],
  ] as const) {
    const c = await RawClient.connect(broker.port);
    try {
      // Our own codec has no v0 of these any more either: write the frame of a valid version and patch it.
      const frame = c.frame(apiKey, version + 1, req as never, body as never, 1);
      frame.writeInt16BE(version, 6);
      c.write(frame);
      assert.equal(await c.readFrame(), null, `${apiKey} v${version}`);
    } finally {
      c.close();
    }
  }
});
