/**
 * Rafka's client and CLI with TLS and SASL against Apache Kafka 4.1.1 (one KRaft node started as
 * bench/kafka/systems.ts starts it, jars from Maven Central), with the same settings as against
 * Rafka (test/client-security.test.ts, test/cli-security.test.ts): SCRAM-SHA-512 on SASL_PLAINTEXT
 * (the admin user added by `kafka-storage format --add-scram`), SSL with a PEM keystore and
 * truststore made by the test, SCRAM-SHA-512 on SASL_SSL; KIP-368 re-authentication with Kafka's
 * connections.max.reauth.ms while requests are in flight; `rafka users add` and then a login as
 * that user, `users list` and `users remove`. The Kafka process is stopped and its directory removed
 * whatever happens.
 *
 * Skipped when Java, the Kafka jars or openssl are missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveKafka } from '../../bench/kafka/maven.js';
import { freePort, kafkaSystem, type RunningSystem } from '../../bench/kafka/systems.js';
import { Connection, KafkaProtocolError, TlsError, type ClusterOptions } from '../../src/client/index.js';
import { findOpenssl, makePki, type Pki } from '../helpers/certs.js';
import { skipOrFail } from '../helpers/skips.js';
import { failure, keepBusy, roundTrip } from '../helpers/secure-client.js';
import { fails, ok, okJson } from '../helpers/cli.js';

const ADMIN_PASSWORD = 'kafka-adm1n-secret';
const CAROL_PASSWORD = 'carol-pa55-word';
const REAUTH_MS = 2000;

describe('client TLS and SASL against Apache Kafka 4.1.1', { timeout: 600_000 }, () => {
  let kafka: RunningSystem | null = null;
  let pki: Pki | null = null;
  let missing: string | null = null;
  let saslPort = 0;
  let sslPort = 0;
  let saslSslPort = 0;
  let adminConfig = '';

  before(async () => {
    const openssl = findOpenssl();
    if (openssl.missing) {
      missing = openssl.missing;
      return;
    }
    const runtime = await resolveKafka();
    if (!runtime.available) {
      missing = `Apache Kafka is not available: ${runtime.reason}`;
      return;
    }
    pki = await makePki();
    [saslPort, sslPort, saslSslPort] = [await freePort(), await freePort(), await freePort()];
    kafka = await kafkaSystem(runtime, {
      fsyncEveryAppend: false,
      extraListeners: [
        { protocol: 'SASL_PLAINTEXT', port: saslPort },
        { protocol: 'SSL', port: sslPort },
        { protocol: 'SASL_SSL', port: saslSslPort },
      ],
      extraProps: [
        'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256',
        'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${pki.serverKeystore}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${pki.caFile}`,
        `connections.max.reauth.ms=${REAUTH_MS}`,
      ],
      formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=admin,password=${ADMIN_PASSWORD}]`],
    }).start();
    adminConfig = join(pki.dir, 'kafka-admin.properties');
    await writeFile(adminConfig, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${ADMIN_PASSWORD}";\n`);
  });
  after(async () => {
    await kafka?.stop();
    await pki?.cleanup();
  });

  const withKafka = (fn: () => Promise<void>) => async (t: { skip(message?: string): void }) => {
    if (missing !== null) return skipOrFail(t, missing);
    await fn();
  };
  const adminSasl: ClusterOptions['sasl'] = { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD };

  test('SASL_PLAINTEXT SCRAM-SHA-512: admin, producer and group consumer; a wrong password is SASL_AUTHENTICATION_FAILED', withKafka(async () => {
    assert.deepEqual(await roundTrip({ bootstrap: `127.0.0.1:${saslPort}`, sasl: adminSasl }, 'k-scram'), ['one', 'three', 'two']);
    const { error, ms } = await failure({ bootstrap: `127.0.0.1:${saslPort}`, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'wrong-guess' } });
    assert.ok(error instanceof KafkaProtocolError && error.code === 'SASL_AUTHENTICATION_FAILED' && !error.retriable, String(error));
    assert.ok(ms < 5000, `${ms} ms`);
  }));

  test('SSL with the test CA (and a foreign CA refused); SASL_SSL SCRAM-SHA-512', withKafka(async () => {
    assert.deepEqual(await roundTrip({ bootstrap: `127.0.0.1:${sslPort}`, ssl: { ca: [pki!.caPem] } }, 'k-ssl'), ['one', 'three', 'two']);
    const { error } = await failure({ bootstrap: `127.0.0.1:${sslPort}`, ssl: { ca: [await readFile(join(pki!.dir, 'other-ca.pem'), 'utf8')] } });
    assert.ok(error instanceof TlsError, String(error));
    assert.deepEqual(await roundTrip({ bootstrap: `127.0.0.1:${saslSslPort}`, ssl: { ca: [pki!.caPem] }, sasl: adminSasl }, 'k-sasl-ssl'), ['one', 'three', 'two']);
  }));

  test('KIP-368: Kafka ends each session after connections.max.reauth.ms; the client logs in again with requests in flight', withKafka(async () => {
    const conn = await Connection.connect({ host: '127.0.0.1', port: saslPort, sasl: adminSasl });
    try {
      const answered = await keepBusy(conn, REAUTH_MS * 3);
      assert.ok(!conn.closed);
      assert.ok(conn.authentications >= 3, `${conn.authentications} logins`);
      assert.ok(answered > 20, `${answered} answers`);
    } finally {
      conn.close();
    }
  }));

  test('rafka users add, then a login as that user; users list and remove', withKafka(async () => {
    const b = `127.0.0.1:${saslPort}`;
    const pw = join(pki!.dir, 'carol.pw');
    await writeFile(pw, `${CAROL_PASSWORD}\n`);
    const asAdmin = ['--command-config', adminConfig];
    assert.equal(await ok(b, ['users', 'add', 'carol', '-m', 'SCRAM-SHA-256', '-m', 'SCRAM-SHA-512', '--password-file', pw, ...asAdmin]), 'added SCRAM-SHA-256, SCRAM-SHA-512 credentials for user carol\n');
    const listed = await okJson<{ user: string; credentials: { mechanism: string; iterations: number }[] }[]>(b, ['users', 'list', 'carol', ...asAdmin]);
    assert.deepEqual(listed, [{ user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] }]);
    const asCarol = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=SCRAM-SHA-256', '-X', 'sasl.username=carol', '-X', `sasl.password=${CAROL_PASSWORD}`];
    assert.equal(await ok(b, ['topics', 'create', 'k-carol', '-p', '1', ...asCarol]), 'created topic k-carol\n');
    assert.deepEqual(await roundTrip({ bootstrap: b, sasl: { mechanism: 'scram-sha-512', username: 'carol', password: CAROL_PASSWORD } }, 'k-carol-rt'), ['one', 'three', 'two']);
    assert.equal(await ok(b, ['users', 'remove', 'carol', ...asAdmin]), 'removed SCRAM-SHA-256, SCRAM-SHA-512 credentials of user carol\n');
    await fails(b, ['topics', 'list', ...asCarol], 1, /^rafka: SASL_AUTHENTICATION_FAILED: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256$/);
  }));
});
