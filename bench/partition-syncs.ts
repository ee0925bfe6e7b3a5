/**
 * The fsyncs behind the bench's produce shapes, on the log engine alone (issue 22, item 2):
 * `node dist/bench/partition-syncs.js [partitions] [producers] [MiB] [preallocate 0|1] [journal 0|1|grow]`.
 *
 * It replays what the Java producers of `p-1Mx100-a1-none-8p-4w` send, without the network and the
 * JVMs that make the full bench so noisy on a shared machine: each producer keeps 5 requests in
 * flight (the client's max.in.flight), a request carries one ~16 KiB batch (160 × 100 B records)
 * per partition, and it completes when all its appends resolved, as a Produce answer does. It
 * prints MB/s, fsyncs (counted by the engine's observer), bytes per fsync, the mean fsync time,
 * request p50/p99 and CPU seconds per GB. Run it under two environments back to back for an A/B,
 * e.g. `UV_THREADPOOL_SIZE=4` against `16` (libuv's pool runs every write and fdatasync). With the
 * shared journal (`storage.journal`) the fsyncs counted are the journal's (one per journal write);
 * `checkpoints` says how often the segments were synced in bulk behind it (each checkpoint syncs
 * every segment written since the last one). `grow` is the journal without its first lap's zero-fill
 * (the files grow as they are written).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogEngine } from '../src/storage/log/log-engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';

/** The Java producer's max.in.flight.requests.per.connection (default 5). */
const IN_FLIGHT_PER_PRODUCER = 5;
/** ~16 KiB of 100 B records: a full batch at the Java producer's batch.size 16384. */
const RECORDS_PER_BATCH = 160;
const RECORD_BYTES = 100;

async function main(): Promise<void> {
  const [p = '8', w = '4', mib = '128', pre = '0', j = '0'] = process.argv.slice(2);
  const journal = j === '1' || j === 'grow';
  const partitions = Number(p);
  const producers = Number(w);
  const preallocate = pre === '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rafka-partition-syncs-'));
  let syncs = 0;
  let syncSeconds = 0;
  const engine = new LogEngine({
    path: dir,
    fsync: 'always',
    journal,
    journalZeroFill: j !== 'grow',
    warn: () => {},
    observer: { fsync: (s: number) => void ((syncs += 1), (syncSeconds += s)) },
  });
  try {
    await engine.open();
    await engine.createTopic({ name: 't', id: 'AAAAAAAAAAAAAAAAAAAAAA', partitionCount: partitions, configs: preallocate ? { preallocate: 'true' } : {} });
    const now = Date.now();
    const template = await encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: Buffer.alloc(RECORD_BYTES, i), timestamp: now })) });
    const requests = Math.ceil((Number(mib) * 1024 * 1024) / (template.length * partitions));
    let issued = 0;
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const slot = async (): Promise<void> => {
      while (issued < requests) {
        issued++;
        const started = performance.now();
        // Each append gets its own buffer, as each produce request does (the engine stamps offsets in place).
        await Promise.all(
          Array.from({ length: partitions }, (_, i) => engine.append('t', i, { bytes: Buffer.from(template), recordCount: RECORDS_PER_BATCH, maxTimestamp: now })),
        );
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: producers * IN_FLIGHT_PER_PRODUCER }, slot));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const bytes = requests * partitions * template.length;
    const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!.toFixed(1));
    console.log(
      JSON.stringify({
        partitions,
        producers,
        preallocate,
        journal: j === 'grow' ? 'grow' : journal,
        checkpoints: engine.journal?.checkpoints ?? null,
        uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
        mbPerSec: Number((bytes / 1e6 / seconds).toFixed(1)),
        fsyncs: syncs,
        fsyncsPerSec: Math.round(syncs / seconds),
        kbPerFsync: Math.round(bytes / Math.max(1, syncs) / 1000),
        fsyncMeanMs: Number(((1000 * syncSeconds) / Math.max(1, syncs)).toFixed(2)),
        requestP50Ms: at(0.5),
        requestP99Ms: at(0.99),
        cpuSecondsPerGB: Number(((cpu.user + cpu.system) / 1e6 / (bytes / 1e9)).toFixed(2)),
        loadAverage: Number(os.loadavg()[0]!.toFixed(1)),
      }),
    );
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
