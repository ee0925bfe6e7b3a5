/**
 * What a client knows about the cluster: brokers, topics and partition leaders (from Metadata), and
 * one connection per broker and purpose. Producer, Consumer and Admin each own one Cluster.
 *
 * Connections are keyed by node id and purpose. Kafka answers the requests of one connection one at a
 * time, so a consumer's long-polling fetch would hold up its heartbeats if both shared a connection;
 * the Java client keeps a separate connection to the group coordinator for the same reason. A broken
 * connection is dropped from the pool and the next request opens a new one (reconnect).
 *
 * Metadata is refreshed for the set of topics the client uses (never "all topics" unless asked), at
 * most one request at a time: callers that ask while a refresh is running wait for the next one.
 */
import { Connection, type RequestOptions } from './connection.js';
import { saslMechanismName, type SaslOptions } from './sasl.js';
import type { SslOptions } from './tls.js';
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import { ensureCodecsLoadable } from '../protocol/codec/lazy.js';
import { ApiKey, MetadataRequest, MetadataResponse } from '../protocol/messages/index.js';
import { ErrorCode, isRetriable } from '../protocol/error-codes.js';
import { ZERO_UUID } from '../protocol/codec/uuid.js';
import { ClientClosedError, ConnectionError, KafkaClientError, KafkaProtocolError, isRetriableError } from './errors.js';

