/**
 * Rafka side by side with Apache Kafka (issue 7): every system is started as its own process, loaded
 * by the same client — Kafka's own ProducerPerformance / ConsumerPerformance / EndToEndLatency from
 * `kafka-tools`, plus bench/kafka/FixedRateLatency.java (the stock Java client at a fixed rate) —
 * and measured from outside by pid. See bench/README.md for how to read the table, and bench/kafka/
 * for the parts.
 *
 * Runs are interleaved (run 1 of every system, then run 2 of every system, …) so that a burst of
 * load from elsewhere on the machine spreads over all systems instead of hitting one; each system is
 * started afresh for every run, so start-up and idle memory are medians too.
 *
 * `runComparison({ quick: true })` is the CI smoke mode: one run, one small produce, a consume and a
 * short end-to-end latency run per system. Without Java, Maven or Maven Central the Kafka systems are
 * reported as unavailable and the Rafka ones still run.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKey } from '../src/protocol/messages/index.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../src/protocol/messages/api-versions.js';
import { DeleteTopicsRequest, DeleteTopicsResponse } from '../src/protocol/messages/delete-topics.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';
import { RawClient } from '../test/helpers/raw-client.js';
import { resolveKafka, type KafkaRuntime } from './kafka/maven.js';
import { rafkaPostgresSystem } from './kafka/postgres-systems.js';
import { kafkaSystem, rafkaSystem, SystemUnavailable, type RunningSystem, type SystemSpec, type RafkaVariant } from './kafka/systems.js';
import { consumerPerformance, endToEndLatency, fixedRateLatency, producerPerformance, type ProducerResult } from './kafka/perf-tools.js';
import { cpuSeconds, loadAverage, mainThreadCpuSeconds, peakRssBytes, reapedChildrenCpuSeconds } from './kafka/proc.js';
import { describeSyncSpeed, diskSyncSpeeds, type SyncSpeed } from './disk.js';
import { makePki } from '../test/helpers/certs.js';

// Workloads ---------------------------------------------------------------------------------------

interface ProduceWorkload {
  kind: 'produce';
  id: string;
  label: string;
  records: number;
  recordBytes: number;
  acks: '1' | 'all';
  compression: 'none' | 'lz4';
  partitions: number;
  producers: number;
  /** Transactional: ProducerPerformance commits a transaction every this many ms (issue 16). */
  transactionMs?: number;
  /** Over the system's SSL listener (security.protocol=SSL), the CA made at run time trusted. */
  tls?: boolean;
}
interface ConsumeWorkload {
  kind: 'consume';
  id: string;
  label: string;
  /** The produce workload whose topic is read back, from the beginning. */
  from: string;
  /** The consumer's isolation.level; unset: the client's default (read_uncommitted). */
  isolation?: 'read_committed' | 'read_uncommitted';
  /**
   * Read the topic this many times (each a fresh ConsumerPerformance and group) and keep the median:
   * a 1M-record read lasts about a second, so one JVM's warm-up would decide the figure.
   */
  passes?: number;
  /** Over the system's SSL listener, as ProduceWorkload.tls. */
  tls?: boolean;
}
interface RateWorkload {
  kind: 'rate';
  id: string;
  label: string;
  recordsPerSec: number;
  seconds: number;
  recordBytes: number;
}
interface FixedRateE2EWorkload {
  kind: 'e2e-rate';
  id: string;
  label: string;
  recordsPerSec: number;
  seconds: number;
  recordBytes: number;
}
interface RoundTripWorkload {
  kind: 'e2e';
  id: string;
  label: string;
  records: number;
  recordBytes: number;
}
export type Workload = ProduceWorkload | ConsumeWorkload | RateWorkload | FixedRateE2EWorkload | RoundTripWorkload;

function produce(records: number, recordBytes: number, acks: '1' | 'all', compression: 'none' | 'lz4', partitions: number, producers: number): ProduceWorkload {
  const size = recordBytes >= 1024 ? `${recordBytes / 1024} KiB` : `${recordBytes} B`;
  const count = records >= 1e6 ? `${records / 1e6}M` : `${records / 1e3}k`;
  const id = `p-${count}x${recordBytes}-a${acks}-${compression}-${partitions}p-${producers}w`;
  const label = `produce ${count} × ${size}, acks=${acks}, ${compression === 'none' ? 'no compression' : compression}, ${partitions} part., ${producers} producer${producers > 1 ? 's' : ''}`;
  return { kind: 'produce', id, label, records, recordBytes, acks, compression, partitions, producers };
}

/** Issue 16: one transactional producer and the topic read back at both isolation levels. */
const TRANSACTION_MS = 100;
function transactional(records: number, recordBytes: number): Workload[] {
  // A transactional producer is idempotent, which needs acks=all.
  const base = produce(records, recordBytes, 'all', 'none', 1, 1);
  const p: ProduceWorkload = { ...base, id: `${base.id}-txn${TRANSACTION_MS}`, label: `${base.label}, transactional (commit every ${TRANSACTION_MS} ms)`, transactionMs: TRANSACTION_MS };
  const count = records >= 1e6 ? `${records / 1e6}M` : `${records / 1e3}k`;
  const consume = (isolation: 'read_committed' | 'read_uncommitted'): ConsumeWorkload => ({
    kind: 'consume',
    id: `c-txn-${count}x${recordBytes}-${isolation === 'read_committed' ? 'rc' : 'ru'}`,
    label: `consume the transactional ${count} × ${recordBytes} B topic, ${isolation}`,
    from: p.id,
    isolation,
    passes: 3,
  });
  return [p, consume('read_uncommitted'), consume('read_committed')];
}

/** Produce and consume over TLS (issue 18): the same client with security.protocol=SSL. */
function overTls(count: number, recordBytes: number): Workload[] {
  const p: ProduceWorkload = { ...produce(count, recordBytes, '1', 'none', 1, 1), tls: true };
  p.id = `${p.id}-tls`;
  p.label = `${p.label}, over TLS`;
  const size = recordBytes >= 1024 ? `${recordBytes / 1024} KiB` : `${recordBytes} B`;
  return [p, { kind: 'consume', id: `c-${count / 1000}kx${recordBytes}-tls`, label: `consume everything: ${count / 1000}k × ${size}, over TLS`, from: p.id, tls: true }];
}

