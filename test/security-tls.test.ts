/**
 * TLS listeners (docs/security.md) with certificates made by the test (openssl): kafkajs over SSL
 * and SASL_SSL; mTLS with ssl.client.auth=required and the principal mapped from the certificate
 * subject by ssl.principal.mapping.rules; requested client auth; a certificate from another CA, no
 * certificate where one is required, a plain-text client on the TLS port and a TLS version outside
 * ssl.enabled.protocols each fail while the broker keeps serving; the keystore reloaded without a
 * restart. Skipped without openssl unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import tls from 'node:tls';
import { once } from 'node:events';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import type { RunningBroker, StartBrokerOptions } from '../src/broker/index.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';
import { requireClient, skipUnless } from './helpers/external.js';

const openssl = findOpenssl();

function client(port: number, ssl: tls.ConnectionOptions, sasl?: SASLOptions) {
  return new Kafka({
    clientId: 'tls-test', brokers: [`127.0.0.1:${port}`], ssl, ...(sasl ? { sasl } : {}),
    logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 5000,
  });
}

async function listTopics(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/** One TLS handshake: the server certificate's CN, or the error. */
async function handshake(port: number, options: tls.ConnectionOptions): Promise<{ cn: string } | { error: string }> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  try {
    await Promise.race([
      once(socket, 'secureConnect'),
      once(socket, 'error').then(([e]) => Promise.reject(e as Error)),
    ]);
    // TLS 1.3: the server's refusal of a client certificate arrives after the client's handshake.
    await new Promise((r) => setTimeout(r, 100));
    if (socket.destroyed) return { error: 'closed' };
    return { cn: String(socket.getPeerCertificate().subject.CN) };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    socket.destroy();
  }
}

