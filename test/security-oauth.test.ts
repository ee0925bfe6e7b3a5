/**
 * OAUTHBEARER (docs/security.md): JWTs signed by a key the test makes, checked against a JWKS file
 * with issuer and audience; expired, foreign-signed, unsigned, wrong-issuer and wrong-audience tokens
 * refused; the token's exp bounding the KIP-368 session; unsecured tokens (alg none) when
 * sasl.oauthbearer.allow.unsecured.jwt is set, with kafkajs and kcat (librdkafka's built-in
 * unsecured token); the Java client (kafka-clients 4.1.1) with its OAuthBearerLoginCallbackHandler
 * reading a signed token from a file:// token endpoint. kcat and Java are skipped when missing,
 * unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { SaslHandshakeRequest, SaslHandshakeResponse } from '../src/protocol/messages/sasl-handshake.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../src/protocol/messages/sasl-authenticate.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { findJavaClient, findKcat, requireClient, run, skipUnless, useClient } from './helpers/external.js';
import { fileURLToPath } from 'node:url';

/** The program lives in the source tree: dist/test/x.js -> ../../test/clients/OAuthProbe.java. */
const JAVA_SOURCE = fileURLToPath(new URL('../../test/clients/OAuthProbe.java', import.meta.url));

const ISSUER = 'https://idp.rafka.test';
type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const kcat = findKcat();

function oauthClient(port: number, token: string) {
  return new Kafka({
    clientId: 'oauth-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 5000,
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
  });
}

async function canList(port: number, token: string): Promise<boolean> {
  const admin = oauthClient(port, token).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

describe('OAUTHBEARER with a JWKS', () => {
  let dir: string;
  let b: RunningBroker;
  let port: number;
  let key: SigningKey;
  let otherKey: SigningKey;
  const sign = (claims: Record<string, unknown>, opts: { key?: SigningKey; iss?: string; aud?: string; exp?: number | string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? 'rafka')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '10m')
      .sign(opts.key ?? key);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rafka-oauth-'));
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    b = await testBroker({
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['OAUTHBEARER', 'PLAIN'],
      saslOauthbearerJwksEndpointUrl: pathToFileURL(jwksFile).href,
      saslOauthbearerExpectedIssuer: ISSUER,
      saslOauthbearerExpectedAudience: ['rafka'],
      connectionsMaxReauthMs: 3_600_000,
      connectionFailedAuthenticationDelayMs: 0,
    });
    port = b.port;
  });
  after(async () => {
    await b?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a signed token from the expected issuer for the expected audience logs in as its sub', async () => {
    const admin = oauthClient(port, await sign({ sub: 'svc-orders' })).admin();
    await admin.connect();
    await admin.listTopics();
    assert.ok(b.broker.connectionStats().some((s) => s.principal === 'svc-orders'));
    await admin.disconnect();
  });

  test('expired, foreign-signed, wrong-issuer, wrong-audience, subject-less and unsigned tokens are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refused = {
      expired: await sign({ sub: 'svc' }, { exp: now - 3600 }),
      foreign: await sign({ sub: 'svc' }, { key: otherKey }),
      issuer: await sign({ sub: 'svc' }, { iss: 'https://evil.test' }),
      audience: await sign({ sub: 'svc' }, { aud: 'someone-else' }),
      subjectless: await sign({}),
      unsigned: new UnsecuredJWT({ sub: 'svc' }).setIssuer(ISSUER).setAudience('rafka').setExpirationTime('10m').encode(),
    };
    for (const [what, token] of Object.entries(refused)) assert.equal(await canList(port, token), false, what);
    assert.equal(await canList(port, await sign({ sub: 'svc' })), true, 'a good token still works');
  });

  test('the Java client (OAuthBearerLoginCallbackHandler, token from a file:// endpoint) creates, produces and consumes', async (t) => {
    const java = await findJavaClient(JAVA_SOURCE);
    if (!useClient(t, java)) return;
    const tokenFile = join(dir, 'token.jwt');
    await writeFile(tokenFile, await sign({ sub: 'svc-java', scope: 'kafka' }));
    const url = pathToFileURL(tokenFile).href;
    const r = await run(java.command, [`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${url}`, '-cp', java.classpath, 'OAuthProbe', `127.0.0.1:${port}`, url, 'java-oauth'], { timeoutMs: 90_000, check: false });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stdout.toString(), /^ok from-java$/m);
  });

  test("the session ends with the token: session_lifetime_ms is what is left of exp", async () => {
    const c = await RawClient.connect(port);
    try {
      await c.request(ApiKey.SaslHandshake, 1, SaslHandshakeRequest, SaslHandshakeResponse, { mechanism: 'OAUTHBEARER' });
      const token = await sign({ sub: 'svc' }, { exp: Math.floor(Date.now() / 1000) + 60 });
      const auth = await c.request(ApiKey.SaslAuthenticate, 1, SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes: Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`) });
      assert.equal(auth.errorCode, ErrorCode.NONE);
      assert.ok(auth.sessionLifetimeMs > 50_000n && auth.sessionLifetimeMs <= 60_000n, String(auth.sessionLifetimeMs));
    } finally {
      c.close();
    }
  });
});

describe('OAUTHBEARER with unsecured tokens (sasl.oauthbearer.allow.unsecured.jwt)', () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker({ listeners: ['SASL_PLAINTEXT://127.0.0.1:0'], saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerAllowUnsecuredJwt: true });
  });
  after(() => b.close());

  test('kafkajs with an alg-none token; an expired one is refused', async () => {
    assert.equal(await canList(b.port, new UnsecuredJWT({ sub: 'tester' }).setExpirationTime('5m').encode()), true);
    assert.equal(await canList(b.port, new UnsecuredJWT({ sub: 'tester' }).setExpirationTime(Math.floor(Date.now() / 1000) - 600).encode()), false);
  });

  test('kcat with librdkafka\'s unsecured token', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    const sec = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER', '-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', 'sasl.oauthbearer.config=principal=kcat-user'];
    await run(kcat.command, ['-b', `127.0.0.1:${b.port}`, ...sec, '-P', '-t', 'oauth-kcat'], { input: 'x\ny\n', timeoutMs: 30_000 });
    const out = await run(kcat.command, ['-b', `127.0.0.1:${b.port}`, ...sec, '-C', '-t', 'oauth-kcat', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
    assert.deepEqual(out.stdout.toString().split('\n').filter((l) => l !== ''), ['x', 'y']);
  });

  test('without a JWKS or the unsecured switch, OAUTHBEARER does not start', async () => {
    await assert.rejects(testBroker({ listeners: ['SASL_PLAINTEXT://127.0.0.1:0'], saslEnabledMechanisms: ['OAUTHBEARER'] }), /OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url/);
  });
});
