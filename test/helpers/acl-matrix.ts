/**
 * The ACL matrix shared by test/security-acls.test.ts (Rafka alone, fast) and
 * test/slow/acl-matrix-kafka.test.ts (the same raw requests against Apache Kafka 4.1.1 with the
 * StandardAuthorizer and against Rafka, side by side). The setup is the same on both brokers: the
 * super user `admin` creates the topics `t` and `open` and the ACLs below; `alice` then holds the
 * permissions each API needs and `bob` holds none, both logged in with SASL PLAIN. The expected
 * answers are the ones Kafka 4.1.1 gave to these exact requests (the slow test checks they still do).
 *
 * Cases run in order and some build on earlier ones (the transaction cases use the producer id the
 * transactional InitProducerId returned; DeleteTopics removes what Metadata auto-created), so a run
 * is the whole list against fresh brokers.
 */
import assert from 'node:assert/strict';
import type { StartBrokerOptions } from '../../src/broker/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { encodeBatch } from '../../src/protocol/records/record.js';
import { ZERO_UUID } from '../../src/protocol/codec/uuid.js';
import {
  AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
  AlterClientQuotasRequest, AlterClientQuotasResponse, AlterConfigsRequest, AlterConfigsResponse,
  AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey, ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, CreateAclsRequest,
  CreateAclsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
  DeleteAclsRequest, DeleteAclsResponse, DeleteGroupsRequest, DeleteGroupsResponse, DeleteRecordsRequest,
  DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeAclsRequest, DescribeAclsResponse,
  DescribeClientQuotasRequest, DescribeClientQuotasResponse, DescribeClusterRequest, DescribeClusterResponse,
  DescribeConfigsRequest, DescribeConfigsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
  DescribeProducersRequest, DescribeProducersResponse, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
  DescribeTransactionsRequest, DescribeTransactionsResponse, DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse, EndTxnRequest, EndTxnResponse, FetchRequest, FetchResponse,
  FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
  IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, InitProducerIdRequest, InitProducerIdResponse,
  JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse,
  ListOffsetsRequest, ListOffsetsResponse, ListTransactionsRequest, ListTransactionsResponse, MetadataRequest,
  MetadataResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
  OffsetFetchRequest, OffsetFetchResponse, ProduceRequest, ProduceResponse, SaslAuthenticateRequest,
  SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, SyncGroupRequest, SyncGroupResponse,
  TxnOffsetCommitRequest, TxnOffsetCommitResponse,
} from '../../src/protocol/messages/index.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType as R } from '../../src/broker/security/acls.js';
import { RawClient } from './raw-client.js';

export const MATRIX_PASSWORD = 'secret-pw-1234';
export const MATRIX_USERS = ['admin', 'alice', 'bob'].map((name) => ({ name, password: `${name}-${MATRIX_PASSWORD}`, mechanisms: ['PLAIN' as const] }));

/** Rafka's settings for the matrix: a SASL_PLAINTEXT listener with PLAIN users, the authorizer on, `admin` super user. */
export function matrixBrokerOptions(extra: Partial<StartBrokerOptions> = {}): StartBrokerOptions {
  return {
    listeners: ['SASL_PLAINTEXT://127.0.0.1:0', 'PLAINTEXT://127.0.0.1:0'],
    saslEnabledMechanisms: ['PLAIN'],
    saslUsers: MATRIX_USERS,
    authorizerEnabled: true,
    superUsers: 'User:admin',
    connectionFailedAuthenticationDelayMs: 0,
    ...extra,
  };
}

/**
 * Kafka's equivalent (server.properties lines beside a SASL_PLAINTEXT listener). `User:ANONYMOUS` is
 * a super user there too because Kafka's own PLAINTEXT listener carries the controller and
 * inter-broker traffic of the combined node and the launcher's start-up probe; the matrix never uses it.
 */
export function kafkaMatrixProps(): string[] {
  const users = MATRIX_USERS.map((u) => `user_${u.name}="${u.password}"`).join(' ');
  return [
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:admin;User:ANONYMOUS',
    'sasl.enabled.mechanisms=PLAIN',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-${MATRIX_PASSWORD}" ${users};`,
    'offsets.topic.num.partitions=1',
    'transaction.state.log.num.partitions=1',
  ];
}

