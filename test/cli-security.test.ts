/**
 * The `rafka` operations commands over TLS and SASL (docs/client.md, "The CLI"): `--command-config`
 * with Kafka's client properties (sasl.jaas.config for SCRAM and an unsecured OAUTHBEARER token,
 * PEM truststore and keystore) and `-X` with librdkafka's names; `rafka users add|list|remove`
 * (SCRAM credentials salted by the client) and logging in with the user just added; a wrong
 * password, a foreign CA and bad settings are one line on stderr that never holds a secret.
 * Against Rafka with a CA made by the test; skipped without openssl unless RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningBroker } from '../src/broker/index.js';
import { clientSecurity, parseJaasConfig, readClientSettings } from '../src/cli/ops/client-config.js';
import { testBroker } from './helpers/broker.js';
import { findOpenssl, makePki, type Pki } from './helpers/certs.js';
import { requireClient, skipUnless } from './helpers/external.js';
import { fails, ok, okJson, rafka } from './helpers/cli.js';
import { allListeners } from './helpers/secure-client.js';

const openssl = findOpenssl();
const ADMIN_PASSWORD = 'cli-adm1n-secret';
const ALICE_PASSWORD = 'alice-s3cret-pw';

describe('rafka CLI with TLS and SASL against Rafka', { skip: skipUnless(openssl) }, () => {
  let pki: Pki;
  let b: RunningBroker;
  let adminConfig: string;
  const listener = (name: string) => `127.0.0.1:${b.listeners.find((l) => l.name === name)!.port}`;
  const file = async (name: string, text: string) => {
    const f = join(pki.dir, name);
    await writeFile(f, text, { mode: 0o600 });
    return f;
  };
  const scramJaas = (user: string, password: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`;

  before(async () => {
    requireClient(openssl);
    pki = await makePki();
    b = await testBroker({ ...allListeners(pki, ADMIN_PASSWORD, ['SCRAM-SHA-512']), connectionFailedAuthenticationDelayMs: 20 });
    adminConfig = await file('admin.properties', [
      '# as kafka-configs.sh --command-config takes it',
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=${scramJaas('admin', ADMIN_PASSWORD)}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${pki.caFile}`,
      '',
    ].join('\n'));
  });
  after(async () => {
    await b?.close();
    await pki?.cleanup();
  });

  test('users add (password file, stdin), list, login with the new user, remove; the password never appears', async () => {
    const pwFile = await file('alice.pw', `${ALICE_PASSWORD}\n`);
    const sslAdmin = ['--command-config', adminConfig];
    assert.equal(await ok(listener('SASL_SSL'), ['users', 'add', 'alice', '-m', 'SCRAM-SHA-256', '-m', 'scram-sha-512', '--iterations', '8192', '--password-file', pwFile, ...sslAdmin]), 'added SCRAM-SHA-256, SCRAM-SHA-512 credentials for user alice\n');
    const r = await rafka(['users', 'add', 'bob', '-b', listener('SASL_SSL'), ...sslAdmin], { input: 'bob-pa55word\n' });
    assert.equal(r.code, 0, r.stderr);
    const listed = await okJson<{ user: string; credentials: { mechanism: string; iterations: number }[] }[]>(listener('SASL_SSL'), ['users', 'list', ...sslAdmin]);
    assert.deepEqual(listed, [
      { user: 'admin', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
      { user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    assert.match(await ok(listener('SASL_SSL'), ['users', 'list', 'alice', ...sslAdmin]), /^alice\s+SCRAM-SHA-256\s+8192$/m);

    // Alice logs in with -X (librdkafka's names) on SASL_PLAINTEXT, with the Java names on SASL_SSL.
    const aliceX = ['-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=alice', '-X', `sasl.password=${ALICE_PASSWORD}`];
    assert.equal(await ok(listener('SASL_PLAINTEXT'), ['topics', 'create', 'cli-sec', '-p', '1', ...aliceX]), 'created topic cli-sec\n');
    const aliceSsl = await file('alice.properties', `security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=${scramJaas('alice', ALICE_PASSWORD)}\nssl.truststore.location=${pki.caFile}\n`);
    assert.match(await ok(listener('SASL_SSL'), ['produce', 'cli-sec', '--command-config', aliceSsl], { input: 'one\ntwo\n' }), /^produced 2 records to cli-sec/);
    assert.equal(await ok(listener('SASL_SSL'), ['consume', 'cli-sec', '-o', 'beginning', '-e', '--command-config', aliceSsl]), 'one\ntwo\n');

    assert.equal(await ok(listener('SASL_SSL'), ['users', 'remove', 'alice', '-m', 'SCRAM-SHA-256', ...sslAdmin]), 'removed SCRAM-SHA-256 credentials of user alice\n');
    const refused = await fails(listener('SASL_PLAINTEXT'), ['topics', 'list', ...aliceX], 1, /^rafka: SASL_AUTHENTICATION_FAILED: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256$/);
    assert.ok(!refused.stderr.includes(ALICE_PASSWORD) && !refused.stdout.includes(ALICE_PASSWORD));
    assert.equal(await ok(listener('SASL_SSL'), ['users', 'remove', 'bob', ...sslAdmin]), 'removed SCRAM-SHA-512 credentials of user bob\n');
    await fails(listener('SASL_SSL'), ['users', 'list', 'bob', ...sslAdmin], 1, /^rafka: RESOURCE_NOT_FOUND: user bob/);
  });

  test('SSL: a PEM truststore and keystore, and librdkafka names with -X', async () => {
    const keystore = await file('client-keystore.pem', pki.clientKeyPem + pki.clientCertPem);
    const mtls = await file('mtls.properties', `security.protocol=SSL\nssl.truststore.location=${pki.caFile}\nssl.keystore.type=PEM\nssl.keystore.location=${keystore}\n`);
    const c = await okJson<{ clusterId: string; brokers: { port: number }[] }>(listener('SSL'), ['cluster', '--no-apis', '--command-config', mtls]);
    assert.equal(c.clusterId, b.clusterId);
    assert.deepEqual(c.brokers.map((x) => x.port), [Number(listener('SSL').split(':')[1])], 'the SSL listener advertises itself');
    const x = ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-X', `ssl.certificate.location=${pki.clientCertFile}`, '-X', `ssl.key.location=${pki.clientKeyFile}`];
    await ok(listener('SSL'), ['topics', 'create', 'cli-ssl', ...x]);
    assert.match(await ok(listener('SSL'), ['topics', 'list', ...x]), /^cli-ssl\s/m);
  });

  test('OAUTHBEARER with an unsecured token from sasl.jaas.config', async () => {
    const cfg = await file('oauth.properties', [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=OAUTHBEARER',
      'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \\',
      '    unsecuredLoginStringClaim_sub="cli-svc";',
      'client.id=my-app',
      '',
    ].join('\n'));
    const r = await rafka(['topics', 'list', '-b', listener('SASL_PLAINTEXT'), '--command-config', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'rafka: note: client settings not used by rafka: client.id\n');
  });

  test('failures: a foreign CA, a plain-text client on a SASL port, bad settings; never a secret on stderr', async () => {
    const otherCa = join(pki.dir, 'other-ca.pem');
    await fails(listener('SSL'), ['topics', 'list', '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${otherCa}`], 1, /^rafka: TLS to 127\.0\.0\.1:\d+: the broker's certificate is not signed by a trusted CA \(.*\); give its CA in ssl\.ca$/);
    const secret = 'do-not-print-me-42';
    const cases: [string[], RegExp][] = [
      [['-X', 'security.protocol=KERBEROS'], /security\.protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
      [['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.password=${secret}`], /sasl\.mechanism GSSAPI \(Kafka's default\) is not supported/],
      [['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=PLAIN', '-X', `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="${secret}"`], /sasl\.jaas\.config: expected `<LoginModule class> required name="value" \.\.\. ;`/],
      [['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="${secret}";`], /sasl\.jaas\.config: SCRAM-SHA-512 needs the ScramLoginModule/],
      [['-X', 'security.protocol=SSL', '-X', 'ssl.truststore.type=JKS', '-X', `ssl.truststore.password=${secret}`], /ssl\.truststore\.type=JKS is not supported/],
      [['--command-config', join(pki.dir, 'missing.properties')], /--command-config: cannot read .*missing\.properties: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const r = await fails(listener('SASL_PLAINTEXT'), ['topics', 'list', ...args], 2, message);
      assert.ok(!r.stderr.includes(secret), r.stderr);
    }
  });
});

test('Kafka client properties: JAAS quoting, file then -X, and what each protocol turns on', () => {
  const jaas = parseJaasConfig('org.apache.kafka.common.security.scram.ScramLoginModule required username="a b" password="p\\"q;=" tokenauth=true;');
  assert.equal(jaas.module, 'org.apache.kafka.common.security.scram.ScramLoginModule');
  assert.deepEqual([...jaas.options], [['username', 'a b'], ['password', 'p"q;='], ['tokenauth', 'true']]);
  assert.deepEqual(clientSecurity(new Map()), {});
  assert.deepEqual(clientSecurity(new Map([['security.protocol', 'ssl']])), { ssl: true });
  const sasl = clientSecurity(readClientSettings(undefined, [['security.protocol', 'SASL_PLAINTEXT'], ['sasl.mechanism', 'PLAIN'], ['sasl.username', 'u'], ['sasl.password', 'old'], ['sasl.password', 'new']]));
  assert.deepEqual(sasl, { sasl: { mechanism: 'PLAIN', username: 'u', password: 'new' } });
});
