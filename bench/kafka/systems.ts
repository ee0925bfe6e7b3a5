/**
 * The systems under benchmark, each started as its own process so that every figure — throughput,
 * peak RSS, CPU seconds, start-up — is measured the same way from outside, by pid:
 *
 * - `rafka-<engine>`: `node bin/rafka.js start --storage <engine>` (memory, log, rocksdb). An engine
 *   this build does not have yet refuses to start, and the system is reported as unavailable.
 * - `kafka`: Apache Kafka 4.x, one KRaft node in combined mode (process.roles=broker,controller),
 *   storage formatted first with `kafka.tools.StorageTool format --standalone`, JVM flags as
 *   `kafka-server-start.sh` sets them (-Xmx1G -Xms1G, G1). Durability as shipped: no fsync per
 *   append (log.flush.interval.messages unset), like Rafka's memory engine or `--fsync never`.
 * - `kafka-fsync`: the same with `log.flush.interval.messages=1`, Kafka's closest setting to Rafka's
 *   `log` engine with its default `fsync: always` (an acknowledged produce is on disk).
 *
 * Start-up is timed from spawning the process to the first acknowledged produce: the probe connects,
 * creates a topic and produces one record (acks=1), retrying every 10 ms. For Kafka the storage
 * format, a one-time step of a deployment, is timed separately and not included.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { RawClient } from '../../test/helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../../src/protocol/messages/create-topics.js';
import { MetadataRequest, MetadataResponse } from '../../src/protocol/messages/metadata.js';
import { encodeBatch } from '../../src/protocol/records/record.js';
import { rssBytes } from './proc.js';
import type { KafkaRuntime } from './maven.js';

const execFileAsync = promisify(execFile);
const TOPIC_ALREADY_EXISTS = 36;

export interface RunningSystem {
  readonly name: string;
  readonly pid: number;
  readonly bootstrap: string;
  readonly port: number;
  /** `host:port` of its SSL listener, when started with TLS material (BenchTls). */
  readonly tlsBootstrap?: string;
  /** Spawn to first acknowledged produce. */
  readonly startToFirstProduceMs: number;
  /** Spawn to the first Metadata answer naming a broker (what a client needs before anything else). */
  readonly startToMetadataMs: number;
  /** Resident memory right after start-up and the first produce (before any load). */
  readonly idleRssBytes: number | null;
  /** One-time preparation before the process starts (Kafka's storage format), ms; 0 for none. */
  readonly prepareMs: number;
  /** Stop the process (SIGTERM, then SIGKILL) and remove its data directory. */
  stop(): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  logTail(): string;
  /** Counters of the store behind the brokers (the postgres systems' PostgreSQL), read before and after each workload. */
  storeCounters?(): Promise<StoreCounters | null>;
}

/** What a shared store did so far (PostgreSQL behind the postgres systems). */
export interface StoreCounters {
  /** Transactions that wrote (each takes a transaction id; read-only queries take none). */
  writeTransactions: number;
  /** WAL bytes written. */
  walBytes: number;
  /** CPU seconds of the server (every process of it), or null without /proc. */
  cpuSeconds: number | null;
}

export interface SystemSpec {
  readonly name: string;
  /** What it is, for the table's legend. */
  readonly description: string;
  start(): Promise<RunningSystem>;
}

export class SystemUnavailable extends Error {}

/**
 * TLS material for an SSL listener beside the plaintext one (the TLS workloads): a PEM file with
 * the server's key and certificate chain (Kafka's ssl.keystore.type=PEM, KIP-651; Rafka's
 * ssl.keystore.location) and the CA's certificate, which clients trust.
 */
