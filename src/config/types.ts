/**
 * The broker's resolved configuration: every key has a value once defaults, the YAML file, RAFKA_*
 * environment variables and CLI flags have been merged (in that order of precedence). Names follow
 * Kafka's where Kafka has the setting (`socket.request.max.bytes` becomes `socketRequestMaxBytes`).
 */
export type StorageType = 'memory' | 'log' | 'rocksdb';

export interface StorageConfig {
  /** Engine name. `memory` without `path` is the pure in-memory reference engine. */
  type: StorageType;
  /** Data directory for durable engines; null for none. */
  path: string | null;
}

/** Topic config defaults the broker applies to new topics (Kafka's broker-level `log.*` defaults). */
export interface TopicDefaults {
  'cleanup.policy': string;
  'retention.ms': string;
  'retention.bytes': string;
  'max.message.bytes': string;
  'message.timestamp.type': string;
  'segment.bytes': string;
  [name: string]: string;
}

export interface BrokerConfig {
  /** Interface to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free port. */
  port: number;
  /** Host name Metadata tells clients to connect to (defaults to `host`, or 127.0.0.1 for 0.0.0.0). */
  advertisedHost: string | null;
  /** Port Metadata tells clients to connect to (defaults to the bound port). */
  advertisedPort: number | null;
  nodeId: number;
  /** Cluster id; null = generate one (and persist it when storage is durable). */
  clusterId: string | null;
  storage: StorageConfig;
  /** Kafka `auto.create.topics.enable`. */
  autoCreateTopicsEnable: boolean;
  /** Kafka `num.partitions`: partitions of auto-created topics. */
  numPartitions: number;
  /** Kafka `default.replication.factor`. */
  defaultReplicationFactor: number;
  /** Kafka `socket.request.max.bytes`: the largest request frame accepted (checked before allocation). */
  socketRequestMaxBytes: number;
  /** Requests read from one connection but not yet answered; reading pauses at this limit. */
  maxInFlightRequestsPerConnection: number;
  /** Kafka `max.connections`. */
  maxConnections: number;
  /** Kafka `connections.max.idle.ms`. */
  connectionsMaxIdleMs: number;
  /** Kafka `message.max.bytes`: the broker default for topics' `max.message.bytes`. */
  messageMaxBytes: number;
  /** Kafka `fetch.max.bytes`: cap on one fetch response. */
  fetchMaxBytes: number;
  /** Kafka `log.retention.ms` etc. as topic defaults. */
  topicDefaults: TopicDefaults;
  /** Log level for the broker's own log lines. */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}
