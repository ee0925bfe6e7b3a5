/**
 * Producer-state recovery for `npm run bench` (also runnable alone: `node dist/bench/producer-state.js
 * [--quick]`): how long a broker start spends rebuilding idempotent producers' state for one log-engine
 * partition holding 1 GiB of idempotent data (64 MiB with --quick).
 *
 * The partition is filled through an embedded broker (8 idempotent producers, 64 KiB batches,
 * `fsync: never`, `segment.bytes` 96 MiB — 6 MiB with --quick — so the broker snapshots at each roll
 * and the data ends two thirds into the eleventh segment),
 * then the broker is started again on it three times:
 *  - after a clean stop: the snapshot at the log end is loaded, nothing is replayed;
 *  - as after kill -9: the clean-shutdown marker and the snapshot at the log end are removed, so the
 *    snapshot of the last segment roll is loaded and the segment after it (the tail) replayed;
 *  - without any snapshot (a data directory from before snapshots, or all damaged): the whole log is
 *    replayed from the log start.
 * Each row gives the producer-state recovery time (ProducerSnapshots.recover) and the whole start
 * (storage open included). The page cache is warm (the data was just written): these are the
 * broker's own costs; from a cold disk the replay rows add the disk's read time.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/index.js';
import { RawClient, decodeResponse } from '../test/helpers/raw-client.js';
import { createTopic, initProducerId } from '../test/helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { CLEAN_SHUTDOWN_FILE } from '../src/storage/log/log-engine.js';
import { SNAPSHOT_SUFFIX } from '../src/storage/log/files.js';

const TOPIC = 'idem';
const PRODUCERS = 8;
const RECORDS_PER_BATCH = 16;
const RECORD_BYTES = 4096;
const PIPELINE = 16;

export interface RecoveryRow {
  scenario: string;
  /** Offset of the snapshot loaded, or null (replay from the log start). */
  snapshotOffset: number | null;
  mibReplayed: number;
  batchesReplayed: number;
  recoveryMs: number;
  startMs: number;
}

export interface ProducerStateBenchResult {
  quick: boolean;
  mib: number;
  segmentMib: number;
  fillSeconds: number;
  rows: RecoveryRow[];
}

async function fill(port: number, bytes: number): Promise<number> {
  const client = await RawClient.connect(port);
  const pids = [];
  for (let i = 0; i < PRODUCERS; i++) pids.push({ ...(await initProducerId(client)), sequence: 0 });
  const value = Buffer.alloc(RECORD_BYTES, 7);
  let written = 0;
  let n = 0;
  const inFlight: number[] = [];
  const receive = async () => {
    const correlationId = inFlight.shift()!;
    const res = decodeResponse((await client.readFrame(60_000))!, ApiKey.Produce, 9, ProduceResponse, correlationId);
    const code = res.responses[0]!.partitionResponses[0]!.errorCode;
    if (code !== 0) throw new Error(`produce failed with error ${code}`);
  };
  while (written < bytes) {
    const pid = pids[n++ % PRODUCERS]!;
    const records = await encodeBatch({
      records: Array.from({ length: RECORDS_PER_BATCH }, () => ({ value })),
      producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: pid.sequence,
    });
    pid.sequence += RECORDS_PER_BATCH;
    written += records.length;
    const frame = client.frame(ApiKey.Produce, 9, ProduceRequest, { acks: 1, timeoutMs: 60_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
    inFlight.push(frame.readInt32BE(8));
    client.write(frame);
    if (inFlight.length >= PIPELINE) await receive();
  }
  while (inFlight.length > 0) await receive();
  client.close();
  return written;
}

async function timedStart(dir: string, scenario: string): Promise<RecoveryRow> {
  const t0 = performance.now();
  const b = await startBroker({ port: 0, logLevel: 'error', storage: { type: 'log', path: dir, fsync: 'never' } });
  const startMs = performance.now() - t0;
  const r = b.broker.producerRecovery!;
  const row: RecoveryRow = {
    scenario,
    snapshotOffset: null,
    mibReplayed: r.bytesReplayed / 2 ** 20,
    batchesReplayed: r.batchesReplayed,
    recoveryMs: r.ms,
    startMs,
  };
  await b.close();
  return row;
}

function snapshotFiles(partitionDir: string): string[] {
  return readdirSync(partitionDir).filter((f) => f.endsWith(SNAPSHOT_SUFFIX)).sort();
}

export async function runProducerStateBench(opts: { quick: boolean; log: (line: string) => void }): Promise<ProducerStateBenchResult> {
  const mib = opts.quick ? 64 : 1024;
  const segmentMib = (mib * 3) / 32;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rafka-bench-pstate-'));
  const partitionDir = path.join(dir, `${TOPIC}-0`);
  try {
    opts.log(`producer state: filling one partition with ${mib} MiB of idempotent batches …`);
    const b = await startBroker({ port: 0, logLevel: 'error', storage: { type: 'log', path: dir, fsync: 'never' } });
    const admin = await RawClient.connect(b.port);
    await createTopic(admin, TOPIC, 1, [{ name: 'segment.bytes', value: String(segmentMib * 2 ** 20) }]);
    admin.close();
    const t0 = performance.now();
    await fill(b.port, mib * 2 ** 20);
    const fillSeconds = (performance.now() - t0) / 1000;
    await b.close(); // clean stop: a snapshot at the log end
    const rows: RecoveryRow[] = [];
    const offsetOf = (f: string) => Number(f.slice(0, -SNAPSHOT_SUFFIX.length));

    let files = snapshotFiles(partitionDir);
    const atEnd = files[files.length - 1]!;
    opts.log('producer state: start after a clean stop …');
    rows.push({ ...(await timedStart(dir, 'after a clean stop: snapshot at the log end')), snapshotOffset: offsetOf(atEnd) });

    // As after kill -9: no clean-shutdown marker, and the newest snapshot is the last roll's.
    rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
    rmSync(path.join(partitionDir, atEnd));
    files = snapshotFiles(partitionDir);
    const roll = files[files.length - 1]!;
    opts.log('producer state: start as after kill -9 …');
    rows.push({ ...(await timedStart(dir, 'as after kill -9: snapshot of the last roll + tail replay')), snapshotOffset: offsetOf(roll) });

    rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
    for (const f of snapshotFiles(partitionDir)) rmSync(path.join(partitionDir, f));
    opts.log('producer state: start without any snapshot …');
    rows.push(await timedStart(dir, 'no snapshot: replay from the log start'));
    return { quick: opts.quick, mib, segmentMib, fillSeconds, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatProducerStateTable(r: ProducerStateBenchResult): string {
  const lines = [
    `Producer-state recovery, log engine, one partition of ${r.mib} MiB of idempotent data (${PRODUCERS} producers, 64 KiB batches, ${r.segmentMib} MiB segments; page cache warm)`,
    '| start | snapshot loaded at | replayed MiB | batches replayed | producer-state recovery ms | whole start ms |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    lines.push(`| ${row.scenario} | ${row.snapshotOffset ?? '-'} | ${row.mibReplayed.toFixed(1)} | ${row.batchesReplayed} | ${row.recoveryMs.toFixed(1)} | ${row.startMs.toFixed(1)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  runProducerStateBench({ quick, log: (l) => console.error(l) })
    .then((r) => console.log(formatProducerStateTable(r)))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
