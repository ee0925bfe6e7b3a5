/**
 * The broker's view of its topics: names, ids, partition counts and config overrides. It owns the
 * rules Kafka applies to them (legal names, known configs, partition counts) and writes every
 * change through to storage. Called only from the broker's event loop; a name is reserved
 * synchronously before storage is awaited, so two concurrent creates of one name cannot both win.
 */
import { KafkaError, ErrorCode } from '../protocol/error-codes.js';
import { randomUuid } from '../protocol/codec/uuid.js';
import type { StorageEngine, TopicRecord } from '../storage/engine.js';
import { StorageError, TopicExistsError } from '../storage/errors.js';
import type { BrokerConfig } from '../config/types.js';
import { isKnownTopicConfig, unifyTopicCollisionChars, validateTopicConfig, validateTopicName } from '../config/topic-configs.js';
import type { TopicPolicy } from '../contracts/stages.js';
import { MAX_PARTITIONS_PER_TOPIC } from '../base/limits.js';

export type Topic = Readonly<TopicRecord>;

export { MAX_PARTITIONS_PER_TOPIC };

export class TopicManager {
  private readonly byName = new Map<string, Topic>();
  private readonly byId = new Map<string, Topic>();
  /**
   * Topic names with '.' replaced by '_' (Kafka's Topic.unifyCollisionChars), to the name that holds
   * it: `a.b_c` and `a_b.c` would share metric names, so Kafka refuses the second one.
   */
  private readonly byUnifiedName = new Map<string, string>();
  /** onTopicCreate / onTopicDelete hooks (set by the broker); refusals are thrown as KafkaError. */
  policy: TopicPolicy | null = null;
  /**
   * Moves on every change of the topic set or of a topic (create, delete, partitions, configs): a
   * consumer group compares it with the one it resolved its subscriptions at (KIP-848: new topics
   * and partitions matching a subscription trigger a new assignment).
   */
  private changes = 0;
  /**
   * Brokers a replication factor may reach: 1, or a cluster's node count (cluster.ts), where every
   * node holds the one shared log.
   */
  registeredBrokers = 1;
  /** Called after this broker changed a topic in storage (brokers sharing a database look at once: shared-cluster.ts). */
  onStored: (() => void) | null = null;

  constructor(
    private readonly storage: StorageEngine,
    private readonly config: BrokerConfig,
  ) {}

  load(topics: readonly TopicRecord[]): void {
    for (const t of topics) this.index(t);
  }

  get version(): number {
    return this.changes;
  }

  private index(t: Topic): void {
    this.changes++;
    this.byName.set(t.name, t);
    this.byId.set(t.id, t);
    this.byUnifiedName.set(unifyTopicCollisionChars(t.name), t.name);
  }

  private unindex(t: Topic): void {
    this.changes++;
    this.byName.delete(t.name);
    this.byId.delete(t.id);
    if (this.byUnifiedName.get(unifyTopicCollisionChars(t.name)) === t.name) this.byUnifiedName.delete(unifyTopicCollisionChars(t.name));
  }

  /**
   * Topics other brokers created, changed or deleted in a storage several brokers share
   * (shared-cluster.ts), as that storage found them: indexed without going through storage again.
   */
  applyExternal(changes: { created: readonly Topic[]; updated: readonly Topic[]; deleted: readonly Topic[] }): void {
    for (const t of changes.deleted) {
      const now = this.byId.get(t.id);
      if (now) this.unindex(now);
    }
    for (const t of [...changes.created, ...changes.updated]) {
      const now = this.byName.get(t.name);
      if (now && now.id !== t.id) this.unindex(now);
      this.index({ ...t, configs: { ...t.configs } });
    }
  }

  get(name: string): Topic | undefined {
    return this.byName.get(name);
  }

  getById(id: string): Topic | undefined {
    return this.byId.get(id);
  }

  list(): Topic[] {
    return [...this.byName.values()];
  }

  hasPartition(name: string, partition: number): boolean {
    const t = this.byName.get(name);
    return t !== undefined && partition >= 0 && partition < t.partitionCount;
  }

  /** The value a topic config has: its override, else the broker default, else Kafka's default. */
  configValue(topic: Topic, name: string): string | undefined {
    return topic.configs[name] ?? this.config.topicDefaults[name];
  }