export async function loginPlain(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
  assert.equal(hs.errorCode, ErrorCode.NONE);
  const auth = await c.request(ApiKey.SaslAuthenticate, 2, SaslAuthenticateRequest, SaslAuthenticateResponse, {
    authBytes: Buffer.from(`\u0000${user}\u0000${user}-${MATRIX_PASSWORD}`),
  });
  assert.equal(auth.errorCode, ErrorCode.NONE, `login of ${user}`);
  return c;
}

export type Acl = { type: number; name: string; op: number; pattern?: number; principal?: string; host?: string; deny?: boolean };

export async function createAcls(c: RawClient, acls: Acl[]): Promise<number[]> {
  const res = await c.request(ApiKey.CreateAcls, 3, CreateAclsRequest, CreateAclsResponse, {
    creations: acls.map((a) => ({
      resourceType: a.type,
      resourceName: a.name,
      resourcePatternType: a.pattern ?? PatternType.LITERAL,
      principal: a.principal ?? 'User:alice',
      host: a.host ?? '*',
      operation: a.op,
      permissionType: a.deny ? AclPermission.DENY : AclPermission.ALLOW,
    })),
  });
  return res.results.map((r) => r.errorCode);
}

export const MATRIX_TOPICS = ['t', 'open'];

export const MATRIX_ACLS: Acl[] = [
  { type: R.TOPIC, name: 't', op: Op.READ },
  { type: R.TOPIC, name: 't', op: Op.WRITE },
  { type: R.TOPIC, name: 't', op: Op.ALTER_CONFIGS },
  { type: R.TOPIC, name: 'alice-', op: Op.ALL, pattern: PatternType.PREFIXED },
  { type: R.GROUP, name: 'g', op: Op.READ },
  { type: R.GROUP, name: 'g', op: Op.DELETE },
  { type: R.GROUP, name: 'alice-', op: Op.ALL, pattern: PatternType.PREFIXED },
  { type: R.TRANSACTIONAL_ID, name: 'tx-a', op: Op.WRITE },
  { type: R.CLUSTER, name: 'kafka-cluster', op: Op.DESCRIBE },
  // DENY wins: everyone may read `open`, except alice.
  { type: R.TOPIC, name: 'open', op: Op.READ, principal: 'User:*' },
  { type: R.TOPIC, name: 'open', op: Op.READ, deny: true },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` until it returns true: Kafka applies topics and ACLs through its metadata log, after the answer. */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * The super user's setup: the topics, the ACLs, and the group and transaction coordinators loaded
 * (Kafka creates and loads __consumer_offsets and __transaction_state on first use and answers
 * COORDINATOR_NOT_AVAILABLE meanwhile, which is not what the matrix is about).
 */
export async function prepareMatrix(admin: RawClient): Promise<void> {
  const created = await admin.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: MATRIX_TOPICS.map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 5000,
  });
  assert.deepEqual(created.topics.map((t) => t.errorCode), MATRIX_TOPICS.map(() => ErrorCode.NONE));
  await until('the topics', async () => {
    const md = await admin.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: MATRIX_TOPICS.map((name) => ({ name })), allowAutoTopicCreation: false });
    return md.topics.every((t) => t.errorCode === ErrorCode.NONE && t.partitions.every((p) => p.leaderId >= 0));
  });
  assert.deepEqual(await createAcls(admin, MATRIX_ACLS), MATRIX_ACLS.map(() => ErrorCode.NONE));
  await until('the ACLs', async () => {
    const d = await admin.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, {
      resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY,
    });
    return d.resources.reduce((n, r) => n + r.acls.length, 0) >= MATRIX_ACLS.length;
  });
  for (const keyType of [0, 1]) {
    await until(`the ${keyType === 0 ? 'group' : 'transaction'} coordinator`, async () => {
      const r = await admin.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType, coordinatorKeys: ['warm-up'] });
      return r.coordinators[0]!.errorCode === ErrorCode.NONE;
    }, 60_000);
  }
  await until('the transaction coordinator loaded', async () => {
    const r = await admin.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: 'warm-up', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    return r.errorCode === ErrorCode.NONE;
  }, 60_000);
}

/** What one principal's earlier cases left for later ones. */
export interface MatrixState {
  producerId: bigint;
  producerEpoch: number;
}

/** One API's check: what the request answers, reduced to the error codes (and listings) that matter. */
export interface MatrixCase {
  api: string;
  call(c: RawClient, s: MatrixState): Promise<unknown>;
  /** Kafka 4.1.1's answer for alice (the needed permission) and for bob (none). */
  allowed: unknown;
  denied: unknown;
  /**
   * Where Kafka answers otherwise for a reason that is not authorization, its answers and why Rafka
   * keeps its own (docs/security.md lists these); the slow test checks Kafka still answers so.
   */
  kafka?: { allowed: unknown; denied: unknown; why: string };
}

export function fetchCode(c: RawClient, topic: string): Promise<number> {
  return c
    .request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    })
    .then((r) => r.responses[0]!.partitions[0]!.errorCode);
}

const anyAcl = { resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY };
const unique = () => Math.random().toString(36).slice(2);
const E = ErrorCode;

/** A new member's first ConsumerGroupHeartbeat (KIP-848) subscribing to `topic`: its error code. */
async function joinConsumerGroup(c: RawClient, groupId: string, topic: string): Promise<number> {
  const r = await c.request(ApiKey.ConsumerGroupHeartbeat, 0, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
    groupId, memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 10000, subscribedTopicNames: [topic], serverAssignor: null, topicPartitions: [],
  });
  return r.errorCode;
}

export const MATRIX_CASES: MatrixCase[] = [
  {
    api: 'Metadata (named topic)',
    call: async (c) => (await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 't' }], allowAutoTopicCreation: false })).topics.map((t) => t.errorCode),
    allowed: [E.NONE],
    denied: [E.TOPIC_AUTHORIZATION_FAILED],
  },
  {
    api: 'Metadata (all topics: hides what may not be described)',
    call: async (c) => (await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null })).topics.map((t) => t.name).sort(),
    allowed: ['open', 't'],
    denied: ['open'],
  },
  {
    api: 'Metadata (auto-creation needs CREATE)',
    call: async (c) => (await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 'alice-auto' }], allowAutoTopicCreation: true })).topics.map((t) => t.errorCode),
    allowed: [E.NONE],
    denied: [E.TOPIC_AUTHORIZATION_FAILED],
    kafka: {
      allowed: [E.UNKNOWN_TOPIC_OR_PARTITION],
      denied: [E.TOPIC_AUTHORIZATION_FAILED],
      why: 'Kafka creates the topic through its controller after answering (a retriable error the client retries); Rafka has created it when it answers',
    },
  },
  {
    api: 'Produce',
    call: async (c) => {
      const records = await encodeBatch({ records: [{ value: Buffer.from('v'), timestamp: Date.now() }] });
      const r = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] });
      return r.responses[0]!.partitionResponses[0]!.errorCode;
    },
    allowed: E.NONE,
    denied: E.TOPIC_AUTHORIZATION_FAILED,
  },
  { api: 'Fetch', call: (c) => fetchCode(c, 't'), allowed: E.NONE, denied: E.TOPIC_AUTHORIZATION_FAILED },
  { api: 'Fetch (DENY READ wins over a User:* ALLOW)', call: (c) => fetchCode(c, 'open'), allowed: E.TOPIC_AUTHORIZATION_FAILED, denied: E.NONE },
  {
    api: 'ListOffsets',
    call: async (c) =>
      (await c.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, { replicaId: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })).topics[0]!
        .partitions[0]!.errorCode,
    allowed: E.NONE,
    denied: E.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    api: 'DescribeTopicPartitions',
    call: async (c) =>
      (await c.request(ApiKey.DescribeTopicPartitions, 0, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, { topics: [{ name: 't' }], responsePartitionLimit: 100, cursor: null })).topics.map((t) => [t.name, t.errorCode]),
    allowed: [['t', E.NONE]],
    denied: [['t', E.TOPIC_AUTHORIZATION_FAILED]],
  },
  {
    api: 'FindCoordinator (group)',
    call: async (c) => (await c.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType: 0, coordinatorKeys: ['g'] })).coordinators[0]!.errorCode,
    allowed: E.NONE,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'FindCoordinator (transaction)',
    call: async (c) => (await c.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType: 1, coordinatorKeys: ['tx-a'] })).coordinators[0]!.errorCode,
    allowed: E.NONE,
    denied: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    api: 'OffsetCommit',
    call: async (c) =>
      (await c.request(ApiKey.OffsetCommit, 8, OffsetCommitRequest, OffsetCommitResponse, {
        groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      })).topics[0]!.partitions[0]!.errorCode,
    allowed: E.NONE,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'OffsetFetch',
    call: async (c) => (await c.request(ApiKey.OffsetFetch, 8, OffsetFetchRequest, OffsetFetchResponse, { groups: [{ groupId: 'g', topics: null }] })).groups[0]!.errorCode,
    allowed: E.NONE,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'DescribeGroups',
    call: async (c) => (await c.request(ApiKey.DescribeGroups, 5, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['g'], includeAuthorizedOperations: true })).groups.map((g) => [g.errorCode, g.authorizedOperations]),
    allowed: [[E.NONE, (1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.DELETE)]],
    denied: [[E.GROUP_AUTHORIZATION_FAILED, -2147483648]],
  },
  {
    api: 'ListGroups (all with CLUSTER DESCRIBE, else what may be described)',
    call: async (c) => (await c.request(ApiKey.ListGroups, 4, ListGroupsRequest, ListGroupsResponse, { statesFilter: [] })).groups.map((g) => g.groupId).sort(),
    allowed: ['g'],
    denied: [],
  },
  {
    api: 'JoinGroup (READ on the group)',
    call: async (c) =>
      (await c.request(ApiKey.JoinGroup, 5, JoinGroupRequest, JoinGroupResponse, {
        groupId: 'alice-join', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      })).errorCode,
    allowed: E.MEMBER_ID_REQUIRED,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'SyncGroup',
    call: async (c) =>
      (await c.request(ApiKey.SyncGroup, 3, SyncGroupRequest, SyncGroupResponse, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, assignments: [] })).errorCode,
    allowed: E.UNKNOWN_MEMBER_ID,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'Heartbeat',
    call: async (c) => (await c.request(ApiKey.Heartbeat, 4, HeartbeatRequest, HeartbeatResponse, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode,
    allowed: E.UNKNOWN_MEMBER_ID,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'LeaveGroup',
    call: async (c) => {
      const r = await c.request(ApiKey.LeaveGroup, 3, LeaveGroupRequest, LeaveGroupResponse, { groupId: 'g', members: [{ memberId: 'm', groupInstanceId: null }] });
      return [r.errorCode, r.members.map((m) => m.errorCode)];
    },
    allowed: [E.NONE, [E.UNKNOWN_MEMBER_ID]],
    denied: [E.GROUP_AUTHORIZATION_FAILED, []],
  },
  {
    api: 'ConsumerGroupHeartbeat (READ on the group, DESCRIBE on the topics)',
    call: (c) => joinConsumerGroup(c, 'alice-cg', 't'),
    allowed: E.NONE,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'ConsumerGroupHeartbeat (a subscribed topic that may not be described)',
    call: (c) => joinConsumerGroup(c, 'alice-cg2', 'hidden'),
    allowed: E.TOPIC_AUTHORIZATION_FAILED,
    denied: E.GROUP_AUTHORIZATION_FAILED,
  },
  {
    api: 'ConsumerGroupDescribe',
    call: async (c) =>
      (await c.request(ApiKey.ConsumerGroupDescribe, 0, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, { groupIds: ['alice-cg'], includeAuthorizedOperations: false })).groups.map((g) => g.errorCode),
    allowed: [E.NONE],
    denied: [E.GROUP_AUTHORIZATION_FAILED],
  },
  {
    api: 'OffsetDelete (DELETE on the group, READ on the topic)',
    call: async (c) => {
      const r = await c.request(ApiKey.OffsetDelete, 0, OffsetDeleteRequest, OffsetDeleteResponse, { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] });
      return [r.errorCode, r.topics.map((t) => t.partitions.map((p) => p.errorCode))];
    },
    allowed: [E.NONE, [[E.NONE]]],
    denied: [E.GROUP_AUTHORIZATION_FAILED, []],
  },
  {
    api: 'CreateTopics (TOPIC CREATE on a prefix)',
    call: async (c) =>
      (await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
        topics: [{ name: `alice-${unique()}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000,
      })).topics.map((t) => [t.errorCode, t.errorMessage]),
    allowed: [[E.NONE, null]],
    denied: [[E.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.']],
  },
  {
    api: 'CreatePartitions (ALTER on the topic)',
    call: async (c) =>
      (await c.request(ApiKey.CreatePartitions, 3, CreatePartitionsRequest, CreatePartitionsResponse, { topics: [{ name: 'alice-auto', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: true })).results.map((r) => r.errorCode),
    allowed: [E.NONE],
    denied: [E.TOPIC_AUTHORIZATION_FAILED],
  },
  {
    api: 'DeleteRecords (alice lacks DELETE on t)',
    call: async (c) =>
      (await c.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 })).topics[0]!
        .partitions[0]!.errorCode,
    allowed: E.TOPIC_AUTHORIZATION_FAILED,
    denied: E.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    api: 'DeleteRecords (DELETE via the alice- prefix)',
    call: async (c) =>
      (await c.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, { topics: [{ name: 'alice-auto', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 })).topics[0]!
        .partitions[0]!.errorCode,
    allowed: E.NONE,
    denied: E.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    api: 'DescribeProducers (READ on the topic)',
    call: async (c) =>
      (await c.request(ApiKey.DescribeProducers, 0, DescribeProducersRequest, DescribeProducersResponse, { topics: [{ name: 't', partitionIndexes: [0] }] })).topics.map((t) => t.partitions.map((p) => p.errorCode)),
    allowed: [[E.NONE]],
    denied: [[E.TOPIC_AUTHORIZATION_FAILED]],
  },
  {
    api: 'InitProducerId (idempotent: WRITE on some topic)',
    call: async (c) => (await c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).errorCode,
    allowed: E.NONE,
    denied: E.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    api: 'InitProducerId (transactional)',
    call: async (c, s) => {
      const r = await c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: 'tx-a', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
      if (r.errorCode === E.NONE) [s.producerId, s.producerEpoch] = [r.producerId, r.producerEpoch];
      return r.errorCode;
    },
    allowed: E.NONE,
    denied: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    api: 'AddPartitionsToTxn (WRITE on the transactional id and the topic)',
    call: async (c, s) => {
      const r = await c.request(ApiKey.AddPartitionsToTxn, 3, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
        v3AndBelowTransactionalId: 'tx-a', v3AndBelowProducerId: s.producerId, v3AndBelowProducerEpoch: s.producerEpoch, v3AndBelowTopics: [{ name: 't', partitions: [0] }],
      });
      return r.resultsByTopicV3AndBelow.map((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
    },
    allowed: [[E.NONE]],
    denied: [[E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]],
  },
  {
    api: 'AddOffsetsToTxn (READ on the group)',
    call: async (c, s) =>
      (await c.request(ApiKey.AddOffsetsToTxn, 3, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, { transactionalId: 'tx-a', producerId: s.producerId, producerEpoch: s.producerEpoch, groupId: 'g' })).errorCode,
    allowed: E.NONE,
    denied: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    api: 'TxnOffsetCommit',
    call: async (c, s) =>
      (await c.request(ApiKey.TxnOffsetCommit, 3, TxnOffsetCommitRequest, TxnOffsetCommitResponse, {
        transactionalId: 'tx-a', groupId: 'g', producerId: s.producerId, producerEpoch: s.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      })).topics.map((t) => t.partitions.map((p) => p.errorCode)),
    allowed: [[E.NONE]],
    denied: [[E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]],
  },
  {
    api: 'EndTxn',
    call: async (c, s) =>
      (await c.request(ApiKey.EndTxn, 3, EndTxnRequest, EndTxnResponse, { transactionalId: 'tx-a', producerId: s.producerId, producerEpoch: s.producerEpoch, committed: true })).errorCode,
    allowed: E.NONE,
    denied: E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    api: 'DescribeTransactions (DESCRIBE on the transactional id)',
    call: async (c) => (await c.request(ApiKey.DescribeTransactions, 0, DescribeTransactionsRequest, DescribeTransactionsResponse, { transactionalIds: ['tx-a'] })).transactionStates.map((t) => t.errorCode),
    allowed: [E.NONE],
    denied: [E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
  },
  {
    api: 'ListTransactions (lists what may be described)',
    call: async (c) =>
      (await c.request(ApiKey.ListTransactions, 0, ListTransactionsRequest, ListTransactionsResponse, { stateFilters: [], producerIdFilters: [] })).transactionStates.map((t) => t.transactionalId).sort(),
    allowed: ['tx-a'],
    denied: [],
  },
  {
    api: 'DescribeConfigs (topic: ALTER_CONFIGS implies DESCRIBE_CONFIGS; broker: CLUSTER)',
    call: async (c) =>
      (await c.request(ApiKey.DescribeConfigs, 4, DescribeConfigsRequest, DescribeConfigsResponse, {
        resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }, { resourceType: 4, resourceName: '', configurationKeys: null }],
      })).results.map((r) => r.errorCode),
    allowed: [E.NONE, E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.TOPIC_AUTHORIZATION_FAILED, E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'AlterConfigs (validateOnly; topic ALTER_CONFIGS, broker CLUSTER)',
    call: async (c) =>
      (await c.request(ApiKey.AlterConfigs, 2, AlterConfigsRequest, AlterConfigsResponse, {
        resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '100000' }] }, { resourceType: 4, resourceName: '', configs: [{ name: 'log.cleaner.threads', value: '2' }] }],
        validateOnly: true,
      })).responses.map((r) => r.errorCode),
    allowed: [E.NONE, E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.TOPIC_AUTHORIZATION_FAILED, E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'IncrementalAlterConfigs (validateOnly; topic ALTER_CONFIGS, broker CLUSTER)',
    call: async (c) =>
      (await c.request(ApiKey.IncrementalAlterConfigs, 1, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, {
        resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', configOperation: 0, value: '100000' }] }, { resourceType: 4, resourceName: '', configs: [{ name: 'log.cleaner.threads', configOperation: 0, value: '2' }] }],
        validateOnly: true,
      })).responses.map((r) => r.errorCode),
    allowed: [E.NONE, E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.TOPIC_AUTHORIZATION_FAILED, E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'DeleteTopics (DELETE via the alice- prefix)',
    call: async (c) => (await c.request(ApiKey.DeleteTopics, 6, DeleteTopicsRequest, DeleteTopicsResponse, { topics: [{ name: 'alice-auto', topicId: ZERO_UUID }], timeoutMs: 5000 })).responses.map((r) => r.errorCode),
    allowed: [E.NONE],
    denied: [E.TOPIC_AUTHORIZATION_FAILED],
  },
  {
    api: 'DeleteGroups (DELETE on the group)',
    call: async (c) => (await c.request(ApiKey.DeleteGroups, 2, DeleteGroupsRequest, DeleteGroupsResponse, { groupsNames: ['g'] })).results.map((r) => r.errorCode),
    allowed: [E.NONE],
    denied: [E.GROUP_AUTHORIZATION_FAILED],
  },
  {
    api: 'DescribeAcls (CLUSTER DESCRIBE)',
    call: async (c) => {
      const r = await c.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, { ...anyAcl, resourceTypeFilter: R.TRANSACTIONAL_ID });
      return [r.errorCode, r.resources.map((res) => res.resourceName)];
    },
    allowed: [E.NONE, ['tx-a']],
    denied: [E.CLUSTER_AUTHORIZATION_FAILED, []],
  },
  {
    api: 'CreateAcls (CLUSTER ALTER: neither has it)',
    call: (c) => createAcls(c, [{ type: R.TOPIC, name: 'x', op: Op.READ, principal: 'User:bob' }]),
    allowed: [E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'DeleteAcls (CLUSTER ALTER: neither has it)',
    call: async (c) => (await c.request(ApiKey.DeleteAcls, 3, DeleteAclsRequest, DeleteAclsResponse, { filters: [{ ...anyAcl, resourceTypeFilter: R.TOPIC, resourceNameFilter: 'x' }] })).filterResults.map((f) => f.errorCode),
    allowed: [E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'DescribeClientQuotas (CLUSTER DESCRIBE_CONFIGS: neither has it)',
    call: async (c) => (await c.request(ApiKey.DescribeClientQuotas, 1, DescribeClientQuotasRequest, DescribeClientQuotasResponse, { components: [], strict: false })).errorCode,
    allowed: E.CLUSTER_AUTHORIZATION_FAILED,
    denied: E.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    api: 'AlterClientQuotas (CLUSTER ALTER_CONFIGS: neither has it)',
    call: async (c) =>
      (await c.request(ApiKey.AlterClientQuotas, 1, AlterClientQuotasRequest, AlterClientQuotasResponse, {
        entries: [{ entity: [{ entityType: 'user', entityName: 'carol' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }], validateOnly: true,
      })).entries.map((e) => e.errorCode),
    allowed: [E.CLUSTER_AUTHORIZATION_FAILED],
    denied: [E.CLUSTER_AUTHORIZATION_FAILED],
  },
  {
    api: 'DescribeUserScramCredentials (CLUSTER DESCRIBE)',
    call: async (c) => {
      const r = await c.request(ApiKey.DescribeUserScramCredentials, 0, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, { users: [{ name: 'nobody' }] });
      return [r.errorCode, r.results.map((u) => [u.user, u.errorCode])];
    },
    allowed: [E.NONE, [['nobody', E.RESOURCE_NOT_FOUND]]],
    // Kafka's getErrorResponse: the code once per user named, without the name.
    denied: [E.CLUSTER_AUTHORIZATION_FAILED, [['', E.CLUSTER_AUTHORIZATION_FAILED]]],
  },
  {
    api: 'AlterUserScramCredentials (CLUSTER ALTER: neither has it)',
    call: async (c) =>
      (await c.request(ApiKey.AlterUserScramCredentials, 0, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, {
        deletions: [], upsertions: [{ name: 'carol', mechanism: 2, iterations: 8192, salt: Buffer.alloc(16, 1), saltedPassword: Buffer.alloc(64, 2) }],
      })).results.map((u) => [u.user, u.errorCode]),
    allowed: [['carol', E.CLUSTER_AUTHORIZATION_FAILED]],
    denied: [['carol', E.CLUSTER_AUTHORIZATION_FAILED]],
  },
  {
    api: 'DescribeCluster (authorized operations: what CLUSTER allows)',
    call: async (c) => {
      const r = await c.request(ApiKey.DescribeCluster, 1, DescribeClusterRequest, DescribeClusterResponse, { includeClusterAuthorizedOperations: true, endpointType: 1 });
      return [r.errorCode, r.clusterAuthorizedOperations];
    },
    allowed: [E.NONE, 1 << Op.DESCRIBE],
    denied: [E.NONE, 0],
  },
];

export interface MatrixAnswer {
  api: string;
  alice: unknown;
  bob: unknown;
}

/** Runs every case as alice, then as bob (each keeps its own state), in order. */
export async function runMatrix(alice: RawClient, bob: RawClient): Promise<MatrixAnswer[]> {
  const states = { alice: { producerId: -1n, producerEpoch: -1 }, bob: { producerId: -1n, producerEpoch: -1 } };
  const out: MatrixAnswer[] = [];
  for (const c of MATRIX_CASES) {
    const a = await c.call(alice, states.alice).catch((e: Error) => `error: ${e.message}`);
    const b = await c.call(bob, states.bob).catch((e: Error) => `error: ${e.message}`);
    out.push({ api: c.api, alice: a, bob: b });
  }
  return out;
}
