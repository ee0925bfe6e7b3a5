/**
 * What hooks cost (docs/hooks.md): produce and fetch throughput of one broker process per hook
 * set, loaded from this process over the wire with pre-encoded batches (the same load as
 * bench/run.ts: 1 KiB records, batches of 100, acks=1, 4 pipelining connections, 4 partitions).
 *
 * Hook sets, each in a fresh broker (memory engine):
 * - `none`: no hooks; every hook stage is null, so the produce and fetch paths run exactly as
 *   without the hook system.
 * - `other-topic`: a record-level beforeProduce and afterFetch hook that applies to another topic
 *   only: the stage exists, this topic's partitions look it up (cached) and find nothing to run.
 * - `no-op`: an observe-only afterProduce hook and an afterFetch hook that returns at once — no
 *   record is decoded.
 * - `record-level`: stamp-headers on produce (every record decoded, two headers added, the batch
 *   re-encoded) and redact on fetch (every record decoded and parsed as JSON, one field replaced,
 *   batches re-encoded).
 *
 * Rounds are interleaved (each set once per round) and each figure is the best of the rounds, so a
 * burst of outside load does not land on one set. Run alone with `node dist/bench/hooks.js
 * [--quick]`; `npm run bench` runs it too (bench/run.ts).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/index.js';
import { RawClient } from '../test/helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { fetchEverything, pipelinedProduce } from './wire-load.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { stampHeadersHook, redactHook } from '../src/hooks/builtin/index.js';
import type { Hook } from '../src/hooks/types.js';

export const HOOK_SETS = ['none', 'other-topic', 'no-op', 'record-level'] as const;
export type HookSet = (typeof HOOK_SETS)[number];

const TOPIC = 'bench-hooks';
const WARM_UP_TOPIC = 'bench-hooks-warm-up';
const WARM_UP_RECORDS = 10_000;
const PARTITIONS = 4;
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 100;
const CONNECTIONS = 4;
const PIPELINE = 8;

export interface HooksRow {
  hooks: HookSet;
  records: number;
  produceRecordsPerSec: number;
  produceMBPerSec: number;
  fetchRecordsPerSec: number;
  fetchMBPerSec: number;
  /** Broker CPU time per 1000 records (µs): unlike throughput, barely moved by other load on the machine. */
  produceCpuUsPer1k: number;
  fetchCpuUsPer1k: number;
}

export interface HooksBenchResult {
  machine: string;
  recordsPerSet: number;
  rounds: number;
  rows: HooksRow[];
}

async function hooksFor(set: HookSet): Promise<Hook[]> {
  const ctx = { baseDir: '.', log: { error() {}, warn() {}, info() {}, debug() {} } };
  switch (set) {
    case 'none':
      return [];
    case 'other-topic':
      return [
        { ...(await stampHeadersHook({}, ctx)), topics: 'some-other-topic' },
        { ...(await redactHook({ fields: ['card.number'] }, ctx)), topics: 'some-other-topic' },
      ];
    case 'no-op':
      return [{ name: 'observe', afterProduce() {}, afterFetch() {} }];
    case 'record-level':
      return [await stampHeadersHook({}, ctx), await redactHook({ fields: ['card.number'] }, ctx)];
  }
}

/** A JSON value of about RECORD_BYTES with a field for redact to find. */
function recordValue(i: number): Buffer {
  const base = { id: i, card: { number: '4111111111111111', holder: 'Bench' }, pad: '' };
  const pad = RECORD_BYTES - Buffer.byteLength(JSON.stringify(base));
  return Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(Math.max(0, pad)) }));
}