export function workloads(quick: boolean): Workload[] {
  if (quick) {
    const p = produce(20_000, 100, '1', 'none', 1, 1);
    return [
      p,
      { kind: 'consume', id: 'c-quick', label: 'consume the 20k × 100 B topic', from: p.id },
      { kind: 'e2e-rate', id: 'e2e-rate-quick', label: 'end-to-end latency at 1,000 records/s, 100 B, acks=1 (2 s)', recordsPerSec: 1000, seconds: 2, recordBytes: 100 },
      { kind: 'e2e', id: 'e2e-quick', label: 'end-to-end round trip, 100 B, acks=1 (300 records)', records: 300, recordBytes: 100 },
      ...transactional(20_000, 100),
    ];
  }
  const small = produce(1_000_000, 100, '1', 'none', 1, 1);
  const large = produce(200_000, 1024, '1', 'none', 1, 1);
  return [
    small,
    produce(1_000_000, 100, 'all', 'none', 1, 1),
    produce(1_000_000, 100, '1', 'lz4', 1, 1),
    produce(1_000_000, 100, '1', 'none', 8, 1),
    produce(1_000_000, 100, '1', 'none', 8, 4),
    large,
    produce(200_000, 1024, 'all', 'none', 1, 1),
    produce(200_000, 1024, '1', 'lz4', 1, 1),
    produce(200_000, 1024, '1', 'none', 8, 4),
    { kind: 'consume', id: 'c-1Mx100', label: 'consume everything: 1M × 100 B', from: small.id },
    { kind: 'consume', id: 'c-200kx1024', label: 'consume everything: 200k × 1 KiB', from: large.id },
    ...overTls(200_000, 1024),
    ...transactional(1_000_000, 100),
    { kind: 'rate', id: 'rate-20k', label: 'produce latency at 20,000 records/s, 100 B, acks=1, linger.ms=0 (10 s)', recordsPerSec: 20_000, seconds: 10, recordBytes: 100 },
    { kind: 'e2e-rate', id: 'e2e-rate-20k', label: 'end-to-end latency at 20,000 records/s, 100 B, acks=1 (15 s)', recordsPerSec: 20_000, seconds: 15, recordBytes: 100 },
    { kind: 'e2e', id: 'e2e', label: 'end-to-end round trip, 100 B, acks=1 (5,000 records)', records: 5_000, recordBytes: 100 },
  ];
}

// Results -----------------------------------------------------------------------------------------

/** One workload on one system in one run. */
export interface Sample {
  recordsPerSec?: number;
  mbPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  /** Broker CPU seconds spent during the workload. */
  cpuSeconds?: number;
  /** What the store behind the brokers did during the workload (the postgres systems' PostgreSQL). */
  store?: { seconds: number; records: number; writeTransactions: number; walBytes: number; cpuSeconds: number | null };
  /** CPU seconds of the client processes (the JVMs) the workload ran, all together. */
  clientCpuSeconds?: number;
  /** CPU seconds of the broker's main thread (Rafka: the event loop) during the workload. */
  mainThreadCpuSeconds?: number;
  /** Why there is no figure (e.g. the build has no consumer groups). */
  skipped?: string;
  error?: string;
}

export interface SystemRun {
  startToFirstProduceMs: number;
  prepareMs: number;
  idleRssBytes: number | null;
  peakRssBytes: number | null;
  cpuSeconds: number | null;
  loadBefore: number | null;
  workloads: Record<string, Sample>;
}

export interface SystemResult {
  name: string;
  description: string;
  unavailable?: string;
  runs: SystemRun[];
  /** Field-wise medians over the runs. */
  median?: Omit<SystemRun, 'loadBefore'> & { workloads: Record<string, Sample> };
}

