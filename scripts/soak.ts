/**
 * Soak test: `npm run soak -- --minutes N` (CI runs `--minutes 1`; it is not part of `npm test`).
 *
 * A broker runs as its own process (`rafka start --storage log`, fsync=always) on a fixed port and a
 * fresh data directory. Several idempotent acks=all producers (Rafka's own client, in this process)
 * send uniquely valued records to a topic; several group consumers (Rafka's client, each in its own
 * child process, so that it can be killed) consume it in one group with auto-commit. For N minutes,
 * at random moments (seeded): the broker is restarted — kill -9 or a clean SIGTERM — and consumers
 * are restarted — kill -9 or a clean close. Then producing stops, the consumers catch up and stop,
 * and the run is checked:
 *
 *  - none lost: every acknowledged record is in the log, at the partition and offset its
 *    acknowledgement gave;
 *  - none duplicated in the log: no value appears twice; offsets run without gaps; batches pass CRC;
 *  - every acknowledged record was consumed at least once (redeliveries are counted, not errors:
 *    consumers that crash re-read from the last commit);
 *  - committed offsets never went backwards (polled through OffsetFetch every half second, across
 *    restarts) and end at most at the log end.
 *
 * Prints the counts; exits 1 on any violation (the data directory is then kept for inspection).
 *
 * Options: --minutes N (default 1) --producers N (3) --consumers N (3) --partitions N (4)
 *          --rate RECORDS_PER_S_PER_PRODUCER (500) --seed N (random) --keep-data
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Producer } from '../src/client/producer.js';
import { Consumer } from '../src/client/consumer.js';
import { RawClient } from '../test/helpers/raw-client.js';
import { fetchAll } from '../test/helpers/fetch-all.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from '../test/helpers/broker-process.js';
import { createTopic, sleep } from '../test/helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { OffsetFetchRequest, OffsetFetchResponse } from '../src/protocol/messages/offset-fetch.js';

const TOPIC = 'soak';
const GROUP = 'soak-group';
const SELF = fileURLToPath(import.meta.url);

// Named limits of the run.
/** Outstanding send() calls per producer (each of RECORDS_PER_SEND records). */
const MAX_SENDS_IN_FLIGHT = 32;
const RECORDS_PER_SEND = 5;
/** After the chaos: how long producers may take to settle their last sends, and consumers to catch up. */
const PRODUCER_SETTLE_MS = 180_000;
const CATCH_UP_MS = 180_000;
/** A consumer given SIGTERM that has not exited after this long is killed. */
const CONSUMER_STOP_MS = 30_000;
const BROKER_START_MS = 60_000;
/** Pauses between chaos events, ms (uniformly random in the range). */
const BROKER_RESTART_EVERY: [number, number] = [8_000, 16_000];
const CONSUMER_RESTART_EVERY: [number, number] = [3_000, 8_000];
const BROKER_DOWN: [number, number] = [100, 1_500];
const COMMITTED_POLL_MS = 500;

/** Every child process started, so that none outlives this one, whatever way it ends. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Position {
  partition: number;
  offset: number;
}

/** mulberry32: a small seeded PRNG, so that a run's schedule can be repeated with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---- consumer child process ------------------------------------------------------------------------

/** `soak.js --consumer --bootstrap H:P --id N`: consume in the group, print `partition offset value` lines. */
async function consumerChild(bootstrap: string, id: string): Promise<void> {
  const consumer = new Consumer({
    bootstrap,
    clientId: `soak-consumer-${id}`,
    groupId: GROUP,
    autoOffsetReset: 'earliest',
    autoCommitIntervalMs: 1000,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 15_000,
    maxWaitMs: 200,
  });
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  consumer.subscribe(TOPIC);
  while (!stopping) {
    let batch;
    try {
      batch = await consumer.poll(1000, 250);
    } catch (err) {
      process.stderr.write(`consumer ${id}: ${(err as Error).message}\n`);
      await sleep(200);
      continue;
    }
    // Written synchronously (a pipe) before the next await, so an auto-commit never covers a record
    // that was not reported: what a kill -9 loses is re-read, never skipped.
    if (batch.length > 0) process.stdout.write(batch.map((m) => `${m.partition} ${m.offset} ${m.value!.toString()}\n`).join(''));
  }
  await consumer.close(); // commits what was handed out, leaves the group
  process.exit(0);
}

class ConsumerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private partial = '';
  private readonly stderrTail: string[] = [];

  constructor(
    readonly id: number,
    bootstrap: string,
    onRecord: (value: string, at: Position) => void,
  ) {
    this.child = spawn(process.execPath, [SELF, '--consumer', '--bootstrap', bootstrap, '--id', String(id)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.child);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (d: Buffer) => {
      const text = this.partial + d.toString();
      const lines = text.split('\n');
      this.partial = lines.pop()!; // a line cut by kill -9 is not a record
      for (const line of lines) {
        const [p, o, value] = line.split(' ');
        onRecord(value!, { partition: Number(p), offset: Number(o) });
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail.push(...d.toString().split('\n').filter(Boolean));
      this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - 20));
    });
  }

  get stderr(): string[] {
    return this.stderrTail;
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the consumer commits, leaves and exits; killed if it takes too long. Returns whether it exited by itself. */
  async stop(): Promise<boolean> {
    this.child.kill('SIGTERM');
    const clean = await Promise.race([this.exited.then(() => true), sleep(CONSUMER_STOP_MS).then(() => false)]);
    if (!clean) await this.kill9();
    return clean;
  }
}

// ---- the broker --------------------------------------------------------------------------------------

class BrokerRunner {
  proc: BrokerProcess | null = null;
  kills = 0;
  cleanStops = 0;
  uncleanExits: string[] = [];
  private readonly stderrLines: string[] = [];

  constructor(
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.proc = await startBrokerProcess(['--storage', 'log', '--data-dir', this.dataDir, '--port', String(this.port), '--log-level', 'warn'], {
          env: { RAFKA_STORAGE_FSYNC: 'always' },
          timeoutMs: BROKER_START_MS,
        });
        children.add(this.proc.child);
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        await sleep(500);
      }
    }
  }

  async restart(kind: 'kill' | 'clean', downMs: number): Promise<void> {
    const p = this.proc!;
    if (kind === 'kill') {
      await kill9(p);
      this.kills++;
    } else {
      const code = await stop(p);
      this.cleanStops++;
      if (code !== 0) this.uncleanExits.push(`clean stop exited with ${code}: ${p.stderr().trim().split('\n').slice(-5).join(' | ')}`);
    }
    this.collect(p);
    this.proc = null;
    await sleep(downMs);
    await this.start();
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    const p = this.proc;
    const code = await stop(p);
    if (code !== 0) this.uncleanExits.push(`final stop exited with ${code}`);
    this.collect(p);
    this.proc = null;
  }

  /** Error lines the broker logged (warnings are expected: clients vanish, connections are refused). */
  errors(): string[] {
    if (this.proc) this.collect(this.proc);
    return this.stderrLines.filter((l) => /\berror\b/i.test(l));
  }

  private collect(p: BrokerProcess): void {
    const lines = p.stderr().split('\n').filter(Boolean);
    (p as { collected?: number }).collected ??= 0;
    const from = (p as { collected?: number }).collected!;
    this.stderrLines.push(...lines.slice(from));
    (p as { collected?: number }).collected = lines.length;
  }
}

// ---- the run -----------------------------------------------------------------------------------------

interface Ledger {
  acked: Map<string, Position>;
  ackedAt: Map<string, string>; // "p:o" → value, to catch two records acknowledged at one offset
  failed: Map<string, string>;
  consumedCount: Map<string, number>;
  consumedAt: Map<string, Position>;
  deliveries: number;
  committed: number[];
  committedPolls: number;
  backwards: string[];
  violations: string[];
}

