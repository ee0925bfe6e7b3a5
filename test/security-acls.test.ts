/**
 * ACLs and the authorizer (docs/security.md): the decision rules of Kafka's StandardAuthorizer
 * (implied operations, PREFIXED and `*` patterns, `User:*`, hosts, DENY winning, super users,
 * allow.everyone.if.no.acl.found, authorizeByResourceType); DescribeAcls/CreateAcls/DeleteAcls with
 * their validation and filters; and the ACL matrix: for each API a principal with the permission
 * it needs (alice) and one without (bob), over SASL PLAIN, with the codes Kafka answers. ACLs are
 * kept by the storage engine across a restart (the per-engine part is in storage-conformance.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker, StartBrokerOptions } from '../src/broker/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';
import {
  ApiKey,
  CreateAclsRequest,
  CreateAclsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from '../src/protocol/messages/index.js';
import { Authorizer } from '../src/broker/security/authorizer.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType as R, type AclBinding } from '../src/broker/security/acls.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import type { BrokerConfig } from '../src/config/types.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

function binding(resourceType: number, resourceName: string, operation: number, o: Partial<AclBinding> = {}): AclBinding {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation, permission: AclPermission.ALLOW, ...o };
}

async function authorizer(bindings: AclBinding[], config: Partial<BrokerConfig> = {}): Promise<Authorizer> {
  const a = new Authorizer({ ...DEFAULT_CONFIG, authorizerEnabled: true, ...config } as BrokerConfig, new MemoryEngine(), quiet as never);
  a.start();
  for (const b of bindings) await a.create(b);
  return a;
}

const alice = { principal: 'User:alice', host: '127.0.0.1' };
const bob = { principal: 'User:bob', host: '127.0.0.1' };

describe('authorizer decisions (Kafka StandardAuthorizer)', () => {
  test('implied operations: READ/WRITE/DELETE/ALTER allow DESCRIBE, ALTER_CONFIGS allows DESCRIBE_CONFIGS; only for ALLOW', async () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      const a = await authorizer([binding(R.TOPIC, 't', op)]);
      assert.equal(a.authorize(alice, Op.DESCRIBE, R.TOPIC, 't'), true, `op ${op} implies DESCRIBE`);
      assert.equal(a.authorize(alice, Op.CREATE, R.TOPIC, 't'), false);
    }
    const configs = await authorizer([binding(R.TOPIC, 't', Op.ALTER_CONFIGS)]);
    assert.equal(configs.authorize(alice, Op.DESCRIBE_CONFIGS, R.TOPIC, 't'), true);
    assert.equal(configs.authorize(alice, Op.DESCRIBE, R.TOPIC, 't'), false);
    // A DENY READ does not deny DESCRIBE.
    const deny = await authorizer([binding(R.TOPIC, 't', Op.DESCRIBE), binding(R.TOPIC, 't', Op.READ, { permission: AclPermission.DENY })]);
    assert.equal(deny.authorize(alice, Op.DESCRIBE, R.TOPIC, 't'), true);
    assert.equal(deny.authorize(alice, Op.READ, R.TOPIC, 't'), false);
  });

  test('patterns: LITERAL, the * wildcard, PREFIXED; principals User:* ; hosts; DENY wins; ALL', async () => {
    const a = await authorizer([
      binding(R.TOPIC, 'orders-', Op.READ, { patternType: PatternType.PREFIXED }),
      binding(R.TOPIC, '*', Op.DESCRIBE, { principal: 'User:*' }),
      binding(R.GROUP, 'g', Op.ALL, { host: '10.0.0.1' }),
      binding(R.TOPIC, 'orders-secret', Op.ALL, { principal: 'User:*', permission: AclPermission.DENY }),
    ]);
    assert.equal(a.authorize(alice, Op.READ, R.TOPIC, 'orders-eu'), true);
    assert.equal(a.authorize(alice, Op.READ, R.TOPIC, 'order'), false);
    assert.equal(a.authorize(bob, Op.DESCRIBE, R.TOPIC, 'anything'), true);
    assert.equal(a.authorize(bob, Op.READ, R.TOPIC, 'orders-eu'), false);
    assert.equal(a.authorize(alice, Op.READ, R.GROUP, 'g'), false, 'the binding is for another host');
    assert.equal(a.authorize({ ...alice, host: '10.0.0.1' }, Op.READ, R.GROUP, 'g'), true);
    assert.equal(a.authorize(alice, Op.READ, R.TOPIC, 'orders-secret'), false, 'DENY wins over the PREFIXED ALLOW');
    assert.equal(a.authorize(alice, Op.DESCRIBE, R.TOPIC, 'orders-secret'), false, 'DENY ALL wins over the wildcard ALLOW');
  });

  test('super.users are allowed everything; allow.everyone.if.no.acl.found only where a resource has no ACL at all', async () => {
    const a = await authorizer([binding(R.TOPIC, 'guarded', Op.READ, { principal: 'User:carol' })], { superUsers: 'User:admin; User:root', allowEveryoneIfNoAclFound: true });
    assert.equal(a.authorize({ principal: 'User:root', host: '1.2.3.4' }, Op.ALTER, R.CLUSTER, 'kafka-cluster'), true);
    assert.equal(a.authorize(alice, Op.WRITE, R.TOPIC, 'open'), true, 'no ACL on the topic');
    assert.equal(a.authorize(alice, Op.READ, R.TOPIC, 'guarded'), false, 'an ACL exists (for someone else)');
    const strict = await authorizer([]);
    assert.equal(strict.authorize(alice, Op.WRITE, R.TOPIC, 'open'), false, 'default: deny');
  });

  test('authorizeByResourceType: an ALLOW on some name, unless a DENY covers it', async () => {
    const a = await authorizer([binding(R.TOPIC, 'a-', Op.WRITE, { patternType: PatternType.PREFIXED })]);
    assert.equal(a.authorizeByResourceType(alice, Op.WRITE, R.TOPIC), true);
    assert.equal(a.authorizeByResourceType(bob, Op.WRITE, R.TOPIC), false);
    await a.create(binding(R.TOPIC, 'a', Op.WRITE, { patternType: PatternType.PREFIXED, permission: AclPermission.DENY }));
    assert.equal(a.authorizeByResourceType(alice, Op.WRITE, R.TOPIC), false);
  });

  test('authorized operations bit sets: all supported operations without an authorizer, the allowed ones with', async () => {
    const off = new Authorizer({ ...DEFAULT_CONFIG } as BrokerConfig, new MemoryEngine(), quiet as never);
    const topicAll = [3, 4, 5, 6, 7, 8, 10, 11].reduce((b, op) => b | (1 << op), 0);
    assert.equal(off.authorizedOperations(alice, R.TOPIC, 't'), topicAll);
    const a = await authorizer([binding(R.TOPIC, 't', Op.READ)]);
    assert.equal(a.authorizedOperations(alice, R.TOPIC, 't'), (1 << Op.READ) | (1 << Op.DESCRIBE));
  });
});

const PASSWORD = 'secret-pw-1234';
const USERS = ['admin', 'alice', 'bob'].map((name) => ({ name, password: `${name}-${PASSWORD}`, mechanisms: ['PLAIN' as const] }));

function brokerOptions(extra: Partial<StartBrokerOptions> = {}): StartBrokerOptions {
  return {
    listeners: ['SASL_PLAINTEXT://127.0.0.1:0', 'PLAINTEXT://127.0.0.1:0'],
    saslEnabledMechanisms: ['PLAIN'],
    saslUsers: USERS,
    authorizerEnabled: true,
    superUsers: 'User:admin',
    connectionFailedAuthenticationDelayMs: 0,
    logger: quiet as never,
    ...extra,
  };
}

async function login(b: RunningBroker, user: string): Promise<RawClient> {
  const c = await RawClient.connect(b.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port);
  const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
  assert.equal(hs.errorCode, ErrorCode.NONE);
  const auth = await c.request(ApiKey.SaslAuthenticate, 2, SaslAuthenticateRequest, SaslAuthenticateResponse, {
    authBytes: Buffer.from(`\u0000${user}\u0000${user}-${PASSWORD}`),
  });
  assert.equal(auth.errorCode, ErrorCode.NONE, `login of ${user}`);
  return c;
}

type Acl = { type: number; name: string; op: number; pattern?: number; principal?: string; host?: string; deny?: boolean };

async function createAcls(c: RawClient, acls: Acl[]): Promise<number[]> {
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

/** One API's check: what the request answers, reduced to the error codes that matter. */
interface MatrixCase {
  api: string;
  call(c: RawClient): Promise<unknown>;
  allowed: unknown;
  denied: unknown;
}

