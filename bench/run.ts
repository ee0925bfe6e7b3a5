/**
 * `npm run bench [-- --quick]`: the broker's own throughput, measured from a separate load process so
 * the client and the broker do not share an event loop. The broker runs in a child process (memory
 * engine); the load generator here speaks the wire protocol with pre-encoded batches, so the figure
 * is the broker's, not a client library's. Prints a table and writes bench/results/<date>.json.
 *
 * Workloads: produce 1 KiB records (acks=1, batches of 100) from 4 pipelining connections; then fetch
 * everything back from offset 0; fetches of 1,000 idle partitions, sessionless vs an incremental fetch
 * session (bench/fetch-sessions.ts); the overhead of metrics (issue 21): fresh pairs of warm
 * brokers, the HTTP endpoint off on one and on (scraped during its warm-up, then every 500,000
 * records) on the other, short produces alternating between them in off/on pairs; the median over
 * the pairs of brokers of their throughput and broker-CPU change.
 * Then start-up times, the storage engines (bench/storage.ts), hooks
 * (bench/hooks.ts), the client (bench/client.ts, unless --no-client) and the side-by-side comparison
 * with Apache Kafka (bench/compare.ts, unless --no-kafka); the test kit's 20-test file beside Kafka's
 * start-up (bench/testkit.ts; `--testkit` runs only that).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startBroker } from '../src/broker/index.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient } from '../test/helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from '../src/protocol/messages/delete-topics.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { createBenchTopic, fetchEverything, pipelinedProduce } from './wire-load.js';
import { runComparison, formatTable, type ComparisonResult } from './compare.js';
import { runClientBench, formatClientTable } from './client.js';
import { runStorageBench, formatStorageTable } from './storage.js';
import { runHooksBench, formatHooksTable } from './hooks.js';
import { runProducerStateBench, formatProducerStateTable } from './producer-state.js';
import { writeChart } from './chart.js';
import { mainThreadCpuSeconds } from './kafka/proc.js';
import { runFetchSessionBench, formatFetchSessionTable, type FetchSessionRow } from './fetch-sessions.js';
import { runTestkitBench, formatTestkitTable } from './testkit.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const quick = process.argv.includes('--quick');
/** `--no-kafka`: only the Rafka-internal figures above, without the side-by-side comparison (issue 7). */
const compare = !process.argv.includes('--no-kafka');
/** `--no-client`: skip the client throughput comparison (issue 6; bench/client.ts). */
const clientBench = !process.argv.includes('--no-client');
/**
 * `--broker-only`: only the broker's produce and fetch rows (no start-up, storage, hooks, client or
 * Kafka parts), for comparing one change's before and after; nothing is written to bench/results.
 */
const brokerOnly = process.argv.includes('--broker-only');
/** `--metrics-only`: only the metrics overhead rows (issue 21), printed; nothing is written to bench/results. */
const metricsOnly = process.argv.includes('--metrics-only');
/** `--no-producer-state`: skip the producer-state recovery figures (bench/producer-state.ts). */
const producerStateBench = !process.argv.includes('--no-producer-state');
/**
 * `--testkit`: only the test kit's figure (bench/testkit.ts: a 20-test file on rafka/testing beside
 * Kafka's start-up), written to bench/results/<date>-testkit.json; `--no-testkit` leaves it out.
 */
const testkitOnly = process.argv.includes('--testkit');
const testkitBench = !process.argv.includes('--no-testkit');

const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 100;
const CONNECTIONS = 4;
const PIPELINE = 8;
const TOTAL_RECORDS = quick ? 20_000 : 400_000;

interface Row {
  workload: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** The broker process's CPU time (user + system) during the workload. */
  brokerCpuSeconds?: number;
}