interface Child {
  port: number;
  /** The broker process's CPU time so far (user + system), in µs. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

async function startChild(set: HookSet): Promise<Child> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', set], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`hooks bench broker (${set}) exited with ${code}`)));
  });
  return {
    port,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m: { cpu: number }) => resolve(m.cpu));
        child.send('cpu');
      }),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function produce(port: number, total: number, topic = TOPIC): Promise<number> {
  const batch = await encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: recordValue(i) })) });
  const perConnection = Math.ceil(total / RECORDS_PER_BATCH / CONNECTIONS);
  return pipelinedProduce(port, { topic, partitions: PARTITIONS, batch, connections: CONNECTIONS, pipeline: PIPELINE, batchesPerConnection: perConnection, timeoutMs: 60_000 });
}

/** Fetch everything back from offset 0 (one connection, all partitions per request); returns [records, seconds]. */
function fetchAllBack(port: number, topic = TOPIC): Promise<[number, number]> {
  return fetchEverything(port, topic, PARTITIONS);
}

interface Measured {
  produceSec: number;
  fetchSec: number;
  /** Broker CPU time (µs) spent during the produce and the fetch phase. */
  produceCpu: number;
  fetchCpu: number;
  records: number;
}

async function measure(set: HookSet, total: number): Promise<Measured> {
  const child = await startChild(set);
  try {
    const c = await RawClient.connect(child.port);
    const created = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [TOPIC, WARM_UP_TOPIC].map((name) => ({ name, numPartitions: PARTITIONS, replicationFactor: 1 })),
    });
    c.close();
    if (created.topics.some((t) => t.errorCode !== 0)) throw new Error(`could not create ${TOPIC}`);
    // Unmeasured warm-up on another topic (same hooks), so the measured phases run JIT-compiled code.
    await produce(child.port, WARM_UP_RECORDS, WARM_UP_TOPIC);
    await fetchAllBack(child.port, WARM_UP_TOPIC);
    const cpu0 = await child.cpuMicros();
    const produceSec = await produce(child.port, total);
    const cpu1 = await child.cpuMicros();
    const [records, fetchSec] = await fetchAllBack(child.port);
    const cpu2 = await child.cpuMicros();
    return { produceSec, fetchSec, produceCpu: cpu1 - cpu0, fetchCpu: cpu2 - cpu1, records };
  } finally {
    await child.stop();
  }
}

export async function runHooksBench(opts: { quick: boolean; log?: (line: string) => void }): Promise<HooksBenchResult> {
  const total = opts.quick ? 20_000 : 200_000;
  const rounds = opts.quick ? 1 : 3;
  const best = new Map<HookSet, Measured>();
  for (let round = 1; round <= rounds; round++) {
    for (const set of HOOK_SETS) {
      opts.log?.(`hooks bench: round ${round}/${rounds}, ${set}`);
      const m = await measure(set, total);
      const prev = best.get(set);
      best.set(
        set,
        prev
          ? {
              produceSec: Math.min(prev.produceSec, m.produceSec),
              fetchSec: Math.min(prev.fetchSec, m.fetchSec),
              produceCpu: Math.min(prev.produceCpu, m.produceCpu),
              fetchCpu: Math.min(prev.fetchCpu, m.fetchCpu),
              records: m.records,
            }
          : m,
      );
    }
  }
  const rows = HOOK_SETS.map((set): HooksRow => {
    const m = best.get(set)!;
    const mb = (m.records * RECORD_BYTES) / 1e6;
    return {
      hooks: set,
      records: m.records,
      produceRecordsPerSec: m.records / m.produceSec,
      produceMBPerSec: mb / m.produceSec,
      fetchRecordsPerSec: m.records / m.fetchSec,
      fetchMBPerSec: mb / m.fetchSec,
      produceCpuUsPer1k: (m.produceCpu / m.records) * 1000,
      fetchCpuUsPer1k: (m.fetchCpu / m.records) * 1000,
    };
  });
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  return { machine, recordsPerSet: total, rounds, rows };
}

export function formatHooksTable(r: HooksBenchResult): string {
  const base = r.rows.find((x) => x.hooks === 'none')!;
  const pct = (v: number, b: number) => `${v >= b ? '+' : ''}${(((v - b) / b) * 100).toFixed(0)}%`;
  const lines = [
    `Hooks: produce then fetch ${r.recordsPerSet} × 1 KiB JSON records (best of ${r.rounds}; ${r.machine})`,
    '| hooks | produce records/s | MB/s | broker CPU µs / 1k records | vs none | fetch records/s | MB/s | broker CPU µs / 1k records | vs none |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.rows) {
    lines.push(
      `| ${x.hooks} | ${Math.round(x.produceRecordsPerSec)} | ${x.produceMBPerSec.toFixed(1)} | ${Math.round(x.produceCpuUsPer1k)} | ${pct(x.produceCpuUsPer1k, base.produceCpuUsPer1k)} ` +
        `| ${Math.round(x.fetchRecordsPerSec)} | ${x.fetchMBPerSec.toFixed(1)} | ${Math.round(x.fetchCpuUsPer1k)} | ${pct(x.fetchCpuUsPer1k, base.fetchCpuUsPer1k)} |`,
    );
  }
  return lines.join('\n');
}

// As a child: one broker with the named hook set, its port reported over IPC.
if (process.argv[2] === '--child') {
  const set = process.argv[3] as HookSet;
  const broker = await startBroker({ port: 0, logLevel: 'warn', hooks: await hooksFor(set) });
  process.send?.({ port: broker.port });
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send?.({ cpu: u.user + u.system });
  });
  process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runHooksBench({ quick: process.argv.includes('--quick'), log: (l) => console.error(l) });
  console.log(formatHooksTable(result));
}
