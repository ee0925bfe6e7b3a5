/**
 * The rafka.yaml format: one table of settings (file key, BrokerConfig field, type, range, RAFKA_*
 * variable, CLI flag) from which the JSON Schema, the environment mapping and the CLI flags derive,
 * so the three can't drift apart. See config/rafka.yaml for the documented file.
 *
 * File shape (keys as Kafka users know them; dotted keys are plain YAML keys, not nesting):
 *
 *   host: 127.0.0.1
 *   port: 9092
 *   advertised.host: null
 *   advertised.port: null
 *   node.id: 1
 *   cluster.id: null
 *   storage:
 *     type: memory            # `storage_type` is accepted as an alias (the seed's form)
 *     path: null
 *   auto.create.topics.enable: true
 *   num.partitions: 1
 *   ... (every Setting below with a one-segment path)
 *   http.listener: null       # HOST:PORT of /metrics, /health, /ready and the web console
 *   http.console.read.only: true
 *   log.level: info
 *   log.format: text
 *   topic.defaults:
 *     retention.ms: 604800000  # any Kafka topic config name, validated by topic-configs.ts
 */
import type { ErrorObject } from 'ajv';
import { validate as generatedValidator } from './file-shape-validator.js';
import { TOPIC_CONFIGS } from './topic-configs.js';
import { BUILTIN_HOOK_NAMES } from './hook-entry.js';
import { FAULT_DROP_POINTS, FAULT_ENTRY_KEYS } from './fault-entry.js';
import type { BrokerConfig, FsyncPolicy, StorageConfig, StorageType } from './types.js';
import { INTER_BROKER_SASL_MECHANISMS, SASL_MECHANISMS, SSL_CLIENT_AUTH, SSL_PROTOCOLS } from './security.js';

export const STORAGE_TYPES: readonly StorageType[] = ['memory', 'log', 'rocksdb', 'postgres'];
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'never'];
export const LOG_LEVELS: readonly BrokerConfig['logLevel'][] = ['error', 'warn', 'info', 'debug'];
export const LOG_FORMATS: readonly BrokerConfig['logFormat'][] = ['text', 'json'];
export const CONSUMER_MIGRATION_POLICIES: readonly BrokerConfig['groupConsumerMigrationPolicy'][] = ['bidirectional', 'upgrade', 'downgrade', 'disabled'];

/** A StorageConfig field as a Setting addresses it: `storage.type`, `storage.fsyncIntervalMs`. */
export type StorageField = `storage.${keyof StorageConfig & string}`;

/** BrokerConfig fields a Setting can target (storage's are addressed as `storage.<StorageConfig field>`). */
export type SettingField = Exclude<keyof BrokerConfig, 'storage' | 'topicDefaults' | 'saslUsers'> | StorageField;

/** Whether a setting lives in the `storage` section (its field is then `storage.<StorageConfig field>`). */
export function isStorageField(field: SettingField): field is StorageField {
  return field.startsWith('storage.');
}

/** `list`: Kafka's comma-separated string, or a YAML list of strings (resolved to string[]). */
export type SettingKind = 'int' | 'string' | 'boolean' | 'enum' | 'list';

export interface Setting {
  /** Path of the key in the YAML file, e.g. ['num.partitions'] or ['storage', 'type']. */
  path: readonly string[];
  /** The path as users write it: `num.partitions`, `storage.type`. */
  key: string;
  field: SettingField;
  kind: SettingKind;
  nullable: boolean;
  min?: number;
  max?: number;
  /** Allowed values of an `enum` setting, or of each item of a `list` setting. */
  values?: readonly string[];
  /** A `string` setting's form: a regular expression, and how error messages describe it. */
  pattern?: { regex: string; form: string };
  /** RAFKA_* variables, primary first (the primary follows the general rule). */
  env: readonly string[];
  /** CLI flag of `rafka start` without the leading `--`, if there is one. */
  flag?: string;
  /** A secret (a key, a password): its value never appears in an error message or a log line. */
  secret?: boolean;
  doc: string;
}

const INT32_MAX = 2147483647;

/**
 * `http.listener`: `HOST:PORT` with a port 0-65535 (0: any free port); an IPv6 host goes in brackets.
 * Checked by the schema, so a bad value is reported like any other bad setting, with its line.
 */
export const HTTP_LISTENER_PATTERN =
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)$';

/** `max.connections.per.ip.overrides`: Kafka's `host:count` list, comma-separated (IPv6 hosts keep their colons). */
export const CONNECTION_OVERRIDES_PATTERN = '^\\s*[^\\s,]+:\\d+\\s*(,\\s*[^\\s,]+:\\d+\\s*)*$';

/** `group.consumer.assignors`: the names (or Kafka class names) of the server-side assignors, comma-separated. */
export const CONSUMER_ASSIGNORS_PATTERN =
  '^\\s*(uniform|range|org\\.apache\\.kafka\\.coordinator\\.group\\.assignor\\.(Uniform|Range)Assignor)\\s*(,\\s*(uniform|range|org\\.apache\\.kafka\\.coordinator\\.group\\.assignor\\.(Uniform|Range)Assignor)\\s*)*$';

/** The general rule: `RAFKA_` + the key upper-cased, with '.' and '-' turned into '_'. */
export function envNameForKey(key: string): string {
  return 'RAFKA_' + key.toUpperCase().replace(/[.-]/g, '_');
}