  /** Throws KafkaError(INVALID_CONFIG) for an unknown name or a bad value. */
  validateConfigs(configs: Record<string, string | null>): void {
    for (const [name, value] of Object.entries(configs)) {
      if (!isKnownTopicConfig(name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
      if (value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${name}`);
      const problem = validateTopicConfig(name, value);
      if (problem !== null) throw new KafkaError(ErrorCode.INVALID_CONFIG, problem);
    }
  }

  /** Kafka's checks for a new topic, without creating it (CreateTopics validate_only uses this alone). */
  validateCreate(name: string, partitions: number, replicationFactor: number, configs: Record<string, string | null>): void {
    const nameProblem = validateTopicName(name);
    if (nameProblem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.byName.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const colliding = this.byUnifiedName.get(unifyTopicCollisionChars(name));
    // KRaft's ReplicationControlManager message (Kafka 4).
    if (colliding !== undefined) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${colliding}`);
    if (partitions < 1) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
    if (partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} is larger than the limit ${MAX_PARTITIONS_PER_TOPIC}.`);
    }
    if (replicationFactor < 1) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
    if (replicationFactor > this.registeredBrokers) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${this.registeredBrokers} broker(s) are registered.`,
      );
    }
    this.validateConfigs(configs);
  }

  /**
   * validateCreate, then the onTopicCreate hooks (Kafka's CreateTopicPolicy), which may refuse or
   * adjust the partitions and configs; what they return is validated again (the name may also have
   * been taken while they ran). Returns the partitions and configs to create with.
   */
  async checkCreate(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    origin: 'create-topics' | 'auto-create' = 'create-topics',
  ): Promise<{ partitions: number; configs: Record<string, string> }> {
    this.validateCreate(name, partitions, replicationFactor, configs);
    if (this.policy === null) return { partitions, configs };
    const adjusted = await this.policy.create({ name, partitions, replicationFactor, configs, origin });
    this.validateCreate(name, adjusted.partitions, replicationFactor, adjusted.configs);
    return adjusted;
  }

  async create(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    origin: 'create-topics' | 'auto-create' = 'create-topics',
  ): Promise<Topic> {
    if (this.policy === null) this.validateCreate(name, partitions, replicationFactor, configs);
    else {
      ({ partitions, configs } = await this.checkCreate(name, partitions, replicationFactor, configs, origin));
      this.validateCreate(name, partitions, replicationFactor, configs); // synchronously before index(): still free?
    }
    let id = randomUuid();
    while (this.byId.has(id)) id = randomUuid();
    const topic: Topic = { name, id, partitionCount: partitions, configs: { ...configs } };
    this.index(topic);
    try {
      await this.storage.createTopic(topic);
    } catch (err) {
      this.unindex(topic);
      // Created by another broker sharing the storage at the same moment (it learns of it at its next look).
      if (err instanceof TopicExistsError) {
        this.onStored?.();
        throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
      }
      // An I/O fault is the client's KAFKA_STORAGE_ERROR; anything else is the caller's internal error.
      if (err instanceof StorageError) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `could not create topic ${name}: ${err.message}`);
      throw err;
    }
    this.onStored?.();
    return topic;
  }

  async delete(name: string): Promise<Topic> {
    let topic = this.byName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    if (this.policy !== null) {
      await this.policy.delete(topic); // onTopicDelete hooks may refuse (KafkaError)
      const now = this.byName.get(name); // deleted or re-created while they ran?
      if (!now || now.id !== topic.id) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      topic = now;
    }
    this.unindex(topic);
    await this.storage.deleteTopic(name);
    this.onStored?.();
    return topic;
  }

  /** Delete every topic without asking the onTopicDelete hooks (broker.reset(), between tests). */
  async deleteAll(): Promise<Topic[]> {
    const all = this.list();
    for (const t of all) {
      this.unindex(t);
      await this.storage.deleteTopic(t.name);
    }
    return all;
  }

  async setPartitionCount(name: string, count: number): Promise<Topic> {
    const topic = this.require(name);
    const updated: Topic = { ...topic, partitionCount: count };
    await this.storage.updateTopic(updated);
    this.index(updated);
    this.onStored?.();
    return updated;
  }

  /** Replace the topic's overrides (validated by the caller with validateConfigs). */
  async setConfigs(name: string, configs: Record<string, string>): Promise<Topic> {
    const topic = this.require(name);
    const updated: Topic = { ...topic, configs: { ...configs } };
    await this.storage.updateTopic(updated);
    this.index(updated);
    this.onStored?.();
    return updated;
  }

  private require(name: string): Topic {
    const topic = this.byName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    return topic;
  }

  /** Auto-create for Metadata when `auto.create.topics.enable` (num.partitions, default replication). */
  async autoCreate(name: string): Promise<Topic> {
    return this.create(name, this.config.numPartitions, 1, {}, 'auto-create');
  }
}