export interface ClusterOptions {
  /** `host:port`, a comma-separated list of them, or an array. */
  bootstrap: string | readonly string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** First retry delay; doubles up to retryBackoffMaxMs (Kafka: retry.backoff.ms / retry.backoff.max.ms). */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Let Metadata requests create missing topics (Kafka's allow.auto.create.topics, default true). */
  allowAutoTopicCreation?: boolean;
  /** Refresh metadata at least this often (Kafka's metadata.max.age.ms, default 5 minutes). */
  metadataMaxAgeMs?: number;
  /**
   * TLS on every connection (bootstrap, brokers, coordinators): true, or tls.connect options
   * (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`, …). The broker's certificate and
   * host name are verified. See docs/client.md.
   */
  ssl?: boolean | SslOptions;
  /** SASL login on every connection: PLAIN, SCRAM-SHA-256/512 or OAUTHBEARER. See docs/client.md. */
  sasl?: SaslOptions;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** -1 when the partition has no leader right now. */
  leader: number;
  leaderEpoch: number;
  errorCode: number;
  replicas: number[];
  isr: number[];
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

export type Purpose = 'main' | 'fetch' | 'fetch2' | 'poll' | 'group';

function parseBootstrap(b: string | readonly string[]): { host: string; port: number }[] {
  const list = (typeof b === 'string' ? b.split(',') : b).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new KafkaClientError('RAFKA_CONFIG', 'bootstrap must name at least one host:port', false);
  return list.map((s) => {
    const i = s.lastIndexOf(':');
    const host = i > 0 ? s.slice(0, i).replace(/^\[(.*)\]$/, '$1') : s;
    const port = i > 0 ? Number(s.slice(i + 1)) : 9092;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new KafkaClientError('RAFKA_CONFIG', `invalid port in bootstrap address ${JSON.stringify(s)}`, false);
    return { host, port };
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Cluster {
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly connectTimeoutMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly metadataMaxAgeMs: number;
  private readonly ssl: boolean | SslOptions | undefined;
  private readonly sasl: SaslOptions | undefined;
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  /** Topic errors from the last metadata answer (UNKNOWN_TOPIC_OR_PARTITION, …). */
  readonly topicErrors = new Map<string, number>();
  controllerId = -1;
  clusterId: string | null = null;
  private readonly interest = new Set<string>();
  private readonly conns = new Map<string, Promise<Connection>>();
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;
  private bootstrapIndex = 0;
  private closed = false;

  constructor(opts: ClusterOptions) {
    this.bootstrap = parseBootstrap(opts.bootstrap);
    this.clientId = opts.clientId ?? 'rafka';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.retryBackoffMs = opts.retryBackoffMs ?? 100;
    this.retryBackoffMaxMs = opts.retryBackoffMaxMs ?? 1000;
    this.allowAutoTopicCreation = opts.allowAutoTopicCreation ?? true;
    this.metadataMaxAgeMs = opts.metadataMaxAgeMs ?? 300_000;
    this.ssl = opts.ssl;
    this.sasl = opts.sasl;
    if (this.sasl) saslMechanismName(this.sasl); // a ConfigError from the constructor, not from the first send
  }

  /** Exponential backoff for attempt n (0-based), with ±20% jitter as Kafka's ExponentialBackoff. */
  backoff(attempt: number): number {
    const base = Math.min(this.retryBackoffMaxMs, this.retryBackoffMs * 2 ** Math.min(attempt, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private open(key: string, host: string, port: number): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const existing = this.conns.get(key);
    if (existing) return existing;
    // ensureCodecsLoadable: a no-op after the first call, except in a sandbox that refuses require(esm) (Jest).
    const p = ensureCodecsLoadable()
      .then(() => Connection.connect({ host, port, clientId: this.clientId, connectTimeoutMs: this.connectTimeoutMs, requestTimeoutMs: this.requestTimeoutMs, ssl: this.ssl, sasl: this.sasl }))
      .then(
      (c) => {
        c.onClose(() => {
          if (this.conns.get(key) === p) this.conns.delete(key);
        });
        if (this.closed) c.close();
        return c;
      },
      (e) => {
        if (this.conns.get(key) === p) this.conns.delete(key);
        throw e;
      },
    );
    this.conns.set(key, p);
    return p;
  }

  /** The connection to broker `nodeId` for `purpose`, opened when needed. */
  async connection(nodeId: number, purpose: Purpose = 'main'): Promise<Connection> {
    let b = this.brokers.get(nodeId);
    if (!b) {
      await this.refreshMetadata();
      b = this.brokers.get(nodeId);
      if (!b) throw new KafkaProtocolError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`);
    }
    return this.open(`${nodeId}/${purpose}`, b.host, b.port);
  }

  /** A connection to whichever broker answers: a known broker first, else a bootstrap address. */
  async anyConnection(): Promise<Connection> {
    for (const [nodeId, b] of this.brokers) {
      const key = `${nodeId}/main`;
      const existing = this.conns.get(key);
      if (existing) {
        try {
          const c = await existing;
          if (!c.closed) return c;
        } catch {
          /* try the next */
        }
      }
      try {
        return await this.open(key, b.host, b.port);
      } catch {
        /* try the next */
      }
    }
    let lastError: unknown;
    for (let i = 0; i < this.bootstrap.length; i++) {
      const b = this.bootstrap[(this.bootstrapIndex + i) % this.bootstrap.length]!;
      try {
        return await this.open(`bootstrap/${b.host}:${b.port}`, b.host, b.port);
      } catch (e) {
        lastError = e;
      }
    }
    this.bootstrapIndex = (this.bootstrapIndex + 1) % this.bootstrap.length;
    throw lastError instanceof Error ? lastError : new ConnectionError('no broker reachable');
  }

  /** Send a request to a broker (by node id) or to any broker (nodeId undefined). */
  async send<Req, Res>(nodeId: number | undefined, apiKey: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: Init<Req> | ((version: number) => Init<Req>), opts: RequestOptions & { purpose?: Purpose } = {}): Promise<Res> {
    const conn = nodeId === undefined ? await this.anyConnection() : await this.connection(nodeId, opts.purpose);
    const version = opts.version ?? conn.version(apiKey);
    const b = typeof body === 'function' ? (body as (v: number) => Init<Req>)(version) : body;
    return conn.request(apiKey, req, res, b, { ...opts, version });
  }

  /**
   * Run `fn` until it succeeds, retrying retriable errors with backoff until `deadline` (ms epoch).
   * `onRetry` runs before each retry (e.g. to refresh metadata).
   */
  async retry<T>(fn: (attempt: number) => Promise<T>, opts: { deadline?: number; retries?: number; onRetry?: (e: unknown) => Promise<void> | void } = {}): Promise<T> {
    const deadline = opts.deadline ?? Date.now() + this.requestTimeoutMs * 2;
    const retries = opts.retries ?? Infinity;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (e) {
        if (this.closed) throw e instanceof ClientClosedError ? e : new ClientClosedError();
        const wait = this.backoff(attempt);
        if (!isRetriableError(e) || attempt >= retries || Date.now() + wait > deadline) throw e;
        await sleep(wait);
        if (opts.onRetry) await opts.onRetry(e);
      }
    }
  }

  /** Add topics to the set metadata refreshes cover. */
  addTopics(topics: Iterable<string>): void {
    for (const t of topics) this.interest.add(t);
  }

  /**
   * Refresh metadata for the topics of interest (plus `topics`). A caller that arrives while a refresh
   * runs waits for it and then joins (or starts) the next one, so its answer is never older than its call.
   */
  async refreshMetadata(topics?: Iterable<string>): Promise<void> {
    if (topics) this.addTopics(topics);
    if (this.refreshing) {
      try {
        await this.refreshing;
      } catch {
        /* the next refresh reports its own error */
      }
    }
    if (!this.refreshing) {
      // One attempt: callers retry within their own deadlines (Cluster.retry), never a nested loop.
      this.refreshing = this.fetchMetadata([...this.interest]).then(() => {}).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Metadata for `topics` (null: every topic), applied to the cache, and the raw answer returned. */
  async fetchMetadata(topics: string[] | null, allowAutoTopicCreation = this.allowAutoTopicCreation): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const version = conn.version(ApiKey.Metadata);
    const res = await conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation,
    }, { version });
    this.applyMetadata(res);
    return res;
  }

  private applyMetadata(res: MetadataResponse): void {
    this.lastRefresh = Date.now();
    if (res.brokers.length > 0) {
      this.brokers.clear();
      for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    }
    this.controllerId = res.controllerId;
    this.clusterId = res.clusterId;
    for (const t of res.topics) {
      if (t.name === null) continue;
      this.topicErrors.set(t.name, t.errorCode);
      if (t.errorCode !== ErrorCode.NONE && t.partitions.length === 0) {
        this.topics.delete(t.name);
        continue;
      }
      const partitions: PartitionInfo[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          errorCode: p.errorCode,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
        };
      }
      this.topics.set(t.name, { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions });
    }
  }

  /** Whether the cached metadata is older than metadataMaxAgeMs. */
  get metadataStale(): boolean {
    return Date.now() - this.lastRefresh > this.metadataMaxAgeMs;
  }

  /**
   * Metadata for a topic, fetching it when missing. Retries while the topic is being created
   * (LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION are retriable) until `deadline`.
   */
  async topic(name: string, deadline = Date.now() + this.requestTimeoutMs * 2): Promise<TopicInfo> {
    const cached = this.topics.get(name);
    if (cached && cached.partitions.length > 0 && !this.metadataStale) return cached;
    this.interest.add(name);
    return this.retry(
      async () => {
        await this.refreshMetadata();
        const t = this.topics.get(name);
        const code = this.topicErrors.get(name) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (!t || t.partitions.length === 0) throw new KafkaProtocolError(code === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : code, `topic ${name}`);
        return t;
      },
      { deadline },
    );
  }

  topicById(topicId: string): TopicInfo | undefined {
    for (const t of this.topics.values()) if (t.topicId === topicId) return t;
    return undefined;
  }

  /** Whether an error means our metadata is out of date (leader moved, topic created or deleted). */
  static needsMetadataRefresh(code: number): boolean {
    return (
      code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
      code === ErrorCode.LEADER_NOT_AVAILABLE ||
      code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
      code === ErrorCode.FENCED_LEADER_EPOCH ||
      code === ErrorCode.UNKNOWN_LEADER_EPOCH ||
      code === ErrorCode.UNKNOWN_TOPIC_ID ||
      code === ErrorCode.INCONSISTENT_TOPIC_ID ||
      code === ErrorCode.NOT_CONTROLLER ||
      code === ErrorCode.BROKER_NOT_AVAILABLE ||
      code === ErrorCode.KAFKA_STORAGE_ERROR ||
      code === ErrorCode.REPLICA_NOT_AVAILABLE
    );
  }

  static retriable(code: number): boolean {
    return isRetriable(code);
  }

  /** Close a broker's connection of one purpose (e.g. to cancel a long poll). */
  async dropConnection(nodeId: number, purpose: Purpose): Promise<void> {
    const p = this.conns.get(`${nodeId}/${purpose}`);
    if (!p) return;
    this.conns.delete(`${nodeId}/${purpose}`);
    try {
      (await p).close();
    } catch {
      /* never opened */
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => {})));
  }
}
