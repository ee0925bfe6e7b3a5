/**
 * Storage figures for `npm run bench` (also runnable alone: `node dist/bench/storage.js [--quick]`).
 *
 * - The disk's own sequential write speed, measured in the same run with
 *   `dd if=/dev/zero of=<tmp> bs=1M count=N conv=fdatasync` (N = the log engine's append volume).
 * - Append MB/s per engine with 1 KiB records (64 per batch, 32 appends in flight on one
 *   partition), straight through the StorageEngine interface (no network), counting from the first
 *   append until the last one resolved — for `fsync: always` that includes the fsync every append
 *   waits for (group commit). The log engine runs under each fsync policy; every engine that
 *   src/storage/index.ts can create runs under `always`.
 * - Read MB/s: everything back from offset 0, 1 MiB per read as a consumer fetches (the page cache
 *   is warm: this is the engine's own cost, not the disk's).
 * - The postgres engine, when Debian's PostgreSQL server is installed: a throw-away cluster in a temp
 *   dir (fsync on, unix socket; test/helpers/postgres.ts) on the same disk and cores, with the
 *   PostgreSQL commits per second the engine's group commit made during the append run.
 * - Append latency p99: the time each append took to resolve (with 32 in flight it includes queueing).
 * - Loop delay p99: `monitorEventLoopDelay` (1 ms resolution) over the append run, i.e. how long
 *   the event loop stood still at a time — an engine that syncs on the loop shows its fsync here,
 *   and a broker on that engine stalls every connection for as long (issue 22 item 3).
 * - Recovery: the log engine's open after an unclean shutdown (the tail segment is a single
 *   1 GiB segment, every batch's CRC checked; 64 MiB with --quick), and after a clean one.
 * The ratio log-append / dd is the target (≥ 70% under group commit).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBatch } from '../src/protocol/records/record.js';
import { createStorageEngine } from '../src/storage/index.js';
import type { StorageEngine } from '../src/storage/engine.js';
import type { FsyncPolicy, StorageType } from '../src/config/types.js';
import { LogEngine } from '../src/storage/log/log-engine.js';
import { PostgresEngine } from '../src/storage/postgres/postgres-engine.js';
import { findPostgres, startPgCluster } from '../test/helpers/postgres.js';

const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 64;
const IN_FLIGHT = 32;
const READ_BYTES = 1 << 20;

export interface EngineRow {
  engine: string;
  fsync: FsyncPolicy | '-';
  mib: number;
  appendMBps: number | null;
  /** 99th percentile of one append's time to resolve, ms. */
  appendP99Ms: number | null;
  /** 99th percentile of the event loop's delay during the append run, ms. */
  loopDelayP99Ms: number | null;
  readMBps: number | null;
  note: string;
}

export interface StorageBenchResult {
  quick: boolean;
  disk: { mib: number; mbps: number; dir: string } | { error: string };
  engines: EngineRow[];
  recovery: { mib: number; uncleanMs: number; cleanMs: number; truncatedBytes: number } | null;
  /** Log engine append (fsync always) / dd. */
  ratioAlwaysToDisk: number | null;
}

/** `dd … conv=fdatasync` into `dir`: the disk's sequential write speed in MB/s (1 MB = 10^6 bytes). */
export function measureDisk(dir: string, mib: number): { mib: number; mbps: number; dir: string } | { error: string } {
  const file = path.join(dir, 'dd.bin');
  const r = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fdatasync'], { encoding: 'utf8' });
  rmSync(file, { force: true });
  if (r.error || r.status !== 0) return { error: r.error?.message ?? r.stderr.trim() };
  // GNU dd: "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.8 s, 380 MB/s"
  const m = /(\d+) bytes.*copied, ([\d.]+) s/.exec(r.stderr);
  if (!m) return { error: `unexpected dd output: ${r.stderr.trim()}` };
  return { mib, mbps: Number(m[1]) / Number(m[2]) / 1e6, dir: portablePath(dir) };
}

/** `dir` with the temp directory written as `<tmpdir>`: results files name no machine's paths. */
function portablePath(dir: string): string {
  const rel = path.relative(os.tmpdir(), dir);
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.basename(dir) : path.join('<tmpdir>', rel);
}

