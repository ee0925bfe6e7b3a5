/**
 * TLS on the HTTP endpoint (`http.ssl.*`, src/broker/http/server.ts and auth.ts; docs/security.md)
 * with certificates made by the test (openssl): /metrics over https trusting the test CA; a client
 * trusting another CA refuses the server; plain HTTP on the TLS port is answered 400 and never served;
 * `http.ssl.client.auth: required` refuses a client without a certificate in the handshake and one
 * from another CA; with `requested`, a trusted certificate is the principal (mapped by
 * ssl.principal.mapping.rules) which the authorizer refuses, then allows once an ACL grants it, and an
 * untrusted one is 401; Basic credentials over TLS still work; a changed keystore file is served
 * without a restart; the settings are checked together.
 * Skipped without openssl unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import net from 'node:net';
import { once } from 'node:events';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../src/index.js';
import { createLogger } from '../src/broker/logger.js';
import { Admin } from '../src/client/admin.js';
import { loadConfig } from '../src/config/load.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';
import { requireClient, skipUnless } from './helpers/external.js';

const openssl = findOpenssl();
const ADMIN_PW = 'admin-Tls-Pw-4c1d';

interface Answer {
  status: number;
  body: string;
}

/** One GET over https with its own connection (no pooled socket carries another test's certificate). */
function get(url: string, options: https.RequestOptions & { headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent: false, servername: 'localhost', ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** The CN of the certificate the server at `port` presents now. */
async function serverCn(port: number, ca: string): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, checkServerIdentity: () => undefined });
  try {
    await once(socket, 'secureConnect');
    return String(socket.getPeerCertificate().subject.CN);
  } finally {
    socket.destroy();
  }
}

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

