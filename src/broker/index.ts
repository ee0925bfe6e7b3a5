/**
 * Embedding: `const broker = await startBroker({ port: 0 })` starts a broker in this process and
 * returns its bootstrap address. Without options it runs on the in-memory engine and 127.0.0.1:9092
 * (`storage: { type: 'log', path }` for the durable segment log), and with
 * `group.initial.rebalance.delay.ms` 0 (EMBEDDED_DEFAULTS). `hooks: [...]` takes hook objects and hook
 * specs (docs/hooks.md), run in that order; `faults: [...]` installs fault rules (docs/testing.md).
 * `httpListener: '127.0.0.1:0'` adds the HTTP endpoint (/metrics, /health, /ready;
 * docs/operations.md), its address in `httpUrl`. `clock: 'manual'` runs the broker on virtual time,
 * moved by `broker.clock.advance(ms)` (src/base/clock.ts, docs/testing.md).
 */
import type { PeerConnector } from './txn-markers-remote.js';
import type { BrokerConfig, StorageConfig } from '../config/types.js';
import { DEFAULT_CONFIG } from '../config/defaults.js';
import type { StorageEngine } from '../storage/engine.js';
import { createStorageEngine } from '../storage/index.js';
import { Broker } from './broker.js';
import { createLogger, type Logger } from './logger.js';
import { NO_HOOKS } from '../contracts/stages.js';
import type { HookEntry } from '../hooks/types.js';
import type { FaultInjector } from './faults.js';
import { ManualClock, SYSTEM_CLOCK, type Clock } from '../base/clock.js';
import { ensureCodecsLoadable } from '../protocol/codec/lazy.js';
import type { HttpExtension } from './http/server.js';

export interface StartBrokerOptions extends Partial<Omit<BrokerConfig, 'storage' | 'topicDefaults' | 'hooks'>> {
  storage?: Partial<StorageConfig> | StorageEngine;
  /** Hook objects and hook specs, in the order they run (docs/hooks.md). */
  hooks?: readonly HookEntry[];
  topicDefaults?: Partial<BrokerConfig['topicDefaults']>;
  logger?: Logger;
  /**
   * What the broker reads as now and waits on: 'system' (default) is real time; 'manual' is virtual
   * time starting at the real now, moved only by `clock.advance(ms)`; or a Clock of your own (e.g.
   * `new ManualClock(startMs)`).
   */
  clock?: 'system' | 'manual' | Clock;
  /**
   * Served by the HTTP endpoint besides /metrics, /health and /ready (with `httpListener` only). The
   * web console is one (src/console/); `startBroker` from the package root and `rafka start` add it.
   */
  httpExtensions?: readonly HttpExtension[];
  /**
   * Connections to other brokers (brokers sharing PostgreSQL send each other transaction markers;
   * src/broker/txn-markers-remote.ts). The broker layer does not import the client, so the layers
   * above hand it one: the package root's `startBroker`, `rafka start` and the test kit do.
   */
  peerConnector?: PeerConnector;
}

/** The clock a RunningBroker exposes for the options it was started with. */
export type ClockOf<O> = O extends { clock: 'manual' } ? ManualClock : O extends { clock: infer C extends Clock } ? C : Clock;

/**
 * Where embedded brokers differ from `rafka start` besides storage: they serve tests and tools that
 * start a broker per run, so a consumer group forms at once — `group.initial.rebalance.delay.ms` is 0,
 * as the Testcontainers Kafka module sets it, instead of Kafka's 3 s that every group's first join
 * would wait (ten kafkajs group tests took 30 s with it, under one without). Given options win.
 */
export const EMBEDDED_DEFAULTS: Readonly<Partial<BrokerConfig>> = Object.freeze({ groupInitialRebalanceDelayMs: 0 });

export interface RunningBroker<C extends Clock = Clock> {
  /** `host:port` for clients' bootstrap.servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  /** `http://host:port` of the HTTP endpoint (`httpListener`), or null without one. */
  readonly httpUrl: string | null;
  readonly broker: Broker;
  /** Injected faults (docs/testing.md): `faults.inject({ api: 'Produce', errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 })`. */
  readonly faults: FaultInjector;
  /** The broker's clock: with `clock: 'manual'`, `clock.advance(ms)` moves its time (docs/testing.md). */
  readonly clock: C;
  /** Drop every topic, group, transaction and producer state, and the faults (Broker.reset). */
  reset(): Promise<void>;
  /** Every listener: name, security protocol and the address its clients connect to. */
  readonly listeners: readonly { name: string; protocol: string; host: string; port: number; bootstrap: string }[];
  close(): Promise<void>;
}