async function produceLoop(i: number, producer: Producer, ledger: Ledger, stopped: () => boolean, ratePerS: number, random: () => number): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const pauseMs = (1000 * RECORDS_PER_SEND) / ratePerS;
  let seq = 0;
  while (!stopped()) {
    if (inFlight.size >= MAX_SENDS_IN_FLIGHT) {
      await Promise.race(inFlight);
      continue;
    }
    const values = Array.from({ length: RECORDS_PER_SEND }, () => `p${i}-${seq++}`);
    const sent: Promise<void> = producer
      .send(TOPIC, values.map((value) => ({ key: `k${Math.floor(random() * 64)}`, value })))
      .then((results) =>
        results.forEach((m, k) => {
          const v = values[k]!;
          const where = `${m.partition}:${m.offset}`;
          const other = ledger.ackedAt.get(where);
          if (other !== undefined && other !== v) ledger.violations.push(`${v} and ${other} were both acknowledged at ${where}`);
          ledger.ackedAt.set(where, v);
          ledger.acked.set(v, { partition: m.partition, offset: m.offset });
        }),
      )
      .catch((err: Error) => values.forEach((v) => ledger.failed.set(v, err.message)))
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    await sleep(pauseMs);
  }
  await Promise.all(inFlight);
}

async function committedOffsets(port: number, partitions: number): Promise<number[]> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(ApiKey.OffsetFetch, 8, OffsetFetchRequest, OffsetFetchResponse, {
      groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: partitions }, (_, p) => p) }] }],
    });
    const out = new Array<number>(partitions).fill(-1);
    for (const t of res.groups[0]!.topics) for (const p of t.partitions) if (p.errorCode === 0) out[p.partitionIndex] = Number(p.committedOffset);
    return out;
  } finally {
    c.close();
  }
}