type SettingSpec = Omit<Setting, 'key' | 'env' | 'path' | 'nullable'> & {
  path?: readonly string[];
  key: string;
  nullable?: boolean;
  envAliases?: readonly string[];
};

function setting(s: SettingSpec): Setting {
  const path = s.path ?? [s.key];
  const { envAliases, ...rest } = s;
  return Object.freeze({
    ...rest,
    path,
    nullable: s.nullable ?? false,
    env: [envNameForKey(s.key), ...(envAliases ?? [])],
  });
}

// ---- security: listeners, TLS, SASL (docs/security.md; values checked in src/config/security.ts) --

/** Kafka's names and defaults, kept apart from the other settings so the two lists merge cleanly. */
const SECURITY_SETTINGS: readonly Setting[] = [
  setting({
    key: 'listeners', field: 'listeners', kind: 'list', nullable: true,
    doc: 'Kafka listeners, NAME://host:port, comma-separated or a list; null = PLAINTEXT on host and port.',
  }),
  setting({
    key: 'advertised.listeners', field: 'advertisedListeners', kind: 'list', nullable: true,
    doc: 'What Metadata gives clients of each listener, NAME://host:port; null = advertised.host/port or the listener itself.',
  }),
  setting({
    key: 'listener.security.protocol.map', field: 'listenerSecurityProtocolMap', kind: 'string', nullable: true,
    doc: "Listener name to security protocol, NAME:PROTOCOL,...; null = Kafka's default (each protocol's own name).",
  }),
  setting({ key: 'ssl.keystore.type', field: 'sslKeystoreType', kind: 'enum', values: ['PEM'], doc: 'Only PEM keystores are read.' }),
  setting({
    key: 'ssl.keystore.location', field: 'sslKeystoreLocation', kind: 'string', nullable: true,
    doc: 'PEM file holding the private key and the certificate chain; reloaded when it changes.',
  }),
  setting({
    key: 'ssl.keystore.certificate.chain', field: 'sslKeystoreCertificateChain', kind: 'string', nullable: true,
    doc: 'The certificate chain as inline PEM (instead of ssl.keystore.location).',
  }),
  setting({
    key: 'ssl.keystore.key', field: 'sslKeystoreKey', kind: 'string', nullable: true, secret: true,
    doc: 'The private key as inline PEM (instead of ssl.keystore.location).',
  }),
  setting({ key: 'ssl.key.password', field: 'sslKeyPassword', kind: 'string', nullable: true, secret: true, doc: 'Password of an encrypted private key.' }),
  setting({ key: 'ssl.truststore.type', field: 'sslTruststoreType', kind: 'enum', values: ['PEM'], doc: 'Only PEM truststores are read.' }),
  setting({
    key: 'ssl.truststore.location', field: 'sslTruststoreLocation', kind: 'string', nullable: true,
    doc: 'PEM file of the CA certificates client certificates are checked against; reloaded when it changes.',
  }),
  setting({
    key: 'ssl.truststore.certificates', field: 'sslTruststoreCertificates', kind: 'string', nullable: true,
    doc: 'The trusted CA certificates as inline PEM (instead of ssl.truststore.location).',
  }),
  setting({
    key: 'ssl.client.auth', field: 'sslClientAuth', kind: 'enum', values: SSL_CLIENT_AUTH,
    doc: 'Client certificates on SSL listeners: none, requested (checked when given) or required (mTLS).',
  }),
  setting({ key: 'ssl.enabled.protocols', field: 'sslEnabledProtocols', kind: 'list', values: SSL_PROTOCOLS, doc: 'TLS versions accepted.' }),
  setting({
    key: 'ssl.principal.mapping.rules', field: 'sslPrincipalMappingRules', kind: 'string',
    doc: 'Client certificate subject to principal name: RULE:pattern/replacement/[LU], ..., DEFAULT.',
  }),
  setting({
    key: 'sasl.enabled.mechanisms', field: 'saslEnabledMechanisms', kind: 'list', values: SASL_MECHANISMS,
    doc: 'SASL mechanisms SASL listeners offer.',
  }),
  setting({
    key: 'sasl.oauthbearer.jwks.endpoint.url', field: 'saslOauthbearerJwksEndpointUrl', kind: 'string', nullable: true,
    doc: 'OAUTHBEARER: the JWKS that token signatures are checked against (https://, http:// or file://).',
  }),
  setting({
    key: 'sasl.oauthbearer.expected.issuer', field: 'saslOauthbearerExpectedIssuer', kind: 'string', nullable: true,
    doc: "OAUTHBEARER: the token's iss must be this; null = not checked.",
  }),
  setting({
    key: 'sasl.oauthbearer.expected.audience', field: 'saslOauthbearerExpectedAudience', kind: 'list', nullable: true,
    doc: "OAUTHBEARER: the token's aud must hold one of these; null = not checked.",
  }),
  setting({
    key: 'sasl.oauthbearer.sub.claim.name', field: 'saslOauthbearerSubClaimName', kind: 'string',
    doc: 'OAUTHBEARER: the claim that names the principal.',
  }),
  setting({
    key: 'sasl.oauthbearer.clock.skew.seconds', field: 'saslOauthbearerClockSkewSeconds', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'OAUTHBEARER: how far exp, nbf and iat may be off.',
  }),
  setting({
    key: 'sasl.oauthbearer.allow.unsecured.jwt', field: 'saslOauthbearerAllowUnsecuredJwt', kind: 'boolean',
    doc: "OAUTHBEARER: accept unsigned (alg none) tokens without a JWKS, as Kafka's default unsecured validator; tests only.",
  }),
  setting({
    key: 'connections.max.reauth.ms', field: 'connectionsMaxReauthMs', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER,
    doc: 'KIP-368: a SASL session lasts this long, then the client must re-authenticate or is disconnected; 0 = forever.',
  }),
  setting({
    key: 'connection.failed.authentication.delay.ms', field: 'connectionFailedAuthenticationDelayMs', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'A failed login is answered, and its connection closed, this long after it arrived.',
  }),
  // The broker as a client of the other brokers (transaction markers, docs/cluster.md): Kafka's names.
  setting({
    key: 'inter.broker.listener.name', field: 'interBrokerListenerName', kind: 'string', nullable: true,
    doc: "The listener brokers connect to each other on (each broker's endpoint of that name); null = the first listener.",
  }),
  setting({
    key: 'sasl.mechanism.inter.broker.protocol', field: 'saslMechanismInterBrokerProtocol', kind: 'enum', values: INTER_BROKER_SASL_MECHANISMS,
    doc: 'SASL mechanism this broker logs in to the others with when the inter-broker listener uses SASL.',
  }),
  setting({
    key: 'sasl.jaas.config', field: 'saslJaasConfig', kind: 'string', nullable: true, secret: true,
    doc: 'This broker\'s own login on a SASL inter-broker listener: a PlainLoginModule or ScramLoginModule with username="…" password="…";.',
  }),
  setting({
    key: 'authorizer.enabled', field: 'authorizerEnabled', kind: 'boolean',
    doc: "Check every request against the ACLs (Kafka's StandardAuthorizer); false = everyone may do everything.",
  }),
  setting({
    key: 'authorizer.class.name', field: 'authorizerClassName', kind: 'string', nullable: true,
    doc: "Kafka's way to turn the authorizer on: org.apache.kafka.metadata.authorizer.StandardAuthorizer (the same as authorizer.enabled: true).",
  }),
  setting({
    key: 'super.users', field: 'superUsers', kind: 'string', nullable: true,
    doc: 'Principals the authorizer always allows, separated by semicolons: User:admin;User:bob.',
  }),
  setting({
    key: 'allow.everyone.if.no.acl.found', field: 'allowEveryoneIfNoAclFound', kind: 'boolean',
    doc: 'With the authorizer on: a resource without any ACL is open to everyone (Kafka default: false).',
  }),
  // Client quotas (src/broker/quotas/): rates are measured over window.num windows of window.size.seconds.
  setting({
    key: 'quota.window.num', field: 'quotaWindowNum', kind: 'int', min: 1, max: 1000,
    doc: 'Client quotas (producer_byte_rate, consumer_byte_rate, request_percentage): windows a rate is measured over.',
  }),
  setting({
    key: 'quota.window.size.seconds', field: 'quotaWindowSizeSeconds', kind: 'int', min: 1, max: 3600,
    doc: 'Client quotas: the length of one window.',
  }),
  setting({
    key: 'controller.quota.window.num', field: 'controllerQuotaWindowNum', kind: 'int', min: 1, max: 1000,
    doc: 'controller_mutation_rate: windows of burst its token bucket holds.',
  }),
  setting({
    key: 'controller.quota.window.size.seconds', field: 'controllerQuotaWindowSizeSeconds', kind: 'int', min: 1, max: 3600,
    doc: 'controller_mutation_rate: the length of one window.',
  }),
];

