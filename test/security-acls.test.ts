/**
 * ACLs and the authorizer (docs/security.md): the decision rules of Kafka's StandardAuthorizer
 * (implied operations, PREFIXED and `*` patterns, `User:*`, hosts, DENY winning, super users,
 * allow.everyone.if.no.acl.found, authorizeByResourceType); DescribeAcls/CreateAcls/DeleteAcls with
 * their validation and filters; and the ACL matrix: for each API a principal with the permission
 * it needs (alice) and one without (bob), over SASL PLAIN, with the codes Kafka 4.1.1 answers (the
 * case list is shared with test/slow/acl-matrix-kafka.test.ts, which runs it against Kafka). ACLs are
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
import {
  ApiKey,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from '../src/protocol/messages/index.js';
import { Authorizer } from '../src/broker/security/authorizer.js';
import { AclOperation as Op, AclPermission, PatternType, ResourceType as R, type AclBinding } from '../src/broker/security/acls.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import type { BrokerConfig } from '../src/config/types.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { createAcls, fetchCode, loginPlain, MATRIX_CASES, MATRIX_PASSWORD, matrixBrokerOptions, prepareMatrix, type MatrixState } from './helpers/acl-matrix.js';

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

function brokerOptions(extra: Partial<StartBrokerOptions> = {}): StartBrokerOptions {
  return matrixBrokerOptions({ logger: quiet as never, ...extra });
}

async function login(b: RunningBroker, user: string): Promise<RawClient> {
  return loginPlain(b.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port, user);
}

describe('ACL matrix over SASL PLAIN (alice has the permission, bob does not), as Kafka 4.1.1 answers', () => {
  let b: RunningBroker;
  let admin: RawClient;
  let aliceC: RawClient;
  let bobC: RawClient;
  /** Principals an onRequest hook saw, by API name (hooks' contexts carry the principal). */
  const seen: string[] = [];
  const states: Record<'alice' | 'bob', MatrixState> = { alice: { producerId: -1n, producerEpoch: -1 }, bob: { producerId: -1n, producerEpoch: -1 } };
  before(async () => {
    b = await testBroker(brokerOptions({ hooks: [{ name: 'who', onRequest: (ctx: { apiName: string; principal: string }) => void seen.push(`${ctx.apiName} ${ctx.principal}`) } as never] }));
    admin = await login(b, 'admin');
    await prepareMatrix(admin);
    aliceC = await login(b, 'alice');
    bobC = await login(b, 'bob');
  });
  after(async () => {
    for (const c of [admin, aliceC, bobC]) c?.close();
    await b?.close();
  });

  // In order: later cases build on earlier ones (test/helpers/acl-matrix.ts).
  for (const c of MATRIX_CASES) {
    test(c.api, async () => {
      assert.deepEqual(await c.call(aliceC, states.alice), c.allowed, 'alice');
      assert.deepEqual(await c.call(bobC, states.bob), c.denied, 'bob');
    });
  }

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
      sasl: { mechanism: 'plain', username: 'bob', password: `bob-${MATRIX_PASSWORD}` }, logLevel: logLevel.NOTHING, retry: { retries: 0 },
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
