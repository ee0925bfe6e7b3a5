/**
 * `rafka/testing`: Rafka as the Kafka of another project's test suite (docs/testing.md).
 *
 * - `startTestBroker()`: `startBroker()` with test presets (TEST_BROKER_OPTIONS: memory engine, a
 *   free port, auto-created topics, no initial rebalance delay, short group sessions allowed, quiet
 *   logs), and helpers bound to it.
 * - `broker.reset()` drops every topic, group, transaction and producer state between tests;
 *   `uniqueName()` gives per-test topic and group names where a broker is shared.
 * - Helpers that speak the Kafka protocol through Rafka's own client, so they work against any
 *   bootstrap address (a broker in this process, one started by a global setup, or a real Kafka):
 *   `createTopics`, `consumeAll`, `lag`, and `waitFor` for polling a condition.
 * - `startCluster({ brokers: 3 })`: several brokers over one state, with partition leaders spread
 *   across them, brokers stopped and started, leaders moved (cluster.ts).
 * - Global setups: `rafka/testing/node-test` (`node --test --import`), `rafka/testing/vitest`
 *   (`globalSetup`), `rafka/testing/jest-setup` / `jest-teardown`; `workerBootstrap()` picks the
 *   broker of the current Vitest or Jest worker.
 */
import { randomBytes } from 'node:crypto';
import { startBroker, type ClockOf, type RunningBroker, type StartBrokerOptions } from '../broker/index.js';
import type { Clock, ManualClock } from '../base/clock.js';
import { createLogger } from '../broker/logger.js';
import { Admin } from '../client/admin.js';
import { Consumer } from '../client/consumer.js';
import { connectPeer } from '../client/peer.js';
import type { ConsumerMessage } from '../client/records.js';

export type { ConsumerMessage };
// Virtual time (docs/testing.md): startTestBroker({ clock: 'manual' }), then broker.clock.advance(ms).
export { ManualClock, SYSTEM_CLOCK } from '../base/clock.js';
export type { Clock, ClockTimer } from '../base/clock.js';
export type { FaultSpec, FaultRecord, InjectedFault, FaultKind } from '../broker/faults.js';
export { FaultSpecError, GROUP_COORDINATOR_APIS } from '../broker/faults.js';
// Many brokers in one process (docs/testing.md): startCluster({ brokers: 3 }).
export { startCluster, CLUSTER_MAX_BROKERS } from './cluster.js';
export type { StartClusterOptions, TestCluster, ClusterBroker, PartitionLeader } from './cluster.js';

/**
 * What a test broker starts with, besides what `startBroker()` already does for embedding (memory
 * engine, `group.initial.rebalance.delay.ms` 0): a free port on loopback, topics created on first
 * use, group session timeouts down to 100 ms accepted (Kafka's minimum is 6 s, too long for a test
 * of a consumer being kicked out), and only errors logged. Options given to `startTestBroker` win.
 */
export const TEST_BROKER_OPTIONS: Readonly<StartBrokerOptions> = Object.freeze<StartBrokerOptions>({
  host: '127.0.0.1',
  port: 0,
  storage: { type: 'memory', path: null },
  autoCreateTopicsEnable: true,
  groupInitialRebalanceDelayMs: 0,
  groupMinSessionTimeoutMs: 100,
  logLevel: 'error',
});

/** A broker reachable by its bootstrap address: a RunningBroker, or `host:port`. */
export type BrokerTarget = string | { readonly bootstrap: string };