describe('HTTP endpoint over TLS (http.ssl.*)', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  let otherCa: string;
  before(async () => {
    requireClient(openssl);
    pki = await makePki();
    otherCa = await readFile(join(pki.dir, 'other-ca.pem'), 'utf8');
  });
  after(() => pki?.cleanup());

  describe('server certificate only; keystore from http.ssl.keystore.location', () => {
    let b: RunningBroker;
    before(async () => {
      b = await startBroker({
        port: 0,
        httpListener: '127.0.0.1:0',
        httpSslEnabled: true,
        httpSslKeystoreLocation: pki.serverKeystore,
        logger: createLogger('error', () => {}),
      });
    });
    after(() => b?.close());

    test('the endpoint is https://, and /metrics answers with the test CA trusted', async () => {
      assert.match(b.httpUrl!, /^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await get(`${b.httpUrl}/metrics`, { ca: pki.caPem });
      assert.equal(r.status, 200);
      assert.match(r.body, /^# HELP /m);
      assert.equal((await get(`${b.httpUrl}/health`, { ca: pki.caPem })).status, 200);
    });

    test('a client trusting another CA refuses the server', async () => {
      await assert.rejects(get(`${b.httpUrl}/metrics`, { ca: otherCa }), (err: NodeJS.ErrnoException) => {
        assert.match(err.code ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
        return true;
      });
    });

    test('plain HTTP on the TLS port: 400 saying to use https://, nothing served, and TLS still answers after', async () => {
      const url = b.httpUrl!.replace(/^https:/, 'http:');
      const answer = await new Promise<Answer>((resolve, reject) => {
        http
          .get(`${url}/metrics`, { agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.body, 'this endpoint speaks HTTPS only (http.ssl.enabled): use https://\n');
      assert.equal((await get(`${b.httpUrl}/ready`, { ca: pki.caPem })).status, 200);
    });
  });

  test('http.ssl.client.auth: required refuses a client without a certificate and one from another CA', async () => {
    // The Kafka listeners' ssl.* stores serve the HTTP endpoint when http.ssl.* names none.
    const lines: string[] = [];
    const b = await startBroker({
      port: 0,
      httpListener: '127.0.0.1:0',
      httpSslEnabled: true,
      sslKeystoreLocation: pki.serverKeystore,
      sslTruststoreLocation: pki.caFile,
      httpSslClientAuth: 'required',
      logger: createLogger('info', (line) => lines.push(line)),
    });
    try {
      const ok = await get(`${b.httpUrl}/metrics`, { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem });
      assert.equal(ok.status, 200);
      // TLS 1.3: the refusal arrives as an alert after the client's side of the handshake, as a reset or an alert.
      await assert.rejects(get(`${b.httpUrl}/metrics`, { ca: pki.caPem }), /certificate required|ECONNRESET|socket hang up|alert/i);
      await assert.rejects(get(`${b.httpUrl}/metrics`, { ca: pki.caPem, cert: pki.strangerCertPem, key: pki.strangerKeyPem }), /unknown ca|ECONNRESET|socket hang up|alert/i);
      // The server side of a refused handshake may end after the client has given up.
      const failures = () => lines.filter((l) => /Failed authentication with \S+ \(HTTP: TLS handshake failed: /.test(l));
      for (let i = 0; i < 40 && failures().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(failures().length, 2, lines.join('\n'));
      assert.equal((await get(`${b.httpUrl}/metrics`, { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem })).status, 200, 'and it still serves');
    } finally {
      await b.close();
    }
  });

  test('closing the broker does not wait for a connection stuck in its TLS handshake or before its first byte', async () => {
    const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', httpSslEnabled: true, httpSslKeystoreLocation: pki.serverKeystore, logger: createLogger('error', () => {}) });
    const port = Number(new URL(b.httpUrl!).port);
    const silent = net.connect({ host: '127.0.0.1', port });
    const halfHello = net.connect({ host: '127.0.0.1', port });
    await Promise.all([once(silent, 'connect'), once(halfHello, 'connect')]);
    halfHello.write(Buffer.from([0x16, 0x03, 0x01])); // a TLS record header, and nothing more
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await b.close();
    assert.ok(performance.now() - t0 < 5000, `closed after ${(performance.now() - t0).toFixed(0)} ms`);
    silent.destroy();
    halfHello.destroy();
  });

  test('a changed keystore file is served to new connections without a restart', async () => {
    const keystore = join(pki.dir, 'http-live-keystore.pem');
    await copyFile(pki.serverKeystore, keystore);
    const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', httpSslEnabled: true, httpSslKeystoreLocation: keystore, logger: createLogger('error', () => {}) });
    try {
      const port = Number(new URL(b.httpUrl!).port);
      assert.equal(await serverCn(port, pki.caPem), 'localhost');
      await copyFile(await pki.newServerKeystore('renewed.localhost'), keystore);
      // The file is checked every TLS_RELOAD_CHECK_MS (stat only).
      const deadline = Date.now() + 5000;
      let cn = '';
      while ((cn = await serverCn(port, pki.caPem)) !== 'renewed.localhost' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(cn, 'renewed.localhost');
    } finally {
      await b.close();
    }
  });

  describe('client certificates requested, the authorizer on', () => {
    let b: RunningBroker;
    const lines: string[] = [];
    before(async () => {
      b = await startBroker({
        port: 0,
        listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
        saslEnabledMechanisms: ['SCRAM-SHA-512'],
        saslUsers: [{ name: 'admin', password: ADMIN_PW }],
        authorizerEnabled: true,
        superUsers: 'User:admin',
        sslPrincipalMappingRules: 'RULE:^CN=([^,]+),OU=eng,O=acme$/$1/L,DEFAULT',
        connectionFailedAuthenticationDelayMs: 0,
        httpListener: '127.0.0.1:0',
        httpSslEnabled: true,
        httpSslKeystoreKey: pki.serverKeyPem,
        httpSslKeystoreCertificateChain: pki.serverCertPem,
        httpSslTruststoreCertificates: pki.caPem,
        httpSslClientAuth: 'requested',
        logger: createLogger('info', (line) => lines.push(line)),
      });
    });
    after(() => b?.close());
    const client = () => ({ ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem });

    test('no certificate and no credentials: 401; Basic credentials over TLS: the super user reads /metrics', async () => {
      assert.equal((await get(`${b.httpUrl}/metrics`, { ca: pki.caPem })).status, 401);
      const admin = await get(`${b.httpUrl}/metrics`, { ca: pki.caPem, headers: basic('admin', ADMIN_PW) });
      assert.equal(admin.status, 200);
      assert.match(admin.body, /^# HELP /m);
      assert.equal((await get(`${b.httpUrl}/metrics`, { ca: pki.caPem, headers: basic('admin', 'wrong') })).status, 401);
    });

    test('the certificate is User:app-1: refused without an ACL, allowed once one grants CLUSTER DESCRIBE', async () => {
      const refused = await get(`${b.httpUrl}/metrics`, client());
      assert.equal(refused.status, 403);
      assert.match(JSON.parse(refused.body).error, /^User:app-1 may not DESCRIBE the cluster/);
      const overview = await get(`${b.httpUrl}/api/overview`, client());
      assert.equal(overview.status, 403);
      assert.equal(JSON.parse(overview.body).error, 'User:app-1 is not authorized to DESCRIBE cluster kafka-cluster');

      const admin = new Admin({ bootstrap: b.listeners[0]!.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: ADMIN_PW } });
      try {
        await admin.createAcls([{ resourceType: 'cluster', resourceName: 'kafka-cluster', principal: 'User:app-1', operation: 'describe', permission: 'allow' }]);
      } finally {
        await admin.close();
      }
      const allowed = await get(`${b.httpUrl}/metrics`, client());
      assert.equal(allowed.status, 200);
      assert.match(allowed.body, /^# HELP /m);
      assert.equal((await get(`${b.httpUrl}/api/overview`, client())).status, 200);
    });

    test('Basic credentials win over the certificate (as SASL over SASL_SSL)', async () => {
      const wrong = await get(`${b.httpUrl}/metrics`, { ...client(), headers: basic('admin', 'wrong') });
      assert.equal(wrong.status, 401);
    });

    test('a certificate from another CA is 401, logged as a failed authentication', async () => {
      const r = await get(`${b.httpUrl}/metrics`, { ca: pki.caPem, cert: pki.strangerCertPem, key: pki.strangerKeyPem });
      assert.equal(r.status, 401);
      assert.match(JSON.parse(r.body).error, /^authentication failed: client certificate not trusted/);
      assert.ok(lines.some((l) => /Failed authentication with 127\.0\.0\.1 \(HTTP: client certificate not trusted/.test(l)), lines.join('\n'));
      // Exempt paths stay open to it, as to anyone.
      assert.equal((await get(`${b.httpUrl}/health`, { ca: pki.caPem, cert: pki.strangerCertPem, key: pki.strangerKeyPem })).status, 200);
    });
  });
});

describe('http.ssl.* settings checked together', () => {
  const load = (env: Record<string, string>) => () => loadConfig({ file: null, env: { RAFKA_HTTP_LISTENER: '127.0.0.1:0', ...env } });

  test('TLS without any keystore, client auth without TLS or a truststore, two keystores at once', () => {
    assert.throws(load({ RAFKA_HTTP_SSL_ENABLED: 'true' }), /http\.ssl\.enabled: the HTTP endpoint needs a keystore/);
    assert.throws(load({ RAFKA_HTTP_SSL_CLIENT_AUTH: 'required' }), /http\.ssl\.client\.auth: required needs http\.ssl\.enabled: true/);
    assert.throws(
      load({ RAFKA_HTTP_SSL_ENABLED: 'true', RAFKA_HTTP_SSL_KEYSTORE_LOCATION: '/k.pem', RAFKA_HTTP_SSL_CLIENT_AUTH: 'requested' }),
      /http\.ssl\.client\.auth: requested needs a truststore/,
    );
    assert.throws(
      load({ RAFKA_HTTP_SSL_ENABLED: 'true', RAFKA_HTTP_SSL_KEYSTORE_LOCATION: '/k.pem', RAFKA_HTTP_SSL_KEYSTORE_KEY: 'x' }),
      /http\.ssl\.keystore\.location: give either it or/,
    );
    const ok = loadConfig({ file: null, env: { RAFKA_HTTP_SSL_ENABLED: 'true', RAFKA_SSL_KEYSTORE_LOCATION: '/k.pem' } });
    assert.equal(ok.httpSslEnabled, true);
  });

  test('a keystore that does not load stops the start, naming the setting and not the key', async () => {
    await assert.rejects(
      startBroker({ port: 0, httpListener: '127.0.0.1:0', httpSslEnabled: true, httpSslKeystoreKey: 'not a key', httpSslKeystoreCertificateChain: 'nor a certificate', logger: createLogger('error', () => {}) }),
      (err: Error) => {
        assert.match(err.message, /^http\.ssl\.keystore: http\.ssl\.keystore\.key \/ http\.ssl\.keystore\.certificate\.chain must hold exactly one private key/);
        assert.ok(!err.message.includes('not a key'));
        return true;
      },
    );
  });
});