/** The broker child's CPU time so far (user + system), in seconds. */
function brokerCpuSeconds(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: any) => {
      if (m && typeof m === 'object' && 'cpu' in m) {
        child.off('message', onMessage);
        resolve((m.cpu.user + m.cpu.system) / 1e6);
      }
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/** Run a workload and note the broker's CPU seconds spent during it. */
async function withBrokerCpu(child: ChildProcess, run: () => Promise<Row>): Promise<Row> {
  const before = await brokerCpuSeconds(child);
  const r = await run();
  return { ...r, brokerCpuSeconds: (await brokerCpuSeconds(child)) - before };
}

async function startChildBroker(args: string[] = []): Promise<{ child: ChildProcess; port: number; httpUrl: string | null }> {
  const child = fork(path.join(here, 'broker-process.js'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port, httpUrl } = await new Promise<{ port: number; httpUrl: string | null }>((resolve, reject) => {
    child.once('message', (m: any) => resolve(m));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return { child, port, httpUrl };
}

/** Deletes a bench topic, so that the memory engine lets go of its records. */
async function deleteBenchTopic(port: number, topic: string): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    const deleted = await client.request(ApiKey.DeleteTopics, 4, DeleteTopicsRequest, DeleteTopicsResponse, { topicNames: [topic], timeoutMs: 30_000 });
    if (deleted.responses[0]!.errorCode !== 0) throw new Error(`could not delete the bench topic ${topic}`);
  } finally {
    client.close();
  }
}

/** Issue 21's limit: metrics may cost at most this fraction of produce throughput. */
const METRICS_OVERHEAD_LIMIT = 0.03;

/**
 * One off/on pair of the metrics overhead row: the same produce, back to back, on the broker with
 * metrics off and on the one with metrics on.
 */
interface MetricsPair {
  /** Which pair of broker processes ran it (0-based; see BROKER_PAIRS). */
  brokers: number;
  /** Which ran first: pairs alternate (off-on, on-off, …) so a drift in outside load favours neither side. */
  first: 'off' | 'on';
  off: Row;
  on: Row;
  /** (on − off) ÷ off of records/s: negative is a loss. */
  throughputChange: number;
  /** (on − off) ÷ off of the broker's CPU seconds for the same records. */
  cpuChange: number;
  /** (on − off) ÷ off of the broker's main-thread CPU for the same records (Linux; null elsewhere). */
  mainCpuChange: number | null;
}

/** What one pair of broker processes gave: the medians of its alternating produces. */
interface BrokerPairResult {
  throughputChange: number;
  cpuChange: number;
  mainCpuChange: number | null;
  /** (on − off) ÷ off of the broker CPU of the warm-up produce, where the on side had its first WARM_UP_SCRAPES scrapes. */
  warmUpCpuChange: number;
}

/** Metrics off vs on (scraped every SCRAPE_EVERY_RECORDS), produce only: issue 21's limit is 3 % of throughput. */
interface MetricsOverhead {
  /** Every pair of produces, in the order run. */
  pairs: MetricsPair[];
  /** Per pair of broker processes, the medians of its produces (what the figure is the median of). */
  brokerPairs: BrokerPairResult[];
  /** The rows of the median pair (by throughput change): what the tables and charts show. */
  off: Row;
  on: Row;
  /** Scrapes answered while a measured produce ran, over all pairs. */
  scrapes: number;
  scrapeEveryRecords: number;
  /** Broker CPU milliseconds one scrape costs (an idle, warm broker, after its pairs). */
  scrapeCpuMs: number;
  /** Median over the broker pairs of their median throughput change, and the lowest and highest of them. */
  throughputChange: number;
  throughputChangeRange: [number, number];
  /** The same for the broker's CPU, and for its main thread's (null where /proc has no schedstat). */
  cpuChange: number;
  cpuChangeRange: [number, number];
  mainCpuChange: number | null;
  mainCpuChangeRange: [number, number] | null;
  /** Median over the broker pairs of BrokerPairResult.warmUpCpuChange: the one-time cost of the first scrapes, with the JIT warming up on both sides. */
  warmUpCpuChange: number;
  /** The median throughput loss is within METRICS_OVERHEAD_LIMIT (issue 21). */
  pass: boolean;
}

/**
 * A scrape of /metrics every this many records the metrics-on broker answers, counted across the
 * row's produces (so a slow machine gets as many scrapes per record as a fast one). 500,000 records
 * take about a second on a quiet run of this machine, so this is a 1 s scrape_interval: 15 times
 * the usual 15 s, 60 times Prometheus's default of 1 min. What one scrape costs the broker is
 * measured on its own (MetricsOverhead.scrapeCpuMs) and printed beside the row, so the cost at any
 * interval can be read off. (Session 8 scraped every 100,000 records, ≈ 5 a second, from the
 * bench's own process, whose CPU also drives the producing client: bench/README.md.)
 */
const SCRAPE_EVERY_RECORDS = 500_000;
/** Scrapes of the idle, warm metrics-on broker after its pairs, to measure what one costs. */
const IDLE_SCRAPES = quick ? 10 : 50;
/** Records of each side of a pair: short, so a pair's two produces are a second or two apart. */
const METRICS_RECORDS = quick ? 50_000 : 250_000;
/**
 * Pairs of broker processes (one metrics off, one on), each started fresh: two processes of the same
 * build differ by up to ±10 % in CPU per record for their whole life (heap layout, JIT timing), so
 * many produces on one pair of processes measure that pair, not metrics (bench/README.md, "Session
 * 10: one pair of processes is one sample"). The figure is the median over the broker pairs. (24
 * pairs did not narrow the spread from one run of the row to the next: bench/README.md, "Session 12".)
 */
const BROKER_PAIRS = quick ? 2 : 12;
/** Off/on pairs of produces on each pair of brokers, alternating which side runs first. */
const PAIRS_PER_BROKER_PAIR = quick ? 2 : 4;
/**
 * Unmeasured, on each broker: the measured cycle itself (create a topic, produce METRICS_RECORDS,
 * delete it) this many times, so that the measured produces run the code a broker that has been
 * serving for a while runs. One produce of 200,000 records was not that (bench/README.md, "Session
 * 15: the row measured the JIT's tier-up"): on Node 24 the produce path was still moving from
 * Maglev to TurboFan code through the measured produces, and each topic created and deleted
 * between them deoptimized the request path again; 50 to 280 ms of V8's background compilation
 * ran inside every measured produce of 0.5 s of broker CPU, a share that differed from process to
 * process.
 */
const WARM_UP_ROUNDS = quick ? 1 : 6;
/**
 * Scrapes of the metrics-on broker during its warm-up produces, evenly spread, so that the measured
 * produces run after the scrape path has settled too, as on a broker that has been scraped for a
 * while. The first few scrapes of a fresh process each cost the produce path 10 to 30 ms of
 * main-thread CPU in the next 100,000 records (code compiled, and the hot stream and produce code
 * seeing the HTTP socket and the scrape's objects for the first time), falling to the scrape's own
 * ≈ 2 ms by the fifth or sixth; without these, the row's three or so measured scrapes per broker
 * were those first ones, a one-time cost counted as if it came with every scrape (bench/README.md,
 * "Session 11: the first scrapes are the expensive ones").
 */
const WARM_UP_SCRAPES = 20;
/** Batches between two of the warm-up's scrapes. */
const WARM_UP_BATCHES_PER_SCRAPE = (WARM_UP_ROUNDS * METRICS_RECORDS) / RECORDS_PER_BATCH / WARM_UP_SCRAPES;

/** A broker under the metrics row: metrics off, or on and scraped. */
interface MetricsBroker {
  child: ChildProcess;
  port: number;
  httpUrl: string | null;
  /** Batches of RECORDS_PER_BATCH answered over the row's measured produces: the scrape clock. */
  batchesAnswered: number;
}

/**
 * One measured produce of METRICS_RECORDS on a fresh topic (deleted afterwards, so that the memory
 * engine's footprint stays that of one produce), /metrics scraped every SCRAPE_EVERY_RECORDS when on.
 */
async function measuredProduce(b: MetricsBroker, topic: string, scraper: Scraper): Promise<{ row: Row; scrapes: number; mainCpuSeconds: number | null }> {
  await createBenchTopic(b.port, topic, 4);
  let scrapes = 0;
  const pending: Promise<void>[] = [];
  // What a Prometheus server does: the whole text, and the broker answers it while producing. Only
  // scrapes answered before the produce ends are counted (each is awaited before the next pair).
  let measuring = true;
  const scrape = () => {
    if (b.httpUrl === null) return;
    pending.push(
      scraper.scrape(`${b.httpUrl}/metrics`).then(() => {
        if (measuring) scrapes++;
      }),
    );
  };
  const batchesPerScrape = SCRAPE_EVERY_RECORDS / RECORDS_PER_BATCH;
  // The scrape clock starts half a produce in, so that scrapes land in the middle of a measured
  // produce: SCRAPE_EVERY_RECORDS is a multiple of METRICS_RECORDS, and a clock from 0 put every
  // scrape on a produce's last batch, answered after the measurement had ended.
  const offset = METRICS_RECORDS / RECORDS_PER_BATCH / 2;
  const pid = b.child.pid!;
  const mainBefore = mainThreadCpuSeconds(pid);
  const row = await withBrokerCpu(b.child, () =>
    produceLoad(b.port, topic, 4, METRICS_RECORDS, () => {
      if ((++b.batchesAnswered + offset) % batchesPerScrape === 0) scrape();
    }),
  );
  const mainAfter = mainThreadCpuSeconds(pid);
  measuring = false;
  await Promise.all(pending);
  await deleteBenchTopic(b.port, topic);
  return {
    row: { ...row, workload: `${row.workload}, metrics ${b.httpUrl !== null ? `on (scraped every ${SCRAPE_EVERY_RECORDS} records)` : 'off'}` },
    scrapes,
    mainCpuSeconds: mainBefore === null || mainAfter === null ? null : mainAfter - mainBefore,
  };
}

/** Broker CPU milliseconds per scrape of the idle, warm broker `b` (IDLE_SCRAPES, one at a time). */
async function scrapeCpuMs(b: MetricsBroker, scraper: Scraper): Promise<number> {
  const before = await brokerCpuSeconds(b.child);
  for (let i = 0; i < IDLE_SCRAPES; i++) await scraper.scrape(`${b.httpUrl}/metrics`);
  return (((await brokerCpuSeconds(b.child)) - before) * 1000) / IDLE_SCRAPES;
}

function medianOf(xs: readonly number[]): number {
  return quantileOf(xs, 0.5);
}

/** The q-quantile of xs, interpolated between the two nearest values. */
function quantileOf(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
}

/** Median of the non-null values, or null when there is none. */
function medianOrNull(xs: readonly (number | null)[]): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === 0 ? null : medianOf(known);
}

/**
 * BROKER_PAIRS pairs of broker processes, started fresh one pair at a time (one with metrics off,
 * one on), both warmed up, then PAIRS_PER_BROKER_PAIR pairs of produces alternating between them: a
 * pair's two produces run a second or two apart, so outside load changes them alike; each pair of
 * processes gives the median of its produces, and the row the median over the pairs of processes.
 */
async function metricsOverhead(): Promise<MetricsOverhead> {
  const scraper = startScraper();
  const pairs: MetricsPair[] = [];
  const brokerPairs: BrokerPairResult[] = [];
  let scrapes = 0;
  const scrapeCpu: number[] = [];
  try {
    for (let bp = 0; bp < BROKER_PAIRS; bp++) {
      // Which side starts and warms up first alternates too, so neither always gets a fresh machine.
      const order = bp % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      const brokers = {} as Record<'off' | 'on', MetricsBroker>;
      const warmUpCpu = {} as Record<'off' | 'on', number>;
      for (const side of order) brokers[side] = { ...(await startChildBroker(side === 'on' ? ['--metrics'] : [])), batchesAnswered: 0 };
      try {
        for (const side of order) {
          const b = brokers[side];
          // The metrics-on broker's scrape path is warmed up beside its produce path (see WARM_UP_SCRAPES).
          const warmUpScrapes: Promise<void>[] = [];
          const url = b.httpUrl;
          let answered = 0;
          const warmUp = await withBrokerCpu(b.child, async () => {
            let last: Row | undefined;
            for (let round = 0; round < WARM_UP_ROUNDS; round++) {
              const topic = `bench-warm-up-${round}`;
              await createBenchTopic(b.port, topic, 4);
              last = await produceLoad(
                b.port,
                topic,
                4,
                METRICS_RECORDS,
                url === null ? undefined : () => void (++answered % WARM_UP_BATCHES_PER_SCRAPE === 0 && warmUpScrapes.push(scraper.scrape(`${url}/metrics`))),
              );
              await deleteBenchTopic(b.port, topic);
            }
            await Promise.all(warmUpScrapes);
            return last!;
          });
          warmUpCpu[side] = warmUp.brokerCpuSeconds!;
        }
        const mine: MetricsPair[] = [];
        for (let i = 0; i < PAIRS_PER_BROKER_PAIR; i++) {
          const first = i % 2 === 0 ? 'off' : 'on';
          const runs: { off?: { row: Row; main: number | null }; on?: { row: Row; main: number | null } } = {};
          for (const side of first === 'off' ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
            const measured = await measuredProduce(brokers[side], `bench-${bp}-${i}`, scraper);
            runs[side] = { row: measured.row, main: measured.mainCpuSeconds };
            scrapes += measured.scrapes;
          }
          const off = runs.off!;
          const on = runs.on!;
          mine.push({
            brokers: bp,
            first,
            off: off.row,
            on: on.row,
            throughputChange: (on.row.recordsPerSec - off.row.recordsPerSec) / off.row.recordsPerSec,
            cpuChange: (on.row.brokerCpuSeconds! - off.row.brokerCpuSeconds!) / off.row.brokerCpuSeconds!,
            mainCpuChange: off.main === null || on.main === null ? null : (on.main - off.main) / off.main,
          });
        }
        pairs.push(...mine);
        brokerPairs.push({
          throughputChange: medianOf(mine.map((p) => p.throughputChange)),
          cpuChange: medianOf(mine.map((p) => p.cpuChange)),
          mainCpuChange: medianOrNull(mine.map((p) => p.mainCpuChange)),
          warmUpCpuChange: (warmUpCpu.on - warmUpCpu.off) / warmUpCpu.off,
        });
        scrapeCpu.push(await scrapeCpuMs(brokers.on, scraper));
        const last = brokerPairs.at(-1)!;
        console.error(
          `metrics overhead: brokers ${bp + 1}/${BROKER_PAIRS}: throughput ${(last.throughputChange * 100).toFixed(1)} %, broker CPU ${(last.cpuChange * 100).toFixed(1)} %` +
            (last.mainCpuChange === null ? '' : `, main thread ${(last.mainCpuChange * 100).toFixed(1)} %`),
        );
      } finally {
        for (const b of Object.values(brokers)) {
          b.child.kill('SIGTERM');
          await once(b.child, 'exit');
        }
      }
    }
  } finally {
    await scraper.close();
  }
  const throughput = brokerPairs.map((p) => p.throughputChange);
  const cpu = brokerPairs.map((p) => p.cpuChange);
  const main = brokerPairs.map((p) => p.mainCpuChange).filter((x): x is number => x !== null);
  const throughputChange = medianOf(throughput);
  // The rows shown: the pair of produces nearest the figure.
  const middle = [...pairs].sort((a, b) => Math.abs(a.throughputChange - throughputChange) - Math.abs(b.throughputChange - throughputChange))[0]!;
  return {
    pairs,
    brokerPairs,
    off: middle.off,
    on: middle.on,
    scrapes,
    scrapeEveryRecords: SCRAPE_EVERY_RECORDS,
    scrapeCpuMs: medianOf(scrapeCpu),
    throughputChange,
    throughputChangeRange: [Math.min(...throughput), Math.max(...throughput)],
    cpuChange: medianOf(cpu),
    cpuChangeRange: [Math.min(...cpu), Math.max(...cpu)],
    mainCpuChange: main.length === brokerPairs.length ? medianOf(main) : null,
    mainCpuChangeRange: main.length === brokerPairs.length ? [Math.min(...main), Math.max(...main)] : null,
    warmUpCpuChange: medianOf(brokerPairs.map((p) => p.warmUpCpuChange)),
    // A gain passes too.
    pass: -throughputChange <= METRICS_OVERHEAD_LIMIT,
  };
}

/** The row's scraper (bench/scraper-process.ts): one process for the whole row, asked per scrape. */
interface Scraper {
  scrape(url: string): Promise<void>;
  close(): Promise<void>;
}

function startScraper(): Scraper {
  const child = fork(path.join(here, 'scraper-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  child.on('message', (m: any) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(`scrape failed: ${m.error}`));
    else w?.resolve();
  });
  return {
    scrape: (url) =>
      new Promise<void>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.send({ id, url });
      }),
    close: async () => {
      child.disconnect();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

function printMetricsOverhead(m: MetricsOverhead): void {
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  const range = ([lo, hi]: [number, number]) => `${pct(lo)} … ${pct(hi)}`;
  for (const [i, p] of m.brokerPairs.entries()) {
    const mine = m.pairs.filter((x) => x.brokers === i);
    console.log(
      `metrics overhead, broker pair ${i + 1}: throughput ${pct(p.throughputChange)}, broker CPU ${pct(p.cpuChange)}` +
        (p.mainCpuChange === null ? '' : `, main thread CPU ${pct(p.mainCpuChange)}`) +
        ` (median of ${mine.length} off/on produces: ${mine.map((x) => pct(x.throughputChange)).join(', ')})`,
    );
  }
  console.log(
    `metrics overhead on produce (median over ${m.brokerPairs.length} fresh pairs of broker processes, each the median of ${m.pairs.length / m.brokerPairs.length} ` +
      `off/on produces of ${METRICS_RECORDS} records; ${m.scrapes} scrapes, one every ${m.scrapeEveryRecords} records): ` +
      `throughput ${pct(m.throughputChange)} (pairs of processes ${range(m.throughputChangeRange)}), ` +
      `broker CPU ${pct(m.cpuChange)} (${range(m.cpuChangeRange)})` +
      (m.mainCpuChange === null ? '' : `, main thread CPU ${pct(m.mainCpuChange)} (${range(m.mainCpuChangeRange!)})`) +
      `: ${m.pass ? 'PASS' : 'FAIL'} (issue 21 allows a ${METRICS_OVERHEAD_LIMIT * 100} % throughput loss)`,
  );
  console.log(
    `metrics scrape cost: ${m.scrapeCpuMs.toFixed(2)} ms of broker CPU per scrape of /metrics (idle warm broker, ${IDLE_SCRAPES} scrapes): ` +
      `${((m.scrapeCpuMs / 1000) * 100).toFixed(2)} % of one core at a 1 s scrape_interval, ${((m.scrapeCpuMs / 15_000) * 100).toFixed(3)} % at 15 s`,
  );
  console.log(
    `metrics warm-up (${WARM_UP_ROUNDS} × ${METRICS_RECORDS} records on fresh topics of each fresh broker, the on broker's first ${WARM_UP_SCRAPES} scrapes among them; not in the figure above): ` +
      `broker CPU ${pct(m.warmUpCpuChange)} (median over the pairs of processes): the one-time cost of a fresh process's first scrapes`,
  );
}

async function produceLoad(port: number, topic: string, partitions: number, total = TOTAL_RECORDS, onAnswered?: (batches: number) => void): Promise<Row> {
  const batch = await encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: Buffer.alloc(RECORD_BYTES, i) })) });
  const batchesTotal = total / RECORDS_PER_BATCH;
  const perConnection = Math.ceil(batchesTotal / CONNECTIONS);
  const seconds = await pipelinedProduce(port, { topic, partitions, batch, connections: CONNECTIONS, pipeline: PIPELINE, batchesPerConnection: perConnection, ...(onAnswered === undefined ? {} : { onAnswered }) });
  const records = perConnection * CONNECTIONS * RECORDS_PER_BATCH;
  return row('produce 1 KiB, acks=1, 4 conns', records, seconds);
}