export interface NewTestTopic {
  readonly topic: string;
  /** Default 1. */
  readonly partitions?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface GroupLag {
  /** Sum over the partitions the group has committed offsets for. */
  readonly total: number;
  readonly partitions: readonly { topic: string; partition: number; committed: number; highWatermark: number; lag: number }[];
}

/** A test broker: the RunningBroker (with `faults` and `reset()`) and the helpers bound to it. */
export interface TestBroker<C extends Clock = Clock> extends RunningBroker<C> {
  createTopics(topics: readonly (string | NewTestTopic)[]): Promise<void>;
  consumeAll(topic: string, options?: ConsumeAllOptions): Promise<ConsumerMessage[]>;
  lag(groupId: string): Promise<GroupLag>;
}

/** Start a broker for tests (TEST_BROKER_OPTIONS, then `options`). */
export async function startTestBroker<O extends StartBrokerOptions>(options?: O): Promise<TestBroker<ClockOf<O>>>;
export async function startTestBroker(options: StartBrokerOptions = {}): Promise<TestBroker> {
  const merged = { ...TEST_BROKER_OPTIONS, ...options };
  const running = await startBroker({ peerConnector: connectPeer, ...merged, logger: options.logger ?? createLogger(merged.logLevel ?? 'error') });
  return {
    ...running,
    createTopics: (topics) => createTopics(running, topics),
    consumeAll: (topic, opts) => consumeAll(running, topic, opts),
    lag: (groupId) => lag(running, groupId),
  };
}

function bootstrapOf(target: BrokerTarget): string {
  return typeof target === 'string' ? target : target.bootstrap;
}

let nameCounter = 0;

/** A name no other test in this process (nor, very likely, any other) uses: `prefix-1-a3f09c`. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${++nameCounter}-${randomBytes(3).toString('hex')}`;
}

/** Create topics (names, or names with partitions and configs); an existing one is an error. */
export async function createTopics(target: BrokerTarget, topics: readonly (string | NewTestTopic)[]): Promise<void> {
  const admin = new Admin({ bootstrap: bootstrapOf(target), clientId: 'rafka-testing' });
  try {
    await admin.createTopics(
      topics.map((t) => (typeof t === 'string' ? { topic: t, numPartitions: 1 } : { topic: t.topic, numPartitions: t.partitions ?? 1, configs: { ...t.configs } })),
    );
  } finally {
    await admin.close();
  }
}

export interface ConsumeAllOptions {
  /** Give up (reject) after this long; default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * Every record of a topic, all partitions, from the log start to the end as it is when called
 * (records produced meanwhile may or may not be included), in offset order per partition.
 */
export async function consumeAll(target: BrokerTarget, topic: string, options: ConsumeAllOptions = {}): Promise<ConsumerMessage[]> {
  const bootstrap = bootstrapOf(target);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const admin = new Admin({ bootstrap, clientId: 'rafka-testing' });
  let ends: { partition: number; offset: number }[];
  try {
    ends = await admin.listOffsets(topic, 'latest');
  } finally {
    await admin.close();
  }
  const consumer = new Consumer({ bootstrap, clientId: 'rafka-testing', autoOffsetReset: 'earliest', autoCommit: false, maxWaitMs: 50 });
  const out: ConsumerMessage[] = [];
  try {
    consumer.assign(ends.map((e) => ({ topic, partition: e.partition })));
    const reached = () => ends.every((e) => (consumer.position({ topic, partition: e.partition }) ?? 0) >= e.offset);
    while (!reached()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const where = ends.map((e) => `${e.partition}: ${consumer.position({ topic, partition: e.partition }) ?? 'none'}/${e.offset}`).join(', ');
        throw new Error(`consumeAll(${topic}): not at the end after ${options.timeoutMs ?? 10_000} ms (partition: position/end ${where})`);
      }
      for (const m of await consumer.poll(10_000, Math.min(left, 200))) out.push(m);
    }
  } finally {
    await consumer.close();
  }
  // Records past the ends read as the last poll ran: beyond "as it is when called".
  const endOf = new Map(ends.map((e) => [e.partition, e.offset]));
  return out.filter((m) => m.offset < endOf.get(m.partition)!);
}

/** A group's lag: per partition it has committed, the high watermark minus the committed offset. */
export async function lag(target: BrokerTarget, groupId: string): Promise<GroupLag> {
  const admin = new Admin({ bootstrap: bootstrapOf(target), clientId: 'rafka-testing' });
  try {
    const committed = await admin.listGroupOffsets(groupId);
    const ends = new Map<string, Map<number, number>>();
    for (const topic of new Set(committed.map((c) => c.topic))) {
      ends.set(topic, new Map((await admin.listOffsets(topic, 'latest')).map((e) => [e.partition, e.offset])));
    }
    const partitions = committed.map((c) => {
      const highWatermark = ends.get(c.topic)?.get(c.partition) ?? c.offset;
      return { topic: c.topic, partition: c.partition, committed: c.offset, highWatermark, lag: Math.max(highWatermark - c.offset, 0) };
    });
    return { total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
  } finally {
    await admin.close();
  }
}

export interface WaitForOptions {
  /** Default 5 s. */
  readonly timeoutMs?: number;
  /** Between attempts; default 20 ms. */
  readonly intervalMs?: number;
  /** Named in the timeout's error. */
  readonly message?: string;
}

/**
 * Call `condition` until it returns something other than false, null or undefined without throwing,
 * and resolve with that; reject after the timeout with the last error (or value) seen.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Exclude<T, false | null | undefined>> {
  const intervalMs = options.intervalMs ?? 20;
  return pollUntil('waitFor', condition, options.timeoutMs ?? 5_000, options.message, () => new Promise((r) => setTimeout(r, intervalMs)));
}

export interface AdvanceUntilOptions {
  /** Virtual time per step; default 100 ms. Keep it well below the clients' session timeouts. */
  readonly stepMs?: number;
  /** Real time between steps, for clients to send their next requests; default 5 ms. */
  readonly pauseMs?: number;
  /** Real time before giving up; default 5 s. */
  readonly timeoutMs?: number;
  /** Named in the timeout's error. */
  readonly message?: string;
}

/**
 * On virtual time (`clock: 'manual'`): move the clock `stepMs` at a time, with a short real pause
 * after each step, until `condition` holds (as in `waitFor`); resolves with its value. Steps, not one
 * jump, because clients keep real-time habits: kafkajs heartbeats from its fetch loop, so a member
 * stays in its group only if virtual time moves in steps it can answer (each step ends its long poll,
 * and it heartbeats before the next one). A consumer whose heartbeats are held back (a `delayMs`
 * fault) is then the only one whose session runs out.
 */
export async function advanceUntil<T>(
  clock: ManualClock,
  condition: () => T | Promise<T>,
  options: AdvanceUntilOptions = {},
): Promise<Exclude<T, false | null | undefined>> {
  const stepMs = options.stepMs ?? 100;
  const pauseMs = options.pauseMs ?? 5;
  return pollUntil('advanceUntil', condition, options.timeoutMs ?? 5_000, options.message, async () => {
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, pauseMs));
  });
}

