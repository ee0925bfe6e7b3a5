/**
 * The ACL matrix (test/helpers/acl-matrix.ts) against Apache Kafka 4.1.1 with the StandardAuthorizer
 * (one KRaft node in combined mode, started as bench/kafka/systems.ts starts it, jars from Maven
 * Central) and against Rafka with the same users and ACLs, the same raw requests to both: the error
 * codes and listings must be equal, and equal to the answers the case list records (which the fast
 * test/security-acls.test.ts holds Rafka to). A table of the differences is printed when there are
 * any. Then `rafka acls add|list|remove` runs the same commands against both and must print the same.
 *
 * Skipped when Java or the Kafka jars are missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveKafka } from '../../bench/kafka/maven.js';
import { freePort, kafkaSystem, type RunningSystem } from '../../bench/kafka/systems.js';
import type { RunningBroker } from '../../src/broker/index.js';
import { testBroker } from '../helpers/broker.js';
import { skipOrFail } from '../helpers/skips.js';
import { ok, okJson } from '../helpers/cli.js';
import type { RawClient } from '../helpers/raw-client.js';
import { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey } from '../../src/protocol/messages/index.js';
import {
  MATRIX_CASES, MATRIX_PASSWORD, kafkaMatrixProps, loginPlain, matrixBrokerOptions, prepareMatrix, runMatrix, type MatrixAnswer,
} from '../helpers/acl-matrix.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const show = (v: unknown) => JSON.stringify(v);

describe('ACL matrix: Rafka side by side with Apache Kafka 4.1.1 (StandardAuthorizer)', { timeout: 600_000 }, () => {
  let kafka: RunningSystem | null = null;
  let rafka: RunningBroker | null = null;
  let missing: string | null = null;
  let kafkaPort = 0;
  let rafkaPort = 0;
  let dir = '';
  const clients: RawClient[] = [];

  before(async () => {
    const runtime = await resolveKafka();
    if (!runtime.available) {
      missing = `Apache Kafka is not available: ${runtime.reason}`;
      return;
    }
    dir = await mkdtemp(join(tmpdir(), 'rafka-acl-matrix-'));
    kafkaPort = await freePort();
    kafka = await kafkaSystem(runtime, {
      fsyncEveryAppend: false,
      extraListeners: [{ protocol: 'SASL_PLAINTEXT', port: kafkaPort }],
      extraProps: kafkaMatrixProps(),
    }).start();
    rafka = await testBroker(matrixBrokerOptions({ logger: quiet as never }));
    rafkaPort = rafka.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port;
  });
  after(async () => {
    for (const c of clients) c.close();
    await rafka?.close();
    await kafka?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const withKafka = (fn: () => Promise<void>) => async (t: { skip(message?: string): void }) => {
    if (missing !== null) return skipOrFail(t, missing);
    await fn();
  };

  async function matrixOn(port: number): Promise<MatrixAnswer[]> {
    const admin = await loginPlain(port, 'admin');
    clients.push(admin);
    await prepareMatrix(admin);
    const [alice, bob] = [await loginPlain(port, 'alice'), await loginPlain(port, 'bob')];
    clients.push(alice, bob);
    return runMatrix(alice, bob);
  }

  test('every case answers the same on both, and what the case list records', withKafka(async () => {
    const [k, r] = [await matrixOn(kafkaPort), await matrixOn(rafkaPort)];
    const rows: string[] = [];
    const documented: string[] = [];
    let equal = 0;
    for (let i = 0; i < MATRIX_CASES.length; i++) {
      const c = MATRIX_CASES[i]!;
      const diff = `${c.api}\n    alice: kafka ${show(k[i]!.alice)}  rafka ${show(r[i]!.alice)}\n    bob:   kafka ${show(k[i]!.bob)}  rafka ${show(r[i]!.bob)}`;
      const same = show(k[i]!.alice) === show(r[i]!.alice) && show(k[i]!.bob) === show(r[i]!.bob);
      if (same) equal++;
      else if (c.kafka) documented.push(`${diff}\n    (documented: ${c.kafka.why})`);
      else rows.push(diff);
      const kafkaRecorded = c.kafka ?? c;
      if (show(k[i]!.alice) !== show(kafkaRecorded.allowed) || show(k[i]!.bob) !== show(kafkaRecorded.denied)) {
        rows.push(`${c.api}: Kafka no longer answers what the case records (alice ${show(kafkaRecorded.allowed)}, bob ${show(kafkaRecorded.denied)})`);
      }
      if (show(r[i]!.alice) !== show(c.allowed) || show(r[i]!.bob) !== show(c.denied)) rows.push(`${c.api}: Rafka does not answer what the case records`);
    }
    console.log(`# ACL matrix: ${MATRIX_CASES.length} cases (each as alice and as bob), ${equal} equal on Kafka 4.1.1 and Rafka, ${documented.length} documented differences`);
    for (const row of [...documented, ...rows]) console.log(`# ${row.replaceAll('\n', '\n# ')}`);
    assert.deepEqual(rows, [], `differences:\n${rows.join('\n')}`);
  }));

  test('AlterUserScramCredentials naming a user twice: the same answers as Kafka', withKafka(async () => {
    const upsert = (name: string, mechanism: 1 | 2) => ({ name, mechanism, iterations: 8192, salt: Buffer.alloc(16, 7), saltedPassword: Buffer.alloc(mechanism === 1 ? 32 : 64, 9) });
    const request = {
      deletions: [{ name: 'erin', mechanism: 1 }, { name: 'erin', mechanism: 2 }, { name: 'frank', mechanism: 1 }],
      upsertions: [upsert('carol', 1), upsert('carol', 2), upsert('dave', 2), upsert('dave', 2), upsert('frank', 2), upsert('gina', 1)],
    };
    const answer = async (port: number) => {
      const admin = await loginPlain(port, 'admin');
      clients.push(admin);
      const res = await admin.request(ApiKey.AlterUserScramCredentials, 0, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, request);
      return res.results.map((u) => [u.user, u.errorCode, u.errorMessage]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    };
    const [k, r] = [await answer(kafkaPort), await answer(rafkaPort)];
    console.log(`# AlterUserScramCredentials with duplicates, Kafka: ${show(k)}`);
    assert.deepEqual(r, k);
  }));

  test('rafka acls add, list and remove print the same against Kafka and Rafka', withKafka(async () => {
    const config = join(dir, 'admin.properties');
    await writeFile(
      config,
      `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-${MATRIX_PASSWORD}";\n`,
    );
    const session = async (port: number): Promise<unknown[]> => {
      const b = `127.0.0.1:${port}`;
      const asAdmin = ['--command-config', config];
      const out: unknown[] = [];
      out.push(await ok(b, ['acls', 'add', '--allow-principal', 'User:carol', '--operation', 'read', '--operation', 'describe', '--topic', 'logs', '--resource-pattern-type', 'prefixed', ...asAdmin]));
      out.push(await ok(b, ['acls', 'add', '--deny-principal', 'User:carol', '--deny-host', '10.1.1.1', '--operation', 'all', '--group', 'carol-g', ...asAdmin]));
      // Kafka applies ACLs through its metadata log after answering: list until both are there.
      const deadline = Date.now() + 30_000;
      let listed: unknown[] = [];
      while (listed.length < 3 && Date.now() < deadline) {
        listed = await okJson<unknown[]>(b, ['acls', 'list', '--principal', 'User:carol', ...asAdmin]);
        if (listed.length < 3) await new Promise((res) => setTimeout(res, 200));
      }
      out.push(listed);
      out.push(await ok(b, ['acls', 'list', '--topic', 'logs-app', ...asAdmin]));
      out.push(await ok(b, ['acls', 'remove', '--topic', 'logs', '--resource-pattern-type', 'prefixed', '--allow-principal', 'User:carol', '--operation', 'read', ...asAdmin]));
      out.push(await ok(b, ['acls', 'remove', '--group', 'carol-g', ...asAdmin]));
      out.push(await ok(b, ['acls', 'remove', '--topic', 'nothing-here', ...asAdmin]));
      return out;
    };
    const [k, r] = [await session(kafkaPort), await session(rafkaPort)];
    assert.equal((k[2] as unknown[]).length, 3, show(k[2]));
    assert.deepEqual(r, k);
  }));
});
