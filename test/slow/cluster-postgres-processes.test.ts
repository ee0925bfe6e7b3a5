/**
 * Issue 19, item 4 and its checks: three `rafka start --storage postgres` processes on one
 * PostgreSQL database (src/broker/shared-cluster.ts, docs/cluster.md).
 * - kcat, confluent-kafka (librdkafka) and kafkajs: Metadata shows 3 brokers with partition leaders
 *   on all of them; each client produces and reads back through the cluster;
 * - the kill test: `kill -9` of a broker 5 times (restarted each time) while an idempotent acks=all
 *   kafkajs producer and a consumer group run; prints acknowledged, consumed, lost, duplicated and
 *   whether a committed offset ever went backwards — lost = 0, duplicated = 0, never backwards;
 * - PostgreSQL restarted under load: produces fail with retriable errors while it is away, nothing
 *   acknowledged is lost, the brokers carry on by themselves.
 * Slow (about two minutes): `npm run test:slow`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import pg from 'pg';
import { findConfluentKafka, findKcat, requireClient, run, skipUnless, useClient } from '../helpers/external.js';
import { findPostgres, startPgCluster, type PgCluster } from '../helpers/postgres.js';
import { startBrokerProcess, kill9, stop, type BrokerProcess } from '../helpers/broker-process.js';
import { runPythonJob } from '../helpers/python-client.js';

const server = findPostgres();
const skip = skipUnless(server);
const kcat = findKcat();
const python = findConfluentKafka();

/** A short lease, so a killed broker's partitions move within seconds (Kafka's default is 9 s). */
const ENV = { RAFKA_BROKER_SESSION_TIMEOUT_MS: '3000', RAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '300', RAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('three broker processes on one PostgreSQL database', { skip, timeout: 600_000 }, () => {
  let pgc: PgCluster;
  let url: string;
  const procs = new Map<number, BrokerProcess>();
  const ports = new Map<number, number>();
  const bootstrap = () => [...ports.values()].map((p) => `127.0.0.1:${p}`);

  const startNode = async (id: number) => {
    // The same port again after a kill: clients keep their bootstrap list.
    const b = await startBrokerProcess(['--storage', 'postgres', '--storage-url', url, '--node-id', String(id), '--port', String(ports.get(id) ?? 0)], {
      env: ENV, timeoutMs: 30_000,
    });
    procs.set(id, b);
    ports.set(id, b.port);
    return b;
  };

  before(async () => {
    requireClient(server);
    pgc = await startPgCluster(server);
    url = await pgc.createDatabase();
    // startBrokerProcess passes --port 0 first; a later --port wins.
    for (const id of [1, 2, 3]) await startNode(id);
  });
  after(async () => {
    for (const b of procs.values()) await stop(b).catch(() => {});
    pgc?.destroy();
  });

  const kafka = (clientId: string) => new Kafka({ clientId, brokers: bootstrap(), logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 50, maxRetryTime: 2000 } });

  it('kafkajs: Metadata shows three brokers with leaders on all of them', async () => {
    const admin = kafka('md').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 9 }], waitForLeaders: true });
      const leaders = await until('leaders on all three brokers', async () => {
        const md = await admin.fetchTopicMetadata({ topics: ['spread'] });
        const l = md.topics[0]!.partitions.map((p) => p.leader);
        return l.every((x) => x > 0) && new Set(l).size === 3 && l;
      });
      assert.deepEqual([...new Set(leaders)].sort(), [1, 2, 3]);
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      assert.deepEqual(cluster.brokers.map((b) => b.port).sort(), [...ports.values()].sort());
    } finally {
      await admin.disconnect();
    }
  });

  it('kcat: lists three brokers, produces through one and consumes through another', async (t) => {
    if (!useClient(t, kcat)) return;
    const md = await run(kcat.command, ['-b', bootstrap()[0]!, '-L', '-t', 'spread']);
    const text = md.stdout.toString();
    assert.match(text, / 3 brokers:/);
    const leaders = new Set([...text.matchAll(/leader (\d+)/g)].map((m) => m[1]));
    assert.deepEqual([...leaders].sort(), ['1', '2', '3']);
    const lines = Array.from({ length: 30 }, (_, i) => `kcat-${i}`);
    await run(kcat.command, ['-b', bootstrap()[1]!, '-P', '-t', 'kcat-topic', '-p', '-1', '-X', 'enable.idempotence=true'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
    const out = await run(kcat.command, ['-b', bootstrap()[2]!, '-C', '-t', 'kcat-topic', '-e', '-q', '-f', '%s\n'], { timeoutMs: 60_000 });
    assert.deepEqual(out.stdout.toString().trim().split('\n').sort(), [...lines].sort());
  });

  it('confluent-kafka: produces 300 messages idempotently over 4 partitions and consumes them all', async (t) => {
    if (!useClient(t, python)) return;
    const messages = Array.from({ length: 300 }, (_, i) => ({ k: Buffer.from(`k${i}`).toString('base64'), v: Buffer.from(`v${i}`).toString('base64'), h: [], ts: Date.now() - 1000 + i }));
    const r = await runPythonJob<{ deliveries: unknown[]; consumed: unknown[]; unflushed: number; metadata: { ok: boolean; value?: { brokers: unknown[] } } }>(
      python.command, { mode: 'produce-consume', bootstrap: bootstrap().join(','), topic: 'py-shared', partitions: 4, messages }, 120_000,
    );
    assert.equal(r.unflushed, 0);
    assert.equal(r.deliveries.length, 300);
    assert.equal(r.consumed.length, 300);
  });

  it('kill -9 of a broker 5 times under an idempotent producer and a consumer group: nothing lost, nothing duplicated, offsets never backwards', { timeout: 400_000 }, async () => {
    const k = kafka('kill');
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kill', numPartitions: 6 }], waitForLeaders: true });
    const producer: Producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const consumer: Consumer = k.consumer({ groupId: 'kill-g', sessionTimeout: 15_000, heartbeatInterval: 1000, maxWaitTimeInMs: 200, retry: { retries: 100 } });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kill', fromBeginning: true });
    const acked = new Set<string>();
    const consumed = new Map<string, number>();
    let backwards = 0;
    const committed = new Map<number, number>();
    let producing = true;
    const runProducer = (async () => {
      for (let i = 0; producing; i++) {
        const value = `m${i}`;
        try {
          await producer.send({ topic: 'kill', acks: -1, messages: [{ key: `k${i % 50}`, value }] });
          acked.add(value);
        } catch {
          // Not acknowledged (retries ran out while a leader moved): it may or may not be stored;
          // it counts only if consumed, never as lost.
        }
      }
    })();
    void consumer.run({
      autoCommitInterval: 500,
      eachMessage: async ({ message }) => {
        const v = message.value!.toString();
        consumed.set(v, (consumed.get(v) ?? 0) + 1);
      },
    });
    const watchCommits = setInterval(() => {
      void admin.fetchOffsets({ groupId: 'kill-g', topics: ['kill'] }).then((r) => {
        for (const p of r[0]!.partitions) {
          const o = Number(p.offset);
          if (o < (committed.get(p.partition) ?? -1)) backwards++;
          committed.set(p.partition, Math.max(o, committed.get(p.partition) ?? -1));
        }
      }, () => {});
    }, 500);
    try {
      for (let kill = 0; kill < 5; kill++) {
        await new Promise((r) => setTimeout(r, 3000));
        const id = (kill % 3) + 1;
        await kill9(procs.get(id)!);
        procs.delete(id);
        await new Promise((r) => setTimeout(r, 5000)); // past the 3 s lease: its partitions move
        await startNode(id);
      }
      await new Promise((r) => setTimeout(r, 3000));
      producing = false;
      await runProducer;
      await until('every acknowledged record consumed', async () => [...acked].every((v) => consumed.has(v)), 120_000).catch(() => undefined);
    } finally {
      clearInterval(watchCommits);
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
    // The log itself, read once by a fresh consumer with no broker dying under it: each value once.
    const inLog = new Map<string, number>();
    const reader = kafka('kill-verify').consumer({ groupId: 'kill-verify', maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topic: 'kill', fromBeginning: true });
    void reader.run({ eachMessage: async ({ message }) => void inLog.set(message.value!.toString(), (inLog.get(message.value!.toString()) ?? 0) + 1) });
    await until('the whole log read', async () => [...consumed.keys()].every((v) => inLog.has(v)), 60_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    await reader.disconnect();
    const lost = [...acked].filter((v) => !consumed.has(v) || !inLog.has(v)).length;
    const duplicated = [...inLog.values()].filter((n) => n > 1).length;
    const redelivered = [...consumed.values()].filter((n) => n > 1).length;
    console.log(
      `kill test: 5 kills; acknowledged ${acked.size}, consumed ${consumed.size} distinct (${inLog.size} in the log), lost ${lost}, duplicated ${duplicated}, ` +
        `committed offsets backwards ${backwards}; redelivered to the group after its rebalances (at-least-once, uncommitted progress) ${redelivered}`,
    );
    assert.ok(acked.size > 100, `the producer made progress (${acked.size} acknowledged)`);
    assert.equal(lost, 0, 'nothing acknowledged was lost');
    assert.equal(duplicated, 0, 'no record stored twice (idempotent producer retries across leader moves)');
    assert.equal(backwards, 0, 'committed offsets never went backwards');
  });

  it('PostgreSQL restarted under load: produces fail retriably meanwhile, nothing acknowledged is lost, the brokers carry on', { timeout: 180_000 }, async () => {
    const k = kafka('pg-restart');
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'pg-restart', numPartitions: 3 }], waitForLeaders: true });
    const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked: string[] = [];
    let failures = 0;
    let producing = true;
    const load = (async () => {
      for (let i = 0; producing; i++) {
        try {
          await producer.send({ topic: 'pg-restart', acks: -1, messages: [{ value: `r${i}` }] });
          acked.push(`r${i}`);
        } catch {
          failures++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const before = acked.length;
    pgc.stop();
    await new Promise((r) => setTimeout(r, 4000));
    pgc.start();
    await until('produces acknowledged again', async () => acked.length > before + 50, 90_000);
    producing = false;
    await load;
    await producer.disconnect();
    // Every acknowledged record is in the database.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>(
        `SELECT coalesce(sum(b.last_offset - b.base_offset + 1), 0) AS n FROM rafka_batches b JOIN rafka_topics t USING (topic_id) WHERE t.name = 'pg-restart'`,
      );
      assert.ok(Number(rows[0]!.n) >= acked.length, `stored ${rows[0]!.n} records, acknowledged ${acked.length}`);
    } finally {
      await c.end();
    }
    const consumer = k.consumer({ groupId: 'pg-restart-g', maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'pg-restart', fromBeginning: true });
    const seen = new Set<string>();
    void consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
    await until('every acknowledged record consumed', async () => acked.every((v) => seen.has(v)), 60_000);
    await consumer.disconnect();
    await admin.disconnect();
    for (const b of procs.values()) assert.equal(b.child.exitCode, null, 'no broker exited');
    console.log(`PostgreSQL restart: ${acked.length} acknowledged (${before} before the stop), ${failures} sends failed while it was away, all consumed`);
  });
});
