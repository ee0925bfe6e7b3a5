/**
 * Authentication of the HTTP endpoint and the console's actions as the caller's principal
 * (src/broker/http/auth.ts, src/console/access.ts, src/console/clients.ts; docs/security.md), on a
 * broker whose only Kafka listener is SASL_PLAINTEXT with SCRAM-SHA-512 and PLAIN users and the
 * authorizer on: no credentials or a wrong password is 401 with WWW-Authenticate after the
 * failed-authentication delay and without the password in the log; a principal sees only the
 * topics it may DESCRIBE, browses only those it may READ (403 otherwise); the super user does
 * everything, through the console's own clients logged in as it; /metrics needs CLUSTER DESCRIBE;
 * /health and /ready stay open. A broker without security keeps the endpoint open.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../src/index.js';
import { createLogger } from '../src/broker/logger.js';
import { Admin } from '../src/client/admin.js';
import { Producer } from '../src/client/producer.js';
import type { SaslOptions } from '../src/client/sasl.js';
import { requireClient, skipUnless } from './helpers/external.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';

const openssl = findOpenssl();

const ADMIN_PW = 'admin-Pw-7f3a9c';
const ALICE_PW = 'alice-Pw-2b8e41';
const BOB_PW = 'bob-Pw-c90d17';
const WRONG_PW = 'Wrong-Pw-5e6f70';
const DELAY_MS = 150;

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

describe('HTTP endpoint with security on (SASL users, authorizer)', () => {
  let b: RunningBroker;
  let base: string;
  const lines: string[] = [];

  before(async () => {
    b = await startBroker({
      port: 0,
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['SCRAM-SHA-512', 'PLAIN'],
      saslUsers: [
        { name: 'admin', password: ADMIN_PW, mechanisms: ['SCRAM-SHA-512'] },
        { name: 'alice', password: ALICE_PW, mechanisms: ['SCRAM-SHA-512'] },
        { name: 'bob', password: BOB_PW, mechanisms: ['PLAIN'] },
      ],
      authorizerEnabled: true,
      superUsers: 'User:admin',
      connectionFailedAuthenticationDelayMs: DELAY_MS,
      httpListener: '127.0.0.1:0',
      httpConsoleReadOnly: false,
      logger: createLogger('debug', (line) => lines.push(line)),
    });
    base = b.httpUrl!;
    const sasl: SaslOptions = { mechanism: 'SCRAM-SHA-512', username: 'admin', password: ADMIN_PW };
    const admin = new Admin({ bootstrap: b.listeners[0]!.bootstrap, sasl });
    const producer = new Producer({ bootstrap: b.listeners[0]!.bootstrap, sasl, lingerMs: 0 });
    try {
      await admin.createTopics([{ topic: 'visible' }, { topic: 'secret' }]);
      await producer.send('visible', { key: 'k', value: 'hello' });
      await producer.send('secret', { key: 'k', value: 'classified' });
      // alice may read `visible` (READ implies DESCRIBE) and only DESCRIBE `listed`; bob nothing.
      await admin.createTopics([{ topic: 'listed' }]);
      await admin.createAcls([
        { resourceType: 'topic', resourceName: 'visible', principal: 'User:alice', operation: 'read', permission: 'allow' },
        { resourceType: 'topic', resourceName: 'listed', principal: 'User:alice', operation: 'describe', permission: 'allow' },
      ]);
    } finally {
      await producer.close();
      await admin.close();
    }
  });
  after(() => b.close());

  test('no credentials: 401 with WWW-Authenticate Basic, on the page, the API and /metrics', async () => {
    for (const path of ['/', '/api/topics', '/api/overview', '/metrics']) {
      const r = await call(base, 'GET', path);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="rafka"/, path);
      assert.equal(r.body.error, 'authentication required');
    }
  });

  test('a wrong password, an unknown user, a malformed header: 401 after the failed-authentication delay, no password logged', async () => {
    for (const headers of [basic('alice', WRONG_PW), basic('nobody', WRONG_PW), basic('bob', WRONG_PW), { Authorization: 'Basic !!!' }, { Authorization: 'Digest x' }]) {
      const t0 = performance.now();
      const r = await call(base, 'GET', '/api/topics', headers);
      const ms = performance.now() - t0;
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.body.error, 'authentication failed: invalid credentials');
      assert.ok(ms >= DELAY_MS - 5, `answered after ${ms.toFixed(0)} ms, before connection.failed.authentication.delay.ms`);
    }
    const failures = lines.filter((l) => l.includes('Failed authentication') && l.includes('HTTP'));
    assert.ok(failures.some((l) => l.includes('user "alice"')), failures.join('\n'));
    const all = lines.join('\n');
    for (const pw of [WRONG_PW, ALICE_PW, BOB_PW, ADMIN_PW]) assert.ok(!all.includes(pw), 'a password reached the log');
  });

  test('health and ready stay open (http.auth.exempt)', async () => {
    assert.equal((await call(base, 'GET', '/health')).status, 200);
    assert.equal((await call(base, 'GET', '/ready')).status, 200);
  });

  test('listing as Metadata: alice sees the topics she may DESCRIBE, bob none; the super user all', async () => {
    const alice = await call(base, 'GET', '/api/topics', basic('alice', ALICE_PW));
    assert.equal(alice.status, 200);
    assert.deepEqual(alice.body.topics.map((t: { name: string }) => t.name), ['listed', 'visible']);
    const bob = await call(base, 'GET', '/api/topics', basic('bob', BOB_PW));
    assert.equal(bob.status, 200);
    assert.deepEqual(bob.body.topics, []);
    const admin = await call(base, 'GET', '/api/topics', basic('admin', ADMIN_PW));
    assert.deepEqual(admin.body.topics.map((t: { name: string }) => t.name), ['listed', 'secret', 'visible']);
  });

  test('browsing needs READ: alice reads `visible` (through a client logged in as her), not `secret` nor `listed` (403)', async () => {
    const ok = await call(base, 'GET', '/api/topics/visible/messages?partition=0&from=beginning', basic('alice', ALICE_PW));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.messages.map((m: { value: { data: string } }) => Buffer.from(m.value.data, 'base64').toString()), ['hello']);
    assert.ok(lines.some((l) => /authenticated as User:alice with SCRAM-SHA-512/.test(l)), 'the console client logged in to the SASL listener as alice');
    for (const topic of ['secret', 'listed']) {
      const no = await call(base, 'GET', `/api/topics/${topic}/messages?partition=0`, basic('alice', ALICE_PW));
      assert.equal(no.status, 403, topic);
      assert.equal(no.body.error, `User:alice is not authorized to READ topic ${topic}`);
    }
    const bob = await call(base, 'GET', '/api/topics/visible/messages?partition=0', basic('bob', BOB_PW));
    assert.equal(bob.status, 403);
  });

  test('writes need their operation: alice may not produce, create or delete; the super user may, over SASL as itself', async () => {
    assert.equal((await call(base, 'POST', '/api/topics/visible/messages', basic('alice', ALICE_PW), { value: 'x' })).status, 403);
    assert.equal((await call(base, 'POST', '/api/topics', basic('alice', ALICE_PW), { name: 'new-one' })).status, 403);
    assert.equal((await call(base, 'DELETE', '/api/topics/visible', basic('alice', ALICE_PW))).status, 403);
    const produced = await call(base, 'POST', '/api/topics/secret/messages', basic('admin', ADMIN_PW), { value: 'from the console' });
    assert.equal(produced.status, 201, JSON.stringify(produced.body));
    const browsed = await call(base, 'GET', '/api/topics/secret/messages?partition=0&from=beginning', basic('admin', ADMIN_PW));
    assert.equal(browsed.status, 200);
    assert.equal(browsed.body.messages.length, 2);
    const created = await call(base, 'POST', '/api/topics', basic('admin', ADMIN_PW), { name: 'made-by-admin', partitions: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const described = await call(base, 'GET', '/api/topics/made-by-admin', basic('admin', ADMIN_PW));
    assert.equal(described.status, 200, JSON.stringify(described.body));
    assert.equal(described.body.partitions.length, 2);
  });

  test('/metrics: 403 without CLUSTER DESCRIBE, the text format for the super user', async () => {
    const alice = await call(base, 'GET', '/metrics', basic('alice', ALICE_PW));
    assert.equal(alice.status, 403);
    assert.match(alice.body.error, /User:alice may not DESCRIBE the cluster/);
    const admin = await call(base, 'GET', '/metrics', basic('admin', ADMIN_PW));
    assert.equal(admin.status, 200);
    assert.match(admin.body, /^# HELP /m);
  });

  test('a changed SCRAM password takes effect at once (no stale remembered login)', async () => {
    assert.equal((await call(base, 'GET', '/api/topics', basic('alice', ALICE_PW))).status, 200);
    const admin = new Admin({ bootstrap: b.listeners[0]!.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: ADMIN_PW } });
    try {
      await admin.alterUserScramCredentials([{ op: 'upsert', user: 'alice', mechanism: 'SCRAM-SHA-512', password: `${ALICE_PW}-new` }]);
    } finally {
      await admin.close();
    }
    assert.equal((await call(base, 'GET', '/api/topics', basic('alice', ALICE_PW))).status, 401);
    assert.equal((await call(base, 'GET', '/api/topics', basic('alice', `${ALICE_PW}-new`))).status, 200);
  });
});

/** An unsecured JWT (alg none), as Kafka's test validator accepts it with `sasl.oauthbearer.allow.unsecured.jwt`. */
function unsecuredJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

