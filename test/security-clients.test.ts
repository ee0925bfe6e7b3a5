/**
 * librdkafka's security settings against Rafka, with a CA made by the test (openssl):
 * kcat over SASL_SSL with SCRAM-SHA-512, over SSL with a client certificate (mTLS principal), over
 * SASL_PLAINTEXT with PLAIN; confluent-kafka (Python) over SASL_SSL with SCRAM-SHA-512. A wrong
 * password and a certificate from another CA fail, and the broker keeps serving the others.
 * Skipped when kcat / confluent-kafka / openssl are missing, unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findConfluentKafka, findKcat, requireClient, run, skipUnless } from './helpers/external.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';

const kcat = findKcat();
const python = findConfluentKafka();
const openssl = findOpenssl();
const SCRIPT = fileURLToPath(new URL('../../test/clients/python_client.py', import.meta.url));
const PASSWORD = 'kcat-Scram-pw-31';

describe('librdkafka clients over TLS and SASL', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  let b: RunningBroker;
  const port = (name: string) => b.listeners.find((l) => l.name === name)!.port;
  before(async () => {
    requireClient(openssl);
    pki = await makePki();
    b = await testBroker({
      listeners: ['SASL_SSL://127.0.0.1:0', 'SSL://127.0.0.1:0', 'SASL_PLAINTEXT://127.0.0.1:0'],
      sslKeystoreLocation: pki.serverKeystore,
      sslTruststoreLocation: pki.caFile,
      sslClientAuth: 'requested',
      sslPrincipalMappingRules: 'RULE:^CN=([^,]+),.*$/$1/,DEFAULT',
      saslUsers: [{ name: 'admin', password: PASSWORD, mechanisms: ['PLAIN', 'SCRAM-SHA-512'] }],
    });
  });
  after(async () => {
    await b?.close();
    await pki?.cleanup();
  });

  const kcatArgs = (listener: string, extra: string[], metadataTimeoutS = 10): string[] => ['-b', `127.0.0.1:${port(listener)}`, '-m', String(metadataTimeoutS), ...extra];
  const saslSsl = (password = PASSWORD) => ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', `sasl.password=${password}`];
  const ssl = (key: string, cert: string) => ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-X', `ssl.key.location=${key}`, '-X', `ssl.certificate.location=${cert}`];
  const saslPlain = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=admin', '-X', `sasl.password=${PASSWORD}`];

  async function produceConsume(listener: string, security: string[], topic: string): Promise<string[]> {
    await run(kcat.command, kcatArgs(listener, [...security, '-P', '-t', topic]), { input: 'alpha\nbeta\ngamma\n', timeoutMs: 30_000 });
    const out = await run(kcat.command, kcatArgs(listener, [...security, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']), { timeoutMs: 30_000 });
    return out.stdout.toString('utf8').split('\n').filter((l) => l !== '');
  }

  test('kcat: SASL_SSL with SCRAM-SHA-512', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    assert.deepEqual(await produceConsume('SASL_SSL', saslSsl(), 'kcat-scram'), ['alpha', 'beta', 'gamma']);
  });

  test('kcat: SSL with a client certificate (mTLS principal)', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    assert.deepEqual(await produceConsume('SSL', ssl(pki.clientKeyFile, pki.clientCertFile), 'kcat-mtls'), ['alpha', 'beta', 'gamma']);
    // A consumer that stays connected (killed by its timeout): the broker knows it by its certificate.
    const consumer = run(kcat.command, kcatArgs('SSL', [...ssl(pki.clientKeyFile, pki.clientCertFile), '-C', '-t', 'kcat-mtls', '-q']), { timeoutMs: 6000, check: false }).catch(() => null);
    const deadline = Date.now() + 5000;
    const mapped = () => b.broker.connectionStats().some((s) => s.listener === 'SSL' && s.principal === 'app-1');
    while (!mapped() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(mapped(), JSON.stringify(b.broker.connectionStats().map((s) => [s.listener, s.principal])));
    await consumer;
  });

  test('kcat: SASL_PLAINTEXT with PLAIN', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    assert.deepEqual(await produceConsume('SASL_PLAINTEXT', saslPlain, 'kcat-plain'), ['alpha', 'beta', 'gamma']);
  });

  test('kcat: a wrong password and a certificate from another CA fail; the broker keeps serving', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    const wrong = await run(kcat.command, kcatArgs('SASL_SSL', [...saslSsl('not-the-password'), '-L'], 3), { timeoutMs: 30_000, check: false });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Authentication failed/);
    const stranger = await run(kcat.command, kcatArgs('SSL', [...ssl(pki.strangerKeyFile, pki.strangerCertFile), '-L'], 3), { timeoutMs: 30_000, check: false });
    assert.notEqual(stranger.code, 0);
    const ok = await run(kcat.command, kcatArgs('SASL_SSL', [...saslSsl(), '-L']), { timeoutMs: 30_000 });
    assert.match(ok.stdout.toString('utf8'), new RegExp(`broker 1 at 127\\.0\\.0\\.1:${port('SASL_SSL')}`));
  });

  test('confluent-kafka (Python): SASL_SSL with SCRAM-SHA-512', { skip: skipUnless(python) }, async () => {
    requireClient(python);
    const messages = Array.from({ length: 20 }, (_, i) => ({ k: Buffer.from(`k${i}`).toString('base64'), v: Buffer.from(`v${i}`).toString('base64'), h: [] }));
    const job = {
      mode: 'produce-consume', bootstrap: `127.0.0.1:${port('SASL_SSL')}`, topic: 'py-scram', partitions: 2, messages,
      config: { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': pki.caFile, 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'admin', 'sasl.password': PASSWORD },
    };
    const r = await run(python.command, [SCRIPT], { input: JSON.stringify(job), timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout.toString('utf8')) as { deliveries: { error: string | null }[]; consumed: { v: string }[]; errors: unknown[] };
    assert.deepEqual(out.errors, []);
    assert.ok(out.deliveries.every((d) => d.error === null));
    assert.deepEqual(out.consumed.map((m) => Buffer.from(m.v, 'base64').toString()).sort(), messages.map((m) => Buffer.from(m.v, 'base64').toString()).sort());
  });
});