export interface ComparisonResult {
  date: string;
  quick: boolean;
  machine: string;
  kafka: { version: string; java: string } | { unavailable: string };
  runs: number;
  /** 1-minute load average sampled before every system run: min, median, max. */
  loadAverage: { min: number; median: number; max: number } | null;
  workloads: Workload[];
  systems: SystemResult[];
  /**
   * The disk under the brokers' data (bench/disk.ts), measured before every round of runs: medians of
   * sequential writes with an fdatasync per 16 KiB and per 1 MiB, growing and preallocated files.
   */
  disk?: SyncSpeed[];
  errors: string[];
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

function medianOf<T>(items: T[], pick: (t: T) => number | null | undefined): number | undefined {
  const v = items.map(pick).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : undefined;
}

function summarize(runs: SystemRun[], ws: Workload[]): SystemResult['median'] {
  if (runs.length === 0) return undefined;
  const workloads: Record<string, Sample> = {};
  for (const w of ws) {
    const samples = runs.map((r) => r.workloads[w.id]).filter((s): s is Sample => s !== undefined);
    const ok = samples.filter((s) => !s.error && !s.skipped);
    if (ok.length === 0) {
      const first = samples[0];
      workloads[w.id] = first?.error ? { error: first.error } : { skipped: first?.skipped ?? 'not run' };
      continue;
    }
    const m: Sample = {};
    for (const k of ['recordsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'p999Ms', 'cpuSeconds', 'clientCpuSeconds'] as const) {
      const v = medianOf(ok, (s) => s[k]);
      if (v !== undefined) m[k] = v;
    }
    workloads[w.id] = m;
  }
  return {
    startToFirstProduceMs: medianOf(runs, (r) => r.startToFirstProduceMs)!,
    prepareMs: medianOf(runs, (r) => r.prepareMs)!,
    idleRssBytes: medianOf(runs, (r) => r.idleRssBytes) ?? null,
    peakRssBytes: medianOf(runs, (r) => r.peakRssBytes) ?? null,
    cpuSeconds: medianOf(runs, (r) => r.cpuSeconds) ?? null,
    workloads,
  };
}

// Running -----------------------------------------------------------------------------------------

export async function createTopic(port: number, name: string, partitions: number): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    const res = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1 }],
      timeoutMs: 30_000,
    });
    const t = res.topics[0]!;
    if (t.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
    // Brokers sharing PostgreSQL: a partition assigned to another broker than the one that created
    // the topic has its leader from that broker's next look (broker.heartbeat.interval.ms). Wait for
    // every leader, so no workload times the clients' retries through that second (docs/cluster.md).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const md = await client.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, {
        topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
      });
      const parts = md.topics[0]?.partitions ?? [];
      if (parts.length === partitions && parts.every((p) => p.errorCode === 0 && p.leaderId >= 0)) break;
      if (Date.now() > deadline) throw new Error(`CreateTopics ${name}: partitions without a leader after 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.close();
  }
}

/**
 * Drop a topic once no later workload reads it, so each workload starts with the broker holding only
 * the data of workloads still to be consumed (the memory engine keeps every byte in RAM; Kafka keeps
 * it in the page cache, outside its RSS). Failures are ignored: deletion is housekeeping.
 */
async function deleteTopic(port: number, name: string): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    await client.request(ApiKey.DeleteTopics, 4, DeleteTopicsRequest, DeleteTopicsResponse, { topicNames: [name], timeoutMs: 30_000 });
  } catch {
    // ignored
  } finally {
    client.close();
  }
}

/**
 * Rounds of the warm-up, each on a fresh topic (created, produced to, deleted, as the measured
 * workloads' topics are). One round (350,000 records) is short of what either compiler needs: on
 * Node 24 Rafka's produce path was still moving from Maglev to TurboFan code a million records in,
 * and Kafka's first measured row (100 B records on one partition) ran at 201,000 and 239,000
 * records/s after one round, at about 311,000 in three of five runs after four (202,000 and 213,000
 * in the other two), on the same machine within the hour (bench/README.md, "Session 15: warm-ups too
 * short for both compilers"). A longer warm-up errs on the side of not flattering Rafka.
 */
const WARM_UP_ROUNDS = 4;

/**
 * Not measured: brings every system to steady state first (the JVM's JIT and Node's optimizing
 * compiler both need traffic before they are at full speed; a benchmark of a cold JVM would flatter
 * Rafka). Only in full mode.
 */
async function warmUp(classpath: string, sys: RunningSystem): Promise<void> {
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    const topic = `bench-warm-up-${round}`;
    await createTopic(sys.port, topic, 1);
    await producerPerformance(classpath, { bootstrap: sys.bootstrap, topic, records: 300_000, recordBytes: 100, acks: '1', compression: 'none' });
    await producerPerformance(classpath, { bootstrap: sys.bootstrap, topic, records: 50_000, recordBytes: 1024, acks: '1', compression: 'lz4' });
    await deleteTopic(sys.port, topic);
  }
}

/** Whether the broker advertises what a subscribing consumer needs (ConsumerPerformance uses a group). */
async function hasConsumerGroups(port: number): Promise<boolean> {
  const client = await RawClient.connect(port);
  try {
    const res = await client.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, {
      clientSoftwareName: 'rafka-bench',
      clientSoftwareVersion: '1',
    });
    const keys = new Set(res.apiKeys.map((k) => k.apiKey));
    return [ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.OffsetFetch].every((k) => keys.has(k));
  } finally {
    client.close();
  }
}

function mb(recordsPerSec: number, recordBytes: number): number {
  return (recordsPerSec * recordBytes) / 1e6;
}

/** What the Java load generators need: Kafka's class path, its cache dir (for compiled helpers), the repo. */
interface Tools {
  classpath: string;
  cacheDir: string;
  repoRoot: string;
  /** The CA the TLS workloads' clients trust (made at run time); absent when none is selected. */
  tlsCaFile?: string;
}

/**
 * Where a workload's client connects, and the client properties its listener needs; null for a TLS
 * workload on a system started without an SSL listener (the PostgreSQL-backed ones have none).
 */
function endpoint(tools: Tools, sys: RunningSystem, tls: boolean | undefined): { bootstrap: string; props: Record<string, string> } | null {
  if (!tls) return { bootstrap: sys.bootstrap, props: {} };
  if (sys.tlsBootstrap === undefined || tools.tlsCaFile === undefined) return null;
  return {
    bootstrap: sys.tlsBootstrap,
    // The server certificate names 127.0.0.1, so Kafka's default hostname verification stays on.
    props: { 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': tools.tlsCaFile },
  };
}

async function runWorkload(
  tools: Tools,
  sys: RunningSystem,
  w: Workload,
  run: number,
  produced: Map<string, { topic: string; records: number; recordBytes: number }>,
  groups: boolean,
): Promise<Sample> {
  const classpath = tools.classpath;
  const topicOf = (id: string) => `${id}-r${run}`.replace(/[^a-zA-Z0-9._-]/g, '_');
  switch (w.kind) {
    case 'produce': {
      const at = endpoint(tools, sys, w.tls);
      if (at === null) return { skipped: `${sys.name} has no SSL listener in the bench` };
      const topic = topicOf(w.id);
      await createTopic(sys.port, topic, w.partitions);
      const per = Math.floor(w.records / w.producers);
      const results: ProducerResult[] = await Promise.all(
        Array.from({ length: w.producers }, (_, i) =>
          producerPerformance(classpath, {
            bootstrap: at.bootstrap,
            topic,
            records: per,
            recordBytes: w.recordBytes,
            acks: w.acks,
            compression: w.compression,
            props: { 'client.id': `bench-${i}`, ...at.props },
            // One transactional id per producer and run (a fresh broker each run, but ids stay distinct anyway).
            ...(w.transactionMs !== undefined ? { transaction: { id: `bench-txn-${w.id}-r${run}-${i}`, durationMs: w.transactionMs } } : {}),
          }),
        ),
      );
      produced.set(w.id, { topic, records: per * w.producers, recordBytes: w.recordBytes });
      // Several producers: the sum of their rates (they run at the same time), and the worst percentiles.
      const recordsPerSec = results.reduce((a, r) => a + r.recordsPerSec, 0);
      return {
        recordsPerSec,
        mbPerSec: mb(recordsPerSec, w.recordBytes),
        p50Ms: Math.max(...results.map((r) => r.p50Ms)),
        p99Ms: Math.max(...results.map((r) => r.p99Ms)),
        p999Ms: Math.max(...results.map((r) => r.p999Ms)),
      };
    }
    case 'consume': {
      const src = produced.get(w.from);
      if (!src) return { skipped: `its produce workload ${w.from} did not run` };
      if (!groups) return { skipped: 'no consumer groups in this build (FindCoordinator/JoinGroup not advertised); ConsumerPerformance subscribes with a group' };
      const at = endpoint(tools, sys, w.tls);
      if (at === null) return { skipped: `${sys.name} has no SSL listener in the bench` };
      const rates: number[] = [];
      for (let pass = 0; pass < (w.passes ?? 1); pass++) {
        const props = { ...at.props, ...(w.isolation ? { 'isolation.level': w.isolation } : {}) };
        const r = await consumerPerformance(classpath, {
          bootstrap: at.bootstrap,
          topic: src.topic,
          records: src.records,
          group: `bench-${w.id}-r${run}-p${pass}`,
          ...(Object.keys(props).length > 0 ? { props } : {}),
        });
        rates.push(r.fetchRecordsPerSec);
      }
      const rate = rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
      return { recordsPerSec: rate, mbPerSec: mb(rate, src.recordBytes) };
    }
    case 'rate': {
      const topic = topicOf(w.id);
      await createTopic(sys.port, topic, 1);
      const r = await producerPerformance(classpath, {
        bootstrap: sys.bootstrap,
        topic,
        records: w.recordsPerSec * w.seconds,
        recordBytes: w.recordBytes,
        acks: '1',
        compression: 'none',
        throughput: w.recordsPerSec,
        props: { 'linger.ms': '0' },
      });
      produced.set(w.id, { topic, records: r.records, recordBytes: w.recordBytes });
      return { recordsPerSec: r.recordsPerSec, mbPerSec: mb(r.recordsPerSec, w.recordBytes), p50Ms: r.p50Ms, p99Ms: r.p99Ms, p999Ms: r.p999Ms };
    }
    case 'e2e-rate': {
      const topic = topicOf(w.id);
      await createTopic(sys.port, topic, 1);
      const r = await fixedRateLatency(tools, tools.repoRoot, { bootstrap: sys.bootstrap, topic, recordsPerSec: w.recordsPerSec, seconds: w.seconds, recordBytes: w.recordBytes, acks: '1' });
      produced.set(w.id, { topic, records: w.recordsPerSec * w.seconds, recordBytes: w.recordBytes });
      return { p50Ms: r.p50Ms, p99Ms: r.p99Ms, p999Ms: r.p999Ms };
    }
    case 'e2e': {
      const topic = topicOf(w.id);
      await createTopic(sys.port, topic, 1);
      const r = await endToEndLatency(classpath, { bootstrap: sys.bootstrap, topic, records: w.records, recordBytes: w.recordBytes, acks: '1' });
      produced.set(w.id, { topic, records: w.records, recordBytes: w.recordBytes });
      return { p50Ms: r.p50Ms, p99Ms: r.p99Ms, p999Ms: r.p999Ms };
    }
  }
}

/**
 * The workloads in the order one run takes them: a read_uncommitted/read_committed pair of the same
 * topic swaps places every other run, so neither always reads a page cache the other warmed.
 */
function inRunOrder(ws: Workload[], run: number): Workload[] {
  if (run % 2 === 1) return ws;
  const out = [...ws];
  for (let i = 0; i + 1 < out.length; i++) {
    const a = out[i]!;
    const b = out[i + 1]!;
    if (a.kind === 'consume' && b.kind === 'consume' && a.from === b.from && a.isolation && b.isolation && a.isolation !== b.isolation) {
      out[i] = b;
      out[i + 1] = a;
      i++;
    }
  }
  return out;
}

async function runSystemOnce(spec: SystemSpec, tools: Tools, ws: Workload[], run: number, quick: boolean, log: (s: string) => void): Promise<SystemRun> {
  const loadBefore = loadAverage();
  const sys = await spec.start();
  const result: SystemRun = {
    startToFirstProduceMs: sys.startToFirstProduceMs,
    prepareMs: sys.prepareMs,
    idleRssBytes: sys.idleRssBytes,
    peakRssBytes: null,
    cpuSeconds: null,
    loadBefore,
    workloads: {},
  };
  try {
    if (!quick) await warmUp(tools.classpath, sys);
    const cpuStart = cpuSeconds(sys.pid);
    const groups = await hasConsumerGroups(sys.port);
    const produced = new Map<string, { topic: string; records: number; recordBytes: number }>();
    const order = inRunOrder(ws, run);
    for (const [i, w] of order.entries()) {
      const before = cpuSeconds(sys.pid);
      const storeBefore = await sys.storeCounters?.();
      const t0 = performance.now();
      const clientBefore = reapedChildrenCpuSeconds();
      const mainBefore = mainThreadCpuSeconds(sys.pid);
      let sample: Sample;
      try {
        sample = await runWorkload(tools, sys, w, run, produced, groups);
      } catch (err) {
        sample = { error: `${(err as Error).message}\n${sys.logTail()}`.trim() };
      }
      const seconds = (performance.now() - t0) / 1000;
      const after = cpuSeconds(sys.pid);
      if (before !== null && after !== null && !sample.skipped) sample.cpuSeconds = after - before;
      const storeAfter = await sys.storeCounters?.();
      if (storeBefore && storeAfter && !sample.skipped && !sample.error) {
        sample.store = {
          seconds,
          records: recordsOf(w, produced),
          writeTransactions: storeAfter.writeTransactions - storeBefore.writeTransactions,
          walBytes: storeAfter.walBytes - storeBefore.walBytes,
          cpuSeconds: storeAfter.cpuSeconds !== null && storeBefore.cpuSeconds !== null ? storeAfter.cpuSeconds - storeBefore.cpuSeconds : null,
        };
      }
      const clientAfter = reapedChildrenCpuSeconds();
      if (clientBefore !== null && clientAfter !== null && !sample.skipped) sample.clientCpuSeconds = clientAfter - clientBefore;
      const mainAfter = mainThreadCpuSeconds(sys.pid);
      if (mainBefore !== null && mainAfter !== null && !sample.skipped) sample.mainThreadCpuSeconds = mainAfter - mainBefore;
      result.workloads[w.id] = sample;
      log(`  ${spec.name} run ${run}: ${w.label}: ${describeSample(sample, w.kind === 'produce' ? w.records : undefined)}`);
      for (const [id, p] of produced) {
        if (!order.slice(i + 1).some((later) => later.kind === 'consume' && later.from === id)) {
          await deleteTopic(sys.port, p.topic);
          produced.delete(id);
        }
      }
    }
    const cpuEnd = cpuSeconds(sys.pid);
    result.cpuSeconds = cpuStart !== null && cpuEnd !== null ? cpuEnd - cpuStart : null;
    result.peakRssBytes = peakRssBytes(sys.pid);
  } finally {
    await sys.stop();
  }
  return result;
}

/** One run's line; `records`: a produce workload's record count (for the main thread's share of its run). */
function describeSample(s: Sample, records?: number): string {
  if (s.error) return `ERROR ${s.error.split('\n')[0]}`;
  if (s.skipped) return `skipped: ${s.skipped}`;
  const parts: string[] = [];
  if (s.recordsPerSec !== undefined) parts.push(`${Math.round(s.recordsPerSec)} rec/s, ${s.mbPerSec!.toFixed(1)} MB/s`);
  if (s.p99Ms !== undefined) parts.push(`p50/p99/p99.9 ${fmtMs(s.p50Ms!)}/${fmtMs(s.p99Ms!)}/${fmtMs(s.p999Ms!)} ms`);
  if (s.cpuSeconds !== undefined) parts.push(`broker CPU ${s.cpuSeconds.toFixed(2)} s`);
  if (s.store) {
    const st = s.store;
    const perRecord = (cpu: number) => `${((cpu * 1e6) / st.records).toFixed(1)} µs/record`;
    let line = `PostgreSQL ${st.writeTransactions} write transactions (${(st.writeTransactions / st.seconds).toFixed(0)}/s over the workload's ${st.seconds.toFixed(1)} s), ${(st.walBytes / 1e6).toFixed(1)} MB WAL`;
    if (st.cpuSeconds !== null) line += `, CPU ${st.cpuSeconds.toFixed(2)} s`;
    if (st.records > 0 && s.cpuSeconds !== undefined && st.cpuSeconds !== null) line += ` (broker 1 ${perRecord(s.cpuSeconds)}, PostgreSQL ${perRecord(st.cpuSeconds)})`;
    parts.push(line);
  }
  if (s.mainThreadCpuSeconds !== undefined) {
    // Against the producers' own run time (records ÷ their summed rate): about the loop's busy share for Rafka.
    const runSeconds = records !== undefined && s.recordsPerSec ? records / s.recordsPerSec : null;
    parts.push(`main thread CPU ${s.mainThreadCpuSeconds.toFixed(2)} s${runSeconds === null ? '' : ` (${Math.round((100 * s.mainThreadCpuSeconds) / runSeconds)} % of the ${runSeconds.toFixed(1)} s run)`}`);
  }
  if (s.clientCpuSeconds !== undefined) parts.push(`client CPU ${s.clientCpuSeconds.toFixed(2)} s`);
  return parts.join(', ');
}