async function pollUntil<T>(
  name: string,
  condition: () => T | Promise<T>,
  timeoutMs: number,
  message: string | undefined,
  between: () => Promise<void>,
): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await condition();
      if (v !== false && v !== null && v !== undefined) return v as Exclude<T, false | null | undefined>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? last.message : `last value ${String(last)}`;
      throw new Error(`${name}${message ? ` (${message})` : ''}: not met within ${timeoutMs} ms: ${why}`, { cause: last });
    }
    await between();
  }
}

// ---- one broker per worker --------------------------------------------------------------------

/** Environment variable the global setups set: the bootstrap of the first broker (or the only one). */
export const BOOTSTRAP_ENV = 'KAFKA_BOOTSTRAP';
/** `KAFKA_BOOTSTRAP_<n>`: the broker of worker n (Vitest's VITEST_POOL_ID, Jest's JEST_WORKER_ID, from 1). */
export const WORKER_BOOTSTRAP_ENV_PREFIX = 'KAFKA_BOOTSTRAP_';
/** Brokers a global setup starts, at most, whatever the worker count says. */
export const GLOBAL_SETUP_BROKERS_MAX = 64;

/**
 * The bootstrap address of this worker's broker: `KAFKA_BOOTSTRAP_<worker id>` when a global setup
 * started one per worker, else `KAFKA_BOOTSTRAP`. Throws when neither is set.
 */
export function workerBootstrap(env: NodeJS.ProcessEnv = process.env): string {
  const id = env.VITEST_POOL_ID ?? env.JEST_WORKER_ID;
  const own = id === undefined ? undefined : env[`${WORKER_BOOTSTRAP_ENV_PREFIX}${id}`];
  const found = own ?? env[BOOTSTRAP_ENV];
  if (found === undefined || found === '') throw new Error(`${BOOTSTRAP_ENV} is not set: add rafka/testing's global setup to the test runner (docs/testing.md)`);
  return found;
}

/**
 * What a global setup does: start `count` test brokers and publish their addresses in `env`
 * (KAFKA_BOOTSTRAP, and KAFKA_BOOTSTRAP_1 … _n). Returns them, first the one in KAFKA_BOOTSTRAP.
 */
export async function startWorkerBrokers(count: number, env: NodeJS.ProcessEnv = process.env, options: StartBrokerOptions = {}): Promise<TestBroker[]> {
  const n = Math.min(Math.max(Math.floor(count) || 1, 1), GLOBAL_SETUP_BROKERS_MAX);
  const brokers: TestBroker[] = [];
  try {
    for (let i = 0; i < n; i++) brokers.push(await startTestBroker(options));
  } catch (err) {
    await Promise.all(brokers.map((b) => b.close()));
    throw err;
  }
  env[BOOTSTRAP_ENV] = brokers[0]!.bootstrap;
  brokers.forEach((b, i) => (env[`${WORKER_BOOTSTRAP_ENV_PREFIX}${i + 1}`] = b.bootstrap));
  return brokers;
}

/** Workers a global setup starts brokers for: RAFKA_TEST_BROKERS, else the runner's count, else 1. */
export function brokerCount(runnerWorkers: unknown, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.RAFKA_TEST_BROKERS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return typeof runnerWorkers === 'number' && Number.isInteger(runnerWorkers) && runnerWorkers > 0 ? runnerWorkers : 1;
}
