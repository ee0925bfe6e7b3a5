/**
 * The admin client: topics, partitions, configs, offsets, cluster and consumer groups.
 *
 * Topic and config changes go to the controller (Metadata's controllerId; any broker when unknown),
 * offsets to each partition's leader, group operations to the group's coordinator. Every call
 * retries retriable errors (NOT_CONTROLLER, COORDINATOR_LOAD_IN_PROGRESS, lost connections, …)
 * with backoff; other errors reject with KafkaProtocolError naming the topic or group.
 */
import { Cluster, type BrokerInfo, type ClusterOptions, type PartitionInfo } from './cluster.js';
import { CoordinatorKeyType, GroupMembership, fetchCommittedOffsets, findCoordinator } from './group.js';
import { listOffsets, type IsolationLevel } from './consumer.js';
import { decodeAssignment, decodeSubscription, type TopicPartition } from './assignors.js';
import {
  ApiKey,
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  API_SPECS,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ZERO_UUID } from '../protocol/codec/uuid.js';
import { ConfigError, KafkaProtocolError, UnsupportedVersionError } from './errors.js';
import { alterScramUsers, describeScramUsers, type ScramCredentialAlteration, type ScramUserDescription } from './scram-users.js';
import { CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest, DescribeAclsResponse } from '../protocol/messages/index.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../broker/security/acls.js';

export type AdminOptions = ClusterOptions;

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions (-1). */
  numPartitions?: number;
  /** Default: the broker's default (-1). */
  replicationFactor?: number;
  configs?: Readonly<Record<string, string>>;
}

/** Config resources: topics, brokers, and groups (KIP-848 group configs, resource type 32). */
export type ConfigResourceType = 'topic' | 'broker' | 'group';

/**
 * A client quota entity (Kafka's ClientQuotaEntity): a user, a client id or both; null is that
 * type's default (`<default>` in kafka-configs.sh).
 */
export interface ClientQuotaEntity {
  user?: string | null;
  clientId?: string | null;
}

/**
 * One component of a describeClientQuotas filter: `match` a name (exactly that entity), null (the
 * type's default) or absent (any entity that has the type).
 */
export interface ClientQuotaFilterComponent {
  entityType: 'user' | 'client-id' | 'ip';
  match?: string | null;
}

/** Quota keys: producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate. */
export interface ClientQuotaEntry {
  entity: ClientQuotaEntity;
  quotas: Record<string, number>;
}

/** Set (a number) or remove (null) one quota of an entity. */
export interface ClientQuotaAlteration {
  entity: ClientQuotaEntity;
  ops: readonly { key: string; value: number | null }[];
}

function quotaEntityData(e: ClientQuotaEntity): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  if (e.user !== undefined) out.push({ entityType: 'user', entityName: e.user });
  if (e.clientId !== undefined) out.push({ entityType: 'client-id', entityName: e.clientId });
  return out;
}

function entityOfData(parts: readonly { entityType: string; entityName: string | null }[]): ClientQuotaEntity {
  const entity: ClientQuotaEntity = {};
  for (const d of parts) {
    if (d.entityType === 'user') entity.user = d.entityName;
    else if (d.entityType === 'client-id') entity.clientId = d.entityName;
  }
  return entity;
}

function quotaEntityName(e: ClientQuotaEntity): string {
  const name = (n: string | null) => (n === null ? '<default>' : n);
  return quotaEntityData(e).map((d) => `${d.entityType}=${name(d.entityName)}`).join(',');
}

/** An ACL binding as the Admin client takes and returns it: Kafka's names, lower-case (kafka-acls.sh's words). */
export interface AclEntry {
  resourceType: AclResourceTypeName;
  resourceName: string;
  patternType: 'literal' | 'prefixed';
  /** `User:alice`, or `User:*`. */
  principal: string;
  /** An IP address, or `*` (the default). */
  host: string;
  operation: AclOperationName;
  permission: 'allow' | 'deny';
}

/** A filter over ACL bindings: anything left out matches everything (Kafka's AclBindingFilter.ANY). */
export interface AclFilter {
  resourceType?: AclResourceTypeName | 'any';
  resourceName?: string;
  /** `match`: every binding that applies to a resource of that name (literal, `*`, prefixes). */
  patternType?: 'literal' | 'prefixed' | 'match' | 'any';
  principal?: string;
  host?: string;
  operation?: AclOperationName | 'any';
  permission?: 'allow' | 'deny' | 'any';
}

