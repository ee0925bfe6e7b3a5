/**
 * `rafka acls list|add|remove` and the Admin client's createAcls/describeAcls/deleteAcls against a
 * broker with the authorizer on. The client is the super user `User:ANONYMOUS` of a PLAINTEXT
 * listener (written before Rafka's client spoke SASL); what the ACLs then allow and deny is the
 * matrix in security-acls.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin } from '../src/client/admin.js';
import { KafkaProtocolError } from '../src/client/errors.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { testBroker } from './helpers/broker.js';
import { fails, ok, okJson } from './helpers/cli.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };

describe('ACLs from the Admin client and the CLI', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({ authorizerEnabled: true, superUsers: 'User:ANONYMOUS', logger: quiet as never });
  });
  after(() => b.close());

  test('Admin: createAcls, describeAcls with MATCH, deleteAcls', async () => {
    const admin = new Admin({ bootstrap: b.bootstrap });
    try {
      await admin.createAcls([
        { resourceType: 'topic', resourceName: 'orders-', patternType: 'prefixed', principal: 'User:alice', operation: 'read', permission: 'allow' },
        { resourceType: 'group', resourceName: 'g', principal: 'User:alice', host: '10.0.0.1', operation: 'all', permission: 'deny' },
      ]);
      assert.deepEqual(await admin.describeAcls({ resourceType: 'topic', resourceName: 'orders-eu', patternType: 'match' }), [
        { resourceType: 'topic', resourceName: 'orders-', patternType: 'prefixed', principal: 'User:alice', host: '*', operation: 'read', permission: 'allow' },
      ]);
      assert.equal((await admin.describeAcls()).length, 2);
      await assert.rejects(
        admin.createAcls([{ resourceType: 'cluster', resourceName: 'not-the-cluster', principal: 'User:alice', operation: 'alter', permission: 'allow' }]),
        (err: unknown) => err instanceof KafkaProtocolError && err.errorCode === ErrorCode.INVALID_REQUEST,
      );
      const deleted = await admin.deleteAcls([{ resourceType: 'group' }]);
      assert.deepEqual(deleted.map((d) => [d.resourceName, d.host, d.operation, d.permission]), [['g', '10.0.0.1', 'all', 'deny']]);
      await admin.deleteAcls([{}]);
      assert.deepEqual(await admin.describeAcls(), []);
    } finally {
      await admin.close();
    }
  });

  test('rafka acls add, list (table and --json), remove', async () => {
    const added = await ok(b.bootstrap, ['acls', 'add', '--allow-principal', 'User:bob', '--operation', 'read', '--operation', 'describe', '--topic', 'logs', '--resource-pattern-type', 'prefixed']);
    assert.match(added, /added: User:bob allow read on topic prefixed logs from \*/);
    await ok(b.bootstrap, ['acls', 'add', '--deny-principal', 'User:*', '--deny-host', '10.1.1.1', '--operation', 'all', '--cluster']);
    const table = await ok(b.bootstrap, ['acls', 'list', '--topic', 'logs-app']);
    assert.match(table, /RESOURCE-TYPE/);
    assert.match(table, /topic\s+logs\s+prefixed\s+User:bob\s+\*\s+describe\s+allow/);
    const all = await okJson<{ resourceType: string; operation: string }[]>(b.bootstrap, ['acls', 'list']);
    assert.deepEqual(all.map((e) => `${e.resourceType}:${e.operation}`).sort(), ['cluster:all', 'topic:describe', 'topic:read']);
    const bob = await okJson<unknown[]>(b.bootstrap, ['acls', 'list', '--principal', 'User:bob']);
    assert.equal(bob.length, 2);
    const removed = await ok(b.bootstrap, ['acls', 'remove', '--topic', 'logs', '--resource-pattern-type', 'prefixed', '--allow-principal', 'User:bob', '--operation', 'read']);
    assert.match(removed, /removed: User:bob allow read on topic prefixed logs/);
    assert.match(await ok(b.bootstrap, ['acls', 'remove', '--topic', 'nothing-here']), /no matching ACLs/);
    await ok(b.bootstrap, ['acls', 'remove', '--cluster']);
    assert.deepEqual(
      (await okJson<{ operation: string }[]>(b.bootstrap, ['acls', 'list'])).map((e) => e.operation),
      ['describe'],
    );
    await fails(b.bootstrap, ['acls', 'add', '--allow-principal', 'User:bob', '--topic', 't'], 2, /--operation/);
    await fails(b.bootstrap, ['acls', 'add', '--allow-principal', 'User:bob', '--operation', 'fly', '--topic', 't'], 2, /must be one of/);
  });

  test('without an authorizer the CLI reports SECURITY_DISABLED', async () => {
    const plain = await testBroker({ logger: quiet as never });
    try {
      await fails(plain.bootstrap, ['acls', 'list'], 1, /SECURITY_DISABLED|No Authorizer/);
    } finally {
      await plain.close();
    }
  });
});
