/**
 * Issue 19: the stock Java client (kafka-clients 4.1.1 from Maven Central) against three
 * `rafka start --storage postgres` processes on one PostgreSQL database: a transactional producer
 * (test/clients/TxnSpread.java) commits, aborts and commits over partitions led by all three
 * brokers, so its coordinator sends WriteTxnMarkers to the other two (src/broker/txn-markers-remote.ts);
 * a read_committed consumer then reads exactly the committed records, each once.
 *
 * Skipped when PostgreSQL, java, javac, Maven or Maven Central is missing, unless
 * RAFKA_REQUIRE_CLIENTS=1 (CI). Slow (separate processes and a JVM): `npm run test:slow`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { findJavaClient, requireClient, run, skipUnless, useClient, type JavaClient } from '../helpers/external.js';
import { findPostgres, startPgCluster, type PgCluster } from '../helpers/postgres.js';
import { startBrokerProcess, stop, type BrokerProcess } from '../helpers/broker-process.js';
import { until } from '../helpers/pg-brokers.js';

/** dist/test/slow/x.js -> ../../../test/clients/TxnSpread.java */
const SOURCE = fileURLToPath(new URL('../../../test/clients/TxnSpread.java', import.meta.url));
const server = findPostgres();
const skip = skipUnless(server);
const ENV = { RAFKA_BROKER_SESSION_TIMEOUT_MS: '3000', RAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '300', RAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' };
const TOPIC = 'java-spread';
const PARTITIONS = 6;

describe('Java transactional producer and read_committed consumer against three broker processes', { skip, timeout: 300_000 }, () => {
  let pgc: PgCluster;
  let java: JavaClient;
  const procs: BrokerProcess[] = [];

  before(async () => {
    requireClient(server);
    java = await findJavaClient(SOURCE);
    pgc = await startPgCluster(server);
    const url = await pgc.createDatabase();
    for (const id of [1, 2, 3]) {
      procs.push(await startBrokerProcess(['--storage', 'postgres', '--storage-url', url, '--node-id', String(id)], { env: ENV, timeoutMs: 30_000 }));
    }
  });
  after(async () => {
    for (const b of procs) await stop(b).catch(() => {});
    pgc?.destroy();
  });

  it('commit, abort, commit over partitions led by all three: read_committed reads exactly the committed records', async (t) => {
    if (!useClient(t, java)) return;
    const bootstrap = procs.map((b) => `127.0.0.1:${b.port}`);
    const admin = new Kafka({ clientId: 'java-spread', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 20 } }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
      await until('leaders on all three brokers', async () => {
        const l = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.map((p) => p.leader);
        return l.every((x) => x > 0) && new Set(l).size === 3;
      }, 30_000);
    } finally {
      await admin.disconnect();
    }
    const out = await run(java.command, ['-cp', java.classpath, 'TxnSpread', bootstrap.join(','), TOPIC, 'java-tx-spread'], { timeoutMs: 180_000 });
    const lines = out.stdout.toString().trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('transaction ')), ['transaction c1', 'transaction a2', 'transaction c3']);
    const values = lines.filter((l) => l.startsWith('value ')).map((l) => l.slice('value '.length));
    const committed = ['c1', 'c3'].flatMap((tag) => Array.from({ length: 2 * PARTITIONS }, (_, i) => `${tag}-${i}`));
    assert.deepEqual([...values].sort(), committed.sort(), 'exactly the committed records, each once, nothing of the aborted one');
    assert.equal(lines.at(-1), `done ${committed.length}`);
  });
});
