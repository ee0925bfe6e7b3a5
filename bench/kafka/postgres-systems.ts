/**
 * Rafka on the postgres engine for bench/compare.ts (issue 19): a throw-away PostgreSQL cluster
 * (fsync on, test/helpers/postgres.ts) and 1 or 3 `rafka start --storage postgres` processes on it,
 * all on this machine. Opt-in (RAFKA_BENCH_SYSTEMS=rafka-postgres,rafka-postgres-3): they need
 * Debian's postgresql. The CPU and memory columns are broker 1's. PostgreSQL's own figures per
 * workload (write transactions, WAL bytes, the server's CPU: storeCounters) and over the system's
 * life (batches stored per write transaction, WAL flushes, reads of stored batches) are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPostgres, startPgCluster } from '../../test/helpers/postgres.js';
import { parentPid, rssBytes, treeCpuSeconds } from './proc.js';
import { stopChild, SystemUnavailable, tail, type RunningSystem, type StoreCounters, type SystemSpec } from './systems.js';

export function rafkaPostgresSystem(repoRoot: string, brokers: 1 | 3, log: (line: string) => void = console.log, prefix = ''): SystemSpec {
  const name = `${prefix}${brokers === 1 ? 'rafka-postgres' : `rafka-postgres-${brokers}`}`;
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
        // One connection of the bench's own for the counters (its queries take no transaction id).
        const counters = new pg.Client({ connectionString: url });
        await counters.connect();
        const { rows: pidRows } = await counters.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const postmaster = parentPid(pidRows[0]!.pid);
        const storeCounters = async (): Promise<StoreCounters> => {
          const { rows } = await counters.query<{ xid: string; wal: string }>(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal",
          );
          return { writeTransactions: Number(rows[0]!.xid), walBytes: Number(rows[0]!.wal), cpuSeconds: postmaster === null ? null : treeCpuSeconds(postmaster) };
        };
        const first = await storeCounters();
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
          storeCounters,
          async stop() {
            try {
              const last = await storeCounters();
              const s = (performance.now() - started) / 1000;
              // The brokers first: a backend reports its statistics when it exits, so the totals
              // below are complete once their connections are closed.
              for (const c of children) await stopChild(c, 10_000);
              await new Promise((r) => setTimeout(r, 500));
              const { rows } = await counters.query<{ batches: string; reads: string; syncs: string }>(
                `SELECT (SELECT coalesce(n_tup_ins, 0) FROM pg_stat_user_tables WHERE relname = 'rafka_batches')::text AS batches,
                        (SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'rafka_batches')::text AS reads,
                        (SELECT wal_sync FROM pg_stat_wal)::text AS syncs`,
              );
              const writes = last.writeTransactions - first.writeTransactions;
              const batches = Number(rows[0]!.batches);
              const cpu = last.cpuSeconds !== null && first.cpuSeconds !== null ? `, PostgreSQL CPU ${(last.cpuSeconds - first.cpuSeconds).toFixed(1)} s` : '';
              log(
                `  ${name}: PostgreSQL over ${s.toFixed(0)} s: ${writes} write transactions (${(writes / s).toFixed(0)}/s; the brokers' group commits plus their heartbeats), ` +
                  `${batches} batches stored (${writes > 0 ? (batches / writes).toFixed(1) : 'n/a'} per write transaction), ${rows[0]!.syncs} WAL flushes, ` +
                  `${rows[0]!.reads} index reads of rafka_batches (fetches not answered from a broker's memory, and retention), ${((last.walBytes - first.walBytes) / 1e6).toFixed(0)} MB of WAL${cpu}`,
              );
            } catch (err) {
              log(`  ${name}: PostgreSQL's counters could not be read: ${(err as Error).message}`);
            } finally {
              await counters.end().catch(() => {});
              await cleanup();
            }
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

