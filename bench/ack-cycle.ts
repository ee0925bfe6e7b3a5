/**
 * The produce acknowledgement cycle as the Java client sees it (issue 22): the same
 * ProducerPerformance workload against several systems, run by run interleaved, with the producer's
 * own metrics (`--print-metrics`) and the CPU each side used. It answers "does the same client
 * work harder against one broker than against another, and why": requests and bytes per request,
 * records per batch, how long batches waited in the client's queue, how often its selector woke
 * up and how much of its time it spent waiting there, whether it blocked on buffer memory.
 *
 *   node dist/bench/ack-cycle.js [--systems rafka-log,kafka] [--acks 1,all] [--runs 3]
 *                                [--records 200000] [--record-bytes 1024] [--no-warm-up]
 *
 * `base-rafka-<variant>` in --systems is the build in RAFKA_BENCH_BASELINE (an A/B of one change).
 * With `RAFKA_BENCH_NODE_FLAGS="--import=$PWD/dist/bench/produce-trace.js"` the Rafka brokers also
 * write where each Produce's time went (bench/produce-trace.ts).
 *
 * Prints one line per run and a table of medians; writes nothing. The machine's load average is
 * printed with each run: on a loaded machine only the interleaved pairs mean anything.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTopic, median as medianOfAll } from './compare.js';
import { parseProducerPerformance } from './kafka/perf-tools.js';
import { resolveKafka } from './kafka/maven.js';
import { kafkaSystem, rafkaSystem, type RafkaVariant, type RunningSystem, type SystemSpec } from './kafka/systems.js';
import { clockTicks, cpuSeconds, loadAverage, mainThreadCpuSeconds, reapedChildrenCpuSeconds } from './kafka/proc.js';

/** The producer metrics shown (producer-metrics group), in this order. */
const METRICS = [
  'request-total',
  'request-size-avg',
  'records-per-request-avg',
  'batch-size-avg',
  'record-queue-time-avg',
  'request-latency-avg',
  'select-total',
  'io-wait-ratio',
  'io-ratio',
  'network-io-total',
  'bufferpool-wait-time-ns-total',
  'incoming-byte-total',
] as const;
const THREAD_KINDS = ['main', 'sender', 'gc', 'jit', 'other'] as const;

