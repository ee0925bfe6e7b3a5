/**
 * Apache Kafka's own load generators from `org.apache.kafka:kafka-tools`, run with `java -cp` against
 * any broker — Rafka or Kafka — so the client is identical for every system:
 *
 * - ProducerPerformance: N records of S random bytes, reports records/s and send→ack latency
 *   percentiles (whole milliseconds, as the tool prints them);
 * - ConsumerPerformance: consumes N records with a consumer group (subscribe), reports the fetch
 *   rate (records/s, excluding the group join) and the whole rate;
 * - EndToEndLatency: produces one record, waits until its consumer (assigned, no group) sees it,
 *   repeats; reports round-trip percentiles in whole milliseconds;
 * - FixedRateLatency (ours, bench/kafka/FixedRateLatency.java, compiled here against the cached
 *   kafka-clients): end-to-end latency at a fixed rate, in microseconds.
 *
 * Each tool runs in its own JVM with the heap Kafka's scripts give it (-Xmx512M). Parsing is strict:
 * output that does not match throws with the tool's last lines, so a changed tool cannot silently
 * produce zeros.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProducerResult {
  records: number;
  recordsPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface ConsumerResult {
  records: number;
  /** Records/s over the fetch time only (ConsumerPerformance's fetch.nMsg.sec). */
  fetchRecordsPerSec: number;
  /** Records/s including the time to join the group (nMsg.sec). */
  recordsPerSec: number;
  rebalanceMs: number;
}

export interface LatencyResult {
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

const TOOL_HEAP = '-Xmx512M';
const BENCH_JAVA = 'FixedRateLatency';

interface JavaRun {
  stdout: string;
  /** Set when the tool exited non-zero or timed out. */
  error: Error | null;
}

/** Run a tool's main class; the class path goes in CLASSPATH so error messages stay readable. */
function runJava(classpath: string, mainClass: string, args: string[], timeoutMs: number): Promise<JavaRun> {
  return new Promise((resolve) => {
    execFile('java', [TOOL_HEAP, mainClass, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, CLASSPATH: classpath } }, (err, stdout, stderr) => {
      if (err) {
        const lines = `${stdout}\n${stderr}`.trim().split('\n').slice(-8).join('\n');
        const why = err.killed ? `timed out after ${timeoutMs} ms` : `exit code ${err.code}`;
        resolve({ stdout, error: new Error(`${mainClass.split('.').pop()} ${args.join(' ')}: ${why}:\n${lines}`) });
      } else resolve({ stdout, error: null });
    });
  });
}

async function runOk(classpath: string, mainClass: string, args: string[], timeoutMs: number): Promise<string> {
  const r = await runJava(classpath, mainClass, args, timeoutMs);
  if (r.error) throw r.error;
  return r.stdout;
}

function fail(tool: string, out: string): never {
  throw new Error(`${tool}: unexpected output:\n${out.trim().split('\n').slice(-5).join('\n')}`);
}

export interface ProduceOptions {
  bootstrap: string;
  topic: string;
  records: number;
  recordBytes: number;
  acks: '1' | 'all';
  compression: 'none' | 'lz4';
  /** Records/s, or -1 for as fast as possible. */
  throughput?: number;
  /** Extra producer properties (e.g. linger.ms=0 for the latency run). */
  props?: Record<string, string>;
  /**
   * Transactional produce: the tool's `--transactional-id`, committing a transaction every
   * `durationMs` (`--transaction-duration-ms`; it commits when a send finds the transaction that old,
   * and once more at the end).
   */
  transaction?: { id: string; durationMs: number };
  timeoutMs?: number;
}

export async function producerPerformance(classpath: string, o: ProduceOptions): Promise<ProducerResult> {
  const props = { 'bootstrap.servers': o.bootstrap, acks: o.acks, 'compression.type': o.compression, ...o.props };
  const out = await runOk(
    classpath,
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic', o.topic,
      '--num-records', String(o.records),
      '--record-size', String(o.recordBytes),
      '--throughput', String(o.throughput ?? -1),
      ...(o.transaction ? ['--transactional-id', o.transaction.id, '--transaction-duration-ms', String(o.transaction.durationMs)] : []),
      '--producer-props', ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
    ],
    o.timeoutMs ?? 300_000,
  );
  return parseProducerPerformance(out);
}

/** ProducerPerformance's summary line, wherever it stands in the output (--print-metrics adds lines after it). */
export function parseProducerPerformance(out: string): ProducerResult {
  // "1000000 records sent, 255754.4 records/sec (24.39 MB/sec), 1013.53 ms avg latency, 1464.00 ms max latency,
  //  1069 ms 50th, 1373 ms 95th, 1436 ms 99th, 1457 ms 99.9th."
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/.exec(
      out,
    );
  if (!m) fail('ProducerPerformance', out);
  return {
    records: Number(m[1]),
    recordsPerSec: Number(m[2]),
    avgLatencyMs: Number(m[3]),
    maxLatencyMs: Number(m[4]),
    p50Ms: Number(m[5]),
    p95Ms: Number(m[6]),
    p99Ms: Number(m[7]),
    p999Ms: Number(m[8]),
  };
}