/** Every scalar setting of rafka.yaml, in the order of the documented file. */
export const SETTINGS: readonly Setting[] = Object.freeze([
  setting({ key: 'host', field: 'host', kind: 'string', flag: 'host', doc: 'Interface to listen on.' }),
  setting({ key: 'port', field: 'port', kind: 'int', min: 0, max: 65535, flag: 'port', doc: 'Port to listen on; 0 picks a free port.' }),
  setting({
    key: 'advertised.host', field: 'advertisedHost', kind: 'string', nullable: true, flag: 'advertised-host',
    doc: 'Host name Metadata gives clients; null = the listen host (127.0.0.1 for 0.0.0.0).',
  }),
  setting({
    key: 'advertised.port', field: 'advertisedPort', kind: 'int', nullable: true, min: 1, max: 65535, flag: 'advertised-port',
    doc: 'Port Metadata gives clients; null = the bound port.',
  }),
  setting({ key: 'node.id', field: 'nodeId', kind: 'int', min: 0, max: INT32_MAX, flag: 'node-id', doc: "This broker's id." }),
  setting({
    key: 'cluster.id', field: 'clusterId', kind: 'string', nullable: true,
    doc: 'Cluster id; null = generate one (persisted with durable storage).',
  }),
  setting({
    key: 'storage.type', path: ['storage', 'type'], field: 'storage.type', kind: 'enum', values: STORAGE_TYPES, flag: 'storage',
    doc: 'Storage engine.',
  }),
  setting({
    key: 'storage.path', path: ['storage', 'path'], field: 'storage.path', kind: 'string', nullable: true, flag: 'data-dir',
    envAliases: ['RAFKA_DATA_DIR'], doc: 'Data directory of durable engines (relative to the working directory).',
  }),
  setting({
    key: 'storage.fsync', path: ['storage', 'fsync'], field: 'storage.fsync', kind: 'enum', values: FSYNC_POLICIES,
    doc: 'When durable engines fsync appended data: always (group commit), interval, never.',
  }),
  setting({
    key: 'storage.fsync.interval.ms', path: ['storage', 'fsync.interval.ms'], field: 'storage.fsyncIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Period of the interval fsync policy.',
  }),
  setting({
    key: 'storage.journal', path: ['storage', 'journal'], field: 'storage.journal', kind: 'boolean',
    doc: 'log engine with fsync always: one shared journal sync for the appends of all partitions instead of one segment sync each (off by default; docs/storage.md).',
  }),
  setting({
    key: 'storage.wal.snapshot.bytes', path: ['storage', 'wal.snapshot.bytes'], field: 'storage.walSnapshotBytes', kind: 'int', min: 1024,
    max: Number.MAX_SAFE_INTEGER, doc: 'memory engine with a path: WAL size that triggers a snapshot (and a new WAL).',
  }),
  // The postgres engine's settings (src/storage/postgres/).
  setting({
    key: 'storage.url', path: ['storage', 'url'], field: 'storage.url', kind: 'string', nullable: true, flag: 'storage-url',
    pattern: { regex: '^postgres(ql)?://', form: 'a postgres:// or postgresql:// URL' },
    doc: 'postgres engine: connection URL; null = the PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD).',
  }),
  setting({
    key: 'storage.pool.size', path: ['storage', 'pool.size'], field: 'storage.poolSize', kind: 'int', min: 1, max: 1000,
    doc: 'postgres engine: connections in its pool (one writes at a time, the others serve reads).',
  }),
  setting({ key: 'auto.create.topics.enable', field: 'autoCreateTopicsEnable', kind: 'boolean', doc: 'Create unknown topics on Metadata/Produce.' }),
  setting({ key: 'num.partitions', field: 'numPartitions', kind: 'int', min: 1, max: INT32_MAX, doc: 'Partitions of auto-created topics.' }),
  setting({
    key: 'default.replication.factor', field: 'defaultReplicationFactor', kind: 'int', min: 1, max: 32767,
    doc: 'Replication factor of auto-created topics.',
  }),
  setting({
    key: 'socket.request.max.bytes', field: 'socketRequestMaxBytes', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Largest request frame accepted.',
  }),
  setting({
    key: 'max.in.flight.requests.per.connection', field: 'maxInFlightRequestsPerConnection', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Unanswered requests per connection before reading pauses.',
  }),
  setting({ key: 'max.connections', field: 'maxConnections', kind: 'int', min: 0, max: INT32_MAX, doc: 'Maximum open connections.' }),
  setting({
    key: 'max.connections.per.ip', field: 'maxConnectionsPerIp', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'Maximum open connections from one IP address.',
  }),
  setting({
    key: 'max.connections.per.ip.overrides', field: 'maxConnectionsPerIpOverrides', kind: 'string', nullable: true,
    pattern: { regex: CONNECTION_OVERRIDES_PATTERN, form: '"ip:count,ip:count"' }, doc: 'Per-IP exceptions to max.connections.per.ip: "ip:count,ip:count".',
  }),
  setting({
    key: 'queued.max.request.bytes', field: 'queuedMaxRequestBytes', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER,
    doc: 'Request bytes read and not yet handled, broker-wide, before connections stop reading.',
  }),
  setting({
    key: 'queued.max.response.bytes', field: 'queuedMaxResponseBytes', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER,
    doc: 'Response bytes queued for sockets, broker-wide, before Fetch requests wait.',
  }),
  setting({
    key: 'producer.state.max.entries', field: 'producerStateMaxEntries', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Idempotent producer/partition entries kept; the least recently written are forgotten past it.',
  }),
  setting({
    key: 'connections.max.idle.ms', field: 'connectionsMaxIdleMs', kind: 'int', min: -1, max: Number.MAX_SAFE_INTEGER,
    doc: 'Idle connections are closed after this long; -1 = never.',
  }),
  setting({
    key: 'message.max.bytes', field: 'messageMaxBytes', kind: 'int', min: 0, max: INT32_MAX,
    doc: "Largest record batch; the broker default of topics' max.message.bytes.",
  }),
  setting({ key: 'fetch.max.bytes', field: 'fetchMaxBytes', kind: 'int', min: 1024, max: INT32_MAX, doc: 'Cap on one fetch response.' }),
  setting({
    key: 'max.incremental.fetch.session.cache.slots', field: 'maxIncrementalFetchSessionCacheSlots', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'Most incremental fetch sessions (KIP-227) kept at once, broker-wide; 0 = none.',
  }),
  setting({
    key: 'log.retention.check.interval.ms', field: 'logRetentionCheckIntervalMs', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER,
    doc: 'How often retention and compaction run over every partition.',
  }),
  setting({
    key: 'broker.session.timeout.ms', field: 'brokerSessionTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Brokers sharing a PostgreSQL database (storage.type postgres): a broker whose lease is not renewed for this long is gone, and its partitions move.',
  }),
  setting({
    key: 'broker.heartbeat.interval.ms', field: 'brokerHeartbeatIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Brokers sharing a PostgreSQL database: how often a broker renews its lease and looks at the cluster (brokers, topics, leaders).',
  }),
  setting({
    key: 'group.initial.rebalance.delay.ms', field: 'groupInitialRebalanceDelayMs', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'How long the first rebalance of an empty consumer group waits for more members to join.',
  }),
  setting({
    key: 'group.min.session.timeout.ms', field: 'groupMinSessionTimeoutMs', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'Smallest session timeout a group member may ask for.',
  }),
  setting({
    key: 'group.max.session.timeout.ms', field: 'groupMaxSessionTimeoutMs', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'Largest session timeout a group member may ask for.',
  }),
  setting({ key: 'group.max.size', field: 'groupMaxSize', kind: 'int', min: 1, max: INT32_MAX, doc: 'Most members in one consumer group.' }),
  setting({
    key: 'group.consumer.session.timeout.ms', field: 'groupConsumerSessionTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'A member of a consumer-protocol (KIP-848) group that does not heartbeat for this long is removed.',
  }),
  setting({
    key: 'group.consumer.heartbeat.interval.ms', field: 'groupConsumerHeartbeatIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'How often members of consumer-protocol (KIP-848) groups are told to heartbeat.',
  }),
  setting({
    key: 'group.consumer.min.session.timeout.ms', field: 'groupConsumerMinSessionTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Smallest consumer.session.timeout.ms a consumer-protocol group may be given (IncrementalAlterConfigs on the group).',
  }),
  setting({
    key: 'group.consumer.max.session.timeout.ms', field: 'groupConsumerMaxSessionTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Largest consumer.session.timeout.ms a consumer-protocol group may be given.',
  }),
  setting({
    key: 'group.consumer.min.heartbeat.interval.ms', field: 'groupConsumerMinHeartbeatIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Smallest consumer.heartbeat.interval.ms a consumer-protocol group may be given.',
  }),
  setting({
    key: 'group.consumer.max.heartbeat.interval.ms', field: 'groupConsumerMaxHeartbeatIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Largest consumer.heartbeat.interval.ms a consumer-protocol group may be given.',
  }),
  setting({ key: 'group.consumer.max.size', field: 'groupConsumerMaxSize', kind: 'int', min: 1, max: INT32_MAX, doc: 'Most members in one consumer-protocol (KIP-848) group.' }),
  setting({
    key: 'group.consumer.assignors', field: 'groupConsumerAssignors', kind: 'string',
    pattern: { regex: CONSUMER_ASSIGNORS_PATTERN, form: 'a comma-separated list of uniform, range (or their Kafka class names)' },
    doc: 'Server-side assignors of consumer-protocol groups, comma-separated; the first is the default.',
  }),
  setting({
    key: 'group.consumer.migration.policy', field: 'groupConsumerMigrationPolicy', kind: 'enum', values: CONSUMER_MIGRATION_POLICIES,
    doc: 'Which online conversions between classic and consumer-protocol groups are allowed: bidirectional, upgrade (classic to consumer), downgrade, disabled.',
  }),
  setting({
    key: 'offsets.retention.minutes', field: 'offsetsRetentionMinutes', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Committed offsets of an empty group expire this long after the group became empty.',
  }),
  setting({
    key: 'offsets.retention.check.interval.ms', field: 'offsetsRetentionCheckIntervalMs', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER,
    doc: 'How often expired committed offsets are removed.',
  }),
  setting({
    key: 'transaction.max.timeout.ms', field: 'transactionMaxTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'Largest transaction.timeout.ms a transactional producer may ask for (INVALID_TRANSACTION_TIMEOUT above it).',
  }),
  setting({
    key: 'transactional.id.expiration.ms', field: 'transactionalIdExpirationMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'A transactional id with no transaction in progress is forgotten this long after its last update.',
  }),
  setting({
    key: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', field: 'transactionAbortTimedOutTransactionCleanupIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'How often transactions past their timeout are looked for and aborted.',
  }),
  setting({
    key: 'transaction.remove.expired.transaction.cleanup.interval.ms', field: 'transactionRemoveExpiredTransactionCleanupIntervalMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'How often expired transactional ids are removed.',
  }),
  setting({
    key: 'offset.metadata.max.bytes', field: 'offsetMetadataMaxBytes', kind: 'int', min: 0, max: INT32_MAX,
    doc: 'Longest metadata string of one committed offset.',
  }),
  setting({
    key: 'hook.timeout.ms', field: 'hookTimeoutMs', kind: 'int', min: 1, max: INT32_MAX,
    doc: 'The longest one hook call may take; then its part of the request fails with REQUEST_TIMED_OUT.',
  }),
  setting({
    key: 'http.listener', field: 'httpListener', kind: 'string', nullable: true, flag: 'http-listener',
    pattern: { regex: HTTP_LISTENER_PATTERN, form: 'HOST:PORT with a port 0-65535, e.g. 127.0.0.1:9644 ([::1]:9644 for IPv6)' },
    doc: 'Where the HTTP endpoint (/metrics, /health, /ready and the web console at /) listens; null = no HTTP endpoint.',
  }),
  setting({
    key: 'http.console.read.only', field: 'httpConsoleReadOnly', kind: 'boolean',
    doc: 'The web console only looks: creating and deleting topics, altering configs, producing and resetting offsets need false.',
  }),
  setting({
    key: 'http.auth.exempt', field: 'httpAuthExempt', kind: 'list',
    doc: 'Paths of the HTTP endpoint served without authentication when it requires it (SASL users, a SASL listener or the authorizer on): liveness probes carry no credentials. [] = everything authenticated.',
  }),
  // http.ssl.*: TLS on the HTTP endpoint (docs/security.md; checked together in http-ssl.ts). A store
  // left null is the Kafka listeners' (ssl.keystore.* / ssl.truststore.*), as Kafka Connect's REST
  // listener falls back from `listeners.https.ssl.*` to the top-level `ssl.*` (KIP-208).
  setting({
    key: 'http.ssl.enabled', field: 'httpSslEnabled', kind: 'boolean',
    doc: 'Serve the HTTP endpoint over TLS only (https://; plain HTTP is refused, never served). Its keystore is http.ssl.keystore.*, else ssl.keystore.*.',
  }),
  setting({
    key: 'http.ssl.keystore.location', field: 'httpSslKeystoreLocation', kind: 'string', nullable: true,
    doc: 'PEM file with the HTTP endpoint\'s private key and certificate chain; null = ssl.keystore.* (the Kafka listeners\' keystore).',
  }),
  setting({
    key: 'http.ssl.keystore.certificate.chain', field: 'httpSslKeystoreCertificateChain', kind: 'string', nullable: true,
    doc: 'The HTTP endpoint\'s certificate chain as inline PEM (instead of http.ssl.keystore.location).',
  }),
  setting({
    key: 'http.ssl.keystore.key', field: 'httpSslKeystoreKey', kind: 'string', nullable: true, secret: true,
    doc: 'The HTTP endpoint\'s private key as inline PEM (instead of http.ssl.keystore.location).',
  }),
  setting({
    key: 'http.ssl.key.password', field: 'httpSslKeyPassword', kind: 'string', nullable: true, secret: true,
    doc: 'Password of an encrypted private key of http.ssl.keystore.*.',
  }),
  setting({
    key: 'http.ssl.truststore.location', field: 'httpSslTruststoreLocation', kind: 'string', nullable: true,
    doc: 'PEM file of the CA certificates HTTP client certificates are checked against; null = ssl.truststore.*.',
  }),
  setting({
    key: 'http.ssl.truststore.certificates', field: 'httpSslTruststoreCertificates', kind: 'string', nullable: true,
    doc: 'Those CA certificates as inline PEM (instead of http.ssl.truststore.location).',
  }),
  setting({
    key: 'http.ssl.client.auth', field: 'httpSslClientAuth', kind: 'enum', values: SSL_CLIENT_AUTH,
    doc: 'Client certificates on the HTTP endpoint: none, requested (checked when given) or required; a trusted one is the principal, mapped by ssl.principal.mapping.rules.',
  }),
  setting({ key: 'log.level', field: 'logLevel', kind: 'enum', values: LOG_LEVELS, flag: 'log-level', doc: "Verbosity of rafka's own log." }),
  setting({ key: 'log.format', field: 'logFormat', kind: 'enum', values: LOG_FORMATS, flag: 'log-format', doc: "Form of rafka's own log lines: text or JSON (one object a line)." }),
  ...SECURITY_SETTINGS,
]);

