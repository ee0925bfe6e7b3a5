/**
 * The broker's resolved configuration: every key has a value once defaults, the YAML file, RAFKA_*
 * environment variables and CLI flags have been merged (in that order of precedence). Names follow
 * Kafka's where Kafka has the setting (`socket.request.max.bytes` becomes `socketRequestMaxBytes`).
 */
import type { HookConfigEntry } from './hook-entry.js';
import type { FaultSpec } from './fault-entry.js';
import type { InterBrokerSaslMechanism, SaslMechanism, SaslUserConfig, SslClientAuth, SslProtocol } from './security.js';

export type StorageType = 'memory' | 'log' | 'rocksdb' | 'postgres';

/**
 * When durable engines fsync appended data (docs/storage.md):
 * - `always`: an append resolves only once its bytes are synced; appends that arrive while an fsync
 *   is in flight share the next one (group commit);
 * - `interval`: appends resolve once written; dirty files are synced every `fsyncIntervalMs`;
 * - `never`: the OS decides; files are synced only at segment roll and shutdown.
 * Topics' `flush.messages` / `flush.ms` (Kafka's names) tighten this per topic.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface StorageConfig {
  /** Engine name. `memory` without `path` is the pure in-memory reference engine. */
  type: StorageType;
  /** Data directory for durable engines; null for none. */
  path: string | null;
  /** Durable engines: when appended data is fsynced. Absent = `always`. */
  fsync?: FsyncPolicy;
  /** Period of the `interval` policy in ms. Absent = 1000. */
  fsyncIntervalMs?: number;
  /**
   * `log` engine with `fsync: always`: one shared journal's fdatasync makes the appends of all
   * partitions durable, instead of one segment fdatasync each (src/storage/log/journal.ts). Absent = false.
   */
  journal?: boolean;
  /** `memory` engine with a path: WAL bytes that trigger a snapshot (src/storage/memory-wal/). Absent = 64 MiB. */
  walSnapshotBytes?: number;
  /** `postgres` engine: connection URL (postgres://user:pass@host:port/db); null or absent = the PG* environment variables. */
  url?: string | null;
  /** `postgres` engine: connections in its pool. Absent = 4. */
  poolSize?: number;
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
  /** Kafka `max.connections`: open client connections; a connection past it is closed at once. */
  maxConnections: number;
  /** Kafka `max.connections.per.ip`: open connections from one IP address. */
  maxConnectionsPerIp: number;
  /** Kafka `max.connections.per.ip.overrides`: `ip:count,ip:count`; null = none. */
  maxConnectionsPerIpOverrides: string | null;
  /**
   * Kafka `queued.max.request.bytes`: broker-wide cap on request bytes read and not yet handled; at
   * it, connections that already have a request waiting stop reading.
   */
  queuedMaxRequestBytes: number;
  /**
   * `queued.max.response.bytes`: broker-wide cap on response bytes handed to sockets but not yet
   * written to the kernel (fetch responses fill it). At the cap, Fetch requests wait for room.
   */
  queuedMaxResponseBytes: number;
  /** `producer.state.max.entries`: idempotent producer/partition entries kept; least recently written forgotten first. */
  producerStateMaxEntries: number;
  /** Kafka `connections.max.idle.ms`. */
  connectionsMaxIdleMs: number;
  /** Kafka `message.max.bytes`: the broker default for topics' `max.message.bytes`. */
  messageMaxBytes: number;
  /** Kafka `fetch.max.bytes`: cap on one fetch response. */
  fetchMaxBytes: number;
  /** Kafka `max.incremental.fetch.session.cache.slots`: most fetch sessions (KIP-227) kept at once; 0 = none. */
  maxIncrementalFetchSessionCacheSlots: number;
  /** Kafka `log.retention.check.interval.ms`: how often retention and compaction run. */
  logRetentionCheckIntervalMs: number;
  /** Kafka `broker.session.timeout.ms`: a shared-database broker's lease (shared-cluster.ts). */
  brokerSessionTimeoutMs: number;
  /** Kafka `broker.heartbeat.interval.ms`: how often it renews the lease and refreshes its view. */
  brokerHeartbeatIntervalMs: number;
  /** Kafka `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits for more members. */
  groupInitialRebalanceDelayMs: number;
  /** Kafka `group.min.session.timeout.ms`: smallest session timeout a member may ask for. */
  groupMinSessionTimeoutMs: number;
  /** Kafka `group.max.session.timeout.ms`: largest session timeout a member may ask for. */
  groupMaxSessionTimeoutMs: number;
  /** Kafka `group.max.size`: most members in one consumer group. */
  groupMaxSize: number;
  /** Kafka `group.consumer.session.timeout.ms`: a KIP-848 member not heard from this long is removed. */
  groupConsumerSessionTimeoutMs: number;
  /** Kafka `group.consumer.heartbeat.interval.ms`: how often KIP-848 members are told to heartbeat. */
  groupConsumerHeartbeatIntervalMs: number;
  /** Kafka `group.consumer.min.session.timeout.ms`/`max`: bounds of a group's `consumer.session.timeout.ms` override. */
  groupConsumerMinSessionTimeoutMs: number;
  groupConsumerMaxSessionTimeoutMs: number;
  /** Kafka `group.consumer.min.heartbeat.interval.ms`/`max`: bounds of a group's `consumer.heartbeat.interval.ms` override. */
  groupConsumerMinHeartbeatIntervalMs: number;
  groupConsumerMaxHeartbeatIntervalMs: number;
  /** Kafka `group.consumer.max.size`: most members in one KIP-848 consumer group. */
  groupConsumerMaxSize: number;
  /** Kafka `group.consumer.assignors`: server-side assignors members may pick, the first the default. */
  groupConsumerAssignors: string;
  /**
   * Kafka `group.consumer.migration.policy`: whether a classic group with members converts to a
   * consumer-protocol group when a KIP-848 member joins (upgrade), and back when the last one leaves
   * (downgrade).
   */
  groupConsumerMigrationPolicy: 'bidirectional' | 'upgrade' | 'downgrade' | 'disabled';
  /** Kafka `offsets.retention.minutes`: committed offsets of an empty group expire this long after it became empty. */
  offsetsRetentionMinutes: number;
  /** Kafka `offsets.retention.check.interval.ms`: how often expired offsets are removed. */
  offsetsRetentionCheckIntervalMs: number;
  /** Kafka `transaction.max.timeout.ms`: largest transaction timeout a producer may ask for. */
  transactionMaxTimeoutMs: number;
  /** Kafka `transactional.id.expiration.ms`: an idle transactional id is forgotten this long after its last update. */
  transactionalIdExpirationMs: number;
  /** Kafka `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out transactions are aborted. */
  transactionAbortTimedOutTransactionCleanupIntervalMs: number;
  /** Kafka `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired transactional ids are removed. */
  transactionRemoveExpiredTransactionCleanupIntervalMs: number;
  /** Kafka `offset.metadata.max.bytes`: longest metadata string of one committed offset. */
  offsetMetadataMaxBytes: number;
  /** `hook.timeout.ms`: the longest one hook call may take before its stage fails (src/hooks/). */
  hookTimeoutMs: number;
  /** `hooks:`: hooks on the request path, in the order they run (docs/hooks.md). */
  hooks: readonly HookConfigEntry[];
  /** `faults:`: fault rules installed at start (docs/testing.md); for tests of clients, never production. */
  faults: readonly FaultSpec[];
  /** Kafka `log.retention.ms` etc. as topic defaults. */
  topicDefaults: TopicDefaults;
  /**
   * `http.listener`: `HOST:PORT` of the HTTP endpoint (Prometheus `/metrics`, `/health`, `/ready`;
   * src/broker/http/); null = none. Port 0 picks a free port.
   */
  httpListener: string | null;
  /**
   * `http.console.read.only`: the web console at `/` of the HTTP endpoint (src/broker/http/console/)
   * only reads; false lets it create and delete topics, alter configs, produce and reset offsets.
   */
  httpConsoleReadOnly: boolean;
  /**
   * `http.auth.exempt`: exact paths of the HTTP endpoint answered without authentication when the
   * endpoint requires it (src/broker/http/auth.ts); default /health and /ready.
   */
  httpAuthExempt: readonly string[];
  /** `http.ssl.enabled`: the HTTP endpoint speaks TLS only (src/broker/http/server.ts). */
  httpSslEnabled: boolean;
  /** `http.ssl.keystore.location`; with the two inline settings all null, the endpoint uses ssl.keystore.*. */
  httpSslKeystoreLocation: string | null;
  /** `http.ssl.keystore.certificate.chain`: inline PEM. */
  httpSslKeystoreCertificateChain: string | null;
  /** `http.ssl.keystore.key`: inline PEM (a secret). */
  httpSslKeystoreKey: string | null;
  /** `http.ssl.key.password` (a secret). */
  httpSslKeyPassword: string | null;
  /** `http.ssl.truststore.location`; with http.ssl.truststore.certificates null, the endpoint uses ssl.truststore.*. */
  httpSslTruststoreLocation: string | null;
  /** `http.ssl.truststore.certificates`: inline PEM. */
  httpSslTruststoreCertificates: string | null;
  /** `http.ssl.client.auth`: client certificates on the HTTP endpoint. */
  httpSslClientAuth: SslClientAuth;
  /** Log level for the broker's own log lines. */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** `log.format`: the broker's log lines as text (`<time> <LEVEL> <message> key=value…`) or as JSON objects, one a line. */
  logFormat: 'text' | 'json';

  // ---- security (docs/security.md; parsed and checked in security.ts) ----
  /** Kafka `listeners`: `NAME://host:port` each; null = one PLAINTEXT listener on host:port. */
  listeners: readonly string[] | null;
  /** Kafka `advertised.listeners`: `NAME://host:port` per listener name; null = each listener's own. */
  advertisedListeners: readonly string[] | null;
  /** Kafka `listener.security.protocol.map`; null = Kafka's default (PLAINTEXT:PLAINTEXT,SSL:SSL,...). */
  listenerSecurityProtocolMap: string | null;
  /** Kafka `ssl.keystore.type`: PEM only. */
  sslKeystoreType: 'PEM';
  /** Kafka `ssl.keystore.location`: a PEM file with the private key and certificate chain. */
  sslKeystoreLocation: string | null;
  /** Kafka `ssl.keystore.certificate.chain`: inline PEM. */
  sslKeystoreCertificateChain: string | null;
  /** Kafka `ssl.keystore.key`: inline PEM (a secret). */
  sslKeystoreKey: string | null;
  /** Kafka `ssl.key.password`: password of an encrypted private key (a secret). */
  sslKeyPassword: string | null;
  /** Kafka `ssl.truststore.type`: PEM only. */
  sslTruststoreType: 'PEM';
  /** Kafka `ssl.truststore.location`: PEM file of trusted CA certificates. */
  sslTruststoreLocation: string | null;
  /** Kafka `ssl.truststore.certificates`: inline PEM. */
  sslTruststoreCertificates: string | null;
  /** Kafka `ssl.client.auth`. */
  sslClientAuth: SslClientAuth;
  /** Kafka `ssl.enabled.protocols`. */
  sslEnabledProtocols: readonly SslProtocol[];
  /** Kafka `ssl.principal.mapping.rules`. */
  sslPrincipalMappingRules: string;
  /** Kafka `sasl.enabled.mechanisms`. */
  saslEnabledMechanisms: readonly SaslMechanism[];
  /** `sasl.users`: users bootstrapped from the configuration. */
  saslUsers: readonly SaslUserConfig[];
  /** Kafka `sasl.oauthbearer.jwks.endpoint.url`: https://, http:// or file://; null = no signed tokens. */
  saslOauthbearerJwksEndpointUrl: string | null;
  /** Kafka `sasl.oauthbearer.expected.issuer`. */
  saslOauthbearerExpectedIssuer: string | null;
  /** Kafka `sasl.oauthbearer.expected.audience`. */
  saslOauthbearerExpectedAudience: readonly string[] | null;
  /** Kafka `sasl.oauthbearer.sub.claim.name`. */
  saslOauthbearerSubClaimName: string;
  /** Kafka `sasl.oauthbearer.clock.skew.seconds`. */
  saslOauthbearerClockSkewSeconds: number;
  /** `sasl.oauthbearer.allow.unsecured.jwt`: Kafka's unsecured (alg none) validator, made explicit. */
  saslOauthbearerAllowUnsecuredJwt: boolean;
  /** Kafka `connections.max.reauth.ms` (KIP-368); 0 = sessions never expire. */
  connectionsMaxReauthMs: number;
  /** Kafka `connection.failed.authentication.delay.ms`. */
  connectionFailedAuthenticationDelayMs: number;
  /** Kafka `inter.broker.listener.name`; null = the first listener. */
  interBrokerListenerName: string | null;
  /** Kafka `sasl.mechanism.inter.broker.protocol` (GSSAPI, Kafka's default, is not implemented: PLAIN here). */
  saslMechanismInterBrokerProtocol: InterBrokerSaslMechanism;
  /** Kafka `sasl.jaas.config`: this broker's own username and password for the inter-broker listener (a secret). */
  saslJaasConfig: string | null;
  /** `authorizer.enabled`: ACLs are checked (Kafka: authorizer.class.name naming StandardAuthorizer). */
  authorizerEnabled: boolean;
  /** Kafka `authorizer.class.name`; only StandardAuthorizer (or null) is accepted. */
  authorizerClassName: string | null;
  /** Kafka `super.users`: `User:admin;User:bob`. */
  superUsers: string | null;
  /** Kafka `allow.everyone.if.no.acl.found`. */
  allowEveryoneIfNoAclFound: boolean;
  /** Kafka `quota.window.num`: windows a client quota's rate is measured over. */
  quotaWindowNum: number;
  /** Kafka `quota.window.size.seconds`. */
  quotaWindowSizeSeconds: number;
  /** Kafka `controller.quota.window.num`: controller_mutation_rate's burst, in windows. */
  controllerQuotaWindowNum: number;
  /** Kafka `controller.quota.window.size.seconds`. */
  controllerQuotaWindowSizeSeconds: number;
}