/** Records a workload wrote or read (for CPU per record); 0 when it is a latency workload. */
function recordsOf(w: Workload, produced: ReadonlyMap<string, { records: number }>): number {
  if (w.kind === 'produce') return w.records;
  if (w.kind === 'consume') return (produced.get(w.from)?.records ?? 0) * (w.passes ?? 1);
  return 0;
}

export interface CompareOptions {
  quick: boolean;
  repoRoot: string;
  /** Runs per system (default 1 quick, 3 full; RAFKA_BENCH_RUNS overrides). */
  runs?: number;
  /** Only these systems (names as in the table); default all. RAFKA_BENCH_SYSTEMS=a,b overrides. */
  systems?: string[];
  /** Only these workload ids; default all. RAFKA_BENCH_WORKLOADS=id,id overrides. */
  workloadIds?: string[];
  log?: (line: string) => void;
}

export async function runComparison(opts: CompareOptions): Promise<ComparisonResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const runs = opts.runs ?? (Number(process.env.RAFKA_BENCH_RUNS) || (opts.quick ? 1 : 3));
  const only = opts.systems ?? process.env.RAFKA_BENCH_SYSTEMS?.split(',').filter(Boolean);
  const wOnly = opts.workloadIds ?? process.env.RAFKA_BENCH_WORKLOADS?.split(',').filter(Boolean);
  let ws = workloads(opts.quick);
  if (wOnly) ws = ws.filter((w) => wOnly.includes(w.id));

  const runtime: KafkaRuntime = await resolveKafka();
  // TLS workloads selected: a CA and a server certificate for 127.0.0.1, made now with openssl in a
  // temporary directory, and every system started with an SSL listener beside its PLAINTEXT one.
  const pki = ws.some((w) => (w.kind === 'produce' || w.kind === 'consume') && w.tls) ? await makePki() : null;
  const tls = pki === null ? undefined : { keystoreFile: pki.serverKeystore, caFile: pki.caFile };
  const variants: RafkaVariant[] = ['memory', 'memory-wal', 'log', 'log-interval', 'log-preallocate', 'log-pool16', 'log-journal', 'rocksdb'];
  const specs: SystemSpec[] = variants.map((v) => rafkaSystem(opts.repoRoot, v, '', tls));
  specs.push(rafkaPostgresSystem(opts.repoRoot, 1, log), rafkaPostgresSystem(opts.repoRoot, 3, log));
  // A/B of one change: another build of Rafka (a checkout with `npm run build` done) as `base-rafka-<engine>`,
  // interleaved with this one run by run (choose both with RAFKA_BENCH_SYSTEMS).
  const baseline = process.env.RAFKA_BENCH_BASELINE;
  if (baseline) {
    specs.push(...variants.map((v) => rafkaSystem(path.resolve(baseline), v, 'base-', tls)));
    specs.push(rafkaPostgresSystem(path.resolve(baseline), 1, log, 'base-'), rafkaPostgresSystem(path.resolve(baseline), 3, log, 'base-'));
  }
  const systems: SystemResult[] = [];
  if (runtime.available) {
    specs.push(kafkaSystem(runtime, { fsyncEveryAppend: false, ...(tls ? { tls } : {}) }));
    if (!opts.quick) specs.push(kafkaSystem(runtime, { fsyncEveryAppend: true, ...(tls ? { tls } : {}) }));
    log(`Apache Kafka ${runtime.version} from ${runtime.cacheDir} (${runtime.javaVersion})`);
  } else {
    log(`Apache Kafka: unavailable — ${runtime.reason}. The comparison needs Java and Maven for Kafka's load generator too; skipping it (the figures above are still measured).`);
    systems.push({ name: 'kafka', description: 'Apache Kafka', unavailable: runtime.reason, runs: [] });
  }
  // memory-wal and log-interval are opt-in (RAFKA_BENCH_SYSTEMS): the issue's systems are memory,
  // log (fsync always), rocksdb and Kafka.
  // The postgres systems too: they start a PostgreSQL server of their own (Debian's postgresql).
  const optIn = ['rafka-memory-wal', 'rafka-log-interval', 'rafka-log-preallocate', 'rafka-log-pool16', 'rafka-log-journal', 'rafka-postgres', 'rafka-postgres-3', 'base-rafka-postgres', 'base-rafka-postgres-3'];
  const chosen = specs.filter((s) => (only ? only.includes(s.name) : !optIn.includes(s.name)));
  const errors: string[] = [];
  const loads: number[] = [];
  const byName = new Map<string, SystemResult>();
  for (const s of chosen) {
    const r: SystemResult = { name: s.name, description: s.description, runs: [] };
    byName.set(s.name, r);
    systems.push(r);
  }
  // Without Java the load generator itself is missing: nothing can be measured with the same client.
  if (!runtime.available) {
    for (const r of byName.values()) r.unavailable = `the load generator (Kafka's kafka-tools) needs Java and Maven: ${runtime.reason}`;
    return finish();
  }

  const diskRounds: SyncSpeed[][] = [];
  for (let run = 1; run <= runs; run++) {
    try {
      diskRounds.push(await diskSyncSpeeds(opts.quick));
      log(`disk: ${diskRounds[diskRounds.length - 1]!.map(describeSyncSpeed).join('; ')}`);
    } catch (err) {
      log(`disk: not measured — ${(err as Error).message}`);
    }
    for (const spec of chosen) {
      const r = byName.get(spec.name)!;
      if (r.unavailable) continue;
      log(`${spec.name}: run ${run}/${runs}`);
      try {
        const one = await runSystemOnce(spec, { classpath: runtime.classpath, cacheDir: runtime.cacheDir, repoRoot: opts.repoRoot, ...(pki ? { tlsCaFile: pki.caFile } : {}) }, ws, run, opts.quick, log);
        if (one.loadBefore !== null) loads.push(one.loadBefore);
        r.runs.push(one);
        for (const [id, s] of Object.entries(one.workloads)) if (s.error) errors.push(`${spec.name} run ${run} ${id}: ${s.error}`);
      } catch (err) {
        if (err instanceof SystemUnavailable) {
          r.unavailable = err.message;
          log(`  ${spec.name}: unavailable — ${err.message}`);
        } else {
          errors.push(`${spec.name} run ${run}: ${(err as Error).message}`);
          log(`  ${spec.name}: FAILED — ${(err as Error).message}`);
        }
      }
    }
  }
  return finish();

  function finish(): ComparisonResult {
    // The run-time CA and keys go with the run.
    if (pki !== null) void pki.cleanup().catch(() => {});
    for (const r of systems) r.median = summarize(r.runs, ws);
    return {
      date: new Date().toISOString(),
      quick: opts.quick,
      machine: machineDescription(),
      kafka: runtime.available ? { version: runtime.version, java: runtime.javaVersion } : { unavailable: runtime.reason },
      runs,
      loadAverage: loads.length ? { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) } : null,
      workloads: ws,
      systems,
      ...(diskRounds.length > 0 ? { disk: diskRounds[0]!.map((first, i) => ({ ...first, mbPerSec: median(diskRounds.map((r) => r[i]!.mbPerSec)), syncsPerSec: median(diskRounds.map((r) => r[i]!.syncsPerSec)) })) } : {}),
      errors,
    };
  }
}