async function consumeAll(port: number, topic: string, partitions: number): Promise<Row> {
  const [records, seconds] = await fetchEverything(port, topic, partitions);
  return row('fetch everything from offset 0', records, seconds);
}

interface StartupRow {
  what: string;
  ms: number;
}

/** Median of `runs` timings of `fn` (ms). */
async function median(runs: number, fn: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await fn());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Embedded start: `await startBroker({ port: 0 })` until it resolves (listening, storage open). */
async function embeddedStartMs(): Promise<number> {
  const t0 = performance.now();
  const b = await startBroker({ port: 0, logLevel: 'error' });
  const ms = performance.now() - t0;
  await b.close();
  return ms;
}

/** CLI start: spawn `rafka start --port 0` until a first produce is acknowledged (process start included). */
async function cliStartToFirstProduceMs(): Promise<number> {
  // A fresh data directory each time: the CLI's default engine keeps its data in ./data, which must
  // neither land in the repository nor carry the previous run's topic into this one.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rafka-bench-cli-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'rafka.js'), 'start', '--port', '0', '--log-level', 'error', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on [^\s]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`rafka exited with ${code}: ${out}`)));
    });
    const client = await RawClient.connect(port);
    const created = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 'first', numPartitions: 1, replicationFactor: 1 }],
    });
    if (created.topics[0]!.errorCode !== 0) throw new Error('create failed');
    const batch = await encodeBatch({ records: [{ value: Buffer.from('hello') }] });
    const res = await client.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'first', partitionData: [{ index: 0, records: batch }] }],
    });
    if (res.responses[0]!.partitionResponses[0]!.errorCode !== 0) throw new Error('produce failed');
    const ms = performance.now() - t0;
    client.close();
    return ms;
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function printRows(rows: readonly Row[]): void {
  console.log('| workload | records | seconds | records/s | MB/s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.workload} | ${r.records} | ${r.seconds.toFixed(2)} | ${Math.round(r.recordsPerSec)} | ${r.mbPerSec.toFixed(1)} |`);
  }
  for (const r of rows) {
    if (r.brokerCpuSeconds !== undefined) {
      const perBatchUs = (r.brokerCpuSeconds / (r.records / RECORDS_PER_BATCH)) * 1e6;
      console.log(`broker CPU, ${r.workload}: ${r.brokerCpuSeconds.toFixed(2)} s (${perBatchUs.toFixed(1)} µs per batch of ${RECORDS_PER_BATCH})`);
    }
  }
}