export const SETTINGS_BY_FIELD: ReadonlyMap<SettingField, Setting> = new Map(SETTINGS.map((s) => [s.field, s]));
export const SETTINGS_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** The `storage` section also accepts `storage_type` (the seed's spelling) for `type`. */
export const STORAGE_TYPE_ALIAS = 'storage_type';
/** The section of Kafka topic config defaults. */
export const TOPIC_DEFAULTS_KEY = 'topic.defaults';
/** Prefix of the environment variables setting topic defaults (`RAFKA_TOPIC_DEFAULTS_RETENTION_MS`). */
export const TOPIC_DEFAULTS_ENV_PREFIX = 'RAFKA_TOPIC_DEFAULTS_';
/** The list of hooks (docs/hooks.md); not a scalar setting, so not in SETTINGS. */
export const HOOKS_KEY = 'hooks';
/** Keys of one `hooks:` entry. */
export const HOOK_ENTRY_KEYS = ['builtin', 'module', 'export', 'options', 'topics', 'apis', 'name'] as const;
/** The list of fault rules (docs/testing.md); not a scalar setting, so not in SETTINGS. */
export const FAULTS_KEY = 'faults';
/** Environment variable naming the config file. */
export const CONFIG_FILE_ENV = 'RAFKA_CONFIG';
/** SASL users to bootstrap (docs/security.md); not a scalar setting, so not in SETTINGS. */
export const SASL_USERS_KEY = 'sasl.users';
/** Keys of one `sasl.users` entry. */
export const SASL_USER_KEYS = ['name', 'password', 'password_file', 'mechanisms'] as const;

/** A `list` setting's value as a list: Kafka's comma-separated string is split (blanks dropped). */
export function listValue(v: unknown): unknown {
  return typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : v;
}

/** Whether a file-shape path holds a secret, whose value no message may show. */
export function isSecretPath(path: readonly string[]): boolean {
  if (path[0] === SASL_USERS_KEY) return path.length >= 3 && (path[2] === 'password' || path[2] === 'password_file');
  return SETTINGS_BY_KEY.get(path.join('.'))?.secret === true;
}

// ---- JSON Schema ------------------------------------------------------------------------------

type JsonSchema = Record<string, unknown>;

function settingSchema(s: Setting): JsonSchema {
  switch (s.kind) {
    case 'int':
      return { type: s.nullable ? ['integer', 'null'] : 'integer', minimum: s.min, maximum: s.max };
    case 'string':
      return { type: s.nullable ? ['string', 'null'] : 'string', minLength: 1, pattern: s.pattern?.regex };
    case 'boolean':
      return { type: s.nullable ? ['boolean', 'null'] : 'boolean' };
    case 'enum':
      return { enum: s.nullable ? [...s.values!, null] : [...s.values!] };
    case 'list': {
      const item = s.values ? { enum: [...s.values] } : { type: 'string', minLength: 1 };
      return { type: s.nullable ? ['string', 'array', 'null'] : ['string', 'array'], minLength: 1, minItems: 1, items: item };
    }
  }
}

function stripUndefined(o: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function buildSchema(): JsonSchema {
  const root: JsonSchema & { properties: Record<string, JsonSchema> } = {
    type: 'object',
    additionalProperties: false,
    properties: {},
  };
  const storage: JsonSchema & { properties: Record<string, JsonSchema> } = {
    type: 'object',
    additionalProperties: false,
    properties: {},
  };
  for (const s of SETTINGS) {
    const schema = stripUndefined(settingSchema(s));
    if (s.path.length === 1) root.properties[s.path[0]!] = schema;
    else storage.properties[s.path[1]!] = schema;
  }
  storage.properties[STORAGE_TYPE_ALIAS] = storage.properties['type']!;
  root.properties['storage'] = storage;
  // Every topic config takes the same rough shape (topic-configs.ts checks the values): one shared
  // definition, which the compiled validator checks with one function instead of one copy per name.
  root.definitions = { topicConfigValue: { type: ['string', 'number', 'boolean', 'array'], items: { type: ['string', 'number', 'boolean'] } } };
  const topicDefaults: Record<string, JsonSchema> = {};
  for (const name of TOPIC_CONFIGS.keys()) topicDefaults[name] = { $ref: '#/definitions/topicConfigValue' };
  root.properties[TOPIC_DEFAULTS_KEY] = { type: 'object', additionalProperties: false, properties: topicDefaults };
  // "Exactly one of builtin and module" is checked by load.ts, with a plainer message than oneOf's.
  const name = { type: 'string', minLength: 1 };
  root.properties[HOOKS_KEY] = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        builtin: { enum: [...BUILTIN_HOOK_NAMES] },
        module: name,
        export: name,
        name,
        options: {},
        topics: { type: ['string', 'array'], minLength: 1, items: name },
        apis: { type: 'array', items: { type: ['string', 'integer'] } },
      },
    },
  };
  // A fault's API and error names are checked by the broker when it installs the rule (src/broker/faults.ts).
  const apiName = { type: ['string', 'integer'], minLength: 1, minimum: 0 };
  const ms = { type: 'integer', minimum: 0, maximum: INT32_MAX };
  root.properties[FAULTS_KEY] = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        api: { type: ['string', 'integer', 'array'], minLength: 1, minimum: 0, items: apiName },
        topic: name,
        partition: { type: 'integer', minimum: 0, maximum: INT32_MAX },
        group: name,
        clientId: { type: 'string' },
        times: { type: ['integer', 'string'], minimum: 1, minLength: 1 },
        errorCode: { type: ['string', 'integer'], minLength: 1, minimum: 1 },
        delayMs: ms,
        drop: { enum: [...FAULT_DROP_POINTS] },
        throttleMs: ms,
        partialFetch: { type: 'boolean' },
        rebalance: { type: 'boolean' },
      },
    },
  };
  // "Exactly one of password and password_file" is checked by load.ts, as for hooks.
  root.properties[SASL_USERS_KEY] = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name,
        password: name,
        password_file: name,
        mechanisms: { type: 'array', items: { enum: [...SASL_MECHANISMS] } },
      },
    },
  };
  return root;
}

