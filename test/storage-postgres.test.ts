/**
 * The `postgres` engine (src/storage/postgres/) on a throw-away PostgreSQL cluster (helpers/postgres.ts):
 * the shared conformance suite with real restarts, group commit, offsets taken in the storing
 * transaction with the batch's header fields beside its bytes, the leader-epoch fence, migrations,
 * PostgreSQL stopped and started under the engine, and a broker (in-process and `rafka start
 * --storage postgres --storage-url …`) serving kafkajs from it across a restart.
 *
 * Skipped, saying why, without Debian's PostgreSQL server; failed instead under RAFKA_REQUIRE_CLIENTS=1.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { storageConformance } from './storage-conformance.js';
import { PostgresEngine } from '../src/storage/postgres/postgres-engine.js';
import { MIGRATIONS } from '../src/storage/postgres/schema.js';
import { createStorageEngine } from '../src/storage/index.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import { StorageError } from '../src/storage/errors.js';
import type { StorageEngine, TopicRecord } from '../src/storage/engine.js';
import { readBatchHeader } from '../src/protocol/records/batch.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { valuesBatch } from './helpers/log-engine.js';
import { fileCluster, sql } from './helpers/postgres.js';
import { testBroker } from './helpers/broker.js';
import { fetchAll } from './helpers/fetch-all.js';
import { startBrokerProcess, stop } from './helpers/broker-process.js';
import { until } from './helpers/pg-brokers.js';

const { skip, pgc } = await fileCluster();

const topic = (name: string, partitionCount = 1): TopicRecord => ({ name, id: `id-${name}`.padEnd(22, 'A').slice(0, 22), partitionCount, configs: {} });

async function openEngine(url: string, extra: Partial<ConstructorParameters<typeof PostgresEngine>[0]> = {}): Promise<PostgresEngine> {
  const e = new PostgresEngine({ url, ...extra });
  await e.open();
  return e;
}

const urls = new WeakMap<StorageEngine, string>();

test('config: storage.type postgres with storage.url and storage.pool.size (file, RAFKA_* variables, flags)', () => {
  const c = loadConfig({ env: { RAFKA_STORAGE_TYPE: 'postgres', RAFKA_STORAGE_URL: 'postgres://u@db:5432/rafka', RAFKA_STORAGE_POOL_SIZE: '8' } });
  assert.deepEqual([c.storage.type, c.storage.url, c.storage.poolSize], ['postgres', 'postgres://u@db:5432/rafka', 8]);
  assert.equal(loadConfig({}).storage.url, null, 'default: the PG* environment variables');
  assert.throws(() => loadConfig({ env: { RAFKA_STORAGE_URL: 'mysql://db/x' } }), /storage.url|RAFKA_STORAGE_URL.*must have the form a postgres:\/\/ or postgresql:\/\/ URL/);
  const f = parseConfigText('storage:\n  type: postgres\n  url: postgresql://db/rafka\n  pool.size: 2\n');
  assert.deepEqual([f.storage?.type, f.storage?.url, f.storage?.poolSize], ['postgres', 'postgresql://db/rafka', 2]);
});

if (skip !== false) {
  test('postgres engine', { skip }, () => {});
} else {
  for (const fsync of ['always', 'never'] as const) {
    storageConformance(
      `postgres engine (fsync ${fsync})`,
      async () => {
        const url = await pgc().createDatabase();
        const e = new PostgresEngine({ url, fsync });
        urls.set(e, url);
        return e;
      },
      {
        reopen: async (engine) => {
          await engine.close();
          const url = urls.get(engine)!;
          const next = new PostgresEngine({ url, fsync });
          urls.set(next, url);
          return next;
        },
      },
    );
  }

  test('createStorageEngine: postgres opens the PostgreSQL engine on storage.url', async () => {
    const url = await pgc().createDatabase();
    const e = await createStorageEngine({ type: 'postgres', path: null, url });
    assert.ok(e instanceof PostgresEngine);
    assert.equal(e.kind, 'postgres');
    assert.equal(e.durable, true);
    await e.open();
    await e.close();
    // Nothing listening: open fails with the reason, it does not hang.
    const dead = new PostgresEngine({ url: `postgresql://rafka@/nodb?host=${encodeURIComponent(pgc().socketDir)}&port=1`, queryTimeoutMs: 2000 });
    await assert.rejects(dead.open(), /cannot open the PostgreSQL database/);
  });

  test('migrations: applied once and recorded; a schema newer than the broker is refused', async () => {
    const url = await pgc().createDatabase();
    let e = await openEngine(url);
    await e.close();
    e = await openEngine(url);
    await e.close();
    const rows = await sql<{ version: number }>(url, 'SELECT version FROM rafka_schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    await sql(url, "INSERT INTO rafka_schema_migrations (version, name) VALUES (999, 'from the future')");
    await assert.rejects(openEngine(url), /schema is version 999, newer than this broker knows/);
  });

  test('appends arriving together share one PostgreSQL commit; offsets follow call order per partition', async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url);
    try {
      await e.createTopic(topic('g', 2));
      const before = e.commits;
      const batches = await Promise.all(Array.from({ length: 40 }, (_, i) => valuesBatch(1 + (i % 3), 1000 + i)));
      const results = await Promise.all(batches.map((b, i) => e.append('g', i % 2, b)));
      assert.equal(e.commits - before, 1, '40 appends of one event-loop turn: one commit');
      for (const partition of [0, 1]) {
        let next = 0;
        batches.forEach((b, i) => {
          if (i % 2 !== partition) return;
          assert.equal(results[i]!.baseOffset, next);
          next += b.recordCount;
        });
        assert.equal(e.offsets('g', partition).highWatermark, next);
      }
      const stored = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM rafka_batches b JOIN rafka_topics t USING (topic_id) WHERE t.name = 'g'");
      assert.equal(Number(stored[0]!.n), 40);
      const next = await sql<{ partition: number; next_offset: string }>(url, 'SELECT partition, next_offset FROM rafka_partitions ORDER BY partition');
      assert.deepEqual(next.map((r) => [r.partition, Number(r.next_offset)]), [0, 1].map((p) => [p, e.offsets('g', p).highWatermark]));
    } finally {
      await e.close();
    }
  });

  test('a batch is stored as it arrived, base offset written in, with its producer fields beside it', async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url);
    try {
      await e.createTopic(topic('p'));
      await e.append('p', 0, await valuesBatch(3, 5000));
      const bytes = await encodeBatch({
        producerId: 42, producerEpoch: 3, baseSequence: 7,
        records: [{ value: Buffer.from('a'), timestamp: 6000 }, { value: Buffer.from('b'), timestamp: 6001 }],
      });
      const r = await e.append('p', 0, { bytes, recordCount: 2, maxTimestamp: 6001 });
      assert.equal(r.baseOffset, 3);
      const [row] = await sql<Record<string, string | number | Buffer>>(
        url,
        'SELECT base_offset, last_offset, base_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, size_bytes, bytes FROM rafka_batches WHERE base_offset = 3',
      );
      assert.deepEqual(
        [row!.base_offset, row!.last_offset, row!.base_timestamp, row!.max_timestamp, row!.producer_id, row!.producer_epoch, row!.base_sequence, row!.size_bytes].map(Number),
        [3, 4, 6000, 6001, 42, 3, 7, bytes.length],
      );
      const expected = Buffer.from(bytes);
      expected.writeBigInt64BE(3n, 0);
      assert.deepEqual(row!.bytes, expected, 'the stored bytes are the batch with its base offset');
      const read = await e.read('p', 0, 3, 1 << 20, true);
      assert.deepEqual(read.batches, [expected], 'fetch serves the stored bytes');
      assert.equal(readBatchHeader(read.batches[0]!).producerId, 42);
    } finally {
      await e.close();
    }
  });

  test("an append queued behind its topic's deletion is refused alone; the delete and earlier appends commit", async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url);
    try {
      await e.createTopic(topic('d'));
      await e.createTopic(topic('other'));
      const [b1, b2, b3, b4] = await Promise.all([1, 2, 3, 4].map((ts) => valuesBatch(1, ts)));
      const before = e.commits;
      // All in one event-loop turn: one commit.
      const first = e.append('d', 0, b1!);
      const elsewhere = e.append('other', 0, b2!);
      const deleted = e.deleteTopic('d');
      const late = e.append('d', 0, b3!);
      late.catch(() => {}); // settled before it is awaited below
      const after = e.append('other', 0, b4!);
      assert.equal((await first).baseOffset, 0);
      await deleted;
      await assert.rejects(late, (err: Error) => err instanceof StorageError && /topic d was deleted/.test(err.message));
      assert.deepEqual([(await elsewhere).baseOffset, (await after).baseOffset], [0, 1]);
      assert.equal(e.commits - before, 1, 'all of it one commit');
      assert.throws(() => e.offsets('d', 0));
      assert.deepEqual(await sql(url, 'SELECT name FROM rafka_topics'), [{ name: 'other' }]);
    } finally {
      await e.close();
    }
  });

  test('committed offsets keep their expire timestamp (OffsetCommit retention_time_ms) over a restart, and its absence', async () => {
    const url = await pgc().createDatabase();
    let e = await openEngine(url);
    try {
      await e.createTopic(topic('ret', 2));
      await e.commitOffsets('g', [
        { topic: 'ret', partition: 0, committed: { offset: 3, leaderEpoch: 1, metadata: 'm', commitTimestampMs: 10, expireTimestampMs: 5000 } },
        { topic: 'ret', partition: 1, committed: { offset: 4, leaderEpoch: 1, metadata: null, commitTimestampMs: 11 } },
      ]);
      await e.close();
      e = await openEngine(url);
      const got = e.fetchOffsets('g');
      assert.deepEqual(got.get('ret\u00000'), { topic: 'ret', partition: 0, offset: 3, leaderEpoch: 1, metadata: 'm', commitTimestampMs: 10, expireTimestampMs: 5000 });
      assert.deepEqual(got.get('ret\u00001'), { topic: 'ret', partition: 1, offset: 4, leaderEpoch: 1, metadata: null, commitTimestampMs: 11 });
    } finally {
      await e.close();
    }
  });

  test('a second engine opening the database bumps the leader epochs: the first can no longer append', async () => {
    const url = await pgc().createDatabase();
    const first = await openEngine(url);
    const second = new PostgresEngine({ url, nodeId: 2 });
    try {
      await first.createTopic(topic('fenced'));
      await first.append('fenced', 0, await valuesBatch(1, 1));
      await second.open();
      await assert.rejects(first.append('fenced', 0, await valuesBatch(1, 2)), (err: Error) => {
        assert.ok(err instanceof StorageError);
        assert.match(err.message, /no longer led by this broker/);
        return true;
      });
      assert.equal((await second.append('fenced', 0, await valuesBatch(1, 3))).baseOffset, 1, 'the fenced append left nothing');
      const [row] = await sql<{ leader_epoch: number; leader_node_id: number }>(url, 'SELECT leader_epoch, leader_node_id FROM rafka_partitions');
      assert.deepEqual([row!.leader_epoch, row!.leader_node_id], [1, 2], "created at epoch 0, taken by the second engine at 1");
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('PostgreSQL away: operations fail with a StorageError; once it is back the pool reconnects and nothing acknowledged is lost', { timeout: 120_000 }, async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url, { queryTimeoutMs: 3000 });
    try {
      await e.createTopic(topic('away'));
      for (let i = 0; i < 3; i++) await e.append('away', 0, await valuesBatch(2, 100 + i));
      await e.commitOffsets('g', [{ topic: 'away', partition: 0, committed: { offset: 4, leaderEpoch: 0, metadata: null, commitTimestampMs: 1 } }]);
      pgc().stop();
      const down = await Promise.allSettled([
        e.append('away', 0, await valuesBatch(1, 200)),
        e.commitOffsets('g', [{ topic: 'away', partition: 0, committed: { offset: 6, leaderEpoch: 0, metadata: null, commitTimestampMs: 2 } }]),
        // A batch not among the recent ones in memory: read from the database.
        e.findBatchByTimestamp('away', 0, 0),
      ]);
      for (const r of down) {
        assert.equal(r.status, 'rejected');
        assert.ok((r as PromiseRejectedResult).reason instanceof StorageError, String((r as PromiseRejectedResult).reason));
      }
      assert.equal(e.offsets('away', 0).highWatermark, 6, 'a failed append is not in the index');
      // The batches this engine committed last are read from memory: committed, they cannot change.
      const recent = await e.read('away', 0, 0, 1 << 20, true);
      assert.deepEqual(recent.batches.map((b) => readBatchHeader(b).baseOffset), [0, 2, 4], 'committed batches are read from memory while the database is away');
      assert.equal(e.fetchOffsets('g').get('away\u00000')!.offset, 4, 'a failed commit is not applied');
      pgc().start();
      assert.equal((await e.append('away', 0, await valuesBatch(1, 300))).baseOffset, 6, 'the same engine works again');
      const read = await e.read('away', 0, 0, 1 << 20, true);
      assert.deepEqual(read.batches.map((b) => readBatchHeader(b).baseOffset), [0, 2, 4, 6]);
    } finally {
      await e.close();
    }
  });

  test('reads of the batches committed last come from memory, byte for byte what a restarted engine reads from the database', async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url);
    let fresh: PostgresEngine | null = null;
    try {
      await e.createTopic(topic('recent', 2));
      // Two partitions in one commit (one statement), several batches each: the base offsets are
      // taken per partition and written into the stored bytes by the database.
      const batches = [await valuesBatch(2, 1), await valuesBatch(3, 2), await valuesBatch(1, 3), await valuesBatch(2, 4)];
      const commits = e.commits;
      const appended = await Promise.all(batches.map((b, i) => e.append('recent', i % 2, b)));
      assert.deepEqual(appended.map((r) => r.baseOffset), [0, 0, 2, 3]);
      assert.equal(e.commits - commits, 1, 'the four appends shared one commit');
      const fromMemory = [await e.read('recent', 0, 0, 1 << 20, true), await e.read('recent', 1, 0, 1 << 20, true)];
      assert.equal(e.readsFromMemory, 2);
      assert.equal(e.readsFromDatabase, 0);
      await e.close();
      fresh = await openEngine(url);
      const fromDatabase = [await fresh.read('recent', 0, 0, 1 << 20, true), await fresh.read('recent', 1, 0, 1 << 20, true)];
      assert.equal(fresh.readsFromDatabase, 2);
      assert.deepEqual(fromDatabase.map((r) => r.batches.map((b) => b.toString('hex'))), fromMemory.map((r) => r.batches.map((b) => b.toString('hex'))));
      assert.deepEqual(fromDatabase.map((r) => r.batches.map((b) => readBatchHeader(b).baseOffset)), [[0, 2], [0, 3]]);
    } finally {
      await e.close();
      await fresh?.close();
    }
  });

  test('appends fail in order: a failed commit fails the appends queued behind it to the same partition, not those to others', async () => {
    const url = await pgc().createDatabase();
    // The failure: the partition's row locked by another session until the engine's statement gives up.
    await sql(url, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '1s'); END $$");
    const e = await openEngine(url);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      assert.equal(e.capabilities.appendsFailInOrder, true);
      await e.createTopic(topic('inorder', 2));
      await e.append('inorder', 0, await valuesBatch(1, 1));
      const batches = [await valuesBatch(1, 2), await valuesBatch(1, 3), await valuesBatch(1, 4)];
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM rafka_partitions WHERE partition = 0 FOR UPDATE');
      const first = e.append('inorder', 0, batches[0]!);
      await new Promise((r) => setTimeout(r, 200)); // its commit is waiting for the lock
      const behind = e.append('inorder', 0, batches[1]!);
      const other = e.append('inorder', 1, batches[2]!);
      const [a, b, c] = await Promise.allSettled([first, behind, other]);
      assert.equal(a.status, 'rejected');
      assert.ok((a as PromiseRejectedResult).reason instanceof StorageError);
      assert.equal(b.status, 'rejected', 'queued behind a failed append to the same partition: failed with it');
      assert.deepEqual(c, { status: 'fulfilled', value: { baseOffset: 0 } }, 'another partition is not concerned');
      await locker.query('ROLLBACK');
      assert.equal((await e.append('inorder', 0, await valuesBatch(1, 5))).baseOffset, 1, 'nothing of the failed appends was stored');
    } finally {
      await locker.end();
      await e.close();
    }
  });

  test('a COMMIT that succeeded while its answer was lost: the next append finds the rows and the index catches up', async () => {
    const url = await pgc().createDatabase();
    const e = await openEngine(url);
    try {
      await e.createTopic(topic('lost'));
      await e.append('lost', 0, await valuesBatch(2, 1));
      // What a committed-but-unanswered append leaves: a row and next_offset the engine did not see.
      const other = await valuesBatch(3, 2);
      const bytes = Buffer.from(other.bytes);
      bytes.writeBigInt64BE(2n, 0);
      await sql(url, "UPDATE rafka_partitions SET next_offset = 5");
      await sql(
        url,
        `INSERT INTO rafka_batches SELECT topic_id, 0, 2, 4, 2, 4, -1, -1, -1, 0, $1, $2 FROM rafka_topics WHERE name = 'lost'`,
        [bytes.length, bytes],
      );
      assert.equal((await e.append('lost', 0, await valuesBatch(1, 3))).baseOffset, 5);
      assert.deepEqual(e.offsets('lost', 0), { logStartOffset: 0, highWatermark: 6 });
      const read = await e.read('lost', 0, 0, 1 << 20, true);
      assert.deepEqual(read.batches.map((b) => readBatchHeader(b).baseOffset), [0, 2, 5]);
    } finally {
      await e.close();
    }
  });

  test('a broker on the postgres engine serves kafkajs (idempotent produce, a consumer group) and keeps it all over a restart', { timeout: 90_000 }, async () => {
    const url = await pgc().createDatabase();
    const start = () => testBroker({ storage: { type: 'postgres', url }, groupInitialRebalanceDelayMs: 0 });
    const client = (bootstrap: string) => new Kafka({ clientId: 'pg', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 10 } });
    let b = await start();
    try {
      const clusterId = b.clusterId;
      let kafka = client(b.bootstrap);
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      await Promise.all(
        Array.from({ length: 5 }, (_, s) => producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${s * 10 + i}` })) })),
      );
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: 'g-pg', sessionTimeout: 10_000, heartbeatInterval: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        consumer.run({ eachMessage: async ({ message }) => void (seen.push(message.value!.toString()) === 50 && resolve()) }).catch(reject);
      });
      await consumer.commitOffsets([]);
      await consumer.stop();
      await consumer.disconnect();
      assert.deepEqual(seen.sort(), Array.from({ length: 50 }, (_, i) => `v${i}`).sort());
      await b.close();

      b = await start();
      assert.equal(b.clusterId, clusterId, 'cluster id kept in PostgreSQL');
      kafka = client(b.bootstrap);
      const admin = kafka.admin();
      await admin.connect();
      assert.deepEqual(await admin.fetchOffsets({ groupId: 'g-pg', topics: ['orders'] }), [{ topic: 'orders', partitions: [{ partition: 0, offset: '50', metadata: null }] }]);
      await admin.disconnect();
      assert.equal((await fetchAll(b.port, 'orders', 0)).length, 50);
    } finally {
      await b.close();
    }
  });

  test('transactions on the postgres engine: an aborted and a committed transaction, then a restart; read_committed sees the committed records only', { timeout: 90_000 }, async () => {
    const url = await pgc().createDatabase();
    const start = () => testBroker({ storage: { type: 'postgres', url } });
    const client = (bootstrap: string) => new Kafka({ clientId: 'pg-txn', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 10 } });
    let b = await start();
    try {
      await b.broker.topics.create('tx', 1, 1, {});
      const producer = client(b.bootstrap).producer({ transactionalId: 'pg-tx', maxInFlightRequests: 1, idempotent: true });
      await producer.connect();
      const aborted = await producer.transaction();
      await aborted.send({ topic: 'tx', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
      await aborted.abort();
      const txn = await producer.transaction();
      await txn.send({ topic: 'tx', messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
      await txn.commit();
      await b.broker.transactions.settle();
      await producer.disconnect();
      assert.deepEqual((await sql<{ transactional_id: string }>(url, 'SELECT transactional_id FROM rafka_transactions')).map((r) => r.transactional_id), ['pg-tx']);
      await b.close();

      b = await start();
      // On shared storage the broker takes its transactional ids back from the database just after
      // it starts, not before startBroker resolves (shared-cluster.ts, look → ownTransactions).
      const restarted = b;
      const restored = await until('pg-tx taken back from PostgreSQL', () => restarted.broker.transactions.get('pg-tx'), 10_000);
      assert.equal(restored.state, 'CompleteCommit', 'the transaction state came back from PostgreSQL');
      const consumer = client(b.bootstrap).consumer({ groupId: 'pg-tx-reader', maxWaitTimeInMs: 100 });
      const seen: string[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: 'tx', fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`saw only ${JSON.stringify(seen)}`)), 20_000);
          void consumer.run({
            eachMessage: async ({ message }) => {
              if (seen.push(message.value!.toString()) >= 2) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
        await new Promise((r) => setTimeout(r, 300)); // anything more would arrive now
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(seen, ['committed-1', 'committed-2']);
      // Both transactions' data and their two markers: 2 + 1 + 2 + 1 offsets.
      assert.equal(b.broker.storage.offsets('tx', 0).highWatermark, 6);
    } finally {
      await b.close();
    }
  });

  test('rafka start --storage postgres --storage-url runs a broker on the database', { timeout: 30_000 }, async () => {
    const url = await pgc().createDatabase();
    const b = await startBrokerProcess(['--storage', 'postgres', '--storage-url', url]);
    try {
      assert.match(b.line, /\(storage: postgres, cluster \S+\)$/);
      const kafka = new Kafka({ clientId: 'cli', brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'cli', messages: [{ value: 'one' }, { value: 'two' }] });
      await producer.disconnect();
      assert.deepEqual((await fetchAll(b.port, 'cli', 0)).map((r) => r.value!.toString()), ['one', 'two']);
    } finally {
      assert.equal(await stop(b), 0);
    }
    const rows = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM rafka_batches');
    assert.equal(Number(rows[0]!.n), 1);
  });
}