function row(workload: string, records: number, seconds: number): Row {
  return { workload, records, seconds, recordsPerSec: records / seconds, mbPerSec: (records * RECORD_BYTES) / seconds / 1e6 };
}

async function testkitMain(): Promise<void> {
  const testkit = await runTestkitBench({ repoRoot, quick, kafka: compare, log: (l) => console.error(l) });
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`Rafka test kit benchmark on ${machine} (load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(formatTestkitTable(testkit));
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}-testkit.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, loadAverage1m: os.loadavg()[0], quick, testkit }, null, 2) + '\n');
  console.log(`results written to ${path.relative(repoRoot, file)}`);
}

async function main(): Promise<void> {
  if (testkitOnly) return testkitMain();
  if (metricsOnly) {
    const m = await metricsOverhead();
    console.log(`Rafka metrics overhead (memory engine${quick ? ', quick' : ''}), 1-minute load average ${os.loadavg()[0]!.toFixed(1)}`);
    printRows([m.off, m.on]);
    printMetricsOverhead(m);
    return;
  }
  const { child, port } = await startChildBroker();
  const rows: Row[] = [];
  let fetchSessions: FetchSessionRow[];
  try {
    const topic = 'bench';
    const partitions = 4;
    await createBenchTopic(port, topic, partitions);
    rows.push(await withBrokerCpu(child, () => produceLoad(port, topic, partitions)));
    rows.push(await withBrokerCpu(child, () => consumeAll(port, topic, partitions)));
    fetchSessions = await runFetchSessionBench({ port, quick, brokerCpuSeconds: () => brokerCpuSeconds(child) });
  } finally {
    child.kill('SIGTERM');
  }
  const metrics = await metricsOverhead();
  rows.push(metrics.off, metrics.on);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  if (brokerOnly) {
    console.log(`Rafka broker benchmark (memory engine${quick ? ', quick' : ''}, broker only) on ${machine}`);
    printRows(rows);
    printMetricsOverhead(metrics);
    console.log('');
    console.log(formatFetchSessionTable(fetchSessions));
    return;
  }
  const runs = quick ? 3 : 7;
  const startup: StartupRow[] = [
    { what: 'embedded startBroker() (memory)', ms: await median(runs, embeddedStartMs) },
    { what: 'process start to first acknowledged produce (CLI, default storage)', ms: await median(runs, cliStartToFirstProduceMs) },
  ];
  console.log(`Rafka broker benchmark (memory engine${quick ? ', quick' : ''}) on ${machine}`);
  printRows(rows);
  printMetricsOverhead(metrics);
  console.log('');
  console.log(formatFetchSessionTable(fetchSessions));
  console.log('');
  console.log(`| start-up (median of ${runs}) | ms |`);
  console.log('|---|---:|');
  for (const r of startup) console.log(`| ${r.what} | ${r.ms.toFixed(1)} |`);
  // Storage engines on this machine's disk (bench/storage.ts).
  const storage = await runStorageBench({ quick, log: (l) => console.error(l) });
  console.log('');
  console.log(formatStorageTable(storage));
  // Producer-state recovery at start: snapshot, snapshot + tail, whole log (bench/producer-state.ts).
  const producerState = producerStateBench ? await runProducerStateBench({ quick, log: (l) => console.error(l) }) : undefined;
  if (producerState) {
    console.log('');
    console.log(formatProducerStateTable(producerState));
  }
  // Hooks: none vs a no-op hook vs a record-level hook, produce and fetch (bench/hooks.ts).
  const hooks = await runHooksBench({ quick, log: (l) => console.error(l) });
  console.log('');
  console.log(formatHooksTable(hooks));
  // Our client against kafkajs and @platformatic/kafka, same broker (bench/client.ts).
  const client = clientBench ? await runClientBench({ quick, log: (l) => console.error(l) }) : undefined;
  if (client) {
    console.log('');
    console.log(formatClientTable(client));
  }
  // A 20-test file on rafka/testing beside Kafka's start-up (bench/testkit.ts).
  const testkit = testkitBench ? await runTestkitBench({ repoRoot, quick, kafka: compare, log: (l) => console.error(l) }) : undefined;
  if (testkit) {
    console.log('');
    console.log(formatTestkitTable(testkit));
  }
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}`);
  // Side by side with Apache Kafka (bench/compare.ts), same client for every system.
  let comparison: ComparisonResult | undefined;
  if (compare) {
    console.log('');
    comparison = await runComparison({ quick, repoRoot, log: (l) => console.error(l) });
    console.log('');
    console.log(formatTable(comparison));
    if (comparison.systems.some((s) => s.runs.length > 0)) {
      const charts = writeChart(comparison, stem);
      console.log(`chart written to ${charts.map((f) => path.relative(repoRoot, f)).join(', ')}`);
    }
    if (comparison.errors.length > 0) {
      console.error(`${comparison.errors.length} workload(s) failed:\n${comparison.errors.join('\n')}`);
      process.exitCode = 1;
    }
  }
  const file = `${stem}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, quick, rows, metrics, fetchSessions, startup, storage, producerState, hooks, client, testkit, comparison }, null, 2) + '\n');
  console.log(`results written to ${path.relative(repoRoot, file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