export async function consumerPerformance(
  classpath: string,
  o: {
    bootstrap: string;
    topic: string;
    records: number;
    group: string;
    /** Extra consumer properties (e.g. isolation.level), passed in a `--consumer.config` file. */
    props?: Record<string, string>;
    timeoutMs?: number;
  },
): Promise<ConsumerResult> {
  let configDir: string | undefined;
  const args = ['--bootstrap-server', o.bootstrap, '--topic', o.topic, '--messages', String(o.records), '--group', o.group, '--timeout', '30000', '--hide-header'];
  if (o.props && Object.keys(o.props).length > 0) {
    configDir = mkdtempSync(path.join(os.tmpdir(), 'rafka-bench-consumer-'));
    const file = path.join(configDir, 'consumer.properties');
    writeFileSync(file, Object.entries(o.props).map(([k, v]) => `${k}=${v}\n`).join(''));
    args.push('--consumer.config', file);
  }
  let out: string;
  try {
    out = await runOk(classpath, 'org.apache.kafka.tools.ConsumerPerformance', args, o.timeoutMs ?? 300_000);
  } finally {
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  }
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
  // fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const line = out.trim().split('\n').reverse().find((l) => l.split(',').length >= 10);
  if (!line) fail('ConsumerPerformance', out);
  const f = line.split(',').map((s) => s.trim());
  const records = Number(f[4]);
  if (!(records >= o.records)) throw new Error(`ConsumerPerformance consumed ${records} of ${o.records} records:\n${out.trim()}`);
  return { records, recordsPerSec: Number(f[5]), rebalanceMs: Number(f[6]), fetchRecordsPerSec: Number(f[9]) };
}

export async function endToEndLatency(
  classpath: string,
  o: { bootstrap: string; topic: string; records: number; recordBytes: number; acks: '1' | 'all'; timeoutMs?: number },
): Promise<LatencyResult> {
  const run = await runJava(
    classpath,
    'org.apache.kafka.tools.EndToEndLatency',
    [o.bootstrap, o.topic, String(o.records), o.acks, String(o.recordBytes)],
    o.timeoutMs ?? 300_000,
  );
  const out = run.stdout;
  const avg = /Avg latency: ([\d.]+) ms/.exec(out);
  const p = /Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(out);
  if (!avg || !p) {
    if (run.error) throw run.error;
    fail('EndToEndLatency', out);
  }
  // The tool prints its figures, then closes its consumer; a broker without consumer groups fails
  // that last step (FindCoordinator) after the measurement is complete, so the figures stand.
  return { avgMs: Number(avg[1]), p50Ms: Number(p[1]), p99Ms: Number(p[2]), p999Ms: Number(p[3]) };
}

/**
 * Compile one Java source file of ours (`source`, whose public class is its file name) against the
 * cached Kafka class path, once per source version, into a folder under `cacheDir`; returns the
 * class path to run it with.
 */
export function compiledJavaClasspath(source: string, classpath: string, cacheDir: string): string {
  const mainClass = path.basename(source, '.java');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const dir = path.join(cacheDir, `classes-${mainClass}-${hash}`);
  if (!existsSync(path.join(dir, `${mainClass}.class`))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('javac', ['-nowarn', '-d', dir, source], { env: { ...process.env, CLASSPATH: classpath }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  }
  return `${dir}${path.delimiter}${classpath}`;
}

/** bench/kafka/FixedRateLatency.java (our own, ~100 lines) compiled against the cached kafka-clients. */
function fixedRateClasspath(classpath: string, cacheDir: string, repoRoot: string): string {
  return compiledJavaClasspath(path.join(repoRoot, 'bench', 'kafka', `${BENCH_JAVA}.java`), classpath, cacheDir);
}

/** End-to-end latency at a fixed rate (our FixedRateLatency with the stock Java client), microseconds. */
export async function fixedRateLatency(
  runtime: { classpath: string; cacheDir: string },
  repoRoot: string,
  o: { bootstrap: string; topic: string; recordsPerSec: number; seconds: number; recordBytes: number; acks: '1' | 'all' },
): Promise<LatencyResult & { records: number; achievedPerSec: number; maxMs: number }> {
  const cp = fixedRateClasspath(runtime.classpath, runtime.cacheDir, repoRoot);
  const out = await runOk(cp, BENCH_JAVA, [o.bootstrap, o.topic, String(o.recordsPerSec), String(o.seconds), String(o.recordBytes), o.acks], (o.seconds + 120) * 1000);
  const m = /records=(\d+) p50_us=(\d+) p99_us=(\d+) p999_us=(\d+) max_us=(\d+) rate=(\d+)/.exec(out);
  if (!m) fail(BENCH_JAVA, out);
  return {
    records: Number(m[1]),
    p50Ms: Number(m[2]) / 1000,
    p99Ms: Number(m[3]) / 1000,
    p999Ms: Number(m[4]) / 1000,
    maxMs: Number(m[5]) / 1000,
    avgMs: NaN,
    achievedPerSec: Number(m[6]),
  };
}