async function watchCommitted(broker: BrokerRunner, partitions: number, ledger: Ledger, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    try {
      const now = await withTimeout(committedOffsets(broker.port, partitions), 5000, 'OffsetFetch');
      now.forEach((o, p) => {
        if (o < ledger.committed[p]!) ledger.backwards.push(`partition ${p}: ${ledger.committed[p]} then ${o}`);
        ledger.committed[p] = Math.max(ledger.committed[p]!, o);
      });
      ledger.committedPolls++;
    } catch {
      // the broker is restarting
    }
    await sleep(COMMITTED_POLL_MS);
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' },
      producers: { type: 'string', default: '3' },
      consumers: { type: 'string', default: '3' },
      partitions: { type: 'string', default: '4' },
      rate: { type: 'string', default: '500' },
      seed: { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const minutes = Number(args.minutes);
  const producers = Number(args.producers);
  const consumers = Number(args.consumers);
  const partitions = Number(args.partitions);
  const rate = Number(args.rate);
  const seed = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
  for (const [name, v] of Object.entries({ minutes, producers, consumers, partitions, rate, seed })) {
    if (!Number.isFinite(v) || v < (name === 'seed' ? 0 : name === 'minutes' ? 0.05 : 1)) throw new Error(`--${name}: ${v} is not a valid value`);
  }
  const random = prng(seed);
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(random() * (hi - lo));
  const dataDir = mkdtempSync(join(tmpdir(), 'rafka-soak-'));
  const broker = new BrokerRunner(dataDir, await freePort());
  const log = (line: string) => process.stdout.write(`soak: ${line}\n`);
  log(`${minutes} min on the log engine (fsync=always), seed ${seed}, ${producers} producers, ${consumers} consumers, ${partitions} partitions, data in ${dataDir}`);

  const ledger: Ledger = {
    acked: new Map(),
    ackedAt: new Map(),
    failed: new Map(),
    consumedCount: new Map(),
    consumedAt: new Map(),
    deliveries: 0,
    committed: new Array<number>(partitions).fill(-1),
    committedPolls: 0,
    backwards: [],
    violations: [],
  };
  const onRecord = (value: string, at: Position) => {
    ledger.deliveries++;
    ledger.consumedCount.set(value, (ledger.consumedCount.get(value) ?? 0) + 1);
    const first = ledger.consumedAt.get(value);
    if (first === undefined) ledger.consumedAt.set(value, at);
    else if (first.partition !== at.partition || first.offset !== at.offset) {
      ledger.violations.push(`${value} consumed at ${first.partition}:${first.offset} and at ${at.partition}:${at.offset}`);
    }
  };

  await broker.start();
  const admin = await RawClient.connect(broker.port);
  await createTopic(admin, TOPIC, partitions, [{ name: 'internal.segment.bytes', value: String(1 << 20) }]); // rolls happen too
  admin.close();

  const started = Date.now();
  let stopChaos = false;
  let stopProducing = false;
  let stopWatching = false;
  const clients = Array.from({ length: producers }, (_, i) => new Producer({ bootstrap: broker.bootstrap, clientId: `soak-producer-${i}`, lingerMs: 5, deliveryTimeoutMs: 120_000 }));
  const producing = clients.map((p, i) => produceLoop(i, p, ledger, () => stopProducing, rate, prng(seed + 1 + i)));
  const watching = watchCommitted(broker, partitions, ledger, () => stopWatching);
  let nextConsumerId = 0;
  const live: ConsumerProcess[] = Array.from({ length: consumers }, () => new ConsumerProcess(nextConsumerId++, broker.bootstrap, onRecord));
  const consumerRestarts = { kill: 0, clean: 0, slowStops: 0 };

  // The chaos: broker restarts and consumer restarts, each on its own random schedule.
  const endAt = started + minutes * 60_000;
  const brokerChaos = (async () => {
    for (;;) {
      await sleep(between(BROKER_RESTART_EVERY));
      if (stopChaos || Date.now() >= endAt) return;
      const kind = random() < 0.5 ? 'kill' : 'clean';
      await broker.restart(kind, between(BROKER_DOWN));
      log(`${((Date.now() - started) / 1000).toFixed(0)} s: broker ${kind === 'kill' ? 'killed (kill -9)' : 'stopped cleanly'} and restarted; ${ledger.acked.size} acknowledged, ${ledger.consumedCount.size} consumed so far`);
    }
  })();
  const consumerChaos = (async () => {
    for (;;) {
      await sleep(between(CONSUMER_RESTART_EVERY));
      if (stopChaos || Date.now() >= endAt) return;
      const victim = live.splice(Math.floor(random() * live.length), 1)[0]!;
      if (random() < 0.5) {
        await victim.kill9();
        consumerRestarts.kill++;
      } else {
        if (!(await victim.stop())) consumerRestarts.slowStops++;
        consumerRestarts.clean++;
      }
      live.push(new ConsumerProcess(nextConsumerId++, broker.bootstrap, onRecord));
    }
  })();
  while (Date.now() < endAt) await sleep(200);
  stopChaos = true;
  await Promise.all([brokerChaos, consumerChaos]);

  // Settle: producers finish, consumers catch up with everything acknowledged, then stop cleanly.
  stopProducing = true;
  await withTimeout(Promise.all(producing), PRODUCER_SETTLE_MS, 'producers settling');
  await withTimeout(Promise.all(clients.map((p) => p.close())), 30_000, 'closing producers');
  const catchUpStart = Date.now();
  const missing = () => [...ledger.acked.keys()].filter((v) => !ledger.consumedCount.has(v));
  while (missing().length > 0 && Date.now() - catchUpStart < CATCH_UP_MS) await sleep(500);
  const catchUpMs = Date.now() - catchUpStart;
  for (const c of live.splice(0)) if (!(await c.stop())) consumerRestarts.slowStops++;
  stopWatching = true;
  await watching;
  const finalCommitted = await committedOffsets(broker.port, partitions);
  finalCommitted.forEach((o, p) => {
    if (o < ledger.committed[p]!) ledger.backwards.push(`partition ${p}: ${ledger.committed[p]} then ${o} (final)`);
  });

  // The log, read back through Fetch (every batch's CRC checked by the decoder).
  const inLog = new Map<string, Position>();
  const duplicates: string[] = [];
  const gaps: string[] = [];
  const logEnd: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const records = await fetchAll(broker.port, TOPIC, p);
    records.forEach((r, i) => {
      if (r.offset !== i && gaps.length < 10) gaps.push(`partition ${p}: offset ${r.offset} at position ${i}`);
      const v = r.value!.toString();
      if (inLog.has(v)) duplicates.push(`${v} at ${p}:${r.offset} and ${inLog.get(v)!.partition}:${inLog.get(v)!.offset}`);
      else inLog.set(v, { partition: p, offset: r.offset });
    });
    logEnd.push(records.length);
  }
  await broker.stop();

  const lost: string[] = [];
  const misplaced: string[] = [];
  const unconsumed: string[] = [];
  for (const [v, at] of ledger.acked) {
    const found = inLog.get(v);
    if (!found) lost.push(v);
    else if (found.partition !== at.partition || found.offset !== at.offset) misplaced.push(`${v}: acknowledged at ${at.partition}:${at.offset}, in the log at ${found.partition}:${found.offset}`);
    if (!ledger.consumedCount.has(v)) unconsumed.push(v);
  }
  const consumedWrong = [...ledger.consumedAt].filter(([v, at]) => {
    const found = inLog.get(v);
    return !found || found.partition !== at.partition || found.offset !== at.offset;
  });
  const overEnd = finalCommitted.map((o, p) => (o > logEnd[p]! ? `partition ${p}: committed ${o} > log end ${logEnd[p]}` : null)).filter((x) => x !== null);
  const failedInLog = [...ledger.failed.keys()].filter((v) => inLog.has(v)).length;
  const redelivered = ledger.deliveries - ledger.consumedCount.size;
  const brokerErrors = broker.errors();

  const problems: [string, string[]][] = [
    ['acknowledged records missing from the log', lost],
    ['acknowledged records at another offset', misplaced],
    ['values twice in the log', duplicates],
    ['offset gaps in the log', gaps],
    ['acknowledged records never consumed', unconsumed],
    ['records consumed at an offset the log does not hold them at', consumedWrong.map(([v, at]) => `${v} at ${at.partition}:${at.offset}`)],
    ['committed offsets that went backwards', ledger.backwards],
    ['committed offsets past the log end', overEnd],
    ['other violations', ledger.violations],
    ['broker exits that were not clean', broker.uncleanExits],
  ];
  const elapsed = (Date.now() - started) / 1000;
  log(`ran ${elapsed.toFixed(0)} s (${minutes} min of faults, consumers caught up in ${(catchUpMs / 1000).toFixed(1)} s)`);
  log(`faults: broker restarts ${broker.kills + broker.cleanStops} (${broker.kills} kill -9, ${broker.cleanStops} clean); consumer restarts ${consumerRestarts.kill + consumerRestarts.clean} (${consumerRestarts.kill} kill -9, ${consumerRestarts.clean} clean${consumerRestarts.slowStops ? `, ${consumerRestarts.slowStops} killed after not stopping in time` : ''})`);
  log(`produced: ${ledger.acked.size} records acknowledged, ${ledger.failed.size} sends failed (${failedInLog} of those in the log anyway)`);
  log(`log: ${inLog.size + duplicates.length} records in ${partitions} partitions (ends ${logEnd.join(',')}); ${lost.length} acknowledged lost, ${misplaced.length} misplaced, ${duplicates.length} duplicated, ${gaps.length} gaps`);
  log(`consumed: ${ledger.deliveries} deliveries of ${ledger.consumedCount.size} distinct records (${redelivered} redelivered after restarts); ${unconsumed.length} acknowledged records never consumed`);
  log(`committed offsets: ${ledger.committedPolls} polls, ${ledger.backwards.length} went backwards; final ${finalCommitted.join(',')}`);
  if (brokerErrors.length > 0) log(`broker error lines (${brokerErrors.length}), first: ${brokerErrors.slice(0, 3).join(' | ')}`);
  let failed = false;
  for (const [what, list] of problems) {
    if (list.length === 0) continue;
    failed = true;
    log(`VIOLATION: ${list.length} ${what}, e.g. ${list.slice(0, 5).join('; ')}`);
  }
  if (ledger.acked.size === 0) {
    failed = true;
    log('VIOLATION: nothing was acknowledged');
  }
  if (failed) {
    for (const c of live) if (c.stderr.length) log(`consumer ${c.id} stderr: ${c.stderr.join(' | ')}`);
    log(`FAILED (seed ${seed}); data kept in ${dataDir}`);
    process.exitCode = 1;
  } else {
    log('OK');
    if (!args['keep-data']) rmSync(dataDir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--consumer') {
  const { values } = parseArgs({ args: argv.slice(1), options: { bootstrap: { type: 'string' }, id: { type: 'string' } }, strict: true });
  consumerChild(values.bootstrap!, values.id!).catch((err) => {
    process.stderr.write(`consumer: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  });
} else {
  main().then(
    () => process.exit(),
    (err) => {
      process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