export interface BenchTls {
  keystoreFile: string;
  caFile: string;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Connect, ask for Metadata until it names a broker (`onMetadata` is told when), create a one-partition
 * topic, produce one record with acks=1; retry until it is acknowledged.
 */
async function probeFirstProduce(port: number, child: ChildProcess, timeoutMs: number, onMetadata: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const batch = await encodeBatch({ records: [{ value: Buffer.from('first') }] });
  let last = 'no connection yet';
  let client: RawClient | null = null;
  let created = false;
  let metadata = false;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before the first produce`);
      try {
        if (!client || client.closed) client = await RawClient.connect(port);
        if (!metadata) {
          const res = await client.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, {
            topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
          });
          if (res.brokers.length === 0) throw new Error('Metadata names no broker yet');
          metadata = true;
          onMetadata();
        }
        if (!created) {
          const res = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
            topics: [{ name: 'bench-probe', numPartitions: 1, replicationFactor: 1 }],
            timeoutMs: 10_000,
          });
          const code = res.topics[0]!.errorCode;
          if (code !== 0 && code !== TOPIC_ALREADY_EXISTS) throw new Error(`CreateTopics error ${code}`);
          created = true;
        }
        const res = await client.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: 'bench-probe', partitionData: [{ index: 0, records: batch }] }],
        });
        const code = res.responses[0]!.partitionResponses[0]!.errorCode;
        if (code === 0) return;
        last = `produce error ${code}`;
      } catch (err) {
        last = (err as Error).message;
        client?.close();
        client = null;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no acknowledged produce within ${timeoutMs} ms (${last})`);
  } finally {
    client?.close();
  }
}

export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// Rafka ---------------------------------------------------------------------------------------------

/** Rafka's variants: an engine, and for `memory` whether it keeps a write-ahead log in a data dir. */
export type RafkaVariant = 'memory' | 'memory-wal' | 'log' | 'log-interval' | 'log-preallocate' | 'log-pool16' | 'log-journal' | 'rocksdb';

/**
 * libuv's thread pool size for `rafka-log-pool16` (Node's default, which the launcher keeps, is 4).
 * Every partition's writev and fdatasync runs on that pool: with 4 threads, 4 partitions' syncs in
 * flight occupy it and the other partitions' writes and syncs queue behind them (issue 22, item 2).
 * A loaded A/B favoured 16; the quiet bench favoured 4 on every produce row (bench/README.md).
 */
const WIDE_POOL_THREADS = 16;

const RAFKA_DESCRIPTIONS: Record<RafkaVariant, string> = {
  memory: 'Rafka, memory engine (nothing on disk)',
  'memory-wal': 'Rafka, memory engine with its write-ahead log',
  log: 'Rafka, log engine (segment files; fsync as configured, default always = group commit)',
  'log-interval': 'Rafka, log engine with fsync: interval (acknowledged once written, synced every second: the durability of Kafka as shipped)',
  'log-preallocate': 'Rafka, log engine, fsync always, with preallocated segments (topic.defaults preallocate: true)',
  'log-pool16': `Rafka, log engine, fsync always, with UV_THREADPOOL_SIZE=${WIDE_POOL_THREADS} (instead of Node's 4)`,
  'log-journal': 'Rafka, log engine, fsync always, with the shared journal (storage.journal: true: one sync for all partitions)',
  rocksdb: 'Rafka, rocksdb engine',
};

function withoutPoolSize(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.UV_THREADPOOL_SIZE;
  return out;
}