export function machineDescription(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

// Table ---------------------------------------------------------------------------------------------

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMb = (bytes: number | null | undefined) => (typeof bytes === 'number' ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : 'n/a');

function cell(w: Workload, s: Sample | undefined): string {
  if (!s) return '–';
  if (s.error) return 'error';
  if (s.skipped) return 'n/a';
  if (w.kind === 'produce' || w.kind === 'consume') return `${fmtInt(s.recordsPerSec!)} rec/s · ${s.mbPerSec!.toFixed(1)} MB/s`;
  return `${fmtMs(s.p50Ms!)} / ${fmtMs(s.p99Ms!)} / ${fmtMs(s.p999Ms!)} ms`;
}

/** Kafka's tools print whole milliseconds; FixedRateLatency measures microseconds. */
function fmtMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

/** The figure a ratio compares: throughput for produce/consume, p99 for latency workloads. */
export function headline(w: Workload, s: Sample | undefined): number | undefined {
  if (!s || s.error || s.skipped) return undefined;
  return w.kind === 'produce' || w.kind === 'consume' ? s.recordsPerSec : s.p99Ms;
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

/** Pairs [rafka system, kafka system] for the ratio columns. */
function ratioPairs(result: ComparisonResult): [SystemResult, SystemResult][] {
  const measured = result.systems.filter((s) => s.median && !s.unavailable);
  const kafka = measured.find((s) => s.name === 'kafka');
  const kafkaFsync = measured.find((s) => s.name === 'kafka-fsync');
  const pairs: [SystemResult, SystemResult][] = [];
  for (const s of measured) {
    if (!s.name.startsWith('rafka-')) continue;
    if (kafka) pairs.push([s, kafka]);
    if (kafkaFsync && s.name === 'rafka-log') pairs.push([s, kafkaFsync]);
  }
  return pairs;
}

export function formatTable(result: ComparisonResult): string {
  const lines: string[] = [];
  const measured = result.systems.filter((s) => s.median && !s.unavailable);
  const pairs = ratioPairs(result);
  const kafkaLabel = 'version' in result.kafka ? `Apache Kafka ${result.kafka.version}` : 'Apache Kafka (unavailable)';
  const load = result.loadAverage ? `load average ${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)} (median ${result.loadAverage.median.toFixed(1)})` : 'load n/a';
  lines.push(`Rafka vs ${kafkaLabel}${result.quick ? ' (quick smoke run)' : ''}: median of ${result.runs} run${result.runs > 1 ? 's' : ''}, ${result.machine}, ${load}`);
  lines.push(
    "Client for every system: Kafka's ProducerPerformance / ConsumerPerformance / EndToEndLatency (kafka-tools) and FixedRateLatency (stock Java client). Latency cells: p50 / p99 / p99.9.",
  );
  lines.push('');
  if (measured.length === 0) {
    for (const s of result.systems) lines.push(`- ${s.name}: ${s.description}${s.unavailable ? ` — not measured: ${s.unavailable}` : ''}`);
    return lines.join('\n');
  }
  const head = ['workload', ...measured.map((s) => s.name), ...pairs.map(([a, b]) => `${a.name.replace('rafka-', '')}/${b.name}`)];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const w of result.workloads) {
    const row = [w.label, ...measured.map((s) => cell(w, s.median!.workloads[w.id])), ...pairs.map(([a, b]) => ratio(headline(w, a.median!.workloads[w.id]), headline(w, b.median!.workloads[w.id])))];
    lines.push(`| ${row.join(' | ')} |`);
  }
  const sysRow = (label: string, pick: (m: NonNullable<SystemResult['median']>) => number | null | undefined, fmt: (n: number | null | undefined) => string) =>
    lines.push(`| ${[label, ...measured.map((s) => fmt(pick(s.median!))), ...pairs.map(([a, b]) => ratio(pick(a.median!), pick(b.median!)))].join(' | ')} |`);
  sysRow('start-up: process start to first acknowledged produce', (m) => m.startToFirstProduceMs, (n) => (typeof n === 'number' ? `${fmtInt(n)} ms` : 'n/a'));
  sysRow('idle RSS after start-up', (m) => m.idleRssBytes, fmtMb);
  sysRow('peak RSS (VmHWM) over the run', (m) => m.peakRssBytes, fmtMb);
  sysRow('broker CPU seconds, all measured workloads', (m) => m.cpuSeconds, (n) => (typeof n === 'number' ? `${n.toFixed(1)} s` : 'n/a'));
  sysRow('broker CPU seconds per GB produced (produce workloads)', (m) => cpuPerGbProduced(result.workloads, m), (n) => (typeof n === 'number' ? `${n.toFixed(1)} s/GB` : 'n/a'));
  // Issue 22: on two cores the Java clients share the CPU with the broker; what they spend against each broker is part of its throughput.
  sysRow('client CPU seconds per GB produced (the Java producers)', (m) => cpuPerGbProduced(result.workloads, m, 'clientCpuSeconds'), (n) => (typeof n === 'number' ? `${n.toFixed(1)} s/GB` : 'n/a'));
  lines.push('');
  lines.push(...diskLines(result));
  lines.push('Ratios are Rafka ÷ Kafka: above 1 is better for throughput; below 1 is better for latency, start-up, memory and CPU.');
  lines.push(...isolationLines(result));
  const kafkaFormat = measured.find((s) => s.name === 'kafka')?.median?.prepareMs;
  if (kafkaFormat !== undefined) lines.push(`Kafka's one-time storage format (kafka-storage format), not included in its start-up: ${fmtInt(kafkaFormat)} ms.`);
  for (const s of result.systems) lines.push(`- ${s.name}: ${s.description}${s.unavailable ? ` — not measured: ${s.unavailable}` : ''}`);
  const skips = new Set<string>();
  for (const s of measured) for (const [id, smp] of Object.entries(s.median!.workloads)) if (smp.skipped) skips.add(`${s.name} ${id}: ${smp.skipped}`);
  for (const k of skips) lines.push(`- n/a ${k}`);
  const targets = targetLines(result);
  if (targets.length) {
    lines.push('');
    lines.push('Targets (issue 7):');
    lines.push(...targets);
  }
  return lines.join('\n');
}

/** Broker (or client) CPU seconds over the produce workloads ÷ the record bytes they produced (GB = 10⁹ bytes). */
export function cpuPerGbProduced(ws: Workload[], m: NonNullable<SystemResult['median']>, of: 'cpuSeconds' | 'clientCpuSeconds' = 'cpuSeconds'): number | null {
  let cpu = 0;
  let bytes = 0;
  for (const w of ws) {
    const s = m.workloads[w.id];
    const seconds = s?.[of];
    if (w.kind !== 'produce' || seconds === undefined || s!.error || s!.skipped) continue;
    cpu += seconds;
    bytes += w.records * w.recordBytes;
  }
  return bytes > 0 ? cpu / (bytes / 1e9) : null;
}

/**
 * Issue 22: the disk's own limit, and the log engine's produce as a fraction of it — MB/s of record
 * values against sequential writes with an fdatasync per 1 MiB (a group commit can do no better on
 * this disk) and per 16 KiB (one producer batch per sync).
 */
export function diskLines(result: ComparisonResult): string[] {
  if (!result.disk || result.disk.length === 0) return [];
  const out = [`Disk under the data directories (${os.tmpdir()}), sequential writes, median of ${result.runs} round${result.runs > 1 ? 's' : ''}: ${result.disk.map(describeSyncSpeed).join('; ')}.`];
  const per16k = result.disk.find((d) => d.blockBytes === 16 * 1024 && !d.preallocated);
  const per1m = result.disk.find((d) => d.blockBytes === 1 << 20 && !d.preallocated);
  const logs = result.systems.filter((s) => s.median && !s.unavailable && /^(base-)?rafka-log/.test(s.name));
  for (const s of logs) {
    const parts: string[] = [];
    for (const w of result.workloads) {
      const mb = s.median!.workloads[w.id]?.mbPerSec;
      if (w.kind !== 'produce' || typeof mb !== 'number') continue;
      parts.push(`${w.id} ${mb.toFixed(1)} MB/s = ${per1m ? `${((100 * mb) / per1m.mbPerSec).toFixed(0)}%` : '–'} of 1 MiB-fdatasync, ${per16k ? `${((100 * mb) / per16k.mbPerSec).toFixed(0)}%` : '–'} of 16 KiB-fdatasync`);
    }
    if (parts.length > 0) out.push(`- ${s.name} produce against the disk: ${parts.join('; ')}.`);
  }
  return out;
}

/**
 * Issue 16: what read_committed costs each system — its read_committed consume rate ÷ its
 * read_uncommitted rate on the same transactional topic (1× = nothing; the LSO and the aborted-
 * transaction index are the work read_committed adds).
 */
export function isolationLines(result: ComparisonResult): string[] {
  const measured = result.systems.filter((s) => s.median && !s.unavailable);
  const out: string[] = [];
  for (const rc of result.workloads) {
    if (rc.kind !== 'consume' || rc.isolation !== 'read_committed') continue;
    const ru = result.workloads.find((w) => w.kind === 'consume' && w.from === rc.from && w.isolation === 'read_uncommitted');
    if (!ru) continue;
    const cells = measured.map((s) => `${s.name} ${ratio(headline(rc, s.median!.workloads[rc.id]), headline(ru, s.median!.workloads[ru.id]))}`);
    out.push(`read_committed ÷ read_uncommitted (${rc.label.replace(/, read_committed$/, '')}): ${cells.join(', ')}.`);
  }
  return out;
}

/** The issue's targets, each with the measured ratio and whether it is met. */
export function targetLines(result: ComparisonResult): string[] {
  const get = (name: string) => result.systems.find((s) => s.name === name && s.median && !s.unavailable)?.median;
  const kafka = get('kafka');
  if (!kafka) return [];
  const out: string[] = [];
  const check = (what: string, rafka: string, value: (m: NonNullable<SystemResult['median']>) => number | null | undefined, goal: number, higherIsBetter: boolean) => {
    const r = get(rafka);
    const a = r ? value(r) : undefined;
    const b = value(kafka);
    if (typeof a !== 'number' || typeof b !== 'number' || b === 0) {
      out.push(`- ${what}: not measured`);
      return;
    }
    const x = a / b;
    const met = higherIsBetter ? x >= goal : x <= goal;
    out.push(`- ${what}: ${x.toFixed(2)}× (goal ${higherIsBetter ? '≥' : '≤'} ${goal}×) ${met ? 'met' : 'MISSED'}`);
  };
  const wl = (id: string) => (m: NonNullable<SystemResult['median']>) => m.workloads[id]?.recordsPerSec;
  const produce1k = result.workloads.find((w) => w.kind === 'produce' && w.recordBytes === 1024 && w.acks === '1' && w.compression === 'none' && w.partitions === 1 && w.producers === 1 && !w.tls);
  if (produce1k) {
    const interval = get('rafka-log-interval')?.workloads[produce1k.id]?.recordsPerSec;
    const shipped = kafka.workloads[produce1k.id]?.recordsPerSec;
    if (typeof interval === 'number' && typeof shipped === 'number' && shipped > 0) {
      out.push(`- produce 1 KiB acks=1, log engine (fsync interval) vs Kafka as shipped: ${(interval / shipped).toFixed(2)}× (goal ≥ 1×) ${interval / shipped >= 1 ? 'met' : 'MISSED'}`);
    }
    // The log engine fsyncs before acknowledging; Kafka's comparable durability is kafka-fsync.
    const durable = get('kafka-fsync');
    if (durable) {
      const r = get('rafka-log')?.workloads[produce1k.id]?.recordsPerSec;
      const k = durable.workloads[produce1k.id]?.recordsPerSec;
      if (typeof r === 'number' && typeof k === 'number' && k > 0) {
        out.push(`- produce 1 KiB acks=1, log engine (fsync always) vs kafka-fsync: ${(r / k).toFixed(2)}× (goal ≥ 1×) ${r / k >= 1 ? 'met' : 'MISSED'}`);
      }
    }
    check('produce 1 KiB acks=1, log engine (fsync always) vs Kafka as shipped (no fsync)', 'rafka-log', wl(produce1k.id), 1.0, true);
    check('produce 1 KiB acks=1, memory engine vs Kafka', 'rafka-memory', wl(produce1k.id), 1.5, true);
  }
  // Issue 7's consume target is over PLAINTEXT; the TLS rows (issue 18) have no target of their own.
  for (const c of result.workloads.filter((w) => w.kind === 'consume' && !w.isolation && !w.tls)) check(`${c.label}, memory engine`, 'rafka-memory', wl(c.id), 1.0, true);
  const lat = result.workloads.find((w) => w.kind === 'e2e-rate') ?? result.workloads.find((w) => w.kind === 'e2e');
  if (lat) check(`p99 latency (${lat.label}), memory engine`, 'rafka-memory', (m) => m.workloads[lat.id]?.p99Ms, 1.0, false);
  check('start-up to first produce, memory engine', 'rafka-memory', (m) => m.startToFirstProduceMs, 0.1, false);
  check('idle RSS, memory engine', 'rafka-memory', (m) => m.idleRssBytes, 0.2, false);
  return out;
}

/**
 * `node dist/bench/compare.js [--quick]`: the comparison alone (no Rafka-internal, storage or client
 * parts), e.g. with RAFKA_BENCH_WORKLOADS and RAFKA_BENCH_SYSTEMS to rerun a few rows; prints the
 * table and writes nothing.
 */
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const result = await runComparison({ quick: process.argv.includes('--quick'), repoRoot, log: (l) => console.error(l) });
  console.log(formatTable(result));
}