export type AclResourceTypeName = 'topic' | 'group' | 'cluster' | 'transactional-id' | 'delegation-token' | 'user';
export type AclOperationName =
  | 'all' | 'read' | 'write' | 'create' | 'delete' | 'alter' | 'describe' | 'cluster-action' | 'describe-configs' | 'alter-configs'
  | 'idempotent-write' | 'create-tokens' | 'describe-tokens' | 'two-phase-commit';

/** `transactional-id` → TRANSACTIONAL_ID's code, and back, over one of Kafka's enum tables. */
function aclCode(table: Record<string, number>, name: string, what: string): number {
  const code = table[name.toUpperCase().replace(/-/g, '_')];
  if (code === undefined || code <= 0) throw new ConfigError(`unknown ACL ${what} "${name}"`);
  return code;
}

function aclName<T extends string>(table: Record<string, number>, code: number): T {
  const name = Object.keys(table).find((k) => table[k] === code) ?? 'UNKNOWN';
  return name.toLowerCase().replace(/_/g, '-') as T;
}

function aclEntryOf(b: { resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number }): AclEntry {
  return {
    resourceType: aclName(ResourceType, b.resourceType),
    resourceName: b.resourceName,
    patternType: aclName(PatternType, b.patternType),
    principal: b.principal,
    host: b.host,
    operation: aclName(AclOperation, b.operation),
    permission: aclName(AclPermission, b.permissionType),
  };
}

function aclFilterWire(f: AclFilter) {
  return {
    resourceTypeFilter: aclCode(ResourceType, f.resourceType ?? 'any', 'resource type'),
    resourceNameFilter: f.resourceName ?? null,
    patternTypeFilter: aclCode(PatternType, f.patternType ?? 'any', 'pattern type'),
    principalFilter: f.principal ?? null,
    hostFilter: f.host ?? null,
    operation: aclCode(AclOperation, f.operation ?? 'any', 'operation'),
    permissionType: aclCode(AclPermission, f.permission ?? 'any', 'permission'),
  };
}
const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4, group: 32 };
const RESOURCE_NAME: Record<number, ConfigResourceType> = { 2: 'topic', 4: 'broker', 32: 'group' };
const CONFIG_OPS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
/** DescribeConfigs' ConfigSource ids, by Kafka's names. */
const CONFIG_SOURCES = ['UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG', 'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'CLIENT_METRICS_CONFIG', 'GROUP_CONFIG'];

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: string;
  isSensitive: boolean;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; topics: string[]; assignment: TopicPartition[] }[];
}

/** A consumer group's position in one partition: committed offset, log end and the lag between them. */
export interface GroupPartitionLag extends TopicPartition {
  /** The group's committed offset; -1 when it has none. */
  committedOffset: number;
  /** The partition's log end offset (high watermark). */
  logEndOffset: number;
  /** logEndOffset - committedOffset; null without a committed offset. */
  lag: number | null;
  /** The member consuming the partition now, or null. */
  memberId: string | null;
  clientId: string | null;
}

/** One transactional id as DescribeTransactions (KIP-664) reports it. */
export interface TransactionDescription {
  transactionalId: string;
  /** The broker coordinating it. */
  coordinatorId: number;
  /** Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, … */
  state: string;
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /**
   * When the current transaction began (ms since the epoch); after it completes, the start of the
   * last one (as Kafka keeps it); null when the id never began one.
   */
  transactionStartTimeMs: number | null;
  /** The partitions of the ongoing transaction. */
  topicPartitions: TopicPartition[];
}

/** One transactional id as ListTransactions reports it. */
export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: string;
  coordinatorId: number;
}

export interface ListTransactionsOptions {
  /** Only these states (Kafka's names; empty or absent: all). */
  states?: readonly string[];
  /** Only these producer ids (empty or absent: all). */
  producerIds?: readonly number[];
  /** Only transactions running longer than this (KIP-994, ListTransactions v1+). */
  durationFilterMs?: number;
}

/** One producer a partition leader holds state for (DescribeProducers, KIP-664). */
export interface ProducerState {
  producerId: number;
  producerEpoch: number;
  /** Last sequence number written; -1 when none. */
  lastSequence: number;
  /** Largest timestamp of its last batch; -1 when none. */
  lastTimestamp: number;
  /** Coordinator epoch of its last transaction marker; null when it wrote none. */
  coordinatorEpoch: number | null;
  /** First offset of its ongoing transaction on the partition; null when none. */
  currentTransactionStartOffset: number | null;
}

export interface PartitionProducers extends TopicPartition {
  activeProducers: ProducerState[];
}

/** An API a broker offers, with the version this client would use (null: none in common). */
export interface ApiVersionInfo {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  usableVersion: number | null;
}