async function template(): Promise<{ bytes: Buffer; recordCount: number; maxTimestamp: number }> {
  const now = Date.now();
  const bytes = await encodeBatch({
    records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: Buffer.alloc(RECORD_BYTES, i), timestamp: now })),
  });
  return { bytes, recordCount: RECORDS_PER_BATCH, maxTimestamp: now };
}

/** Append `mib` MiB with IN_FLIGHT appends outstanding; MB/s from first call to last resolution. */
async function appendLoad(engine: StorageEngine, topic: string, mib: number): Promise<{ mbps: number; bytes: number; p99Ms: number; loopDelayP99Ms: number; seconds: number; appends: number }> {
  const t = await template();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const batches = Math.ceil((mib * 1024 * 1024) / t.bytes.length);
  let issued = 0;
  const latencies: number[] = [];
  loopDelay.enable();
  const t0 = performance.now();
  const worker = async () => {
    while (issued < batches) {
      issued++;
      const start = performance.now();
      // Each append has its own buffer, as each produce request does (engines may stamp in place).
      await engine.append(topic, 0, { bytes: Buffer.from(t.bytes), recordCount: t.recordCount, maxTimestamp: t.maxTimestamp });
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  loopDelay.disable();
  const loopDelayP99Ms = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0;
  const bytes = batches * t.bytes.length;
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
  return { mbps: bytes / seconds / 1e6, bytes, p99Ms, loopDelayP99Ms, seconds, appends: batches };
}

async function readAll(engine: StorageEngine, topic: string): Promise<number> {
  const { highWatermark } = engine.offsets(topic, 0);
  let offset = 0;
  let bytes = 0;
  const t0 = performance.now();
  while (offset < highWatermark) {
    const r = await engine.read(topic, 0, offset, READ_BYTES, true);
    if (r.batches.length === 0) break;
    bytes += r.bytes;
    const last = r.batches[r.batches.length - 1]!;
    offset = Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1;
  }
  return bytes / ((performance.now() - t0) / 1000) / 1e6;
}

const topicRecord = (name: string) => ({ name, id: `bench-${name}`.padEnd(22, 'A').slice(0, 22), partitionCount: 1, configs: {} });

async function benchEngine(type: StorageType, fsync: FsyncPolicy, dir: string, mib: number, url: string | null = null): Promise<EngineRow> {
  const row: EngineRow = { engine: type === 'memory' ? 'memory + WAL' : type, fsync, mib, appendMBps: null, appendP99Ms: null, loopDelayP99Ms: null, readMBps: null, note: '' };
  let engine: StorageEngine;
  try {
    engine = await createStorageEngine({ type, path: dir, fsync, fsyncIntervalMs: 1000, url });
    await engine.open();
  } catch (err) {
    row.note = `not run: ${(err as Error).message.split('\n')[0]}`;
    return row;
  }
  try {
    await engine.createTopic(topicRecord('bench'));
    const commitsBefore = engine instanceof PostgresEngine ? engine.commits : 0;
    const load = await appendLoad(engine, 'bench', mib);
    row.appendMBps = load.mbps;
    row.appendP99Ms = load.p99Ms;
    row.loopDelayP99Ms = load.loopDelayP99Ms;
    if (engine instanceof PostgresEngine) {
      const commits = engine.commits - commitsBefore;
      row.note = `${commits} PostgreSQL commits, ${(commits / load.seconds).toFixed(0)} commits/s (${(load.appends / commits).toFixed(1)} appends each)`;
    }
    row.readMBps = await readAll(engine, 'bench');
  } catch (err) {
    row.note = `failed: ${(err as Error).message}`;
  } finally {
    await engine.close().catch(() => {});
  }
  return row;
}

/** The postgres engine on a throw-away cluster (fsync on) in a temp dir, when PostgreSQL is installed. */
async function benchPostgres(mib: number, log: (line: string) => void): Promise<EngineRow> {
  const server = findPostgres();
  if (server.missing !== null) {
    return { engine: 'postgres', fsync: 'always', mib, appendMBps: null, appendP99Ms: null, loopDelayP99Ms: null, readMBps: null, note: `not run: ${server.missing}` };
  }
  log(`storage: postgres engine (${server.version}), fsync always, ${mib} MiB …`);
  const cluster = await startPgCluster(server, { durable: true });
  try {
    return await benchEngine('postgres', 'always', '', mib, await cluster.createDatabase());
  } finally {
    cluster.destroy();
  }
}

/** Unclean and clean open of a log of `mib` MiB in one segment. */
async function recovery(dir: string, mib: number): Promise<StorageBenchResult['recovery']> {
  const make = () => new LogEngine({ path: dir, fsync: 'never', warn: () => {} });
  const e = make();
  await e.open();
  await e.createTopic(topicRecord('recover'));
  await appendLoad(e, 'recover', mib);
  await e.simulateCrash();
  const unclean = make();
  await unclean.open();
  const uncleanMs = unclean.lastOpen!.ms;
  const truncatedBytes = unclean.lastOpen!.truncatedBytes;
  await unclean.close();
  const clean = make();
  await clean.open();
  const cleanMs = clean.lastOpen!.ms;
  await clean.close();
  return { mib, uncleanMs, cleanMs, truncatedBytes };
}

export async function runStorageBench(opts: { quick: boolean; log?: (line: string) => void }): Promise<StorageBenchResult> {
  const log = opts.log ?? (() => {});
  const mib = opts.quick ? 64 : 1024;
  const otherMib = opts.quick ? 64 : 256;
  const base = mkdtempSync(path.join(os.tmpdir(), 'rafka-bench-storage-'));
  const sub = (name: string) => mkdtempSync(path.join(base, `${name}-`));
  try {
    log(`storage: dd ${mib} MiB …`);
    const disk = measureDisk(base, mib);
    const engines: EngineRow[] = [];
    for (const fsync of ['always', 'interval', 'never'] as const) {
      log(`storage: log engine, fsync ${fsync}, ${mib} MiB …`);
      const dir = sub(`log-${fsync}`);
      engines.push(await benchEngine('log', fsync, dir, mib));
      rmSync(dir, { recursive: true, force: true });
    }
    for (const type of ['memory', 'rocksdb'] as const) {
      log(`storage: ${type} engine, fsync always, ${otherMib} MiB …`);
      const dir = sub(type);
      engines.push(await benchEngine(type, 'always', dir, otherMib));
      rmSync(dir, { recursive: true, force: true });
    }
    engines.push(await benchPostgres(otherMib, log));
    log(`storage: recovery of ${mib} MiB …`);
    const recoveryDir = sub('recovery');
    const rec = await recovery(recoveryDir, mib);
    rmSync(recoveryDir, { recursive: true, force: true });
    const always = engines.find((r) => r.engine === 'log' && r.fsync === 'always')?.appendMBps ?? null;
    return {
      quick: opts.quick,
      disk,
      engines,
      recovery: rec,
      ratioAlwaysToDisk: always !== null && 'mbps' in disk ? always / disk.mbps : null,
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export function formatStorageTable(r: StorageBenchResult): string {
  const lines: string[] = [];
  const disk = 'mbps' in r.disk ? `${r.disk.mbps.toFixed(0)} MB/s (dd ${r.disk.mib} MiB, conv=fdatasync, in ${r.disk.dir})` : `not measured: ${r.disk.error}`;
  lines.push(`Storage engines, 1 KiB records, ${RECORDS_PER_BATCH} per batch, ${IN_FLIGHT} appends in flight; disk: ${disk}`);
  lines.push('| engine | fsync | MiB | append MB/s | append p99 ms | loop delay p99 ms | read MB/s | note |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const e of r.engines) {
    const f = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));
    lines.push(`| ${e.engine} | ${e.fsync} | ${e.mib} | ${f(e.appendMBps)} | ${f(e.appendP99Ms, 1)} | ${f(e.loopDelayP99Ms, 1)} | ${f(e.readMBps)} | ${e.note} |`);
  }
  if (r.ratioAlwaysToDisk !== null) {
    lines.push('');
    lines.push(`log engine append with group commit (fsync always) / disk: ${(r.ratioAlwaysToDisk * 100).toFixed(0)}% (target ≥ 70%)`);
  }
  if (r.recovery) {
    lines.push(
      `log recovery of ${r.recovery.mib} MiB in one segment: ${r.recovery.uncleanMs.toFixed(0)} ms after an unclean shutdown (every batch CRC-checked), ${r.recovery.cleanMs.toFixed(0)} ms after a clean one`,
    );
  }
  return lines.join('\n');
}

// Standalone: node dist/bench/storage.js [--quick]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  runStorageBench({ quick, log: (l) => console.error(l) })
    .then((r) => console.log(formatStorageTable(r)))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
