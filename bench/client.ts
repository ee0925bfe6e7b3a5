/**
 * Client throughput (issue 6), part of `npm run bench` and on its own as `npm run bench:client
 * [-- --quick]`: produce and consume throughput of the Rafka client against kafkajs and
 * @platformatic/kafka, in one run against the same broker (in its own process, memory engine),
 * 100 B and 1 KiB records.
 *
 * Produce: the application keeps 16 send() calls of 100 records each outstanding, acks=all, no
 * compression, one topic of 4 partitions, unkeyed records; each client's defaults otherwise (ours is
 * idempotent, kafkajs is not). Consume: from the beginning of that topic until every record was
 * seen, timed from the start of fetching (kafkajs: its GROUP_JOIN event); ours with assign(),
 * kafkajs in a group with eachBatch (its fastest path), @platformatic/kafka in a group with its
 * message stream from the earliest offset (timed from consume()).
 *
 * Rounds: each figure is the median of 3 rounds (1 in quick mode); within a round the clients take
 * turns (the order rotates from round to round), every client on topics of its own that are deleted
 * at the end of the round, so that a burst of load from elsewhere on the machine spreads over all
 * clients instead of hitting one.
 *
 * @confluentinc/kafka-javascript (librdkafka underneath, issue 22) is measured the same way through its
 * KafkaJS-compatible API (consumer in a group, eachBatch, timed from its first batch). Its producer
 * runs with Rafka's producer settings, like with like: acks=all, idempotent, linger 0 ms (both:
 * RAFKA_BENCH_CLIENT_LINGER_MS), batch size 512 KiB (librdkafka's defaults are linger.ms 5, batch.size
 * 1 MB, not idempotent). It is a native build and not a dependency either:
 * `sh bench/install-confluent-client.sh` builds it into node_modules (--no-save).
 *
 * CPU: besides records/s, each row has the CPU time of the client's process (every thread: librdkafka's
 * own threads count) and of the broker's process per record, medians of the rounds. On a loaded
 * machine the wall-clock figures follow the scheduler (a client with more runnable threads gets more
 * of the CPU), the CPU per record far less.
 *
 * @platformatic/kafka is not a dependency of the project: its own dependencies require Node >= 22.19,
 * and `npm install` on Node 20 must stay free of engine warnings. Install it to compare against it
 * (`npm install --no-save @platformatic/kafka@1.35.0`, as .ci/run does); without it the bench says
 * so and measures the other two.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { Admin, Consumer, Producer } from '../src/client/index.js';

/** The part of @platformatic/kafka's API this bench uses. */
interface PlatformaticKafka {
  Producer: new (opts: { clientId: string; bootstrapBrokers: string[]; acks: number }) => {
    send(o: { messages: { topic: string; value: Buffer }[] }): Promise<unknown>;
    close(): Promise<void>;
  };
  Consumer: new (opts: { groupId: string; clientId: string; bootstrapBrokers: string[]; maxBytes: number }) => {
    consume(o: { topics: string[]; mode: 'earliest'; autocommit: boolean }): Promise<AsyncIterable<unknown> & { close(): Promise<void> }>;
    close(force?: boolean): Promise<void>;
  };
}

/** The part of @confluentinc/kafka-javascript's KafkaJS-compatible API (librdkafka underneath) this bench uses. */
interface ConfluentKafka {
  KafkaJS: {
    Kafka: new (config: { kafkaJS: { brokers: string[]; clientId: string; logLevel: number } }) => {
      producer(config: { 'linger.ms': number; 'batch.size': number; kafkaJS: { acks: number; idempotent: boolean } }): {
        connect(): Promise<void>;
        send(o: { topic: string; messages: { value: Buffer }[] }): Promise<unknown>;
        disconnect(): Promise<void>;
      };
      consumer(config: { kafkaJS: { groupId: string; fromBeginning: boolean } }): {
        connect(): Promise<void>;
        subscribe(o: { topics: string[] }): Promise<void>;
        run(o: { eachBatch: (p: { batch: { messages: unknown[] } }) => Promise<void> }): Promise<void>;
        disconnect(): Promise<void>;
      };
    };
    logLevel: { NOTHING: number };
  };
  librdkafkaVersion: string;
}

/** The version the committed results were measured with. */
export const PLATFORMATIC_VERSION = '1.35.0';
export const CONFLUENT_VERSION = '1.10.1';

