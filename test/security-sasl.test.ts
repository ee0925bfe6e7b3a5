/**
 * SASL on SASL_PLAINTEXT listeners (docs/security.md): PLAIN and SCRAM-SHA-256/512 logins with
 * kafkajs; failed logins (wrong password, unknown user, wrong mechanism) answered
 * SASL_AUTHENTICATION_FAILED with one message, after connection.failed.authentication.delay.ms, and
 * the connection closed; requests before authentication close the connection; SCRAM users managed
 * with AlterUserScramCredentials/DescribeUserScramCredentials and kept by the storage engine across
 * a restart; KIP-368 session expiry and re-authentication; listeners advertising their own address;
 * truncated, oversized and out-of-order SASL messages; no password in any log line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import type { RunningBroker, StartBrokerOptions } from '../src/broker/index.js';
import type { Logger } from '../src/broker/logger.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../src/protocol/messages/api-versions.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from '../src/protocol/messages/sasl-handshake.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../src/protocol/messages/sasl-authenticate.js';
import { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from '../src/protocol/messages/alter-user-scram-credentials.js';
import { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from '../src/protocol/messages/describe-user-scram-credentials.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

const ADMIN_PASSWORD = 'adm1n-s3cret-Pa55';
const ALICE_PASSWORD = 'alice-passw0rd-xyz';

/** A logger that keeps every line, to check that no secret is ever logged. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug') } as Logger & { lines: string[] };
}

function sasl(port: number, opts: SASLOptions, retries = 0) {
  return new Kafka({ clientId: 'sec-test', brokers: [`127.0.0.1:${port}`], sasl: opts, logLevel: logLevel.NOTHING, retry: { retries }, connectionTimeout: 5000, authenticationTimeout: 5000 });
}

function saslListener(b: RunningBroker, name = 'SASL_PLAINTEXT'): number {
  return b.listeners.find((l) => l.name === name)!.port;
}

async function roundTrip(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no records within 20 s')), 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length === 2) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

async function rawAuthenticate(c: RawClient, mechanism: string, token: Buffer, version = 1) {
  const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism });
  if (hs.errorCode !== ErrorCode.NONE) return { handshake: hs, auth: null };
  const auth = await c.request(ApiKey.SaslAuthenticate, version, SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes: token });
  return { handshake: hs, auth };
}

function plainToken(user: string, password: string): Buffer {
  return Buffer.from(`\u0000${user}\u0000${password}`, 'utf8');
}

const BASE: StartBrokerOptions = {
  listeners: ['PLAINTEXT://127.0.0.1:0', 'SASL_PLAINTEXT://127.0.0.1:0'],
  saslUsers: [
    { name: 'admin', password: ADMIN_PASSWORD },
    { name: 'plain-only', password: ALICE_PASSWORD, mechanisms: ['PLAIN'] },
  ],
  connectionFailedAuthenticationDelayMs: 200,
};

describe('SASL with kafkajs', () => {
  let b: RunningBroker;
  const log = recordingLogger();
  before(async () => {
    b = await testBroker({ ...BASE, logger: log });
  });
  after(() => b.close());

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    test(`${mechanism}: produce, consume and a group through the SASL_PLAINTEXT listener`, async () => {
      const kafka = sasl(saslListener(b), { mechanism, username: 'admin', password: ADMIN_PASSWORD } as SASLOptions);
      assert.deepEqual(await roundTrip(kafka, `t-${mechanism}`), ['one', 'two']);
      const principals = b.broker.connectionStats().filter((s) => s.listener === 'SASL_PLAINTEXT').map((s) => s.principal);
      for (const p of principals) assert.ok(p === 'admin' || p === 'ANONYMOUS', p);
    });
  }

  test('each listener advertises itself in Metadata and DescribeCluster', async () => {
    for (const l of b.listeners) {
      const c = await RawClient.connect(l.port);
      try {
        if (l.name === 'SASL_PLAINTEXT') {
          const { auth } = await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD));
          assert.equal(auth!.errorCode, ErrorCode.NONE);
        }
        const md = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        assert.deepEqual(md.brokers.map((x) => [x.host, x.port]), [['127.0.0.1', l.port]], l.name);
      } finally {
        c.close();
      }
    }
    assert.notEqual(b.listeners[0]!.port, b.listeners[1]!.port);
  });

  test('a wrong password, an unknown user and a user without the mechanism fail alike, delayed, and the broker serves others', async () => {
    const cases: SASLOptions[] = [
      { mechanism: 'plain', username: 'admin', password: 'wr0ng-guess-77' },
      { mechanism: 'plain', username: 'nobody', password: ADMIN_PASSWORD },
      { mechanism: 'scram-sha-512', username: 'admin', password: 'wr0ng-guess-77' },
      { mechanism: 'scram-sha-256', username: 'nobody', password: 'whatever-guess-88' },
      { mechanism: 'scram-sha-512', username: 'plain-only', password: ALICE_PASSWORD },
    ];
    for (const opts of cases) {
      const admin = sasl(saslListener(b), opts).admin();
      const started = Date.now();
      await assert.rejects(admin.connect(), (err: Error) => {
        assert.match(err.message, /Authentication failed during authentication due to invalid credentials with SASL mechanism/);
        return true;
      });
      assert.ok(Date.now() - started >= 150, `answered after ${Date.now() - started} ms, expected the 200 ms delay`);
    }
    // The same client and credentials still work.
    const ok = sasl(saslListener(b), { mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD }).admin();
    await ok.connect();
    assert.ok((await ok.listTopics()).length >= 0);
    await ok.disconnect();
  });

  test('an unsupported mechanism is UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes', async () => {
    const c = await RawClient.connect(saslListener(b));
    const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'GSSAPI' });
    assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.deepEqual(hs.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    assert.ok(await c.waitClosed());
  });

  test('before authentication: ApiVersions is answered, any other request closes the connection', async () => {
    const c = await RawClient.connect(saslListener(b));
    const av = await c.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(av.errorCode, ErrorCode.NONE);
    const keys = av.apiKeys.map((k) => k.apiKey);
    for (const k of [ApiKey.SaslHandshake, ApiKey.SaslAuthenticate, ApiKey.DescribeUserScramCredentials, ApiKey.AlterUserScramCredentials]) assert.ok(keys.includes(k), String(k));
    c.write(c.frame(ApiKey.Metadata, 12, MetadataRequest, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    assert.equal(await c.readFrame(), null, 'no answer: the connection is closed');
    // After the handshake only SaslAuthenticate is accepted.
    const c2 = await RawClient.connect(saslListener(b));
    await c2.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
    c2.write(c2.frame(ApiKey.ApiVersions, 3, ApiVersionsRequest, { clientSoftwareName: 't', clientSoftwareVersion: '1' }));
    assert.equal(await c2.readFrame(), null);
  });

  test('SASL messages: truncated, oversized, out of order, garbage — closed or refused, never a crash', async () => {
    const port = saslListener(b);
    // SaslAuthenticate without a handshake: closed (only ApiVersions and SaslHandshake come first).
    let c = await RawClient.connect(port);
    c.write(c.frame(ApiKey.SaslAuthenticate, 1, SaslAuthenticateRequest, { authBytes: plainToken('admin', ADMIN_PASSWORD) }));
    assert.equal(await c.readFrame(), null);
    // A frame over sasl.server.max.receive.size (512 KiB) before authentication: closed unread.
    c = await RawClient.connect(port);
    const big = Buffer.alloc(8);
    big.writeInt32BE(600_000, 0);
    c.write(big);
    assert.ok(await c.waitClosed());
    // A truncated SaslAuthenticate after the handshake: closed.
    c = await RawClient.connect(port);
    await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'SCRAM-SHA-256' });
    const whole = c.frame(ApiKey.SaslAuthenticate, 1, SaslAuthenticateRequest, { authBytes: Buffer.from('n,,n=admin,r=abc') });
    const cut = whole.subarray(0, whole.length - 5);
    cut.writeInt32BE(cut.length - 4, 0);
    c.write(cut);
    assert.equal(await c.readFrame(), null);
    // Garbage tokens for every mechanism: SASL_AUTHENTICATION_FAILED, then closed.
    for (const [mechanism, token] of [
      ['PLAIN', randomBytes(40)],
      ['PLAIN', Buffer.from('only-one-part')],
      ['SCRAM-SHA-256', randomBytes(64)],
      ['SCRAM-SHA-512', Buffer.from('p=tls-unique,,n=admin,r=x')],
      ['SCRAM-SHA-512', Buffer.alloc(0)],
    ] as const) {
      c = await RawClient.connect(port);
      const { auth } = await rawAuthenticate(c, mechanism, token);
      assert.equal(auth!.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, mechanism);
      assert.ok(await c.waitClosed(), `${mechanism}: closed after the failure`);
    }
    // SCRAM: a client-final with the wrong nonce.
    c = await RawClient.connect(port);
    const first = await rawAuthenticate(c, 'SCRAM-SHA-256', Buffer.from('n,,n=admin,r=clientnonce'));
    assert.equal(first.auth!.errorCode, ErrorCode.NONE);
    assert.match(first.auth!.authBytes.toString(), /^r=clientnonce[^,]+,s=[^,]+,i=4096$/);
    const final = await c.request(ApiKey.SaslAuthenticate, 1, SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes: Buffer.from('c=biws,r=othernonce,p=AAAA') });
    assert.equal(final.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    // The broker still serves a good login.
    c = await RawClient.connect(port);
    assert.equal((await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD))).auth!.errorCode, ErrorCode.NONE);
    c.close();
  });

  test('SaslHandshake v0: the tokens follow as bare frames; a failed one closes the connection unanswered', async () => {
    const bare = (token: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (token.length >>> (24 - 8 * i)) & 0xff)), token]);
    const c = await RawClient.connect(saslListener(b));
    const hs = await c.request(ApiKey.SaslHandshake, 0, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
    assert.equal(hs.errorCode, ErrorCode.NONE);
    c.write(bare(plainToken('admin', ADMIN_PASSWORD)));
    assert.equal((await c.readFrame())!.length, 0, 'PLAIN answers an empty token');
    const md = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.brokers.length, 1);
    c.close();
    const bad = await RawClient.connect(saslListener(b));
    await bad.request(ApiKey.SaslHandshake, 0, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
    bad.write(bare(plainToken('admin', 'wr0ng-guess-77')));
    assert.equal(await bad.readFrame(), null);
  });

  test('PLAINTEXT listener: SaslHandshake is ILLEGAL_SASL_STATE and requests need no login', async () => {
    const c = await RawClient.connect(b.listeners.find((l) => l.name === 'PLAINTEXT')!.port);
    const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
    assert.equal(hs.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    const md = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.brokers.length, 1);
    c.close();
  });

  test('no password, wrong or right, appears in any log line', () => {
    const all = log.lines.join('\n');
    assert.ok(all.includes('Failed authentication'), 'failed logins are logged');
    for (const secret of [ADMIN_PASSWORD, ALICE_PASSWORD, 'wr0ng-guess-77', 'whatever-guess-88']) assert.ok(!all.includes(secret), `a log line holds "${secret}"`);
  });
});

function saltedFor(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password: string, salt: Buffer, iterations: number): Buffer {
  return mechanism === 'SCRAM-SHA-256' ? pbkdf2Sync(password, salt, iterations, 32, 'sha256') : pbkdf2Sync(password, salt, iterations, 64, 'sha512');
}

describe('SCRAM users managed with AlterUserScramCredentials, kept by the storage engine', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rafka-scram-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('upsert, describe, log in, delete; credentials survive a restart of the log engine', async () => {
    const options: StartBrokerOptions = { ...BASE, storage: { type: 'log', path: dir, fsync: 'never' } };
    let b = await testBroker(options);
    try {
      const c = await RawClient.connect(b.listeners.find((l) => l.name === 'PLAINTEXT')!.port);
      const salt = randomBytes(16);
      const alter = await c.request(ApiKey.AlterUserScramCredentials, 0, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, {
        deletions: [{ name: 'ghost', mechanism: 1 }],
        upsertions: [
          { name: 'alice', mechanism: 2, iterations: 8192, salt, saltedPassword: saltedFor('SCRAM-SHA-512', ALICE_PASSWORD, salt, 8192) },
          { name: 'weak', mechanism: 1, iterations: 100, salt, saltedPassword: saltedFor('SCRAM-SHA-256', 'x', salt, 100) },
          { name: 'odd', mechanism: 9, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
          { name: '', mechanism: 1, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
          { name: 'twice', mechanism: 1, iterations: 4096, salt, saltedPassword: saltedFor('SCRAM-SHA-256', 'a', salt, 4096) },
          { name: 'twice', mechanism: 1, iterations: 4096, salt, saltedPassword: saltedFor('SCRAM-SHA-256', 'b', salt, 4096) },
          // Kafka's ScramControlManager: one alteration per user and request, whatever the mechanisms.
          { name: 'twin', mechanism: 1, iterations: 4096, salt, saltedPassword: saltedFor('SCRAM-SHA-256', 'a', salt, 4096) },
          { name: 'twin', mechanism: 2, iterations: 4096, salt, saltedPassword: saltedFor('SCRAM-SHA-512', 'a', salt, 4096) },
        ],
      });
      const byUser = Object.fromEntries(alter.results.map((r) => [r.user, r.errorCode]));
      assert.deepEqual(byUser, {
        ghost: ErrorCode.RESOURCE_NOT_FOUND,
        alice: ErrorCode.NONE,
        weak: ErrorCode.UNACCEPTABLE_CREDENTIAL,
        odd: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        '': ErrorCode.UNACCEPTABLE_CREDENTIAL,
        twice: ErrorCode.DUPLICATE_RESOURCE,
        twin: ErrorCode.DUPLICATE_RESOURCE,
      });
      const described = await c.request(ApiKey.DescribeUserScramCredentials, 0, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, { users: null });
      assert.deepEqual(
        described.results.map((r) => [r.user, r.errorCode, r.credentialInfos.map((i) => [i.mechanism, i.iterations])]).sort(),
        [['admin', 0, [[1, 4096], [2, 4096]]], ['alice', 0, [[2, 8192]]]],
      );
      const some = await c.request(ApiKey.DescribeUserScramCredentials, 0, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, {
        users: [{ name: 'alice' }, { name: 'nobody' }, { name: 'admin' }, { name: 'admin' }],
      });
      assert.deepEqual(some.results.map((r) => [r.user, r.errorCode]), [['alice', 0], ['nobody', ErrorCode.RESOURCE_NOT_FOUND], ['admin', ErrorCode.DUPLICATE_RESOURCE]]);
      c.close();
      const alice = sasl(saslListener(b), { mechanism: 'scram-sha-512', username: 'alice', password: ALICE_PASSWORD }).admin();
      await alice.connect();
      await alice.disconnect();
      await b.close();

      b = await testBroker(options);
      const again = sasl(saslListener(b), { mechanism: 'scram-sha-512', username: 'alice', password: ALICE_PASSWORD }).admin();
      await again.connect();
      await again.disconnect();
      const c2 = await RawClient.connect(b.listeners.find((l) => l.name === 'PLAINTEXT')!.port);
      const del = await c2.request(ApiKey.AlterUserScramCredentials, 0, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, {
        deletions: [{ name: 'alice', mechanism: 2 }],
        upsertions: [],
      });
      assert.deepEqual(del.results.map((r) => [r.user, r.errorCode]), [['alice', 0]]);
      c2.close();
      await assert.rejects(sasl(saslListener(b), { mechanism: 'scram-sha-512', username: 'alice', password: ALICE_PASSWORD }).admin().connect());
    } finally {
      await b.close();
    }
  });
});

describe('KIP-368: session lifetime and re-authentication', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({ ...BASE, connectionsMaxReauthMs: 600 });
  });
  after(() => b.close());

  test('SaslAuthenticate v1 gives the session lifetime; a request after it expires closes the connection', async () => {
    const c = await RawClient.connect(saslListener(b));
    const { auth } = await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD));
    assert.equal(auth!.errorCode, ErrorCode.NONE);
    assert.equal(auth!.sessionLifetimeMs, 600n);
    await new Promise((r) => setTimeout(r, 800));
    c.write(c.frame(ApiKey.Metadata, 12, MetadataRequest, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    assert.equal(await c.readFrame(), null);
  });

  test('re-authenticating before expiry keeps the connection; another principal is refused', async () => {
    const c = await RawClient.connect(saslListener(b));
    assert.equal((await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD))).auth!.errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, 300));
    const re = await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD));
    assert.equal(re.auth!.errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, 450)); // past the first session's end, within the second
    const md = await c.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.brokers.length, 1);
    const other = await rawAuthenticate(c, 'PLAIN', plainToken('plain-only', ALICE_PASSWORD));
    assert.equal(other.auth!.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(await c.waitClosed());
  });

  test('without connections.max.reauth.ms a second handshake is ILLEGAL_SASL_STATE', async () => {
    const plain = await testBroker(BASE);
    try {
      const c = await RawClient.connect(saslListener(plain));
      assert.equal((await rawAuthenticate(c, 'PLAIN', plainToken('admin', ADMIN_PASSWORD))).auth!.sessionLifetimeMs, 0n);
      const hs = await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'PLAIN' });
      assert.equal(hs.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
      c.close();
    } finally {
      await plain.close();
    }
  });
});
