/**
 * Rafka's own client over TLS and SASL (docs/client.md, "Security") against Rafka's listeners, with
 * a CA made by the test (test/helpers/certs.ts): PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER (unsecured
 * JWTs) on SASL_PLAINTEXT, TLS with the test CA on SSL (with and without a client certificate: the
 * principal mapped from it), SCRAM-SHA-512 on SASL_SSL — each with Admin, Producer and a group
 * Consumer, so bootstrap, broker and coordinator connections all log in. A wrong password, a CA that
 * did not sign the broker's certificate, a host name the certificate does not carry, a missing
 * client certificate and TLS against a plain-text port each fail at once with one clear error, and
 * the broker keeps serving. KIP-368: with connections.max.reauth.ms the client logs in again on the
 * same connections while requests are in flight and a consumer keeps consuming.
 * Skipped without openssl unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { UnsecuredJWT } from 'jose';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin, Connection, Consumer, ConnectionError, KafkaProtocolError, Producer, TlsError, type ClusterOptions, type ConsumerMessage, type SaslOptions } from '../src/client/index.js';
import { ApiKey, MetadataRequest, MetadataResponse } from '../src/protocol/messages/index.js';
import { testBroker } from './helpers/broker.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';
import { requireClient, skipUnless } from './helpers/external.js';
import { allListeners, failure, keepBusy, roundTrip } from './helpers/secure-client.js';

const openssl = findOpenssl();
const ADMIN_PASSWORD = 'client-adm1n-pw';
const FAILED = /^SASL_AUTHENTICATION_FAILED: Authentication failed during authentication due to invalid credentials with SASL mechanism/;

function unsecuredToken(sub: string, expiresIn = '1h'): string {
  return new UnsecuredJWT({ sub }).setIssuedAt().setExpirationTime(expiresIn).encode();
}

const port = (b: RunningBroker, name: string) => b.listeners.find((l) => l.name === name)!.port;

describe('client TLS and SASL against Rafka', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  let b: RunningBroker;
  const bootstrap = (name: string) => `127.0.0.1:${port(b, name)}`;
  const principals = (name: string) => new Set(b.broker.connectionStats().filter((s) => s.listener === name).map((s) => s.principal));

  before(async () => {
    requireClient(openssl);
    pki = await makePki();
    b = await testBroker({ ...allListeners(pki, ADMIN_PASSWORD, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']), connectionFailedAuthenticationDelayMs: 50, groupInitialRebalanceDelayMs: 0 });
  });
  after(async () => {
    await b?.close();
    await pki?.cleanup();
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    test(`SASL_PLAINTEXT ${mechanism}: admin, producer and group consumer log in on every connection`, async () => {
      const sasl = { mechanism, username: 'admin', password: ADMIN_PASSWORD } as SaslOptions;
      assert.deepEqual(await roundTrip({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl }, `sp-${mechanism}`), ['one', 'three', 'two']);
    });
  }

  test('SASL_PLAINTEXT OAUTHBEARER: the provider gives an unsecured JWT; the principal is its sub', async () => {
    let calls = 0;
    const sasl: SaslOptions = { mechanism: 'oauthbearer', oauthBearerProvider: async () => (calls++, { value: unsecuredToken('svc-orders') }) };
    const admin = new Admin({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl });
    try {
      await admin.createTopics([{ topic: 'oauth-t', numPartitions: 1 }]);
      assert.ok(principals('SASL_PLAINTEXT').has('svc-orders'));
      assert.ok(calls >= 1);
    } finally {
      await admin.close();
    }
    assert.deepEqual(await roundTrip({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl }, 'oauth-rt'), ['one', 'three', 'two']);
  });

  test('SSL with the test CA: the broker certificate and its host are verified; a client certificate makes the principal', async () => {
    assert.deepEqual(await roundTrip({ bootstrap: bootstrap('SSL'), ssl: { ca: [pki.caPem] } }, 'ssl-rt'), ['one', 'three', 'two']);
    const admin = new Admin({ bootstrap: bootstrap('SSL'), ssl: { ca: [pki.caPem], cert: pki.clientCertPem, key: pki.clientKeyPem } });
    try {
      await admin.listTopics();
      assert.ok(principals('SSL').has('app-1'), [...principals('SSL')].join());
    } finally {
      await admin.close();
    }
    // By name: 'localhost' is in the certificate too (and goes out as SNI).
    const byName = new Admin({ bootstrap: `localhost:${port(b, 'SSL')}`, ssl: { ca: [pki.caPem] } });
    try {
      assert.ok((await byName.listTopics()).includes('ssl-rt'));
    } finally {
      await byName.close();
    }
  });

  test('SASL_SSL SCRAM-SHA-512 with the test CA', async () => {
    const opts: ClusterOptions = { bootstrap: bootstrap('SASL_SSL'), ssl: { ca: [pki.caPem] }, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD } };
    assert.deepEqual(await roundTrip(opts, 'sasl-ssl-rt'), ['one', 'three', 'two']);
    assert.deepEqual([...principals('SASL_SSL')], ['admin']);
  });

  test('a wrong password fails at once with SASL_AUTHENTICATION_FAILED, not retriable, on PLAIN and SCRAM', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const { error, ms } = await failure({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl: { mechanism, username: 'admin', password: 'not-the-password' } });
      assert.ok(error instanceof KafkaProtocolError, String(error));
      assert.equal(error.code, 'SASL_AUTHENTICATION_FAILED');
      assert.equal(error.retriable, false);
      assert.match(error.message, FAILED);
      assert.ok(!error.message.includes('not-the-password'));
      assert.ok(ms < 3000, `${mechanism}: ${ms} ms (retried?)`);
    }
    const { error } = await failure({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => ({ value: unsecuredToken('late', '-1m') }) } });
    assert.ok(error instanceof KafkaProtocolError && error.code === 'SASL_AUTHENTICATION_FAILED', String(error));
  });

  test('bad options are a ConfigError from the constructor', () => {
    assert.throws(() => new Admin({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl: { mechanism: 'gssapi' } as unknown as SaslOptions }), { code: 'RAFKA_CONFIG', message: /unknown mechanism "gssapi"/ });
    assert.throws(() => new Producer({ bootstrap: bootstrap('SASL_PLAINTEXT'), sasl: { mechanism: 'plain', username: 'admin' } as unknown as SaslOptions }), { code: 'RAFKA_CONFIG', message: /PLAIN needs a password/ });
  });

  test('TLS failures are one clear TlsError, not retried: another CA, a host the certificate does not name', async () => {
    const otherCa = await readFile(join(pki.dir, 'other-ca.pem'), 'utf8');
    let r = await failure({ bootstrap: bootstrap('SSL'), ssl: { ca: [otherCa] } });
    assert.ok(r.error instanceof TlsError, String(r.error));
    assert.equal(r.error.retriable, false);
    assert.match(r.error.message, /^TLS to 127\.0\.0\.1:\d+: the broker's certificate is not signed by a trusted CA \(.+\); give its CA in ssl\.ca$/);
    assert.ok(r.ms < 3000, `${r.ms} ms`);

    r = await failure({ bootstrap: bootstrap('SASL_SSL'), ssl: { ca: [pki.caPem], servername: 'kafka.example.com' }, sasl: { mechanism: 'plain', username: 'admin', password: ADMIN_PASSWORD } });
    assert.ok(r.error instanceof TlsError, String(r.error));
    assert.match(r.error.message, /the broker's certificate does not name the host we connect to \(.*kafka\.example\.com.*\)/);

    // TLS against the plain-text port: the broker takes the ClientHello for a frame and hangs up.
    await assert.rejects(Connection.connect({ host: '127.0.0.1', port: port(b, 'PLAINTEXT'), ssl: { ca: [pki.caPem] }, connectTimeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ConnectionError || e instanceof TlsError, String(e));
      assert.match((e as Error).message, /is this a TLS listener \(SSL or SASL_SSL\)\?/);
      return true;
    });
    // The broker still serves everyone else.
    assert.deepEqual(await roundTrip({ bootstrap: bootstrap('SSL'), ssl: { ca: [pki.caPem] } }, 'ssl-after'), ['one', 'three', 'two']);
  });

  test('ssl.client.auth=required: without a client certificate the broker refuses the handshake', async () => {
    const strict = await testBroker({ listeners: ['SSL://127.0.0.1:0'], sslKeystoreLocation: pki.serverKeystore, sslTruststoreLocation: pki.caFile, sslClientAuth: 'required' });
    try {
      const opts = { bootstrap: `127.0.0.1:${port(strict, 'SSL')}` };
      const r = await failure({ ...opts, ssl: { ca: [pki.caPem] } });
      assert.ok(r.error instanceof TlsError, String(r.error));
      assert.match(r.error.message, /the broker requires a client certificate|the broker refused our client certificate/);
      // Rafka's broker hangs up on a certificate of another CA without a TLS alert: the client says what it may mean.
      await assert.rejects(
        Connection.connect({ host: '127.0.0.1', port: port(strict, 'SSL'), ssl: { ca: [pki.caPem], cert: pki.strangerCertPem, key: pki.strangerKeyPem } }),
        /the broker refused our client certificate|the broker may have refused our client certificate \(ssl\.cert, ssl\.key\) or require one/,
      );
      const ok = await failure({ ...opts, ssl: { ca: [pki.caPem], cert: pki.clientCertPem, key: pki.clientKeyPem } });
      assert.equal(ok.error, null);
    } finally {
      await strict.close();
    }
  });
});

describe('client KIP-368 re-authentication against Rafka', () => {
  let b: RunningBroker;
  const REAUTH_MS = 1200;
  before(async () => {
    b = await testBroker({
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['SCRAM-SHA-512', 'OAUTHBEARER'],
      saslOauthbearerAllowUnsecuredJwt: true,
      saslUsers: [{ name: 'admin', password: ADMIN_PASSWORD }],
      connectionsMaxReauthMs: REAUTH_MS,
      groupInitialRebalanceDelayMs: 0,
    });
  });
  after(() => b?.close());
  const bootstrap = () => `127.0.0.1:${port(b, 'SASL_PLAINTEXT')}`;

  test('a mechanism the broker does not enable: UNSUPPORTED_SASL_MECHANISM naming the ones it does', async () => {
    const { error } = await failure({ bootstrap: bootstrap(), sasl: { mechanism: 'plain', username: 'admin', password: ADMIN_PASSWORD } });
    assert.ok(error instanceof KafkaProtocolError, String(error));
    assert.equal(error.code, 'UNSUPPORTED_SASL_MECHANISM');
    assert.match(error.message, /does not offer PLAIN \(it offers SCRAM-SHA-512, OAUTHBEARER\)/);
  });

  test('one connection logs in again before each session ends while requests stay in flight', async () => {
    const conn = await Connection.connect({ host: '127.0.0.1', port: port(b, 'SASL_PLAINTEXT'), sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD } });
    try {
      // Requests in flight at all times, for three and a half session lifetimes.
      const answered = await keepBusy(conn, REAUTH_MS * 3.5);
      assert.ok(!conn.closed);
      assert.ok(conn.authentications >= 3, `${conn.authentications} logins`);
      assert.ok(answered > 40, `${answered} answers`);
    } finally {
      conn.close();
    }
    // OAUTHBEARER asks its provider for a token at each login.
    let calls = 0;
    const oauth = await Connection.connect({ host: '127.0.0.1', port: port(b, 'SASL_PLAINTEXT'), sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => (calls++, { value: unsecuredToken('svc') }) } });
    try {
      await new Promise((r) => setTimeout(r, REAUTH_MS * 2.2));
      await oauth.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [], allowAutoTopicCreation: false });
      assert.ok(!oauth.closed);
      assert.ok(calls >= 3 && oauth.authentications === calls, `${calls} tokens, ${oauth.authentications} logins`);
    } finally {
      oauth.close();
    }
  });

  test('a group consumer consumes through several re-authentications without reconnecting', async () => {
    const opts: ClusterOptions = { bootstrap: bootstrap(), sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD } };
    const admin = new Admin(opts);
    const producer = new Producer({ ...opts, lingerMs: 0 });
    const consumer = new Consumer({ ...opts, groupId: 'reauth-g', autoOffsetReset: 'earliest' });
    try {
      await admin.createTopics([{ topic: 'reauth-t', numPartitions: 2 }]);
      consumer.subscribe('reauth-t');
      const got: ConsumerMessage[] = [];
      let sent = 0;
      const remotes = () => new Set(b.broker.connectionStats().map((s) => s.remote));
      let before: Set<string> | null = null;
      const end = Date.now() + REAUTH_MS * 4;
      while (Date.now() < end) {
        await producer.send('reauth-t', { value: String(sent++) });
        const m = await consumer.next(100);
        if (m) got.push(m);
        if (before === null && got.length > 0) before = remotes();
      }
      const deadline = Date.now() + 10_000;
      while (got.length < sent && Date.now() < deadline) {
        const m = await consumer.next(deadline - Date.now());
        if (m) got.push(m);
      }
      assert.deepEqual(got.map((m) => Number(m.value!.toString())).sort((x, y) => x - y), Array.from({ length: sent }, (_, i) => i));
      // Every connection open once the consumer was consuming is still the same one.
      const after = remotes();
      for (const r of before!) assert.ok(after.has(r), `connection ${r} was replaced`);
    } finally {
      await Promise.all([consumer.close(), producer.close(), admin.close()]);
    }
  });
});