describe('ACL matrix over SASL PLAIN (alice has the permission, bob does not)', () => {
  let b: RunningBroker;
  let admin: RawClient;
  let aliceC: RawClient;
  let bobC: RawClient;
  /** Principals an onRequest hook saw, by API name (hooks' contexts carry the principal). */
  const seen: string[] = [];
  before(async () => {
    b = await testBroker(brokerOptions({ hooks: [{ name: 'who', onRequest: (ctx: { apiName: string; principal: string }) => void seen.push(`${ctx.apiName} ${ctx.principal}`) } as never] }));
    admin = await login(b, 'admin');
    const created = await admin.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: ['t', 'open'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 5000,
    });
    assert.deepEqual(created.topics.map((t) => t.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.deepEqual(
      await createAcls(admin, [
        { type: R.TOPIC, name: 't', op: Op.READ },
        { type: R.TOPIC, name: 't', op: Op.WRITE },
        { type: R.TOPIC, name: 't', op: Op.ALTER_CONFIGS },
        { type: R.TOPIC, name: 'alice-', op: Op.ALL, pattern: PatternType.PREFIXED },
        { type: R.GROUP, name: 'g', op: Op.READ },
        { type: R.GROUP, name: 'g', op: Op.DELETE },
        { type: R.TRANSACTIONAL_ID, name: 'tx-a', op: Op.WRITE },
        // DENY wins: everyone may read `open`, except alice.
        { type: R.TOPIC, name: 'open', op: Op.READ, principal: 'User:*' },
        { type: R.TOPIC, name: 'open', op: Op.READ, deny: true },
      ]),
      Array(9).fill(ErrorCode.NONE),
    );
    aliceC = await login(b, 'alice');
    bobC = await login(b, 'bob');
  });
  after(async () => {
    for (const c of [admin, aliceC, bobC]) c?.close();
    await b?.close();
  });

  const fetchCode = async (c: RawClient, topic: string) => {
    const r = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    return r.responses[0]!.partitions[0]!.errorCode;
  };

  const cases: MatrixCase[] = [
    {
      api: 'Metadata (named topic)',
      call: async (c) => (await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name: 't' }], allowAutoTopicCreation: false })).topics.map((t) => t.errorCode),
      allowed: [ErrorCode.NONE],
      denied: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
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
      allowed: [ErrorCode.NONE],
      denied: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    },
    {
      api: 'Produce',
      call: async (c) => {
        const records = await encodeBatch({ records: [{ value: Buffer.from('v'), timestamp: Date.now() }] });
        const r = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] });
        return r.responses[0]!.partitionResponses[0]!.errorCode;
      },
      allowed: ErrorCode.NONE,
      denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    },
    { api: 'Fetch', call: (c) => fetchCode(c, 't'), allowed: ErrorCode.NONE, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
    {
      api: 'ListOffsets',
      call: async (c) =>
        (await c.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, { replicaId: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })).topics[0]!
          .partitions[0]!.errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      api: 'FindCoordinator (group)',
      call: async (c) => (await c.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType: 0, coordinatorKeys: ['g'] })).coordinators[0]!.errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    },
    {
      api: 'FindCoordinator (transaction)',
      call: async (c) => (await c.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType: 1, coordinatorKeys: ['tx-a'] })).coordinators[0]!.errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      api: 'OffsetCommit',
      call: async (c) =>
        (await c.request(ApiKey.OffsetCommit, 8, OffsetCommitRequest, OffsetCommitResponse, {
          groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
          topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
        })).topics[0]!.partitions[0]!.errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    },
    {
      api: 'OffsetFetch',
      call: async (c) => (await c.request(ApiKey.OffsetFetch, 8, OffsetFetchRequest, OffsetFetchResponse, { groups: [{ groupId: 'g', topics: null }] })).groups[0]!.errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    },
    {
      api: 'DescribeGroups',
      call: async (c) => (await c.request(ApiKey.DescribeGroups, 5, DescribeGroupsRequest, DescribeGroupsResponse, { groups: ['g'], includeAuthorizedOperations: true })).groups.map((g) => [g.errorCode, g.authorizedOperations]),
      allowed: [[ErrorCode.NONE, (1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.DELETE)]],
      denied: [[ErrorCode.GROUP_AUTHORIZATION_FAILED, -2147483648]],
    },
    {
      api: 'ListGroups (hides what may not be described)',
      call: async (c) => (await c.request(ApiKey.ListGroups, 4, ListGroupsRequest, ListGroupsResponse, { statesFilter: [] })).groups.map((g) => g.groupId),
      allowed: ['g'],
      denied: [],
    },
    {
      api: 'JoinGroup',
      call: async (c) =>
        (await c.request(ApiKey.JoinGroup, 5, JoinGroupRequest, JoinGroupResponse, {
          groupId: 'g-join-' + Math.random(), sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        })).errorCode,
      allowed: ErrorCode.GROUP_AUTHORIZATION_FAILED, // alice has READ on `g` only
      denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    },
    {
      api: 'Heartbeat',
      call: async (c) => (await c.request(ApiKey.Heartbeat, 4, HeartbeatRequest, HeartbeatResponse, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode,
      allowed: ErrorCode.UNKNOWN_MEMBER_ID,
      denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    },
    {
      api: 'CreateTopics (TOPIC CREATE on a prefix)',
      call: async (c) =>
        (await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
          topics: [{ name: `alice-${Math.random().toString(36).slice(2)}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000,
        })).topics.map((t) => [t.errorCode, t.errorMessage]),
      allowed: [[ErrorCode.NONE, null]],
      denied: [[ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.']],
    },
    {
      api: 'DeleteRecords (alice lacks DELETE on t)',
      call: async (c) =>
        (await c.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 })).topics[0]!
          .partitions[0]!.errorCode,
      allowed: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    },
    {
      api: 'InitProducerId (idempotent: WRITE on some topic)',
      call: async (c) => (await c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      api: 'InitProducerId (transactional)',
      call: async (c) => (await c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: 'tx-a', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).errorCode,
      allowed: ErrorCode.NONE,
      denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    },
    {
      api: 'DescribeConfigs (topic: ALTER_CONFIGS implies DESCRIBE_CONFIGS; broker: CLUSTER)',
      call: async (c) =>
        (await c.request(ApiKey.DescribeConfigs, 4, DescribeConfigsRequest, DescribeConfigsResponse, {
          resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }, { resourceType: 4, resourceName: '', configurationKeys: null }],
        })).results.map((r) => r.errorCode),
      allowed: [ErrorCode.NONE, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
      denied: [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
    },
    {
      api: 'DeleteTopics (DELETE via the alice- prefix)',
      call: async (c) => (await c.request(ApiKey.DeleteTopics, 6, DeleteTopicsRequest, DeleteTopicsResponse, { topics: [{ name: 'alice-auto', topicId: ZERO_UUID }], timeoutMs: 5000 })).responses.map((r) => r.errorCode),
      allowed: [ErrorCode.NONE],
      denied: [ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    },
    {
      api: 'DescribeAcls (CLUSTER DESCRIBE: neither has it)',
      call: async (c) => (await c.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, { resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY })).errorCode,
      allowed: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    },
    {
      api: 'CreateAcls (CLUSTER ALTER: neither has it)',
      call: (c) => createAcls(c, [{ type: R.TOPIC, name: 'x', op: Op.READ, principal: 'User:bob' }]),
      allowed: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
      denied: [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
    },
    {
      api: 'DescribeCluster (nothing needed; authorized operations 0 without CLUSTER DESCRIBE)',
      call: async (c) => {
        const r = await c.request(ApiKey.DescribeCluster, 1, DescribeClusterRequest, DescribeClusterResponse, { includeClusterAuthorizedOperations: true, endpointType: 1 });
        return [r.errorCode, r.clusterAuthorizedOperations];
      },
      allowed: [ErrorCode.NONE, 0],
      denied: [ErrorCode.NONE, 0],
    },
  ];

  for (const c of cases) {
    test(c.api, async () => {
      assert.deepEqual(await c.call(aliceC), c.allowed, 'alice');
      assert.deepEqual(await c.call(bobC), c.denied, 'bob');
    });
  }

  test('DENY wins over a User:* ALLOW: bob may read `open`, alice may not', async () => {
    assert.equal(await fetchCode(bobC, 'open'), ErrorCode.NONE);
    assert.equal(await fetchCode(aliceC, 'open'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  test("hooks' contexts carry the authenticated principal", () => {
    assert.ok(seen.includes('Fetch User:alice') && seen.includes('Fetch User:bob') && seen.includes('CreateTopics User:admin'), seen.slice(0, 20).join('; '));
    assert.ok(seen.includes('SaslHandshake User:ANONYMOUS'));
  });

  test('the super user may do everything, ANONYMOUS on the PLAINTEXT listener nothing', async () => {
    assert.equal(await fetchCode(admin, 't'), ErrorCode.NONE);
    const anonymous = await RawClient.connect(b.listeners.find((l) => l.name === 'PLAINTEXT')!.port);
    try {
      assert.equal(await fetchCode(anonymous, 't'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    } finally {
      anonymous.close();
    }
  });

  test('DescribeAcls filters (LITERAL, MATCH, ANY) and DeleteAcls, by the super user', async () => {
    const describe = async (o: { type?: number; name?: string | null; pattern: number; principal?: string | null }) => {
      const r = await admin.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, {
        resourceTypeFilter: o.type ?? R.TOPIC, resourceNameFilter: o.name ?? null, patternTypeFilter: o.pattern, principalFilter: o.principal ?? null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY,
      });
      assert.equal(r.errorCode, ErrorCode.NONE);
      return r.resources.map((res) => `${res.resourceName}/${res.patternType}:${res.acls.map((a) => `${a.principal}:${a.operation}:${a.permissionType}`).join(',')}`);
    };
    assert.deepEqual(await describe({ name: 't', pattern: PatternType.LITERAL }), ['t/3:User:alice:3:3,User:alice:4:3,User:alice:11:3']);
    // MATCH: every binding that applies to a topic named alice-x: the PREFIXED alice- one.
    assert.deepEqual(await describe({ name: 'alice-x', pattern: PatternType.MATCH }), ['alice-/4:User:alice:2:3']);
    assert.deepEqual(await describe({ name: 'alice-x', pattern: PatternType.LITERAL }), []);
    assert.deepEqual(await describe({ name: 'open', pattern: PatternType.ANY, principal: 'User:*' }), ['open/3:User:*:3:3']);
    const invalid = await admin.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, {
      resourceTypeFilter: 0, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY,
    });
    assert.equal(invalid.errorCode, ErrorCode.INVALID_REQUEST);

    const deleted = await admin.request(ApiKey.DeleteAcls, 3, DeleteAclsRequest, DeleteAclsResponse, {
      filters: [
        { resourceTypeFilter: R.TOPIC, resourceNameFilter: 'open', patternTypeFilter: PatternType.LITERAL, principalFilter: 'User:alice', hostFilter: null, operation: Op.ANY, permissionType: AclPermission.DENY },
        { resourceTypeFilter: R.UNKNOWN, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY },
      ],
    });
    assert.deepEqual(deleted.filterResults.map((f) => [f.errorCode, f.matchingAcls.map((m) => `${m.resourceName}:${m.principal}:${m.operation}:${m.permissionType}`)]), [
      [ErrorCode.NONE, ['open:User:alice:3:2']],
      [ErrorCode.INVALID_REQUEST, []],
    ]);
    assert.equal(await fetchCode(aliceC, 'open'), ErrorCode.NONE, 'the DENY is gone: the User:* ALLOW applies');
  });

  test('CreateAcls validation: INVALID_REQUEST as Kafka', async () => {
    assert.deepEqual(
      await createAcls(admin, [
        { type: R.CLUSTER, name: 'other', op: Op.ALTER },
        { type: R.TOPIC, name: '', op: Op.READ },
        { type: R.TOPIC, name: 'x', op: Op.ANY },
        { type: R.TOPIC, name: 'x', op: Op.READ, principal: 'alice' },
        { type: R.TOPIC, name: 'x', op: Op.READ, pattern: PatternType.MATCH },
        { type: R.CLUSTER, name: 'kafka-cluster', op: Op.DESCRIBE, principal: 'User:carol' },
      ]),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.NONE],
    );
  });

  test('kafkajs with an unauthorized principal gets the topic authorization error', async () => {
    const kafka = new Kafka({
      clientId: 'acl-test', brokers: [`127.0.0.1:${b.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port}`],
      sasl: { mechanism: 'plain', username: 'bob', password: `bob-${PASSWORD}` }, logLevel: logLevel.NOTHING, retry: { retries: 0 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x' }] }), (err: Error & { type?: string }) => {
        assert.match(`${err.name} ${err.message} ${err.type ?? ''}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
        return true;
      });
    } finally {
      await producer.disconnect();
    }
  });
});