/**
 * Embedded brokers keep the pure in-memory engine unless told otherwise (start-up in milliseconds,
 * nothing on disk); the standalone broker's default (DEFAULT_CONFIG.storage) is the segment log.
 */
export const EMBEDDED_STORAGE: StorageConfig = Object.freeze({ ...DEFAULT_CONFIG.storage, type: 'memory', path: null });

function isEngine(s: unknown): s is StorageEngine {
  return typeof s === 'object' && s !== null && typeof (s as StorageEngine).append === 'function';
}

export async function startBroker<O extends StartBrokerOptions>(options?: O): Promise<RunningBroker<ClockOf<O>>>;
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { storage, topicDefaults, logger, clock: clockOption, httpExtensions, peerConnector, ...rest } = options;
  const clock = clockOption === 'manual' ? new ManualClock() : clockOption === undefined || clockOption === 'system' ? SYSTEM_CLOCK : clockOption;
  const storageConfig: StorageConfig = isEngine(storage) ? { ...EMBEDDED_STORAGE, type: storage.kind as StorageConfig['type'] } : { ...EMBEDDED_STORAGE, ...stripUndefined(storage ?? {}) };
  const config: BrokerConfig = {
    ...DEFAULT_CONFIG,
    ...EMBEDDED_DEFAULTS,
    ...stripUndefined(rest),
    storage: storageConfig,
    topicDefaults: { ...DEFAULT_CONFIG.topicDefaults, ...(stripUndefined(topicDefaults ?? {}) as Record<string, string>) },
  };
  // As in Kafka, the broker's message.max.bytes is the default of the topic config max.message.bytes.
  if (rest.messageMaxBytes !== undefined && topicDefaults?.['max.message.bytes'] === undefined) {
    config.topicDefaults['max.message.bytes'] = String(rest.messageMaxBytes);
  }
  const log = logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  // A no-op where require(esm) works; in Jest's ESM sandbox, loads the codecs with import() (lazy.ts).
  await ensureCodecsLoadable();
  // Metrics exist only with an HTTP endpoint to serve them (prom-client then runs on the endpoint's
  // worker thread, src/broker/http/front-worker.ts, never on this one). They come first, so that the
  // hooks and the storage engine are built with them watching.
  const metrics = config.httpListener !== null ? new (await import('./metrics/metrics.js')).BrokerMetrics() : null;
  // Hooks load first: a broken hook (bad module, bad options) stops the start before storage opens.
  // The loader and the built-in hooks (ajv for json-schema) are imported only when hooks are configured.
  const hooks =
    config.hooks.length > 0 ? await (await import('../hooks/load.js')).createHooks(config.hooks, { timeoutMs: config.hookTimeoutMs, log, observer: metrics }) : NO_HOOKS;
  const engine = isEngine(storage)
    ? storage
    : await createStorageEngine(config.storage, { topicDefaults: config.topicDefaults, nodeId: config.nodeId, shared: true, warn: (m) => log.warn(`storage: ${m}`), observer: metrics, now: () => clock.now() });
  const broker = new Broker(config, engine, log, clock);
  broker.hooks = hooks;
  broker.metrics = metrics;
  broker.peerConnector = peerConnector ?? null;
  // The endpoint listens before storage opens, so /health and /ready (503) answer during recovery.
  const endpoint =
    metrics !== null && config.httpListener !== null ? await (await import('./http/server.js')).startHttpEndpoint(broker, metrics, config.httpListener, httpExtensions) : null;
  try {
    await broker.start();
  } catch (err) {
    await endpoint?.close();
    throw err;
  }
  if (endpoint !== null) log.info(`http endpoint on ${endpoint.url} (${['/metrics, /health, /ready', ...(httpExtensions ?? []).map((e) => e.name)].join('; ')})`);
  const host = broker.advertisedHost;
  return {
    bootstrap: `${host}:${broker.advertisedPort}`,
    host,
    port: broker.port,
    clusterId: broker.clusterId,
    httpUrl: endpoint?.url ?? null,
    broker,
    faults: broker.faults,
    clock,
    reset: () => broker.reset(),
    listeners: broker.listeners.map((l) => ({
      name: l.name,
      protocol: l.config.protocol,
      host: l.advertisedHost,
      port: l.advertisedPort,
      bootstrap: `${l.advertisedHost}:${l.advertisedPort}`,
    })),
    close: () => broker.close(),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { Broker };