/**
 * @confluentinc/kafka-javascript when installed (bench/install-confluent-client.sh builds it, --no-save;
 * RAFKA_BENCH_CONFLUENT may name the package directory of a build elsewhere), else why not.
 */
async function loadConfluent(): Promise<ConfluentKafka | string> {
  const where = process.env.RAFKA_BENCH_CONFLUENT ?? '@confluentinc/kafka-javascript';
  try {
    // CommonJS with a native addon; `require` also takes a package directory (RAFKA_BENCH_CONFLUENT).
    return createRequire(import.meta.url)(where) as ConfluentKafka;
  } catch (err) {
    return `@confluentinc/kafka-javascript is not installed (optional, a native build: sh bench/install-confluent-client.sh): ${(err as Error).message.split('\n')[0]}`;
  }
}

/** @platformatic/kafka when installed, else why not (an optional comparison, see above). */
async function loadPlatformatic(): Promise<PlatformaticKafka | string> {
  const name = '@platformatic/kafka'; // a variable: not a build-time dependency
  try {
    return (await import(name)) as PlatformaticKafka;
  } catch {
    return `@platformatic/kafka is not installed (optional; it needs Node >= 22.19: npm install --no-save @platformatic/kafka@${PLATFORMATIC_VERSION})`;
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

export interface ClientRow {
  client: string;
  workload: string;
  recordBytes: number;
  records: number;
  /** Median of the rounds. */
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** records/s of every round, in round order. */
  rounds: number[];
  /** CPU µs per record of the client's process (all its threads) and of the broker's, medians of the rounds. */
  clientCpuUsPerRecord?: number;
  brokerCpuUsPerRecord?: number;
}

export interface ClientBenchResult {
  machine: { cpu: string | undefined; cores: number; node: string };
  quick: boolean;
  loadAverage: number[];
  rows: ClientRow[];
  /** null where @platformatic/kafka (or @confluentinc/kafka-javascript) was not installed. */
  ratios: { workload: string; recordBytes: number; vsKafkajs: number; vsPlatformatic: number | null; vsConfluent?: number | null; confluentClientCpuRatio?: number | null }[];
  /** The producer settings shared by Rafka's client and @confluentinc/kafka-javascript. */
  producerSettings?: string;
  /** Clients not measured, and why. */
  notMeasured: { client: string; reason: string }[];
}

const CALL_RECORDS = 100;
const OUTSTANDING = 16;
const PARTITIONS = 4;
const CLIENTS = ['rafka', 'kafkajs', 'platformatic', 'confluent'] as const;
/** linger of Rafka's producer and of librdkafka's in this bench (the same on both: like with like). */
const LINGER_MS = Number(process.env.RAFKA_BENCH_CLIENT_LINGER_MS ?? 0);
/** batch size of both, Rafka's default (librdkafka's batch.size is 1 MB by default). */
const BATCH_BYTES = 512 * 1024;
const PRODUCER_SETTINGS = `rafka and confluent producers: acks=all, idempotent, linger ${LINGER_MS} ms, batch size ${BATCH_BYTES} bytes`;
type ClientName = (typeof CLIENTS)[number];

async function pump(total: number, send: () => Promise<unknown>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: OUTSTANDING }, async () => {
      while (started < total / CALL_RECORDS) {
        started++;
        await send();
      }
    }),
  );
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Produce `total` records to `topic` with one client; seconds. */
async function produce(client: ClientName, bootstrap: string, kafka: Kafka, plat: PlatformaticKafka | null, conf: ConfluentKafka | null, topic: string, total: number, value: Buffer): Promise<number> {
  const messages = Array.from({ length: CALL_RECORDS }, () => ({ value }));
  let t: bigint;
  if (client === 'rafka') {
    const producer = new Producer({ bootstrap, lingerMs: LINGER_MS, batchSizeBytes: BATCH_BYTES });
    await producer.send(topic, { value }); // connect, metadata, producer id
    t = process.hrtime.bigint();
    await pump(total, () => producer.send(topic, messages));
    t = process.hrtime.bigint() - t;
    await producer.close();
  } else if (client === 'kafkajs') {
    const kp = kafka.producer();
    await kp.connect();
    await kp.send({ topic, messages: [{ value }] });
    t = process.hrtime.bigint();
    await pump(total, () => kp.send({ topic, acks: -1, messages }));
    t = process.hrtime.bigint() - t;
    await kp.disconnect();
  } else if (client === 'confluent') {
    // Rafka's producer settings (PRODUCER_SETTINGS); librdkafka's own defaults are linger.ms 5, batch.size 1 MB, not idempotent.
    const cp = new conf!.KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'bench', logLevel: conf!.KafkaJS.logLevel.NOTHING } }).producer({
      'linger.ms': LINGER_MS,
      'batch.size': BATCH_BYTES,
      kafkaJS: { acks: -1, idempotent: true },
    });
    await cp.connect();
    await cp.send({ topic, messages: [{ value }] });
    t = process.hrtime.bigint();
    await pump(total, () => cp.send({ topic, messages }));
    t = process.hrtime.bigint() - t;
    await cp.disconnect();
  } else {
    const pp = new plat!.Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1 });
    const platMessages = messages.map((m) => ({ topic, value: m.value }));
    await pp.send({ messages: [{ topic, value }] });
    t = process.hrtime.bigint();
    await pump(total, () => pp.send({ messages: platMessages }));
    t = process.hrtime.bigint() - t;
    await pp.close();
  }
  return Number(t) / 1e9;
}

