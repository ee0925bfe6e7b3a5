/**
 * The stock Java client (org.apache.kafka:kafka-clients 4.1.1) reading a 12-partition topic with
 * small fetch limits (test/clients/SessionConsumer.java), so that it takes many fetches: it keeps an
 * incremental fetch session (KIP-227) as soon as the broker gives it one, and reads every record
 * exactly once, in order per partition, from answers that list only partitions with news.
 *
 * Skipped when java, javac, Maven or Maven Central is missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { seedTopic } from './helpers/seed-topic.js';
import { findJavaClient, run, useClient, type JavaClient } from './helpers/external.js';

/** The program lives in the source tree: dist/test/x.js -> ../../test/clients/SessionConsumer.java. */
const SOURCE = fileURLToPath(new URL('../../test/clients/SessionConsumer.java', import.meta.url));
const PARTITIONS = 12;
const PER_PARTITION = 300;
const PER_BATCH = 10;

describe('the Java consumer over an incremental fetch session', { timeout: 180_000 }, () => {
  let b: RunningBroker | undefined;
  let java: JavaClient;
  before(async () => {
    java = await findJavaClient(SOURCE);
  });
  after(async () => {
    await b?.close();
  });

  it('reads every record of a multi-partition topic once, in order, mostly by incremental fetches', async (t) => {
    if (!useClient(t, java)) return;
    b = await testBroker();
    // Many small batches (10 records per partition per send), so that reading takes many fetches.
    await seedTopic(b.bootstrap, 'java-sessions', PARTITIONS, PER_PARTITION, 'java-sessions-seed', PER_BATCH);
    const out = await run(java.command, ['-cp', java.classpath, 'SessionConsumer', b.bootstrap, 'java-sessions', String(PER_PARTITION)], { timeoutMs: 120_000 });
    assert.match(out.stdout.toString('utf8'), new RegExp(`^read ${PARTITIONS * PER_PARTITION} in \\d+ polls`, 'm'));
    const stats = b.broker.fetchSessions.stats();
    t.diagnostic(`${out.stdout.toString('utf8').trim()}; broker: ${JSON.stringify(stats)}`);
    assert.ok(stats.created >= 1, `a session was created (${JSON.stringify(stats)})`);
    // 360 batches of ~200 bytes, at most 256 bytes per partition and 1 KiB per fetch: about a hundred
    // fetches, all but the first of each session incremental.
    assert.ok(stats.incrementalFetches >= 20 * stats.created, `incremental fetches (${JSON.stringify(stats)})`);
    assert.equal(stats.evictions, 0);
  });
});