let schema: JsonSchema | undefined;
/**
 * JSON Schema of rafka.yaml (draft-07 as ajv v8 defaults to). Built on first use: a broker validates
 * with the precompiled validator below and needs the schema itself only to suggest a key.
 */
export function configFileSchema(): JsonSchema {
  return (schema ??= buildSchema());
}

/** An ajv validate function: true when valid; otherwise `errors` lists the problems. */
export interface FileShapeValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * Validates a parsed rafka.yaml (or an object of the same shape built from env / flags).
 * configFileSchema() compiled ahead of time by ajv (scripts/gen-config-validator.ts, `npm run
 * gen:config`; a test fails when it is out of date), so starting a broker loads no ajv.
 */
export const validateFileShape: FileShapeValidator = generatedValidator as FileShapeValidator;

// ---- readable errors ---------------------------------------------------------------------------

/** A schema problem: where (path in the file shape) and what, in plain words. */
export interface ShapeProblem {
  /** Path of the offending key in the file shape (for unknown keys: including the key). */
  path: string[];
  /** True when the problem is the key itself (unknown key): point at the key, not its value. */
  atKey: boolean;
  message: string;
}

/** Decodes a JSON pointer (ajv's instancePath) into its segments. */
export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Renders a value for "(got …)". */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  null: 'null',
  object: 'a mapping of keys to values',
  array: 'a list',
};