describe('HTTP endpoint with OAUTHBEARER: Bearer tokens through the broker\'s validator', () => {
  let b: RunningBroker;
  before(async () => {
    b = await startBroker({
      port: 0,
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['OAUTHBEARER'],
      saslOauthbearerAllowUnsecuredJwt: true,
      authorizerEnabled: true,
      superUsers: 'User:ops',
      connectionFailedAuthenticationDelayMs: 0,
      httpListener: '127.0.0.1:0',
      logger: createLogger('error', () => {}),
    });
  });
  after(() => b.close());

  test('a valid token is its sub; an expired one or one without exp is 401, with a Bearer challenge', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = await call(b.httpUrl!, 'GET', '/metrics');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /Bearer realm="rafka"/);
    const ops = { Authorization: `Bearer ${unsecuredJwt({ sub: 'ops', exp: now + 600 })}` };
    assert.equal((await call(b.httpUrl!, 'GET', '/metrics', ops)).status, 200);
    const dev = await call(b.httpUrl!, 'GET', '/metrics', { Authorization: `Bearer ${unsecuredJwt({ sub: 'dev', exp: now + 600 })}` });
    assert.equal(dev.status, 403);
    assert.match(dev.body.error, /^User:dev may not DESCRIBE the cluster/);
    assert.equal((await call(b.httpUrl!, 'GET', '/metrics', { Authorization: `Bearer ${unsecuredJwt({ sub: 'ops', exp: now - 600 })}` })).status, 401);
    assert.equal((await call(b.httpUrl!, 'GET', '/metrics', { Authorization: `Bearer ${unsecuredJwt({ sub: 'ops' })}` })).status, 401);
  });

  test('the console acts as the token\'s principal over OAUTHBEARER (no PLAINTEXT listener)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ops = { Authorization: `Bearer ${unsecuredJwt({ sub: 'ops', exp: now + 600 })}` };
    const created = await call(b.httpUrl!, 'POST', '/api/topics', ops, { name: 'by-token' });
    assert.equal(created.status, 403, 'read-only by default');
    const topic = await call(b.httpUrl!, 'GET', '/api/groups', ops);
    assert.equal(topic.status, 200, JSON.stringify(topic.body));
    assert.deepEqual(topic.body.groups, []);
  });
});

