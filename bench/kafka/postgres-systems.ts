/**
 * Rafka on the postgres engine for bench/compare.ts (issue 19): a throw-away PostgreSQL cluster
 * (fsync on, test/helpers/postgres.ts) and 1 or 3 `rafka start --storage postgres` processes on it,
 * all on this machine. Opt-in (RAFKA_BENCH_SYSTEMS=rafka-postgres,rafka-postgres-3): they need
 * Debian's postgresql. The CPU and memory columns are broker 1's; the PostgreSQL commits per second
 * behind a run (pg_stat_database.xact_commit over the system's life) are printed when it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPostgres, startPgCluster } from '../../test/helpers/postgres.js';
import { rssBytes } from './proc.js';
import { stopChild, SystemUnavailable, tail, type RunningSystem, type SystemSpec } from './systems.js';

export function rafkaPostgresSystem(repoRoot: string, brokers: 1 | 3, log: (line: string) => void = console.log): SystemSpec {
  const name = brokers === 1 ? 'rafka-postgres' : `rafka-postgres-${brokers}`;
  return {
    name,
    description: `Rafka, postgres engine, ${brokers} broker process${brokers === 1 ? '' : 'es'} on one PostgreSQL (all on this machine)`,
    async start(): Promise<RunningSystem> {
      const server = findPostgres();
      if (server.missing !== null) throw new SystemUnavailable(server.missing);
      const pgc = await startPgCluster(server, { durable: true });
      const dir = mkdtempSync(path.join(os.tmpdir(), `rafka-bench-${name}-`));
      const children: ChildProcess[] = [];
      const cleanup = async () => {
        for (const c of children) await stopChild(c, 10_000);
        pgc.destroy();
        rmSync(dir, { recursive: true, force: true });
      };
      try {
        const url = await pgc.createDatabase();
        const t0 = performance.now();
        const ports = await Promise.all(
          Array.from({ length: brokers }, (_, i) => {
            const logFile = path.join(dir, `broker-${i + 1}.log`);
            const errFd = openSync(logFile, 'a');
            const child = spawn(
              process.execPath,
              [path.join(repoRoot, 'bin', 'rafka.js'), 'start', '--storage', 'postgres', '--storage-url', url, '--node-id', String(i + 1), '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'],
              { stdio: ['ignore', 'pipe', errFd], cwd: dir, env: { ...process.env, RAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } },
            );
            closeSync(errFd);
            children.push(child);
            return new Promise<number>((resolve, reject) => {
              let out = '';
              child.stdout!.on('data', (d: Buffer) => {
                out += d.toString();
                const m = /listening on [^\s]+:(\d+)/.exec(out);
                if (m) resolve(Number(m[1]));
              });
              child.once('exit', (code) => reject(new SystemUnavailable(`${name} broker ${i + 1} exited with ${code}: ${tail(logFile, 3)}`)));
            });
          }),
        );
        // Each broker prints its listening line once it joined the cluster and took its partitions, so
        // Metadata answers from then on; both start-up columns are that moment (no probe produce:
        // its partition's leader could be any of the brokers).
        const startToFirstProduceMs = performance.now() - t0;
        for (const c of children) c.stdout!.resume();
        // Every broker sees the others at its next heartbeat (2 s by default).
        if (brokers > 1) await new Promise((r) => setTimeout(r, 2500));
        const commitsNow = async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            const { rows } = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
            return Number(rows[0]!.n);
          } finally {
            await c.end();
          }
        };
        const commits0 = await commitsNow();
        const started = performance.now();
        return {
          name,
          pid: children[0]!.pid!,
          port: ports[0]!,
          bootstrap: ports.map((p) => `127.0.0.1:${p}`).join(','),
          startToFirstProduceMs,
          startToMetadataMs: startToFirstProduceMs,
          idleRssBytes: rssBytes(children[0]!.pid!),
          prepareMs: 0,
          async stop() {
            const commits = await commitsNow().catch(() => null);
            const s = (performance.now() - started) / 1000;
            if (commits !== null) log(`  ${name}: PostgreSQL committed ${commits - commits0} transactions in ${s.toFixed(0)} s (${((commits - commits0) / s).toFixed(0)}/s, every query counted)`);
            await cleanup();
          },
          logTail: () => Array.from({ length: brokers }, (_, i) => tail(path.join(dir, `broker-${i + 1}.log`), 5)).join('\n'),
        };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  };
}