export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | { timestamp: number };

function specTimestamp(spec: OffsetSpec): bigint {
  if (spec === 'earliest') return -2n;
  if (spec === 'latest') return -1n;
  if (spec === 'max-timestamp') return -3n;
  return BigInt(spec.timestamp);
}

export class Admin {
  readonly cluster: Cluster;
  private readonly groups = new Map<string, GroupMembership>();

  constructor(opts: AdminOptions) {
    this.cluster = new Cluster({ ...opts, allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false });
  }

  private async controller(): Promise<number | undefined> {
    if (this.cluster.controllerId < 0) await this.cluster.refreshMetadata();
    return this.cluster.controllerId >= 0 ? this.cluster.controllerId : undefined;
  }

  /** Send to the controller, retrying NOT_CONTROLLER by refreshing metadata. */
  private toController<Req, Res>(apiKey: number, req: import('../protocol/codec/message.js').MessageCodec<Req>, res: import('../protocol/codec/message.js').MessageCodec<Res>, body: (v: number) => import('../protocol/codec/message.js').Init<Req>): Promise<Res> {
    return this.cluster.retry(async () => this.cluster.send(await this.controller(), apiKey, req, res, body), {
      onRetry: () => this.cluster.refreshMetadata().catch(() => {}),
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Topics
  // ------------------------------------------------------------------------------------------------

  /** Create topics. TOPIC_ALREADY_EXISTS is an error unless `ignoreExisting`. */
  async createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; ignoreExisting?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const res = await this.toController(ApiKey.CreateTopics, CreateTopicsRequest, CreateTopicsResponse, () => ({
      topics: topics.map((t) => ({
        name: t.topic,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? this.cluster.requestTimeoutMs,
      validateOnly: opts.validateOnly ?? false,
    }));
    for (const t of res.topics) {
      if (t.errorCode === ErrorCode.NONE) continue;
      if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && opts.ignoreExisting) continue;
      throw new KafkaProtocolError(t.errorCode, `${t.name}${t.errorMessage ? `: ${t.errorMessage}` : ''}`);
    }
    this.cluster.addTopics(topics.map((t) => t.topic));
  }

  async deleteTopics(names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const res = await this.toController(ApiKey.DeleteTopics, DeleteTopicsRequest, DeleteTopicsResponse, (v) =>
      v >= 6
        ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: opts.timeoutMs ?? this.cluster.requestTimeoutMs }
        : { topicNames: [...names], timeoutMs: opts.timeoutMs ?? this.cluster.requestTimeoutMs },
    );
    for (const r of res.responses) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `${r.name}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
      if (r.name) this.cluster.topics.delete(r.name);
    }
  }

  /** Names of all topics (internal topics only with `includeInternal`). */
  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    const res = await this.cluster.retry(() => this.cluster.fetchMetadata(null, false));
    return res.topics.filter((t) => t.name !== null && (opts.includeInternal || !t.isInternal)).map((t) => t.name!).sort();
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    const res = await this.cluster.retry(() => this.cluster.fetchMetadata([...names], false));
    return names.map((name) => {
      const t = res.topics.find((x) => x.name === name);
      if (!t || t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
      return this.cluster.topics.get(name)!;
    });
  }

  /** Grow topics to `count` partitions each. */
  async createPartitions(topics: readonly { topic: string; count: number }[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    const res = await this.toController(ApiKey.CreatePartitions, CreatePartitionsRequest, CreatePartitionsResponse, () => ({
      topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
      timeoutMs: this.cluster.requestTimeoutMs,
      validateOnly: opts.validateOnly ?? false,
    }));
    for (const r of res.results) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `${r.name}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    }
    await this.cluster.refreshMetadata(topics.map((t) => t.topic)).catch(() => {});
  }

  // ------------------------------------------------------------------------------------------------
  // Configs
  // ------------------------------------------------------------------------------------------------

  async describeConfigs(resources: readonly { type: ConfigResourceType; name: string; keys?: string[] }[]): Promise<{ type: ConfigResourceType; name: string; configs: ConfigEntry[] }[]> {
    const res = await this.toController(ApiKey.DescribeConfigs, DescribeConfigsRequest, DescribeConfigsResponse, () => ({
      resources: resources.map((r) => ({ resourceType: RESOURCE_TYPE[r.type], resourceName: r.name, configurationKeys: r.keys ?? null })),
      includeSynonyms: false,
      includeDocumentation: false,
    }));
    return res.results.map((r) => {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `${r.resourceName}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
      return {
        type: RESOURCE_NAME[r.resourceType] ?? 'topic',
        name: r.resourceName,
        configs: r.configs.map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.configSource === 5,
          source: CONFIG_SOURCES[c.configSource] ?? 'UNKNOWN',
          isSensitive: c.isSensitive,
        })),
      };
    });
  }

  /** Change configs incrementally (IncrementalAlterConfigs): op 'set' (default), 'delete', 'append', 'subtract'. */
  async alterConfigs(resources: readonly { type: ConfigResourceType; name: string; configs: readonly { name: string; value?: string | null; op?: keyof typeof CONFIG_OPS }[] }[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    const res = await this.toController(ApiKey.IncrementalAlterConfigs, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, () => ({
      resources: resources.map((r) => ({
        resourceType: RESOURCE_TYPE[r.type],
        resourceName: r.name,
        configs: r.configs.map((c) => ({ name: c.name, configOperation: CONFIG_OPS[c.op ?? 'set'], value: c.value ?? null })),
      })),
      validateOnly: opts.validateOnly ?? false,
    }));
    for (const r of res.responses) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `${r.resourceName}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // SCRAM users (scram-users.ts: passwords are salted here and never sent)
  // ------------------------------------------------------------------------------------------------

  /** Users with SCRAM credentials and their mechanisms (all users when `users` is absent). */
  describeUserScramCredentials(users?: readonly string[]): Promise<ScramUserDescription[]> {
    return describeScramUsers((k, req, res, body) => this.toController(k, req, res, body), users);
  }

  /** Add or replace (`upsert`, with a password) and delete SCRAM credentials. */
  alterUserScramCredentials(alterations: readonly ScramCredentialAlteration[]): Promise<void> {
    return alterScramUsers((k, req, res, body) => this.toController(k, req, res, body), alterations);
  }

  // ------------------------------------------------------------------------------------------------
  // Offsets and cluster
  // ------------------------------------------------------------------------------------------------

  /**
   * Offsets of every partition of a topic: earliest, latest, max-timestamp, or the first at/after a
   * timestamp (-1 when none). With `isolationLevel: 'read_committed'` latest is the last stable
   * offset, as Kafka's ListOffsetsOptions.
   */
  async listOffsets(topic: string, spec: OffsetSpec = 'latest', opts: { isolationLevel?: IsolationLevel } = {}): Promise<{ partition: number; offset: number }[]> {
    const t = await this.cluster.topic(topic);
    const ts = specTimestamp(spec);
    const isolation = opts.isolationLevel === 'read_committed' ? 1 : 0;
    const offsets = await listOffsets(this.cluster, t.partitions.map((p) => ({ topic, partition: p.partition, timestamp: ts })), isolation);
    return t.partitions.map((p) => ({ partition: p.partition, offset: offsets.get(`${topic}\u0000${p.partition}`) ?? -1 }));
  }

  async describeCluster(): Promise<{ clusterId: string; controllerId: number; brokers: BrokerInfo[] }> {
    const conn = await this.cluster.anyConnection();
    if (!conn.supports(ApiKey.DescribeCluster)) {
      await this.cluster.refreshMetadata();
      return { clusterId: this.cluster.clusterId ?? '', controllerId: this.cluster.controllerId, brokers: [...this.cluster.brokers.values()] };
    }
    const res = await this.cluster.retry(() => this.cluster.send(undefined, ApiKey.DescribeCluster, DescribeClusterRequest, DescribeClusterResponse, { includeClusterAuthorizedOperations: false }));
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, res.errorMessage);
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Consumer groups
  // ------------------------------------------------------------------------------------------------

  private group(groupId: string): GroupMembership {
    let g = this.groups.get(groupId);
    if (!g) {
      const none = async () => {};
      g = new GroupMembership(this.cluster, { groupId, sessionTimeoutMs: 0, rebalanceTimeoutMs: 0, heartbeatIntervalMs: 0, assignors: [] }, { subscription: () => [], owned: () => [], revoke: none, lose: none, assign: none, fail: () => {} });
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Groups known to every broker. */
  async listGroups(): Promise<{ groupId: string; protocolType: string; state: string }[]> {
    await this.cluster.refreshMetadata();
    const out: { groupId: string; protocolType: string; state: string }[] = [];
    for (const nodeId of this.cluster.brokers.keys()) {
      const res = await this.cluster.retry(() => this.cluster.send(nodeId, ApiKey.ListGroups, ListGroupsRequest, ListGroupsResponse, { statesFilter: [], typesFilter: [] }));
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, 'ListGroups');
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState });
    }
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      const g = this.group(groupId);
      const res = await this.cluster.retry(() =>
        g.toCoordinator(ApiKey.DescribeGroups, DescribeGroupsRequest, DescribeGroupsResponse, () => ({ groups: [groupId], includeAuthorizedOperations: false })).then((r) => {
          const d = r.groups[0];
          if (!d) throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups ${groupId}: no answer`);
          if (d.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(d.errorCode, `DescribeGroups ${groupId}`);
          return d;
        }),
      );
      out.push({
        groupId: res.groupId,
        state: res.groupState,
        protocolType: res.protocolType,
        protocol: res.protocolData,
        members: res.members.map((m) => {
          let topics: string[] = [];
          let assignment: TopicPartition[] = [];
          if (res.protocolType === 'consumer') {
            try {
              if (m.memberMetadata.length > 0) topics = decodeSubscription(m.memberId, m.groupInstanceId, m.memberMetadata).topics;
              assignment = decodeAssignment(m.memberAssignment);
            } catch {
              /* another client's protocol data we cannot read */
            }
          }
          return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, topics, assignment };
        }),
      });
    }
    return out;
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    for (const groupId of groupIds) {
      const g = this.group(groupId);
      await this.cluster.retry(async () => {
        const res = await g.toCoordinator(ApiKey.DeleteGroups, DeleteGroupsRequest, DeleteGroupsResponse, () => ({ groupsNames: [groupId] }));
        const r = res.results[0];
        if (r && r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `DeleteGroups ${groupId}`);
      });
    }
  }

  /** A group's committed offsets (all partitions, or those of `topics`). */
  async listGroupOffsets(groupId: string, topics?: readonly string[]): Promise<(TopicPartition & { offset: number })[]> {
    const g = this.group(groupId);
    let tps: TopicPartition[] | null = null;
    if (topics) {
      tps = [];
      for (const t of topics) for (const p of (await this.cluster.topic(t)).partitions) tps.push({ topic: t, partition: p.partition });
    }
    const m = await fetchCommittedOffsets(this.cluster, groupId, tps, (_v, body) => g.toCoordinator(ApiKey.OffsetFetch, OffsetFetchRequest, OffsetFetchResponse, body));
    return [...m]
      .map(([k, offset]) => {
        const [topic, p] = k.split('\u0000') as [string, string];
        return { topic, partition: Number(p), offset };
      })
      .filter((o) => o.offset >= 0)
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Set a group's committed offsets (the group must have no active members, as in Kafka). */
  async alterGroupOffsets(groupId: string, offsets: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    const g = this.group(groupId);
    await this.cluster.retry(() => g.commit(offsets.map((o) => ({ ...o }))));
  }

  /** Reset a group's offsets for every partition of `topic` to earliest, latest or a timestamp. */
  async resetGroupOffsets(groupId: string, topic: string, to: OffsetSpec): Promise<void> {
    if (to === 'max-timestamp') throw new ConfigError('reset to earliest, latest or a timestamp');
    const offsets = await this.listOffsets(topic, to);
    const latest = to === 'latest' ? offsets : await this.listOffsets(topic, 'latest');
    await this.alterGroupOffsets(
      groupId,
      offsets.map((o) => ({ topic, partition: o.partition, offset: o.offset >= 0 ? o.offset : latest.find((l) => l.partition === o.partition)!.offset })),
    );
  }

  /** Delete a group's committed offsets for partitions (OffsetDelete; the group must not consume them). */
  async deleteGroupOffsets(groupId: string, tps: readonly TopicPartition[]): Promise<void> {
    const g = this.group(groupId);
    const byTopic = new Map<string, { partitionIndex: number }[]>();
    for (const tp of tps) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push({ partitionIndex: tp.partition });
    }
    await this.cluster.retry(async () => {
      const res = await g.toCoordinator(ApiKey.OffsetDelete, OffsetDeleteRequest, OffsetDeleteResponse, () => ({ groupId, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }));
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `OffsetDelete ${groupId}`);
      for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `OffsetDelete ${groupId} ${t.name}-${p.partitionIndex}`);
    });
  }

  /**
   * Each partition's lag for a group: the partitions it has committed offsets for and those assigned
   * to its members now, with the log end offset (a topic that no longer exists has -1).
   */
  async groupLag(groupId: string): Promise<GroupPartitionLag[]> {
    const [description] = await this.describeGroups([groupId]);
    const committed = await this.listGroupOffsets(groupId);
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    const rows = new Map<string, GroupPartitionLag>();
    const row = (topic: string, partition: number): GroupPartitionLag => {
      let r = rows.get(key(topic, partition));
      if (!r) rows.set(key(topic, partition), (r = { topic, partition, committedOffset: -1, logEndOffset: -1, lag: null, memberId: null, clientId: null }));
      return r;
    };
    for (const c of committed) row(c.topic, c.partition).committedOffset = c.offset;
    for (const m of description?.members ?? []) {
      for (const tp of m.assignment) {
        const r = row(tp.topic, tp.partition);
        r.memberId = m.memberId;
        r.clientId = m.clientId;
      }
    }
    const topics = [...new Set([...rows.values()].map((r) => r.topic))];
    if (topics.length > 0) {
      // One metadata answer decides which topics still exist: ListOffsets for a deleted topic would
      // retry UNKNOWN_TOPIC_OR_PARTITION until its deadline.
      const md = await this.cluster.retry(() => this.cluster.fetchMetadata(topics, false));
      const live = new Set(md.topics.filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null).map((t) => t.name!));
      const wanted = [...rows.values()].filter((r) => live.has(r.topic) && this.cluster.topics.get(r.topic)?.partitions[r.partition] !== undefined);
      const ends = await listOffsets(this.cluster, wanted.map((r) => ({ topic: r.topic, partition: r.partition, timestamp: -1n })));
      for (const r of wanted) r.logEndOffset = ends.get(key(r.topic, r.partition)) ?? -1;
    }
    for (const r of rows.values()) {
      if (r.committedOffset >= 0 && r.logEndOffset >= 0) r.lag = Math.max(0, r.logEndOffset - r.committedOffset);
    }
    return [...rows.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  // ------------------------------------------------------------------------------------------------
  // Broker APIs
  // ------------------------------------------------------------------------------------------------

  /** The APIs a broker offers (any broker when `nodeId` is absent), as its ApiVersions answer lists them. */
  async apiVersions(nodeId?: number): Promise<ApiVersionInfo[]> {
    const conn = nodeId === undefined ? await this.cluster.anyConnection() : await this.cluster.connection(nodeId);
    return conn.brokerApiVersions().map(({ apiKey, min, max }) => {
      let usableVersion: number | null;
      try {
        usableVersion = conn.version(apiKey);
      } catch {
        usableVersion = null; // an API this client has no version of in common with the broker
      }
      return { apiKey, name: API_SPECS.get(apiKey)?.name ?? `Unknown(${apiKey})`, minVersion: min, maxVersion: max, usableVersion };
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Transactions (KIP-664)
  // ------------------------------------------------------------------------------------------------

  /**
   * Describe transactional ids, each at its transaction coordinator. An unknown id rejects with
   * TRANSACTIONAL_ID_NOT_FOUND; a coordinator that moved or is loading is looked up again.
   */
  async describeTransactions(transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
    const found = new Map<string, TransactionDescription>();
    let todo = [...new Set(transactionalIds)];
    await this.cluster.retry(async () => {
      const byNode = new Map<number, string[]>();
      for (const id of todo) {
        const node = await findCoordinator(this.cluster, CoordinatorKeyType.transaction, id);
        let l = byNode.get(node);
        if (!l) byNode.set(node, (l = []));
        l.push(id);
      }
      const again: string[] = [];
      const errors: KafkaProtocolError[] = [];
      await Promise.all(
        [...byNode].map(async ([node, ids]) => {
          const res = await this.cluster.send(node, ApiKey.DescribeTransactions, DescribeTransactionsRequest, DescribeTransactionsResponse, { transactionalIds: ids });
          for (const t of res.transactionStates) {
            if (t.errorCode !== ErrorCode.NONE) {
              errors.push(new KafkaProtocolError(t.errorCode, `transactional id ${t.transactionalId}`));
              again.push(t.transactionalId);
              continue;
            }
            const start = Number(t.transactionStartTimeMs);
            found.set(t.transactionalId, {
              transactionalId: t.transactionalId,
              coordinatorId: node,
              state: t.transactionState,
              producerId: Number(t.producerId),
              producerEpoch: t.producerEpoch,
              transactionTimeoutMs: t.transactionTimeoutMs,
              transactionStartTimeMs: start >= 0 ? start : null,
              topicPartitions: t.topics.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))),
            });
          }
        }),
      );
      todo = again;
      // A final error (an unknown id) wins over one worth retrying: retrying cannot change it.
      const error = errors.find((e) => !e.retriable) ?? errors[0];
      if (error) throw error;
    });
    return transactionalIds.map((id) => found.get(id)!);
  }

  /**
   * The transactional ids every broker coordinates, optionally only those in `states`, of
   * `producerIds`, or running longer than `durationFilterMs` (which needs ListTransactions v1).
   */
  async listTransactions(opts: ListTransactionsOptions = {}): Promise<TransactionListing[]> {
    await this.cluster.retry(() => this.cluster.refreshMetadata());
    const out: TransactionListing[] = [];
    for (const nodeId of this.cluster.brokers.keys()) {
      const res = await this.cluster.retry(() =>
        this.cluster.send(nodeId, ApiKey.ListTransactions, ListTransactionsRequest, ListTransactionsResponse, (v) => {
          if (opts.durationFilterMs !== undefined && v < 1) {
            throw new UnsupportedVersionError(`broker ${nodeId} cannot filter transactions by duration (ListTransactions v1, KIP-994)`);
          }
          return {
            stateFilters: [...(opts.states ?? [])],
            producerIdFilters: (opts.producerIds ?? []).map((id) => BigInt(id)),
            durationFilter: BigInt(opts.durationFilterMs ?? -1),
            transactionalIdPattern: null,
          };
        }).then((r) => {
          if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `ListTransactions at broker ${nodeId}`);
          return r;
        }),
      );
      for (const t of res.transactionStates) out.push({ transactionalId: t.transactionalId, producerId: Number(t.producerId), state: t.transactionState, coordinatorId: nodeId });
    }
    return out.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
  }

  /** The producers each partition's leader holds state for (idempotent and transactional). */
  async describeProducers(tps: readonly TopicPartition[]): Promise<PartitionProducers[]> {
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    const found = new Map<string, PartitionProducers>();
    let todo = [...new Map(tps.map((tp) => [key(tp.topic, tp.partition), tp])).values()];
    // A topic or partition missing from fresh metadata fails at once: UNKNOWN_TOPIC_OR_PARTITION is
    // retriable (a topic may be being created), but retrying would only wait for the deadline.
    await this.cluster.retry(() => this.cluster.refreshMetadata(todo.map((tp) => tp.topic)));
    for (const tp of todo) {
      const t = this.cluster.topics.get(tp.topic);
      if (!t) throw new KafkaProtocolError(this.cluster.topicErrors.get(tp.topic) || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${tp.topic}`);
      if (!t.partitions[tp.partition]) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${tp.topic}-${tp.partition}`);
    }
    await this.cluster.retry(
      async () => {
        const byLeader = new Map<number, Map<string, number[]>>();
        for (const tp of todo) {
          const p = this.cluster.topics.get(tp.topic)?.partitions[tp.partition];
          if (!p || p.leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${tp.topic}-${tp.partition}`);
          let topics = byLeader.get(p.leader);
          if (!topics) byLeader.set(p.leader, (topics = new Map()));
          let l = topics.get(tp.topic);
          if (!l) topics.set(tp.topic, (l = []));
          l.push(tp.partition);
        }
        const again: TopicPartition[] = [];
        const errors: KafkaProtocolError[] = [];
        await Promise.all(
          [...byLeader].map(async ([leader, topics]) => {
            const res = await this.cluster.send(leader, ApiKey.DescribeProducers, DescribeProducersRequest, DescribeProducersResponse, {
              topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            });
            for (const t of res.topics) {
              for (const p of t.partitions) {
                if (p.errorCode !== ErrorCode.NONE) {
                  errors.push(new KafkaProtocolError(p.errorCode, `${t.name}-${p.partitionIndex}${p.errorMessage ? `: ${p.errorMessage}` : ''}`));
                  again.push({ topic: t.name, partition: p.partitionIndex });
                  continue;
                }
                found.set(key(t.name, p.partitionIndex), {
                  topic: t.name,
                  partition: p.partitionIndex,
                  activeProducers: p.activeProducers.map((a) => ({
                    producerId: Number(a.producerId),
                    producerEpoch: a.producerEpoch,
                    lastSequence: a.lastSequence,
                    lastTimestamp: Number(a.lastTimestamp),
                    coordinatorEpoch: a.coordinatorEpoch >= 0 ? a.coordinatorEpoch : null,
                    currentTransactionStartOffset: a.currentTxnStartOffset >= 0n ? Number(a.currentTxnStartOffset) : null,
                  })),
                });
              }
            }
          }),
        );
        todo = again;
        const error = errors.find((e) => !e.retriable) ?? errors[0];
        if (error) throw error;
      },
      { onRetry: () => this.cluster.refreshMetadata().catch(() => {}) },
    );
    return tps.map((tp) => found.get(key(tp.topic, tp.partition))!);
  }

  // ------------------------------------------------------------------------------------------------
  // ACLs (the broker needs an authorizer: SECURITY_DISABLED otherwise)
  // ------------------------------------------------------------------------------------------------

  /** Create ACL bindings (kafka-acls.sh --add); the first refused one throws. */
  async createAcls(entries: readonly (Omit<AclEntry, 'host' | 'patternType'> & { host?: string; patternType?: AclEntry['patternType'] })[]): Promise<void> {
    const creations = entries.map((e) => ({
      resourceType: aclCode(ResourceType, e.resourceType, 'resource type'),
      resourceName: e.resourceName,
      resourcePatternType: aclCode(PatternType, e.patternType ?? 'literal', 'pattern type'),
      principal: e.principal,
      host: e.host ?? '*',
      operation: aclCode(AclOperation, e.operation, 'operation'),
      permissionType: aclCode(AclPermission, e.permission, 'permission'),
    }));
    const res = await this.toController(ApiKey.CreateAcls, CreateAclsRequest, CreateAclsResponse, () => ({ creations }));
    res.results.forEach((r, i) => {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `CreateAcls ${entries[i]!.principal} ${entries[i]!.operation} on ${entries[i]!.resourceType} ${entries[i]!.resourceName}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    });
  }

  /** The ACL bindings a filter matches (kafka-acls.sh --list); every binding without one. */
  async describeAcls(filter: AclFilter = {}): Promise<AclEntry[]> {
    const res = await this.toController(ApiKey.DescribeAcls, DescribeAclsRequest, DescribeAclsResponse, () => aclFilterWire(filter));
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `DescribeAcls${res.errorMessage ? `: ${res.errorMessage}` : ''}`);
    return res.resources.flatMap((r) => r.acls.map((a) => aclEntryOf({ ...r, ...a })));
  }

  /** Delete the ACL bindings the filters match (kafka-acls.sh --remove); what was deleted. */
  async deleteAcls(filters: readonly AclFilter[]): Promise<AclEntry[]> {
    const res = await this.toController(ApiKey.DeleteAcls, DeleteAclsRequest, DeleteAclsResponse, () => ({ filters: filters.map(aclFilterWire) }));
    const deleted: AclEntry[] = [];
    for (const f of res.filterResults) {
      if (f.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(f.errorCode, `DeleteAcls${f.errorMessage ? `: ${f.errorMessage}` : ''}`);
      for (const m of f.matchingAcls) {
        if (m.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(m.errorCode, `DeleteAcls${m.errorMessage ? `: ${m.errorMessage}` : ''}`);
        deleted.push(aclEntryOf(m));
      }
    }
    return deleted;
  }

  // ------------------------------------------------------------------------------------------------
  // Client quotas (KIP-546)
  // ------------------------------------------------------------------------------------------------

  /**
   * Stored client quotas of the entities matching every component (none: all entities); `strict`:
   * only entities with exactly the filtered entity types.
   */
  async describeClientQuotas(components: readonly ClientQuotaFilterComponent[] = [], opts: { strict?: boolean } = {}): Promise<ClientQuotaEntry[]> {
    const res = await this.toController(ApiKey.DescribeClientQuotas, DescribeClientQuotasRequest, DescribeClientQuotasResponse, () => ({
      components: components.map((c) => ({
        entityType: c.entityType,
        matchType: c.match === undefined ? 2 : c.match === null ? 1 : 0,
        match: c.match ?? null,
      })),
      strict: opts.strict ?? false,
    }));
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, res.errorMessage ?? 'describing client quotas');
    return (res.entries ?? []).map((e) => ({ entity: entityOfData(e.entity), quotas: Object.fromEntries(e.values.map((v) => [v.key, v.value])) }));
  }

  /** Set and remove client quotas; rejects with the first entity's error (the others are applied). */
  async alterClientQuotas(alterations: readonly ClientQuotaAlteration[], opts: { validateOnly?: boolean } = {}): Promise<void> {
    const res = await this.toController(ApiKey.AlterClientQuotas, AlterClientQuotasRequest, AlterClientQuotasResponse, () => ({
      entries: alterations.map((a) => ({
        entity: quotaEntityData(a.entity),
        ops: a.ops.map((o) => ({ key: o.key, value: o.value ?? 0, remove: o.value === null })),
      })),
      validateOnly: opts.validateOnly ?? false,
    }));
    for (const r of res.entries) {
      if (r.errorCode === ErrorCode.NONE) continue;
      const entity = quotaEntityName(entityOfData(r.entity));
      throw new KafkaProtocolError(r.errorCode, `${entity}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
    }
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }
}