/** Counts records handed to a consumer callback until `expect` arrived; `end()` is when the last did. */
function countUntil(expect: number): { add(n: number): void; done: Promise<void>; end(): bigint } {
  let seen = 0;
  let end = 0n;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    add(n: number) {
      seen += n;
      if (seen >= expect && end === 0n) {
        end = process.hrtime.bigint();
        resolve();
      }
    },
    done,
    end: () => end,
  };
}

/** Read all `expect` records of `topic` from the beginning with one client; seconds. */
async function consume(client: ClientName, bootstrap: string, kafka: Kafka, plat: PlatformaticKafka | null, conf: ConfluentKafka | null, topic: string, expect: number, group: string): Promise<number> {
  if (client === 'rafka') {
    const consumer = new Consumer({ bootstrap, autoOffsetReset: 'earliest' });
    await consumer.cluster.refreshMetadata([topic]);
    const first = process.hrtime.bigint();
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
    let seen = 0;
    for await (const _m of consumer) {
      if (++seen === expect) break;
    }
    const t = process.hrtime.bigint() - first;
    await consumer.close();
    return Number(t) / 1e9;
  }
  if (client === 'kafkajs') {
    const kc = kafka.consumer({ groupId: group, maxBytesPerPartition: 1 << 20, maxBytes: 50 << 20 });
    await kc.connect();
    await kc.subscribe({ topic, fromBeginning: true });
    // Timed from the moment kafkajs has joined its group and starts fetching.
    let kfirst = 0n;
    kc.on(kc.events.GROUP_JOIN, () => {
      kfirst = process.hrtime.bigint();
    });
    const counted = countUntil(expect);
    await kc.run({ autoCommit: true, eachBatch: async ({ batch }) => counted.add(batch.messages.length) });
    await counted.done;
    await kc.disconnect();
    return Number(counted.end() - kfirst) / 1e9;
  }
  if (client === 'confluent') {
    const cc = new conf!.KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'bench', logLevel: conf!.KafkaJS.logLevel.NOTHING } }).consumer({ kafkaJS: { groupId: group, fromBeginning: true } });
    await cc.connect();
    await cc.subscribe({ topics: [topic] });
    // Timed from its first batch (its API has no group-join event): the join is left out, as for kafkajs.
    let cfirst = 0n;
    const counted = countUntil(expect);
    await cc.run({
      eachBatch: async ({ batch }) => {
        if (cfirst === 0n) cfirst = process.hrtime.bigint();
        counted.add(batch.messages.length);
      },
    });
    await counted.done;
    await cc.disconnect();
    return Number(counted.end() - cfirst) / 1e9;
  }
  const pc = new plat!.Consumer({ groupId: group, clientId: 'bench', bootstrapBrokers: [bootstrap], maxBytes: 50 << 20 });
  const pfirst = process.hrtime.bigint();
  const stream = await pc.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  let pseen = 0;
  for await (const _m of stream) {
    if (++pseen === expect) break;
  }
  const t = process.hrtime.bigint() - pfirst;
  await stream.close();
  await pc.close(true);
  return Number(t) / 1e9;
}

