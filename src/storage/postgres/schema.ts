/**
 * The postgres engine's schema, as versioned migrations the broker applies at open (docs/cluster.md).
 *
 * The SQL stays within what PostgreSQL-compatible distributed databases (CockroachDB, YugabyteDB)
 * also accept: plain tables, primary keys, foreign keys with ON DELETE CASCADE, `bytea`, `jsonb`,
 * `unnest` of arrays, `UPDATE … RETURNING`, `INSERT … ON CONFLICT`. No advisory locks, no
 * LISTEN/NOTIFY, no sequences or triggers: exclusivity is a row updated with compare-and-set
 * (`rafka_partitions.leader_epoch`, checked in the transaction that assigns offsets), so brokers
 * sharing a database can later take partitions over by bumping it.
 *
 * Callers: PostgresEngine.open only. A migration is never edited once released: a change is a new one.
 */
import type { PoolClient } from 'pg';

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'topics, partitions, batches, snapshots, offsets, groups, transactions',
    statements: [
      // One row (id = 1): what BrokerMetadata holds besides topics.
      `CREATE TABLE rafka_cluster (
         id int PRIMARY KEY CHECK (id = 1),
         cluster_id text NULL,
         next_producer_id bigint NOT NULL DEFAULT 0
       )`,
      `INSERT INTO rafka_cluster (id) VALUES (1)`,
      // Keyed by the Kafka topic id: a topic deleted and created again under its name is a new row.
      `CREATE TABLE rafka_topics (
         topic_id text PRIMARY KEY,
         name text NOT NULL UNIQUE,
         partition_count int NOT NULL,
         configs jsonb NOT NULL
       )`,
      // next_offset is the high watermark: offsets are taken from it inside the transaction that
      // stores the batches. leader_epoch is the fencing token (a writer's UPDATE names the epoch it
      // holds); leader_node_id is who holds it, for the multi-broker work to come.
      `CREATE TABLE rafka_partitions (
         topic_id text NOT NULL REFERENCES rafka_topics (topic_id) ON DELETE CASCADE,
         partition int NOT NULL,
         log_start_offset bigint NOT NULL DEFAULT 0,
         next_offset bigint NOT NULL DEFAULT 0,
         leader_epoch int NOT NULL DEFAULT 0,
         leader_node_id int NULL,
         PRIMARY KEY (topic_id, partition)
       )`,
      // Batches exactly as stored (base offset written in) plus the header fields queries need.
      `CREATE TABLE rafka_batches (
         topic_id text NOT NULL,
         partition int NOT NULL,
         base_offset bigint NOT NULL,
         last_offset bigint NOT NULL,
         base_timestamp bigint NOT NULL,
         max_timestamp bigint NOT NULL,
         producer_id bigint NOT NULL,
         producer_epoch smallint NOT NULL,
         base_sequence int NOT NULL,
         attributes smallint NOT NULL,
         size_bytes int NOT NULL,
         bytes bytea NOT NULL,
         PRIMARY KEY (topic_id, partition, base_offset),
         FOREIGN KEY (topic_id, partition) REFERENCES rafka_partitions (topic_id, partition) ON DELETE CASCADE
       )`,
      `CREATE TABLE rafka_producer_snapshots (
         topic_id text NOT NULL,
         partition int NOT NULL,
         snapshot_offset bigint NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (topic_id, partition, snapshot_offset),
         FOREIGN KEY (topic_id, partition) REFERENCES rafka_partitions (topic_id, partition) ON DELETE CASCADE
       )`,
      // By topic name, as OffsetCommit addresses them; deleteTopic removes a topic's rows.
      `CREATE TABLE rafka_committed_offsets (
         group_id text NOT NULL,
         topic text NOT NULL,
         partition int NOT NULL,
         committed_offset bigint NOT NULL,
         leader_epoch int NOT NULL,
         metadata text NULL,
         commit_timestamp_ms bigint NOT NULL,
         expire_timestamp_ms bigint NULL,
         PRIMARY KEY (group_id, topic, partition)
       )`,
      `CREATE TABLE rafka_groups (group_id text PRIMARY KEY, value bytea NOT NULL)`,
      `CREATE TABLE rafka_transactions (transactional_id text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'SCRAM credentials',
    statements: [
      // Opaque per user (salted and hashed by the broker, src/broker/security/); never a password.
      `CREATE TABLE rafka_scram_credentials (user_name text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 3,
    name: 'broker registrations with leases, coordinator epochs',
    statements: [
      // One row per node id. A broker is live while lease_expires_at is ahead of the database's
      // clock (never the brokers' clocks: they may disagree); it renews the lease by compare-and-set
      // on its incarnation, so a second process started with the same node id cannot take a live
      // broker's row, and a broker whose row was taken over after its lease ran out learns it.
      `CREATE TABLE rafka_brokers (
         node_id int PRIMARY KEY,
         incarnation text NOT NULL,
         host text NOT NULL,
         port int NOT NULL,
         rack text NULL,
         registered_at timestamptz NOT NULL DEFAULT now(),
         lease_expires_at timestamptz NOT NULL
       )`,
      // The broker coordinating a group (kind 'g'), with an epoch bumped by each broker that takes
      // it over: a coordinator's writes of the group's offsets and metadata check the epoch in
      // their transaction, so one that lost the group (and has not noticed) writes nothing.
      `CREATE TABLE rafka_coordinators (
         kind text NOT NULL,
         key text NOT NULL,
         node_id int NOT NULL,
         epoch int NOT NULL,
         PRIMARY KEY (kind, key)
       )`,
    ],
  },
  {
    version: 4,
    name: 'ACL bindings',
    statements: [
      // Opaque per binding, keyed by the binding itself (src/broker/security/acls.ts: bindingKey).
      `CREATE TABLE rafka_acls (binding_key text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 5,
    name: 'group configs',
    statements: [
      // KIP-848 per-group config overrides, opaque (src/broker/groups/group-configs.ts encodes them).
      `CREATE TABLE rafka_group_configs (group_id text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 6,
    name: 'client quotas',
    statements: [
      // Opaque per quota entity (src/broker/quotas/ encodes the entity key and its quota values).
      `CREATE TABLE rafka_client_quotas (entity text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 7,
    name: 'pending transactional offsets',
    statements: [
      // Brokers sharing the database: offsets a TxnOffsetCommit stored at the group's coordinator,
      // pending until the transaction's coordinator ends the transaction (applied, or dropped on
      // abort). Kafka keeps them in __consumer_offsets until the marker; here rows, so the group's
      // coordinator never writes the transaction's state (docs/cluster.md, "Transactions").
      `CREATE TABLE rafka_txn_offsets (
         transactional_id text NOT NULL,
         group_id text NOT NULL,
         topic text NOT NULL,
         partition int NOT NULL,
         committed_offset bigint NOT NULL,
         leader_epoch int NOT NULL,
         metadata text NULL,
         commit_timestamp_ms bigint NOT NULL,
         expire_timestamp_ms bigint NULL,
         PRIMARY KEY (transactional_id, group_id, topic, partition)
       )`,
      `CREATE INDEX rafka_txn_offsets_group ON rafka_txn_offsets (group_id)`,
    ],
  },
  {
    version: 8,
    name: 'every advertised listener of a broker',
    statements: [
      // [{name, host, port, securityProtocol}, ...] in the broker's listener order; Metadata answers
      // each broker's endpoint for the listener a request came in on. host/port stay the first
      // listener's; NULL (a row written by an older broker) stands for that one listener alone.
      `ALTER TABLE rafka_brokers ADD COLUMN listeners jsonb NULL`,
    ],
  },
];

/** The table that records applied migrations (created outside the versioned ones). */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS rafka_schema_migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Apply the migrations the database lacks, each in its own transaction with its version row. Two
 * brokers migrating at once: the loser's version insert (or CREATE TABLE) fails and rolls back its
 * transaction; it reads the versions again and finds the work done. Returns the versions applied.
 * (Tested with three brokers starting at once on an empty database: test/cluster-postgres.test.ts.)
 */
export async function migrate(client: PoolClient): Promise<number[]> {
  const applied: number[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query(MIGRATIONS_TABLE);
    } catch (err) {
      // Brokers starting together on an empty database: IF NOT EXISTS is not atomic in PostgreSQL
      // (two creators race on the catalog's unique index); the loser finds the table on its retry.
      if (attempt >= 2) throw err;
      continue;
    }
    const { rows } = await client.query<{ version: number }>('SELECT version FROM rafka_schema_migrations');
    const have = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...have);
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (newest > latest) throw new Error(`storage: the database schema is version ${newest}, newer than this broker knows (${latest}); upgrade the broker`);
    const todo = MIGRATIONS.filter((m) => !have.has(m.version));
    if (todo.length === 0) return applied;
    try {
      for (const m of todo) {
        await client.query('BEGIN');
        for (const sql of m.statements) await client.query(sql);
        await client.query('INSERT INTO rafka_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      }
      return applied;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      // Each lost race means another broker applied a migration: bounded by their number.
      if (attempt >= MIGRATIONS.length + 2) throw err;
    }
  }
}
