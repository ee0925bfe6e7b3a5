/**
 * The stock Java Admin client (org.apache.kafka:kafka-clients 4.1.1, test/clients/QuotasAdmin.java)
 * altering and describing client quotas against Rafka — what kafka-configs.sh --alter --add-config
 * producer_byte_rate=… --entity-type users sends — and the broker applying what it stored.
 *
 * Skipped when java, javac, Maven or Maven Central is missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findJavaClient, run, useClient, type JavaClient } from './helpers/external.js';

const SOURCE = fileURLToPath(new URL('../../test/clients/QuotasAdmin.java', import.meta.url));

describe("the Java Admin client's client quota calls", { timeout: 180_000 }, () => {
  let b: RunningBroker | undefined;
  let java: JavaClient;
  before(async () => {
    java = await findJavaClient(SOURCE);
  });
  after(async () => {
    await b?.close();
  });

  it('alterClientQuotas and describeClientQuotas with users, the default client id and a combination', async (t) => {
    if (!useClient(t, java)) return;
    b = await testBroker();
    const out = await run(java.command, ['-cp', java.classpath, 'QuotasAdmin', b.bootstrap], { timeoutMs: 120_000 });
    const stdout = out.stdout.toString('utf8');
    t.diagnostic(stdout.trim());
    assert.match(stdout, /^ok$/m, `${stdout}\n${out.stderr}`);
    assert.match(stdout, /^describe user=alice strict: \{user=alice\} producer_byte_rate=1048576\.0$/m);
    assert.match(stdout, /^describe all: \{client-id=app, user=alice\} request_percentage=12\.5$/m);
    assert.match(stdout, /^refused: producer_byte_rate cannot be a fractional value\.$/m);
    // What the Java client stored is what the broker enforces.
    assert.equal(b.broker.quotas.store.get({ clientId: null }, 'consumer_byte_rate'), 2048);
    assert.equal(b.broker.quotas.fetchMaxBytes('ANONYMOUS', 'any-client'), 2048 * 10);
  });
});
