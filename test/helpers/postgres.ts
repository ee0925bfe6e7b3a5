/**
 * A throw-away PostgreSQL cluster for the postgres engine's tests: Debian's server binaries
 * (package `postgresql`) run by an unprivileged user in a temporary directory, listening only on a
 * unix socket there (no TCP port to collide with other test files). One cluster per test file; each
 * engine under test gets a database of its own (`createDatabase`).
 *
 * initdb refuses to run as root, and CI runs tests as root: then the cluster belongs to the
 * `postgres` user the Debian package creates, started through `runuser`.
 *
 * Found like the outside clients (external.ts): missing binaries skip the tests saying why, and fail
 * them under RAFKA_REQUIRE_CLIENTS=1.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { after } from 'node:test';
import { requireClient, skipUnless, type ExternalClient } from './external.js';

export interface PostgresServer extends ExternalClient {
  /** Directory of initdb, pg_ctl and postgres; empty when missing. */
  readonly binDir: string;
  /** The user the cluster runs as when the tests run as root; null otherwise. */
  readonly runAs: string | null;
}

let cache: PostgresServer | undefined;

/** Debian's PostgreSQL server binaries (newest major), usable by this process. */
export function findPostgres(): PostgresServer {
  if (cache) return cache;
  const candidates: string[] = [];
  if (process.env.RAFKA_PG_BIN) candidates.push(process.env.RAFKA_PG_BIN);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(root, v, 'bin'));
  }
  const binDir = candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl'))) ?? '';
  const isRoot = process.getuid?.() === 0;
  const runAs = isRoot ? 'postgres' : null;
  let missing: string | null = null;
  let version: string | null = null;
  if (binDir === '') {
    missing = 'PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): install the Debian package postgresql (apt-get install postgresql)';
  } else if (runAs !== null && spawnSync('id', ['-u', runAs]).status !== 0) {
    missing = `running as root and there is no "${runAs}" user to run PostgreSQL as (initdb refuses root): install the Debian package postgresql, which creates it`;
  } else {
    const r = spawnSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) missing = `${binDir}/postgres --version failed: ${(r.stderr ?? r.error?.message ?? '').trim()}`;
    else version = r.stdout.trim();
  }
  cache = { name: 'postgresql', command: path.join(binDir, 'pg_ctl'), version, missing, binDir, runAs };
  return cache;
}

export interface PgCluster {
  /** Unix socket directory (pg's `host`). */
  readonly socketDir: string;
  readonly port: number;
  readonly user: string;
  /** postgres:// URL of one database of the cluster. */
  url(database: string): string;
  /** A fresh, empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stop the server (fast shutdown) and start it again later with `start`: PostgreSQL away. */
  stop(): void;
  start(): void;
  /** Stop and remove everything. */
  destroy(): void;
}

/**
 * initdb + pg_ctl start in a temp dir; throws (with the server's log) when it cannot. `durable`
 * keeps PostgreSQL's fsync on (the bench); tests turn it off (they restart the server, never the machine).
 */
export async function startPgCluster(server: PostgresServer, options: { durable?: boolean } = {}): Promise<PgCluster> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rafka-pg-'));
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'server.log');
  if (server.runAs !== null) {
    const uid = Number(spawnSync('id', ['-u', server.runAs], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', server.runAs], { encoding: 'utf8' }).stdout.trim());
    chownSync(base, uid, gid);
    chmodSync(base, 0o755);
  }
  const sh = (bin: string, args: string[]) => {
    const cmd = server.runAs !== null ? 'runuser' : path.join(server.binDir, bin);
    const argv = server.runAs !== null ? ['-u', server.runAs, '--', path.join(server.binDir, bin), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000, cwd: base });
    if (r.status !== 0) {
      let log = '';
      try {
        log = spawnSync('tail', ['-n', '30', logFile], { encoding: 'utf8' }).stdout;
      } catch {
        // no log yet
      }
      throw new Error(`${bin} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()} ${(r.stdout ?? '').trim()}\n${log}`);
    }
  };
  const user = 'rafka';
  sh('initdb', ['-D', dataDir, '-U', user, '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  // Only a unix socket in our directory (no TCP port to collide on).
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const durability = options.durable ? '' : ' -c fsync=off -c full_page_writes=off';
  const serverOptions = `-c listen_addresses='' -k ${base} -p ${port}${durability} -c shared_buffers=${options.durable ? '128MB' : '16MB'} -c max_connections=50`;
  const start = () => sh('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
  const stop = () => sh('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'fast', 'stop']);
  start();
  let stopped = false;
  let counter = 0;
  const url = (database: string) => `postgresql://${user}@/${database}?host=${encodeURIComponent(base)}&port=${port}`;
  return {
    socketDir: base,
    port,
    user,
    url,
    async createDatabase() {
      const name = `rafka_${process.pid}_${++counter}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop() {
      stop();
      stopped = true;
    },
    start() {
      start();
      stopped = false;
    },
    destroy() {
      try {
        if (!stopped) sh('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The test file's PostgreSQL cluster: started at import when the server binaries exist (destroyed
 * after the file's tests), else `skip` says why (and RAFKA_REQUIRE_CLIENTS=1 makes that a failure).
 */
export async function fileCluster(): Promise<{ skip: string | false; pgc: () => PgCluster }> {
  const server = findPostgres();
  const skip = skipUnless(server);
  let cluster: PgCluster | null = null;
  if (skip === false) {
    requireClient(server);
    cluster = await startPgCluster(server);
    after(() => cluster?.destroy());
  }
  return { skip, pgc: () => cluster! };
}

/** One statement on its own connection (tests look into the tables the engine writes). */
export async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}