describe('TLS listeners', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  before(async () => {
    requireClient(openssl);
    pki = await makePki();
  });
  after(() => pki?.cleanup());

  const listenerPort = (b: RunningBroker, name: string) => b.listeners.find((l) => l.name === name)!.port;

  test('SSL and SASL_SSL listeners beside PLAINTEXT: kafkajs over TLS with the test CA, SCRAM over TLS', async () => {
    const b = await testBroker({
      listeners: ['PLAINTEXT://127.0.0.1:0', 'SSL://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0'],
      sslKeystoreLocation: pki.serverKeystore,
      saslUsers: [{ name: 'admin', password: 'tls-admin-pw' }],
    });
    try {
      const ca = [pki.caPem];
      const produced = client(listenerPort(b, 'SSL'), { ca, servername: 'localhost' });
      const admin = produced.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'tls-t', numPartitions: 1 }] });
      await admin.disconnect();
      const producer = produced.producer();
      await producer.connect();
      await producer.send({ topic: 'tls-t', messages: [{ value: 'over-tls' }] });
      await producer.disconnect();
      const scram = client(listenerPort(b, 'SASL_SSL'), { ca, servername: 'localhost' }, { mechanism: 'scram-sha-512', username: 'admin', password: 'tls-admin-pw' });
      const consumer = scram.consumer({ groupId: 'tls-g' });
      await consumer.connect();
      await consumer.subscribe({ topic: 'tls-t', fromBeginning: true });
      const value = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no record in 20 s')), 20_000);
        void consumer.run({ eachMessage: async ({ message }) => (clearTimeout(t), resolve(message.value!.toString())) });
      });
      await consumer.disconnect();
      assert.equal(value, 'over-tls');
      // Wrong password over TLS fails; a plain-text client on the TLS port fails; both leave the broker serving.
      await assert.rejects(listTopics(client(listenerPort(b, 'SASL_SSL'), { ca, servername: 'localhost' }, { mechanism: 'scram-sha-512', username: 'admin', password: 'nope' })));
      const raw = await RawClient.connect(listenerPort(b, 'SSL'));
      raw.write(raw.frame(ApiKey.Metadata, 12, MetadataRequest, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
      assert.equal(await raw.readFrame(), null, 'a plain-text request on the TLS port gets no answer');
      const plain = await RawClient.connect(listenerPort(b, 'PLAINTEXT'));
      const md = await plain.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.deepEqual(md.topics.map((t) => t.name), ['tls-t']);
      plain.close();
      assert.ok((await listTopics(client(listenerPort(b, 'SSL'), { ca, servername: 'localhost' }))).includes('tls-t'));
    } finally {
      await b.close();
    }
  });

  test('mTLS (ssl.client.auth=required): the principal comes from the certificate by ssl.principal.mapping.rules; others are refused', async () => {
    const b = await testBroker({
      listeners: ['SSL://127.0.0.1:0'],
      sslKeystoreLocation: pki.serverKeystore,
      sslTruststoreLocation: pki.caFile,
      sslClientAuth: 'required',
      sslPrincipalMappingRules: 'RULE:^CN=([^,]+),OU=eng,O=acme$/$1@eng/L,DEFAULT',
    });
    try {
      const port = listenerPort(b, 'SSL');
      const ca = [pki.caPem];
      assert.deepEqual(await listTopics(client(port, { ca, servername: 'localhost', key: pki.clientKeyPem, cert: pki.clientCertPem })), []);
      const withCert = client(port, { ca, servername: 'localhost', key: pki.clientKeyPem, cert: pki.clientCertPem }).admin();
      await withCert.connect();
      await withCert.listTopics();
      assert.ok(b.broker.connectionStats().some((s) => s.principal === 'app-1@eng'), JSON.stringify(b.broker.connectionStats().map((s) => s.principal)));
      await withCert.disconnect();
      // No certificate, and a certificate from another CA: the handshake fails.
      assert.ok('error' in (await handshake(port, { ca })), 'no client certificate');
      assert.ok('error' in (await handshake(port, { ca, key: pki.strangerKeyPem, cert: pki.strangerCertPem })), 'a certificate from another CA');
      await assert.rejects(listTopics(client(port, { ca, servername: 'localhost', key: pki.strangerKeyPem, cert: pki.strangerCertPem })));
      // The broker still serves the good client.
      assert.deepEqual(await listTopics(client(port, { ca, servername: 'localhost', key: pki.clientKeyPem, cert: pki.clientCertPem })), []);
    } finally {
      await b.close();
    }
  });

  test('ssl.client.auth=requested: no certificate is ANONYMOUS, a certificate that does not verify closes the connection', async () => {
    const b = await testBroker({ listeners: ['SSL://127.0.0.1:0'], sslKeystoreLocation: pki.serverKeystore, sslTruststoreLocation: pki.caFile, sslClientAuth: 'requested' });
    try {
      const port = listenerPort(b, 'SSL');
      const ca = [pki.caPem];
      const anon = client(port, { ca, servername: 'localhost' }).admin();
      await anon.connect();
      await anon.listTopics();
      assert.ok(b.broker.connectionStats().every((s) => s.principal === 'ANONYMOUS'));
      await anon.disconnect();
      const mapped = client(port, { ca, servername: 'localhost', key: pki.clientKeyPem, cert: pki.clientCertPem }).admin();
      await mapped.connect();
      await mapped.listTopics();
      assert.ok(b.broker.connectionStats().some((s) => s.principal === 'CN=app-1,OU=eng,O=acme'), JSON.stringify(b.broker.connectionStats().map((s) => s.principal)));
      await mapped.disconnect();
      await assert.rejects(listTopics(client(port, { ca, servername: 'localhost', key: pki.strangerKeyPem, cert: pki.strangerCertPem })));
    } finally {
      await b.close();
    }
  });

  test('ssl.enabled.protocols=TLSv1.3: a TLS 1.2 client is refused', async () => {
    const b = await testBroker({ listeners: ['SSL://127.0.0.1:0'], sslKeystoreLocation: pki.serverKeystore, sslEnabledProtocols: ['TLSv1.3'] });
    try {
      const port = listenerPort(b, 'SSL');
      assert.ok('error' in (await handshake(port, { ca: [pki.caPem], maxVersion: 'TLSv1.2' })));
      assert.deepEqual(await handshake(port, { ca: [pki.caPem], minVersion: 'TLSv1.3' }), { cn: 'localhost' });
    } finally {
      await b.close();
    }
  });

  test('inline PEM (ssl.keystore.certificate.chain / ssl.keystore.key) and a keystore reloaded without a restart', async () => {
    const inline = await testBroker({ listeners: ['SSL://127.0.0.1:0'], sslKeystoreCertificateChain: pki.serverCertPem, sslKeystoreKey: pki.serverKeyPem });
    try {
      assert.deepEqual(await handshake(listenerPort(inline, 'SSL'), { ca: [pki.caPem] }), { cn: 'localhost' });
    } finally {
      await inline.close();
    }
    const keystore = `${pki.dir}/live-keystore.pem`;
    await copyFile(pki.serverKeystore, keystore);
    const b = await testBroker({ listeners: ['SSL://127.0.0.1:0'], sslKeystoreLocation: keystore });
    try {
      const port = listenerPort(b, 'SSL');
      assert.deepEqual(await handshake(port, { ca: [pki.caPem] }), { cn: 'localhost' });
      await copyFile(await pki.newServerKeystore('renewed.localhost'), keystore);
      // The broker notices the change within its check interval; reload() is what it calls.
      const deadline = Date.now() + 5000;
      while (b.broker.security.tls!.reloads === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(b.broker.security.tls!.reloads, 1);
      assert.deepEqual(await handshake(port, { ca: [pki.caPem], checkServerIdentity: () => undefined }), { cn: 'renewed.localhost' });
    } finally {
      await b.close();
    }
  });
});