describe('ACL APIs without an authorizer', () => {
  test('DescribeAcls, CreateAcls and DeleteAcls answer SECURITY_DISABLED', async () => {
    const b = await testBroker({ logger: quiet as never });
    const c = await RawClient.connect(b.port);
    try {
      const d = await c.request(ApiKey.DescribeAcls, 2, DescribeAclsRequest, DescribeAclsResponse, { resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY });
      assert.deepEqual([d.errorCode, d.errorMessage], [ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.']);
      assert.deepEqual(await createAcls(c, [{ type: R.TOPIC, name: 't', op: Op.READ }]), [ErrorCode.SECURITY_DISABLED]);
      const del = await c.request(ApiKey.DeleteAcls, 1, DeleteAclsRequest, DeleteAclsResponse, {
        filters: [{ resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }],
      });
      assert.deepEqual(del.filterResults.map((f) => f.errorCode), [ErrorCode.SECURITY_DISABLED]);
    } finally {
      c.close();
      await b.close();
    }
  });
});

describe('ACLs survive a restart', () => {
  test('log engine: created ACLs authorize after a restart, deleted ones stay deleted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rafka-acl-'));
    const options = brokerOptions({ storage: { type: 'log', path: dir } });
    try {
      let b = await testBroker(options);
      let admin = await login(b, 'admin');
      assert.deepEqual(await createAcls(admin, [{ type: R.GROUP, name: 'kept', op: Op.READ }, { type: R.GROUP, name: 'gone', op: Op.READ }]), [ErrorCode.NONE, ErrorCode.NONE]);
      const del = await admin.request(ApiKey.DeleteAcls, 3, DeleteAclsRequest, DeleteAclsResponse, {
        filters: [{ resourceTypeFilter: R.GROUP, resourceNameFilter: 'gone', patternTypeFilter: PatternType.LITERAL, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }],
      });
      assert.equal(del.filterResults[0]!.matchingAcls.length, 1);
      admin.close();
      await b.close();
      b = await testBroker(options);
      const alice = await login(b, 'alice');
      const find = async (group: string) => (await alice.request(ApiKey.FindCoordinator, 4, FindCoordinatorRequest, FindCoordinatorResponse, { keyType: 0, coordinatorKeys: [group] })).coordinators[0]!.errorCode;
      assert.equal(await find('kept'), ErrorCode.NONE);
      assert.equal(await find('gone'), ErrorCode.GROUP_AUTHORIZATION_FAILED);
      alice.close();
      admin = await login(b, 'admin');
      const listed = await admin.request(ApiKey.DescribeAcls, 3, DescribeAclsRequest, DescribeAclsResponse, { resourceTypeFilter: R.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY });
      assert.deepEqual(listed.resources.map((r) => r.resourceName), ['kept']);
      admin.close();
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