interface RunResult {
  system: string;
  acks: string;
  recordsPerSec: number;
  avgLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
  clientCpuS: number;
  brokerCpuS: number;
  brokerMainCpuS: number | null;
  metrics: Record<string, number>;
  /** The client's CPU seconds by thread kind (main: ProducerPerformance's loop, sender: the producer's I/O thread, gc, jit, other). */
  threads: Record<string, number>;
  load: number | null;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

/** What a JVM thread is, by its name (/proc/<pid>/task/<tid>/comm, cut to 15 characters). */
function threadKind(comm: string): string {
  if (comm === 'java') return 'main';
  if (comm.startsWith('kafka-producer')) return 'sender';
  if (/^(GC Thread|G1 )/.test(comm)) return 'gc';
  if (/^C[12] Compiler/.test(comm)) return 'jit';
  return 'other';
}

/**
 * Run a Java tool; with `threads`, its CPU seconds per kind of thread are added to it, sampled
 * every 50 ms while it runs (the last sample before it exits: up to 50 ms of each thread are missed).
 */
function java(classpath: string, args: string[], threads?: Record<string, number>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('java', ['-Xmx512M', ...args], { timeout: 300_000, maxBuffer: 64 << 20, env: { ...process.env, CLASSPATH: classpath } }, (err, stdout, stderr) => {
      clearInterval(timer);
      if (threads) for (const [, t] of seen) threads[t.kind] = (threads[t.kind] ?? 0) + t.cpu;
      if (err) reject(new Error(`${args[0]}: ${err.message}\n${stderr.split('\n').slice(-8).join('\n')}`));
      else resolve(stdout);
    });
    const seen = new Map<string, { kind: string; cpu: number }>();
    const ticks = clockTicks();
    const timer = setInterval(() => {
      if (!threads || child.pid === undefined) return;
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${child.pid}/task`);
      } catch {
        return;
      }
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const cpu = (Number(fields[11]) + Number(fields[12])) / ticks;
          const comm = readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
          seen.set(tid, { kind: threadKind(comm), cpu });
        } catch {
          // the thread ended
        }
      }
    }, 50);
  });
}

function producerArgs(bootstrap: string, topic: string, records: number, recordBytes: number, acks: string, compression: string, metrics: boolean): string[] {
  return [
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic', topic,
    '--num-records', String(records),
    '--record-size', String(recordBytes),
    '--throughput', '-1',
    ...(metrics ? ['--print-metrics'] : []),
    '--producer-props', `bootstrap.servers=${bootstrap}`, `acks=${acks}`, `compression.type=${compression}`,
  ];
}

/** `producer-metrics:NAME:{client-id=…} : 123.000` lines of --print-metrics. */
function parseMetrics(out: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const m of out.matchAll(/^producer-metrics:([\w-]+):\{[^}]*\}\s*:\s*([-\d.,E]+|NaN)\s*$/gm)) found[m[1]!] = Number(m[2]!.replace(/,/g, ''));
  return found;
}

async function runOnce(classpath: string, spec: SystemSpec, acks: string, records: number, recordBytes: number, warm: boolean, run: number): Promise<RunResult> {
  const sys: RunningSystem = await spec.start();
  try {
    if (warm) {
      await createTopic(sys.port, 'ack-warm-up', 1);
      await java(classpath, producerArgs(sys.bootstrap, 'ack-warm-up', 300_000, 100, '1', 'none', false));
      await java(classpath, producerArgs(sys.bootstrap, 'ack-warm-up', 50_000, 1024, '1', 'lz4', false));
    }
    const topic = `ack-cycle-${run}`;
    await createTopic(sys.port, topic, 1);
    const load = loadAverage();
    const client0 = reapedChildrenCpuSeconds() ?? NaN;
    const broker0 = cpuSeconds(sys.pid) ?? NaN;
    const main0 = mainThreadCpuSeconds(sys.pid);
    const threads: Record<string, number> = {};
    const out = await java(classpath, producerArgs(sys.bootstrap, topic, records, recordBytes, acks, 'none', true), threads);
    const brokerCpuS = (cpuSeconds(sys.pid) ?? NaN) - broker0;
    const main1 = mainThreadCpuSeconds(sys.pid);
    const clientCpuS = (reapedChildrenCpuSeconds() ?? NaN) - client0;
    const summary = parseProducerPerformance(out);
    return {
      system: spec.name,
      acks,
      recordsPerSec: summary.recordsPerSec,
      avgLatencyMs: summary.avgLatencyMs,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      clientCpuS,
      brokerCpuS,
      brokerMainCpuS: main0 === null || main1 === null ? null : main1 - main0,
      metrics: parseMetrics(out),
      threads,
      load,
    };
  } finally {
    await sys.stop();
  }
}

/** The median of the finite values (a run without a figure gives NaN and is left out). */
function median(xs: number[]): number {
  return medianOfAll(xs.filter((x) => Number.isFinite(x)));
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(Math.abs(x) >= 10 ? 1 : 3);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const systems = arg('systems', 'rafka-log,kafka').split(',');
  const acksList = arg('acks', '1,all').split(',');
  const runs = Number(arg('runs', '3'));
  const records = Number(arg('records', '200000'));
  const recordBytes = Number(arg('record-bytes', '1024'));
  const warm = !process.argv.includes('--no-warm-up');
  const runtime = await resolveKafka();
  if (!runtime.available) throw new Error(`no Kafka tools: ${runtime.reason}`);
  const specs = systems.map((name): SystemSpec => {
    if (name === 'kafka') return kafkaSystem(runtime, { fsyncEveryAppend: false });
    if (name.startsWith('base-rafka-')) {
      const dir = process.env.RAFKA_BENCH_BASELINE;
      if (!dir) throw new Error(`${name} needs RAFKA_BENCH_BASELINE`);
      return rafkaSystem(path.resolve(dir), name.slice('base-rafka-'.length) as RafkaVariant, 'base-');
    }
    return rafkaSystem(repoRoot, name.slice('rafka-'.length) as RafkaVariant);
  });
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const acks of acksList) {
      for (const spec of specs) {
        const r = await runOnce(runtime.classpath, spec, acks, records, recordBytes, warm, run);
        results.push(r);
        const mb = (records * recordBytes) / 1e9;
        console.error(
          `run ${run} acks=${acks} ${r.system}: ${fmt(r.recordsPerSec)} rec/s, latency avg ${fmt(r.avgLatencyMs)} p50 ${r.p50Ms} p99 ${r.p99Ms} ms, ` +
            `client CPU ${r.clientCpuS.toFixed(2)} s (${(r.clientCpuS / mb).toFixed(1)} s/GB), broker ${r.brokerCpuS.toFixed(2)} s (main thread ${r.brokerMainCpuS?.toFixed(2) ?? '—'}), client threads ${THREAD_KINDS.map((k) => `${k} ${(r.threads[k] ?? 0).toFixed(2)}`).join(' ')}, load ${r.load ?? '—'}; ` +
            METRICS.map((k) => `${k} ${fmt(r.metrics[k] ?? NaN)}`).join(', '),
        );
      }
    }
  }
  const mb = (records * recordBytes) / 1e9;
  const cols = ['records/s', 'latency avg ms', 'client CPU s/GB', ...THREAD_KINDS.map((k) => `client ${k} s`), 'broker CPU s/GB', 'broker main thread s', ...METRICS];
  console.log(`| acks | system | ${cols.join(' | ')} |`);
  console.log(`|---|---|${cols.map(() => '---:').join('|')}|`);
  for (const acks of acksList) {
    for (const spec of specs) {
      const rs = results.filter((r) => r.acks === acks && r.system === spec.name);
      const cells = [
        median(rs.map((r) => r.recordsPerSec)),
        median(rs.map((r) => r.avgLatencyMs)),
        median(rs.map((r) => r.clientCpuS / mb)),
        ...THREAD_KINDS.map((k) => median(rs.map((r) => r.threads[k] ?? 0))),
        median(rs.map((r) => r.brokerCpuS / mb)),
        median(rs.map((r) => r.brokerMainCpuS ?? NaN)),
        ...METRICS.map((k) => median(rs.map((r) => r.metrics[k] ?? NaN))),
      ];
      console.log(`| ${acks} | ${spec.name} | ${cells.map(fmt).join(' | ')} |`);
    }
  }
}