describe('security configuration is checked before anything starts', () => {
  const problems = (opts: Partial<StartBrokerOptions>) => {
    try {
      loadConfig({ env: {}, flags: opts as never });
      return [];
    } catch (err) {
      return (err as Error).message.split('\n');
    }
  };

  test('listeners, the protocol map and rules are checked with messages naming the setting', () => {
    const bad = (yaml: string) => {
      try {
        loadConfig({ env: {}, file: null, flags: parseConfigText(yaml) as never });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.match(bad('listeners: "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093"\n'), /ssl.keystore.location: listener SASL_SSL uses TLS and needs a keystore/);
    assert.match(bad('listeners: [INTERNAL://:9094]\n'), /listener INTERNAL has no security protocol/);
    assert.match(bad('listeners: [PLAINTEXT://a:1, SSL://b:1]\nssl.keystore.location: /x\n'), /port 1 is used by two listeners/);
    assert.match(bad('listeners: [PLAINTEXT:9092]\n'), /is not of the form NAME:\/\/host:port/);
    assert.match(bad('ssl.principal.mapping.rules: "RULE:(/x/"\n'), /ssl.principal.mapping.rules/);
    assert.match(bad('sasl.enabled.mechanisms: PLAIN,GSSAPI\n'), /sasl.enabled.mechanisms.1: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
    assert.equal(bad('listeners: "PLAINTEXT://127.0.0.1:9092, INTERNAL://127.0.0.1:9093"\nlistener.security.protocol.map: PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT\nadvertised.listeners: [INTERNAL://broker.internal:19093]\n'), '');
    assert.deepEqual(problems({}), []);
  });

  test("listeners as Kafka's comma string, a YAML list or RAFKA_LISTENERS resolve alike", () => {
    const want = ['PLAINTEXT://127.0.0.1:9092', 'SASL_PLAINTEXT://127.0.0.1:9093'];
    assert.deepEqual(loadConfig({ env: {}, file: null, flags: parseConfigText(`listeners: "${want.join(', ')}"\n`) as never }).listeners, want);
    assert.deepEqual(loadConfig({ env: {}, file: null, flags: parseConfigText(`listeners: [${want.join(', ')}]\n`) as never }).listeners, want);
    assert.deepEqual(loadConfig({ env: { RAFKA_LISTENERS: want.join(',') }, file: null }).listeners, want);
    assert.deepEqual(loadConfig({ env: { RAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512' }, file: null }).saslEnabledMechanisms, ['SCRAM-SHA-512']);
  });

  test('a secret never appears in a configuration error', () => {
    let message = '';
    try {
      parseConfigText('sasl.users:\n  - name: admin\n    password: 12345678\n');
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /sasl.users.0.password: must be a string/);
    assert.ok(!message.includes('12345678'), message);
  });
});