export function rafkaSystem(repoRoot: string, variant: RafkaVariant, prefix = '', tls?: BenchTls): SystemSpec {
  const engine = variant === 'memory-wal' ? 'memory' : variant === 'log-interval' || variant === 'log-preallocate' || variant === 'log-pool16' || variant === 'log-journal' ? 'log' : variant;
  const fsync = variant === 'log-interval' ? '  fsync: interval\n' : variant === 'log-journal' ? '  journal: true\n' : '';
  const topicDefaults = variant === 'log-preallocate' ? 'topic.defaults:\n  preallocate: true\n' : '';
  return {
    name: `${prefix}rafka-${variant}`,
    description: prefix === '' ? RAFKA_DESCRIPTIONS[variant] : `${RAFKA_DESCRIPTIONS[variant]}, the build in ${repoRoot}`,
    async start() {
      const dir = mkdtempSync(path.join(os.tmpdir(), `rafka-bench-${variant}-`));
      const logFile = path.join(dir, 'broker.log');
      // Every storage setting is given explicitly in a config file, so a change of the CLI's defaults
      // (e.g. the default engine or data directory) cannot change what is measured.
      const configFile = path.join(dir, 'rafka.yaml');
      const dataDir = variant === 'memory' ? null : path.join(dir, 'data');
      // With TLS: a PLAINTEXT listener (the first: the bootstrap printed at start) and an SSL one.
      const tlsPort = tls === undefined ? 0 : await freePort();
      const listeners =
        tls === undefined
          ? ''
          : `listeners: "PLAINTEXT://127.0.0.1:${await freePort()},SSL://127.0.0.1:${tlsPort}"\nssl.keystore.type: PEM\nssl.keystore.location: ${JSON.stringify(tls.keystoreFile)}\n`;
      // As for Kafka below: a benchmark's consumer group has no other member to wait for.
      writeFileSync(
        configFile,
        `storage:\n  type: ${engine}\n  path: ${dataDir === null ? 'null' : JSON.stringify(dataDir)}\n${fsync}${topicDefaults}group.initial.rebalance.delay.ms: 0\n${listeners}`,
      );
      const errFd = openSync(logFile, 'a');
      const args = [path.join(repoRoot, 'bin', 'rafka.js'), 'start', '--config', configFile, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'];
      const t0 = performance.now();
      let metadataAt = NaN;
      const child = spawn(process.execPath, [...(process.env.RAFKA_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...args], {
        stdio: ['ignore', 'pipe', errFd],
        cwd: dir,
        // libuv reads it once, when its pool starts: only the environment can set it. The other systems get
        // the launcher's default, whatever the bench's own environment says.
        env: variant === 'log-pool16' ? { ...process.env, UV_THREADPOOL_SIZE: String(WIDE_POOL_THREADS) } : withoutPoolSize(process.env),
      });
      closeSync(errFd);
      const cleanup = async () => {
        await stopChild(child, 10_000);
        rmSync(dir, { recursive: true, force: true });
      };
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /listening on [^\s]+:(\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new SystemUnavailable(`rafka (storage ${variant}) exited with ${code}: ${(tail(logFile, 3) || out).trim()}`)));
        });
        await probeFirstProduce(port, child, 30_000, () => (metadataAt = performance.now()));
        const startToFirstProduceMs = performance.now() - t0;
        child.stdout!.resume();
        return {
          name: `${prefix}rafka-${variant}`,
          pid: child.pid!,
          port,
          bootstrap: `127.0.0.1:${port}`,
          ...(tls === undefined ? {} : { tlsBootstrap: `127.0.0.1:${tlsPort}` }),
          startToFirstProduceMs,
        startToMetadataMs: metadataAt - t0,
          idleRssBytes: rssBytes(child.pid!),
          prepareMs: 0,
          stop: cleanup,
          logTail: () => tail(logFile),
        };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  };
}

// Apache Kafka --------------------------------------------------------------------------------------

/** Kafka's Uuid.toString: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** JVM flags of Kafka's own start scripts (kafka-server-start.sh, kafka-run-class.sh). */
export const KAFKA_JVM_FLAGS = [
  '-Xmx1G',
  '-Xms1G',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];