/** Edit distance with transpositions (optimal string alignment), for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate to `word`, if it is close enough to be a plausible typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(word.toLowerCase(), c.toLowerCase());
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  const limit = word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 4));
  return best !== undefined && bestD <= limit ? best : undefined;
}

function knownKeysAt(path: string[]): string[] {
  if (path.length === 0) return Object.keys((configFileSchema() as { properties: object }).properties);
  if (path.length === 1 && path[0] === 'storage') return [...SETTINGS.filter((s) => s.path[0] === 'storage').map((s) => s.path[1]!), STORAGE_TYPE_ALIAS];
  if (path.length === 1 && path[0] === TOPIC_DEFAULTS_KEY) return [...TOPIC_CONFIGS.keys()];
  if (path.length === 2 && path[0] === HOOKS_KEY) return [...HOOK_ENTRY_KEYS];
  if (path.length === 2 && path[0] === FAULTS_KEY) return [...FAULT_ENTRY_KEYS];
  if (path.length === 2 && path[0] === SASL_USERS_KEY) return [...SASL_USER_KEYS];
  return [];
}

function unknownKeyMessage(parent: string[], key: string, value: unknown): string {
  if (parent.length === 1 && parent[0] === TOPIC_DEFAULTS_KEY) {
    const topicName = [...TOPIC_CONFIGS.values()].find((d) => d.synonyms.some((s) => s.name === key) && d.name !== key)?.name;
    if (topicName) return `unknown topic config "${key}" (that is a broker setting; the topic config is "${topicName}")`;
    const guess = suggest(key, TOPIC_CONFIGS.keys());
    return `unknown topic config "${key}"` + (guess ? ` (did you mean "${guess}"?)` : '');
  }
  if (parent.length === 0 && TOPIC_CONFIGS.has(key)) {
    return `unknown key "${key}" (topic configs go under ${TOPIC_DEFAULTS_KEY}:)`;
  }
  if (parent.length === 0) {
    // `storage.type: log` written flat, or `log: { level: info }` written nested.
    const nested = SETTINGS_BY_KEY.get(key);
    if (nested && nested.path.length > 1) {
      return `unknown key "${key}" (write it nested: ${nested.path[0]}: { ${nested.path.slice(1).join('.')}: ... })`;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const flat = Object.keys(value).map((k) => `${key}.${k}`).find((k) => SETTINGS_BY_KEY.has(k) && SETTINGS_BY_KEY.get(k)!.path.length === 1);
      if (flat) return `unknown key "${key}" (settings are dotted keys, not nested: write "${flat}: ...")`;
    }
  }
  const guess = suggest(key, knownKeysAt(parent));
  return `unknown key "${key}"` + (guess ? ` (did you mean "${guess}"?)` : '');
}

/** Turns ajv errors into readable problems (deduplicated, one per location). */
export function shapeProblems(errors: readonly ErrorObject[] | null | undefined): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  const seen = new Set<string>();
  for (let e of errors ?? []) {
    const path = pointerToPath(e.instancePath);
    // A secret's value is never repeated back: not in a message, not in a log line.
    if (isSecretPath(path)) e = { ...e, data: '[hidden]' };
    let p: ShapeProblem;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        const value = e.data !== null && typeof e.data === 'object' ? (e.data as Record<string, unknown>)[key] : undefined;
        p = { path: [...path, key], atKey: true, message: unknownKeyMessage(path, key, value) };
        break;
      }
      case 'type': {
        const t = (e.params as { type: string | string[] }).type;
        const types = (Array.isArray(t) ? t : String(t).split(',')).map((x) => TYPE_WORDS[x] ?? x);
        const words = types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}` : types[0];
        p = { path, atKey: false, message: `must be ${words} (got ${describeValue(e.data)})` };
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => (v === null ? 'null' : String(v)));
        p = { path, atKey: false, message: `must be one of ${allowed.join(', ')} (got ${describeValue(e.data)})` };
        break;
      }
      case 'minimum':
        p = { path, atKey: false, message: `must be >= ${(e.params as { limit: number }).limit} (got ${describeValue(e.data)})` };
        break;
      case 'maximum':
        p = { path, atKey: false, message: `must be <= ${(e.params as { limit: number }).limit} (got ${describeValue(e.data)})` };
        break;
      case 'minLength':
      case 'minItems':
        p = { path, atKey: false, message: 'must not be empty' };
        break;
      case 'pattern':
        p = { path, atKey: false, message: `must have the form ${SETTINGS_BY_KEY.get(displayPath(path))?.pattern?.form ?? (e.params as { pattern: string }).pattern} (got ${describeValue(e.data)})` };
        break;
      default:
        p = { path, atKey: false, message: `${e.message ?? 'is invalid'} (got ${describeValue(e.data)})` };
    }
    const id = `${p.path.join('\u0000')}|${p.atKey}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return out;
}

/** Joins a file-shape path for display: `storage.type`, `topic.defaults.retention.ms`. */
export function displayPath(path: readonly string[]): string {
  return path.join('.');
}