export async function runClientBench(opts: { quick: boolean; rounds?: number; log?: (line: string) => void }): Promise<ClientBenchResult> {
  const { quick } = opts;
  const log = opts.log ?? ((l: string) => console.error(l));
  const rounds = opts.rounds ?? (Number(process.env.RAFKA_BENCH_CLIENT_ROUNDS) || (quick ? 1 : 3));
  const loads: number[] = [];
  const loaded = await loadPlatformatic();
  const plat = typeof loaded === 'string' ? null : loaded;
  const notMeasured = plat === null ? [{ client: 'platformatic', reason: loaded as string }] : [];
  if (plat === null) log(`  platformatic: not measured: ${loaded as string}`);
  const confLoaded = await loadConfluent();
  const conf = typeof confLoaded === 'string' ? null : confLoaded;
  if (conf === null) {
    notMeasured.push({ client: 'confluent', reason: confLoaded as string });
    log(`  confluent: not measured: ${confLoaded as string}`);
  } else log(`  confluent: @confluentinc/kafka-javascript with librdkafka ${conf.librdkafkaVersion}`);
  const clients = CLIENTS.filter((c) => (c !== 'platformatic' || plat !== null) && (c !== 'confluent' || conf !== null));
  const child = fork(path.join(here, 'broker-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: any) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  const bootstrap = `127.0.0.1:${port}`;
  /** The broker process's CPU time so far, in µs. */
  const brokerCpu = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m: any) => resolve(m.cpu.user + m.cpu.system));
      child.send('cpu');
    });
  // seconds and CPU µs (client, broker) of [client/workload/size] per round
  const samples = new Map<string, number[]>();
  const cpuSamples = new Map<string, { client: number; broker: number }[]>();
  const add = (client: string, workload: string, recordBytes: number, seconds: number, cpu: { client: number; broker: number }) => {
    const k = `${client}/${workload}/${recordBytes}`;
    samples.set(k, [...(samples.get(k) ?? []), seconds]);
    cpuSamples.set(k, [...(cpuSamples.get(k) ?? []), cpu]);
  };
  /** Run `fn` and measure the CPU both processes spent meanwhile (setup and teardown included, both small). */
  const withCpu = async (fn: () => Promise<number>): Promise<[number, { client: number; broker: number }]> => {
    const b0 = await brokerCpu();
    const c0 = process.cpuUsage();
    const seconds = await fn();
    const c = process.cpuUsage(c0);
    const b1 = await brokerCpu();
    return [seconds, { client: c.user + c.system, broker: b1 - b0 }];
  };
  const totals = new Map<number, number>();
  const admin = new Admin({ bootstrap });
  const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  try {
    for (const recordBytes of [100, 1024]) {
      const total = quick ? 20_000 : recordBytes === 100 ? 1_000_000 : 300_000;
      totals.set(recordBytes, total);
      const value = Buffer.alloc(recordBytes, 0x61);
      for (let round = 0; round < rounds; round++) {
        loads.push(os.loadavg()[0]!);
        const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
        const topicOf = (c: ClientName) => `bench-${c}-${recordBytes}-r${round}`;
        await admin.createTopics(order.map((c) => ({ topic: topicOf(c), numPartitions: PARTITIONS })));
        for (const c of order) {
          const [s, cpu] = await withCpu(() => produce(c, bootstrap, kafka, plat, conf, topicOf(c), total, value));
          add(c, 'produce', recordBytes, s, cpu);
          log(`  round ${round + 1}: ${c} produce ${total} × ${recordBytes} B: ${Math.round(total / s)} records/s, CPU µs/record client ${(cpu.client / total).toFixed(2)} broker ${(cpu.broker / total).toFixed(2)}`);
        }
        // Each client reads the topic it wrote: total + 1 records.
        for (const c of order) {
          const [s, cpu] = await withCpu(() => consume(c, bootstrap, kafka, plat, conf, topicOf(c), total + 1, `bench-${c}-${recordBytes}-r${round}`));
          add(c, 'consume', recordBytes, s, cpu);
          log(`  round ${round + 1}: ${c} consume ${total + 1} × ${recordBytes} B: ${Math.round((total + 1) / s)} records/s, CPU µs/record client ${(cpu.client / (total + 1)).toFixed(2)} broker ${(cpu.broker / (total + 1)).toFixed(2)}`);
        }
        await admin.deleteTopics(order.map(topicOf));
      }
    }
  } finally {
    await admin.close();
    child.kill('SIGTERM');
  }
  const rows: ClientRow[] = [];
  for (const recordBytes of [100, 1024]) {
    for (const workload of ['produce', 'consume']) {
      for (const client of clients) {
        const secs = samples.get(`${client}/${workload}/${recordBytes}`) ?? [];
        const records = totals.get(recordBytes)! + (workload === 'consume' ? 1 : 0);
        const seconds = median(secs);
        const cpus = cpuSamples.get(`${client}/${workload}/${recordBytes}`) ?? [];
        rows.push({
          client,
          workload,
          recordBytes,
          records,
          seconds: +seconds.toFixed(3),
          recordsPerSec: Math.round(records / seconds),
          mbPerSec: +((records * recordBytes) / seconds / 1e6).toFixed(1),
          rounds: secs.map((x) => Math.round(records / x)),
          clientCpuUsPerRecord: +(median(cpus.map((c) => c.client)) / records).toFixed(2),
          brokerCpuUsPerRecord: +(median(cpus.map((c) => c.broker)) / records).toFixed(2),
        });
      }
    }
  }
  const ratios: ClientBenchResult['ratios'] = [];
  for (const recordBytes of [100, 1024]) {
    for (const workload of ['produce', 'consume']) {
      const row = (c: string) => rows.find((r) => r.client === c && r.workload === workload && r.recordBytes === recordBytes)!;
      const get = (c: string) => row(c).recordsPerSec;
      ratios.push({
        workload,
        recordBytes,
        vsKafkajs: +(get('rafka') / get('kafkajs')).toFixed(2),
        vsPlatformatic: plat === null ? null : +(get('rafka') / get('platformatic')).toFixed(2),
        vsConfluent: conf === null ? null : +(get('rafka') / get('confluent')).toFixed(2),
        // How many times Rafka's client CPU per record librdkafka's client takes (> 1: Rafka's uses less).
        confluentClientCpuRatio: conf === null ? null : +(row('confluent').clientCpuUsPerRecord! / row('rafka').clientCpuUsPerRecord!).toFixed(2),
      });
    }
  }
  return { machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, quick, loadAverage: loads.map((l) => +l.toFixed(2)), rows, ratios, notMeasured, producerSettings: PRODUCER_SETTINGS };
}