export interface KafkaOptions {
  fsyncEveryAppend: boolean;
  /**
   * The port Kafka tells clients to connect to (its advertised listener on 127.0.0.1), when that is
   * not its own: scripts/capture-golden.ts puts a recording proxy there so that every connection a
   * client opens after bootstrap goes through it too. Default: the listener's own port.
   */
  advertisedPort?: number;
  /**
   * More client listeners beside PLAINTEXT, each named after its security protocol, and the broker
   * settings they need (ssl.*, sasl.*, listener.name.*): the client security tests. The start-up
   * probe keeps using the PLAINTEXT listener.
   */
  extraListeners?: readonly { protocol: 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'; port: number }[];
  extraProps?: readonly string[];
  /** More arguments of `kafka-storage format`, e.g. `--add-scram SCRAM-SHA-512=[name=…,password=…]`. */
  formatArgs?: readonly string[];
  /**
   * An SSL listener on a port chosen at start, beside the others, its address given as the running
   * system's tlsBootstrap (the bench's TLS workloads); one more of extraListeners with its keystore.
   */
  tls?: BenchTls;
}

export function kafkaSystem(runtime: Extract<KafkaRuntime, { available: true }>, opts: KafkaOptions): SystemSpec {
  const name = opts.fsyncEveryAppend ? 'kafka-fsync' : 'kafka';
  return {
    name,
    description: opts.fsyncEveryAppend
      ? `Apache Kafka ${runtime.version}, KRaft combined, log.flush.interval.messages=1 (fsync every append)`
      : `Apache Kafka ${runtime.version}, KRaft combined, as shipped (page cache, no fsync per append)`,
    async start() {
      const dir = mkdtempSync(path.join(os.tmpdir(), `rafka-bench-${name}-`));
      const port = await freePort();
      const controllerPort = await freePort();
      const tlsPort = opts.tls === undefined ? 0 : await freePort();
      const extra = [...(opts.extraListeners ?? []), ...(opts.tls === undefined ? [] : [{ protocol: 'SSL' as const, port: tlsPort }])];
      const props = [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extra.map((l) => `,${l.protocol}://127.0.0.1:${l.port}`).join('')}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${opts.advertisedPort ?? port}${extra.map((l) => `,${l.protocol}://127.0.0.1:${l.port}`).join('')}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${extra.map((l) => `,${l.protocol}:${l.protocol}`).join('')}`,
        // KIP-651: the key and certificate chain in one PEM file, as Rafka reads it.
        ...(opts.tls === undefined ? [] : ['ssl.keystore.type=PEM', `ssl.keystore.location=${opts.tls.keystoreFile}`]),
        // The shipped config/server.properties values for a single node.
        'num.network.threads=3',
        'num.io.threads=8',
        'num.partitions=1',
        'offsets.topic.replication.factor=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        // A benchmark's consumer should not wait 3 s for a rebalance that has no one else to wait for.
        'group.initial.rebalance.delay.ms=0',
        `log.dirs=${path.join(dir, 'data')}`,
        ...(opts.fsyncEveryAppend ? ['log.flush.interval.messages=1'] : []),
        ...(opts.extraProps ?? []),
      ];
      const propsFile = path.join(dir, 'server.properties');
      writeFileSync(propsFile, props.join('\n') + '\n');
      const logFile = path.join(dir, 'kafka.log');
      const cleanupDir = () => rmSync(dir, { recursive: true, force: true });

      const tFormat = performance.now();
      try {
        await execFileAsync('java', ['-Xmx256M', 'kafka.tools.StorageTool', 'format', '-t', kafkaClusterId(), '-c', propsFile, '--standalone', ...(opts.formatArgs ?? [])], {
          timeout: 120_000,
          env: { ...process.env, CLASSPATH: runtime.classpath },
        });
      } catch (err) {
        cleanupDir();
        const e = err as { stderr?: string; message: string };
        throw new Error(`kafka-storage format failed: ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' ') || e.message}`);
      }
      const prepareMs = performance.now() - tFormat;

      const fd = openSync(logFile, 'a');
      const t0 = performance.now();
      let metadataAt = NaN;
      const child = spawn('java', [...KAFKA_JVM_FLAGS, 'kafka.Kafka', propsFile], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, CLASSPATH: runtime.classpath },
      });
      closeSync(fd);
      const cleanup = async () => {
        // Controlled shutdown of a combined node takes a few seconds; SIGKILL if it hangs.
        await stopChild(child, 30_000);
        cleanupDir();
      };
      try {
        await probeFirstProduce(port, child, 120_000, () => (metadataAt = performance.now()));
      } catch (err) {
        const log = tail(logFile);
        await cleanup();
        throw new Error(`${name}: ${(err as Error).message}\n${log}`);
      }
      const startToFirstProduceMs = performance.now() - t0;
      return {
        name,
        pid: child.pid!,
        port,
        bootstrap: `127.0.0.1:${port}`,
        ...(opts.tls === undefined ? {} : { tlsBootstrap: `127.0.0.1:${tlsPort}` }),
        startToFirstProduceMs,
        startToMetadataMs: metadataAt - t0,
        idleRssBytes: rssBytes(child.pid!),
        prepareMs,
        stop: cleanup,
        logTail: () => tail(logFile),
      };
    },
  };
}
