import { kafkaTopicConfigDefaults } from './topic-configs.js';
import type { BrokerConfig, TopicDefaults } from './types.js';

/**
 * Kafka's `message.max.bytes` default (1 MiB + the 12-byte log overhead); also the default of the
 * topic config `max.message.bytes`, whose broker-level synonym it is.
 */
const MESSAGE_MAX_BYTES = 1048588;

/**
 * The broker's defaults: Kafka's where Kafka has the setting, safe local-development values where
 * it doesn't (bind to 127.0.0.1, not all interfaces).
 *
 * `topicDefaults` holds Kafka's default of every public topic config (see topic-configs.ts), e.g.
 * cleanup.policy=delete, retention.ms=604800000 (7 days), retention.bytes=-1,
 * max.message.bytes=1048588, message.timestamp.type=CreateTime, segment.bytes=1073741824,
 * segment.ms=604800000, min.insync.replicas=1, compression.type=producer,
 * delete.retention.ms=86400000, min.compaction.lag.ms=0, max.compaction.lag.ms / flush.messages /
 * flush.ms / message.timestamp.{before,after}.max.ms = 9223372036854775807 (Long.MAX_VALUE),
 * segment.index.bytes=10485760, index.interval.bytes=4096, file.delete.delay.ms=60000,
 * min.cleanable.dirty.ratio=0.5, preallocate=false, unclean.leader.election.enable=false,
 * local.retention.{ms,bytes}=-2, remote.storage.enable=false, segment.jitter.ms=0.
 */
export const DEFAULT_CONFIG: BrokerConfig = deepFreeze({
  host: '127.0.0.1',
  port: 9092,
  advertisedHost: null,
  advertisedPort: null,
  nodeId: 1,
  clusterId: null,
  // The standalone broker (`rafka start`) keeps its data in ./data with the segment log, every
  // acknowledged produce fsynced (group commit). Embedded `startBroker()` overrides this with the
  // pure in-memory engine (EMBEDDED_STORAGE in src/broker/index.ts).
  storage: { type: 'log', path: './data', fsync: 'always', fsyncIntervalMs: 1000, journal: false, walSnapshotBytes: 67108864, url: null, poolSize: 4 },
  autoCreateTopicsEnable: true,
  numPartitions: 1,
  defaultReplicationFactor: 1,
  socketRequestMaxBytes: 104857600,
  maxInFlightRequestsPerConnection: 100,
  maxConnections: 2147483647,
  maxConnectionsPerIp: 2147483647,
  maxConnectionsPerIpOverrides: null,
  queuedMaxRequestBytes: 104857600,
  queuedMaxResponseBytes: 104857600,
  producerStateMaxEntries: 100000,
  connectionsMaxIdleMs: 600000,
  messageMaxBytes: MESSAGE_MAX_BYTES,
  fetchMaxBytes: 57671680,
  maxIncrementalFetchSessionCacheSlots: 1000,
  logRetentionCheckIntervalMs: 300000,
  // Kafka's broker.session.timeout.ms and broker.heartbeat.interval.ms defaults.
  brokerSessionTimeoutMs: 9000,
  brokerHeartbeatIntervalMs: 2000,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  groupMaxSize: 2147483647,
  groupConsumerSessionTimeoutMs: 45000,
  groupConsumerHeartbeatIntervalMs: 5000,
  groupConsumerMinSessionTimeoutMs: 45000,
  groupConsumerMaxSessionTimeoutMs: 60000,
  groupConsumerMinHeartbeatIntervalMs: 5000,
  groupConsumerMaxHeartbeatIntervalMs: 15000,
  groupConsumerMaxSize: 2147483647,
  groupConsumerAssignors: 'uniform,range',
  groupConsumerMigrationPolicy: 'bidirectional',
  offsetsRetentionMinutes: 10080,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetMetadataMaxBytes: 4096,
  transactionMaxTimeoutMs: 900000,
  transactionalIdExpirationMs: 604800000,
  transactionAbortTimedOutTransactionCleanupIntervalMs: 10000,
  transactionRemoveExpiredTransactionCleanupIntervalMs: 3600000,
  hookTimeoutMs: 1000,
  hooks: [],
  faults: [],
  topicDefaults: {
    ...kafkaTopicConfigDefaults(),
    'max.message.bytes': String(MESSAGE_MAX_BYTES),
  } as TopicDefaults,
  // No HTTP endpoint unless asked for: it is a second open port, unauthenticated, whose metrics name
  // every topic and consumer group.
  httpListener: null,
  httpConsoleReadOnly: true,
  httpAuthExempt: ['/health', '/ready'],
  httpSslEnabled: false,
  httpSslKeystoreLocation: null,
  httpSslKeystoreCertificateChain: null,
  httpSslKeystoreKey: null,
  httpSslKeyPassword: null,
  httpSslTruststoreLocation: null,
  httpSslTruststoreCertificates: null,
  httpSslClientAuth: 'none',
  logLevel: 'info',
  logFormat: 'text',
  // Security: Kafka's defaults, except the keystore/truststore type (PEM, the one Rafka reads) and
  // the SASL mechanisms (Kafka's GSSAPI is not implemented).
  listeners: null,
  advertisedListeners: null,
  listenerSecurityProtocolMap: null,
  sslKeystoreType: 'PEM',
  sslKeystoreLocation: null,
  sslKeystoreCertificateChain: null,
  sslKeystoreKey: null,
  sslKeyPassword: null,
  sslTruststoreType: 'PEM',
  sslTruststoreLocation: null,
  sslTruststoreCertificates: null,
  sslClientAuth: 'none',
  sslEnabledProtocols: ['TLSv1.2', 'TLSv1.3'],
  sslPrincipalMappingRules: 'DEFAULT',
  saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
  saslUsers: [],
  saslOauthbearerJwksEndpointUrl: null,
  saslOauthbearerExpectedIssuer: null,
  saslOauthbearerExpectedAudience: null,
  saslOauthbearerSubClaimName: 'sub',
  saslOauthbearerClockSkewSeconds: 30,
  saslOauthbearerAllowUnsecuredJwt: false,
  connectionsMaxReauthMs: 0,
  connectionFailedAuthenticationDelayMs: 100,
  interBrokerListenerName: null,
  saslMechanismInterBrokerProtocol: 'PLAIN',
  saslJaasConfig: null,
  authorizerEnabled: false,
  authorizerClassName: null,
  superUsers: null,
  allowEveryoneIfNoAclFound: false,
  quotaWindowNum: 11,
  quotaWindowSizeSeconds: 1,
  controllerQuotaWindowNum: 11,
  controllerQuotaWindowSizeSeconds: 1,
});

/** A fresh, mutable deep copy of the defaults. */
export function defaultConfig(): BrokerConfig {
  return {
    ...DEFAULT_CONFIG,
    storage: { ...DEFAULT_CONFIG.storage },
    topicDefaults: { ...DEFAULT_CONFIG.topicDefaults },
  };
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}