describe('the console over TLS listeners only: the broker\'s own certificate pinned', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  before(async () => {
    requireClient(openssl);
    pki = await makePki();
  });
  after(() => pki?.cleanup());

  for (const protocol of ['SSL', 'SASL_SSL'] as const) {
    test(`${protocol}: the console browses and produces through it`, async () => {
      const sasl = protocol === 'SASL_SSL';
      const b = await startBroker({
        port: 0,
        listeners: [`${protocol}://127.0.0.1:0`],
        sslKeystoreLocation: pki.serverKeystore,
        ...(sasl ? { saslEnabledMechanisms: ['SCRAM-SHA-256' as const], saslUsers: [{ name: 'admin', password: ADMIN_PW }] } : {}),
        httpListener: '127.0.0.1:0',
        httpConsoleReadOnly: false,
        logger: createLogger('error', () => {}),
      });
      try {
        const headers = sasl ? basic('admin', ADMIN_PW) : {};
        const created = await call(b.httpUrl!, 'POST', '/api/topics', headers, { name: 'tls-topic' });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal((await call(b.httpUrl!, 'POST', '/api/topics/tls-topic/messages', headers, { value: 'over tls' })).status, 201);
        const browsed = await call(b.httpUrl!, 'GET', '/api/topics/tls-topic/messages?partition=0', headers);
        assert.equal(browsed.status, 200, JSON.stringify(browsed.body));
        assert.deepEqual(browsed.body.messages.map((m: { value: { data: string } }) => Buffer.from(m.value.data, 'base64').toString()), ['over tls']);
      } finally {
        await b.close();
      }
    });
  }
});

describe('HTTP endpoint without security', () => {
  test('open: no SASL users, no SASL listener, no authorizer', async () => {
    const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', logger: createLogger('error', () => {}) });
    try {
      assert.equal((await call(b.httpUrl!, 'GET', '/api/topics')).status, 200);
      assert.equal((await call(b.httpUrl!, 'GET', '/metrics')).status, 200);
    } finally {
      await b.close();
    }
  });

  test('http.auth.exempt: [] puts /health behind authentication too', async () => {
    const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', authorizerEnabled: true, httpAuthExempt: [], logger: createLogger('error', () => {}) });
    try {
      assert.equal((await call(b.httpUrl!, 'GET', '/health')).status, 401);
      // The authorizer on and nobody who can log in: everything is refused (fail closed).
      assert.equal((await call(b.httpUrl!, 'GET', '/api/topics', basic('anyone', 'x'))).status, 401);
    } finally {
      await b.close();
    }
  });
});