export function formatClientTable(r: ClientBenchResult): string {
  const lines: string[] = [];
  const rounds = r.rows[0]?.rounds.length ?? 0;
  lines.push(`client throughput, ${r.machine.cpu ?? 'cpu'} × ${r.machine.cores}, node ${r.machine.node}${r.quick ? ' (quick)' : ''}; median of ${rounds} round(s), load average ${Math.min(...r.loadAverage)}–${Math.max(...r.loadAverage)}`);
  if (r.producerSettings) lines.push(r.producerSettings);
  lines.push('client       workload  record  records     seconds   records/s      MB/s  client µs/rec  broker µs/rec   rounds (records/s)');
  const us = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2)).padStart(14);
  for (const x of r.rows) {
    lines.push(
      `${x.client.padEnd(12)} ${x.workload.padEnd(9)} ${String(x.recordBytes).padStart(6)} ${String(x.records).padStart(8)} ${x.seconds.toFixed(3).padStart(11)} ${String(x.recordsPerSec).padStart(11)} ${x.mbPerSec.toFixed(1).padStart(9)} ${us(x.clientCpuUsPerRecord)} ${us(x.brokerCpuUsPerRecord)}   ${x.rounds.join(' / ')}`,
    );
  }
  for (const q of r.ratios) {
    const plat = q.vsPlatformatic === null ? 'not measured' : `${q.vsPlatformatic.toFixed(2)}× (target ≥ 1.2)`;
    const conf =
      q.vsConfluent === null || q.vsConfluent === undefined
        ? 'not measured'
        : `${q.vsConfluent.toFixed(2)}× (target ≥ 1.0)${q.confluentClientCpuRatio ? `, client CPU per record: confluent / rafka = ${q.confluentClientCpuRatio.toFixed(2)}×` : ''}`;
    lines.push(`${q.workload} ${q.recordBytes} B: rafka / kafkajs = ${q.vsKafkajs.toFixed(2)}× (target ≥ 2), rafka / @platformatic/kafka = ${plat}, rafka / @confluentinc/kafka-javascript = ${conf}`);
  }
  for (const n of r.notMeasured ?? []) lines.push(`${n.client}: not measured: ${n.reason}`);
  return lines.join('\n');
}

/** The client bench's own results file: bench/results/client-<date>[-quick].json. */
export function writeClientResults(r: ClientBenchResult): string {
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `client-${new Date().toISOString().slice(0, 10)}${r.quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
  return path.relative(repoRoot, file);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runClientBench({ quick: process.argv.includes('--quick') });
  console.log(formatClientTable(result));
  console.log(`wrote ${writeClientResults(result)}`);
}
