/**
 * Config resources shared by DescribeConfigs, AlterConfigs and IncrementalAlterConfigs: resource
 * type codes, and the broker-level settings a client can read (read-only: Rafka has no dynamic
 * broker configs; they come from rafka.yaml, RAFKA_* and flags).
 */
import { CONFIG_SOURCE, type ConfigSourceCode } from '../../config/topic-configs.js';
import type { Broker } from '../broker.js';
import type { RequestContext } from '../handler.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CLUSTER_NAME, ResourceType as AclResource } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';

/** ConfigResource types (Kafka's ConfigResource.Type; GROUP is KIP-848's per-group configs). */
export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, BROKER: 4, CLUSTER: 5, BROKER_LOGGER: 8, GROUP: 32 } as const;

interface BrokerSetting {
  name: string;
  type: number; // DescribeConfigs ConfigType
  kafkaDefault: string | null;
  value(b: Broker): string;
  doc: string;
}

const INT = 3;
const LONG = 5;
const LIST = 7;
const BOOLEAN = 1;
const STRING = 2;

const BROKER_SETTINGS: readonly BrokerSetting[] = [
  { name: 'node.id', type: INT, kafkaDefault: null, value: (b) => String(b.nodeId), doc: 'The node id of this broker.' },
  { name: 'broker.id', type: INT, kafkaDefault: '-1', value: (b) => String(b.nodeId), doc: 'The broker id (equal to node.id).' },
  { name: 'advertised.listeners', type: STRING, kafkaDefault: null, value: (b) => b.security.listeners.map((l) => `${l.name}://${l.advertisedHost}:${l.advertisedPort}`).join(','), doc: 'Address clients of each listener are told to connect to.' },
  { name: 'auto.create.topics.enable', type: BOOLEAN, kafkaDefault: 'true', value: (b) => String(b.config.autoCreateTopicsEnable), doc: 'Create unknown topics on metadata requests.' },
  { name: 'num.partitions', type: INT, kafkaDefault: '1', value: (b) => String(b.config.numPartitions), doc: 'Partitions of auto-created topics.' },
  { name: 'default.replication.factor', type: INT, kafkaDefault: '1', value: (b) => String(b.config.defaultReplicationFactor), doc: 'Replication factor of auto-created topics.' },
  { name: 'socket.request.max.bytes', type: INT, kafkaDefault: '104857600', value: (b) => String(b.config.socketRequestMaxBytes), doc: 'Largest request accepted.' },
  { name: 'message.max.bytes', type: INT, kafkaDefault: '1048588', value: (b) => String(b.config.messageMaxBytes), doc: 'Largest record batch accepted (topic default).' },
  { name: 'fetch.max.bytes', type: INT, kafkaDefault: '57671680', value: (b) => String(b.config.fetchMaxBytes), doc: 'Largest fetch response.' },
  { name: 'max.connections', type: INT, kafkaDefault: '2147483647', value: (b) => String(b.config.maxConnections), doc: 'Most client connections at once.' },
  { name: 'connections.max.idle.ms', type: LONG, kafkaDefault: '600000', value: (b) => String(b.config.connectionsMaxIdleMs), doc: 'Idle connections are closed after this.' },
  { name: 'max.connections.per.ip', type: INT, kafkaDefault: '2147483647', value: (b) => String(b.config.maxConnectionsPerIp), doc: 'Most client connections from one address.' },
  { name: 'queued.max.request.bytes', type: LONG, kafkaDefault: '-1', value: (b) => String(b.config.queuedMaxRequestBytes), doc: 'Bytes of requests read but not yet handled, broker-wide.' },
  { name: 'group.initial.rebalance.delay.ms', type: INT, kafkaDefault: '3000', value: (b) => String(b.config.groupInitialRebalanceDelayMs), doc: 'Wait for more members before the first rebalance of an empty group.' },
  { name: 'group.min.session.timeout.ms', type: INT, kafkaDefault: '6000', value: (b) => String(b.config.groupMinSessionTimeoutMs), doc: 'Smallest session timeout a member may ask for.' },
  { name: 'group.max.session.timeout.ms', type: INT, kafkaDefault: '1800000', value: (b) => String(b.config.groupMaxSessionTimeoutMs), doc: 'Largest session timeout a member may ask for.' },
  { name: 'group.max.size', type: INT, kafkaDefault: '2147483647', value: (b) => String(b.config.groupMaxSize), doc: 'Most members in one consumer group.' },
  { name: 'group.consumer.session.timeout.ms', type: INT, kafkaDefault: '45000', value: (b) => String(b.config.groupConsumerSessionTimeoutMs), doc: 'KIP-848 members not heard from this long are removed.' },
  { name: 'group.consumer.heartbeat.interval.ms', type: INT, kafkaDefault: '5000', value: (b) => String(b.config.groupConsumerHeartbeatIntervalMs), doc: 'How often KIP-848 members heartbeat.' },
  { name: 'group.consumer.min.session.timeout.ms', type: INT, kafkaDefault: '45000', value: (b) => String(b.config.groupConsumerMinSessionTimeoutMs), doc: 'Smallest consumer.session.timeout.ms of a group.' },
  { name: 'group.consumer.max.session.timeout.ms', type: INT, kafkaDefault: '60000', value: (b) => String(b.config.groupConsumerMaxSessionTimeoutMs), doc: 'Largest consumer.session.timeout.ms of a group.' },
  { name: 'group.consumer.min.heartbeat.interval.ms', type: INT, kafkaDefault: '5000', value: (b) => String(b.config.groupConsumerMinHeartbeatIntervalMs), doc: 'Smallest consumer.heartbeat.interval.ms of a group.' },
  { name: 'group.consumer.max.heartbeat.interval.ms', type: INT, kafkaDefault: '15000', value: (b) => String(b.config.groupConsumerMaxHeartbeatIntervalMs), doc: 'Largest consumer.heartbeat.interval.ms of a group.' },
  { name: 'group.consumer.max.size', type: INT, kafkaDefault: '2147483647', value: (b) => String(b.config.groupConsumerMaxSize), doc: 'Most members in one KIP-848 consumer group.' },
  { name: 'group.consumer.assignors', type: LIST, kafkaDefault: 'org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor', value: (b) => b.config.groupConsumerAssignors, doc: 'Server-side assignors of KIP-848 groups; the first is the default.' },
  { name: 'group.consumer.migration.policy', type: STRING, kafkaDefault: 'bidirectional', value: (b) => b.config.groupConsumerMigrationPolicy, doc: 'Online conversions allowed between classic and consumer-protocol groups.' },
  { name: 'offsets.retention.minutes', type: INT, kafkaDefault: '10080', value: (b) => String(b.config.offsetsRetentionMinutes), doc: 'Committed offsets of an empty group expire after this.' },
];

export interface DescribedBrokerConfig {
  name: string;
  value: string;
  readOnly: true;
  source: ConfigSourceCode;
  isSensitive: false;
  configType: number;
  documentation: string;
  synonyms: { name: string; value: string; source: ConfigSourceCode }[];
}

export function describeBrokerConfigs(b: Broker): DescribedBrokerConfig[] {
  return BROKER_SETTINGS.map((s) => {
    const value = s.value(b);
    const source = value === s.kafkaDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : CONFIG_SOURCE.STATIC_BROKER_CONFIG;
    return { name: s.name, value, readOnly: true, source, isSensitive: false, configType: s.type, documentation: s.doc, synonyms: [{ name: s.name, value, source }] };
  });
}

/** Kafka accepts the empty name (this broker's default resource) or this broker's id. */
export function isThisBroker(b: Broker, resourceName: string): boolean {
  return resourceName === '' || resourceName === String(b.nodeId);
}

/** Kafka's ConfigResource.Type codes the authorizer tells apart (besides ResourceType above). */
const CLIENT_METRICS = 16;
const GROUP_CONFIGS = 32;

/**
 * The error for a config resource the principal may not DESCRIBE_CONFIGS / ALTER_CONFIGS, or NONE
 * (Kafka's ConfigAdminManager / AuthHelper): broker, broker-logger and client-metrics resources
 * need the operation on the cluster (CLUSTER_AUTHORIZATION_FAILED), topics on the topic
 * (TOPIC_AUTHORIZATION_FAILED), groups on the group (GROUP_AUTHORIZATION_FAILED).
 */
export function configAuthorizationError(ctx: RequestContext, operation: number, resourceType: number, resourceName: string): number {
  switch (resourceType) {
    case ResourceType.TOPIC:
      return allowed(ctx, operation, AclResource.TOPIC, resourceName) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case GROUP_CONFIGS:
      return allowed(ctx, operation, AclResource.GROUP, resourceName) ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case ResourceType.BROKER:
    case ResourceType.BROKER_LOGGER:
    case CLIENT_METRICS:
      return allowed(ctx, operation, AclResource.CLUSTER, CLUSTER_NAME) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    default:
      return ErrorCode.NONE; // refused as an unsupported resource type by the handler
  }
}
