/**
 * CreateTopics (key 19), versions 2–7 (v0–1 were removed in Kafka 4.0, KIP-896).
 * - `num_partitions` / `replication_factor` of -1 (v4+) take the broker's `num.partitions` and
 *   `default.replication.factor`. A replication factor above 1 is INVALID_REPLICATION_FACTOR (one
 *   broker), with Kafka's message.
 * - Manual assignments: every partition 0..n-1 exactly once, each on this broker alone, else
 *   INVALID_REPLICA_ASSIGNMENT; assignments together with a count or factor are INVALID_REQUEST.
 * - Configs are validated by Kafka's names and rules (INVALID_CONFIG); a name used twice in one
 *   request is INVALID_REQUEST for each; `validate_only` checks everything and creates nothing.
 * - v5+ returns the partition count, replication factor and every config with its source; v7+ the
 *   topic id. The response is bounded (response-budget.ts): once the configs of the topics so far
 *   would take it past RESPONSE_MAX_BYTES, later topics are still created but answered without
 *   configs, `topic_config_error_code` INVALID_REQUEST — the field Kafka fills when it cannot
 *   return a created topic's configs.
 * - ACLs (Kafka's handleCreateTopicsRequest): CREATE on the cluster, or CREATE on the topic, else
 *   TOPIC_AUTHORIZATION_FAILED "Authorization failed."; a topic created by a principal without
 *   DESCRIBE_CONFIGS on it is answered without configs, `topic_config_error_code`
 *   TOPIC_AUTHORIZATION_FAILED (v5+).
 * - controller_mutation_rate (KIP-599, src/broker/quotas/): a topic's partitions count against the
 *   client's quota (validate_only too, as in Kafka); from v6 a topic asked for while the quota is
 *   spent is THROTTLING_QUOTA_EXCEEDED, older versions are only throttled.
 */
import { ApiKey, CreateTopicsRequest, CreateTopicsResponse } from '../../protocol/messages/index.js';
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quotas/client-quotas.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { ZERO_UUID } from '../../protocol/codec/uuid.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { describeAllTopicConfigs } from './topic-config-view.js';
import { TOPIC_CONFIG_NAMES } from '../../config/topic-configs.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';
import { Pacer } from '../pacer.js';

/** Estimated encoded bytes of one config entry of the response, besides an override's value. */
const CONFIG_ENTRY_BYTES = 64;

type CreatableTopic = CreateTopicsRequest['topics'][number];

export default defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 2,
  maxVersion: 7,
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const topics = [];
    const budget = new ResponseBudget();
    // The configs part of a topic's answer (v5+), within the response budget, estimated before building.
    const configsOf = (name: string, overrides: Readonly<Record<string, string>>) => {
      if (ctx.apiVersion < 5) return { configs: [] };
      if (!allowed(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, name)) return { configs: [], topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
      let bytes = TOPIC_CONFIG_NAMES.length * CONFIG_ENTRY_BYTES;
      for (const v of Object.values(overrides)) bytes += stringBytes(v);
      if (!budget.take(bytes)) return { configs: null, topicConfigErrorCode: budget.errorCode };
      return { configs: describeAllTopicConfigs(broker, overrides) };
    };
    const clusterCreate = allowed(ctx, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME);
    // controller_mutation_rate (KIP-599): each topic's partitions; strict (refusing) from v6.
    const mutations = broker.quotas.mutations(ctx, 6);
    const throttled = (name: string) => failure(name, ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE);
    const pacer = new Pacer();
    for (const t of req.topics) {
      await pacer.step();
      if (counts.get(t.name)! > 1) {
        topics.push(failure(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
        continue;
      }
      if (!clusterCreate && !allowed(ctx, AclOperation.CREATE, ResourceType.TOPIC, t.name)) {
        topics.push(failure(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'));
        continue;
      }
      try {
        const { partitions, replicationFactor, configs } = resolveRequest(broker, t);
        if (req.validateOnly) {
          // Kafka's checks and the onTopicCreate hooks (as Kafka applies CreateTopicPolicy to validate_only).
          const checked = await broker.topics.checkCreate(t.name, partitions, replicationFactor, configs);
          // Kafka counts a validate_only creation against the quota too.
          if (!mutations.admit(checked.partitions)) {
            topics.push(throttled(t.name));
            continue;
          }
          topics.push({
            name: t.name,
            topicId: ZERO_UUID,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            numPartitions: checked.partitions,
            replicationFactor,
            ...configsOf(t.name, checked.configs),
          });
          continue;
        }
        if (!mutations.admit(partitions)) {
          topics.push(throttled(t.name));
          continue;
        }
        let created;
        try {
          created = await broker.topics.create(t.name, partitions, replicationFactor, configs);
        } catch (err) {
          mutations.refund(partitions); // Kafka checks the quota after its validation: a refused topic costs nothing
          throw err;
        }
        broker.log.info(`created topic ${created.name} (${created.partitionCount} partitions, id ${created.id})`);
        topics.push({
          name: created.name,
          topicId: created.id,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: created.partitionCount,
          replicationFactor: 1,
          ...configsOf(created.name, created.configs),
        });
      } catch (err) {
        if (err instanceof KafkaError) topics.push(failure(t.name, err.errorCode, err.message));
        else {
          const answer = broker.engineFaults.answer(`create of topic ${t.name}`, err);
          topics.push(failure(t.name, answer.errorCode, answer.message));
        }
      }
    }
    mutations.done();
    return { throttleTimeMs: 0, topics };
  },
  clientThrottlesFromVersion: 3,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { topics: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null })) };
  },
});

function failure(name: string, errorCode: number, errorMessage: string) {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}

function resolveRequest(broker: Broker, t: CreatableTopic): { partitions: number; replicationFactor: number; configs: Record<string, string> } {
  const configs: Record<string, string> = {};
  const seen = new Set<string>();
  for (const c of t.configs) {
    if (seen.has(c.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate config name ${c.name}`);
    seen.add(c.name);
    if (c.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for topic configs: ${c.name}`);
    configs[c.name] = c.value;
  }
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    const indexes = new Set<number>();
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} must be assigned to broker ${broker.nodeId} alone.`);
      }
      indexes.add(a.partitionIndex);
    }
    for (let p = 0; p < t.assignments.length; p++) {
      if (!indexes.has(p)) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence.');
      }
    }
    return { partitions: t.assignments.length, replicationFactor: 1, configs };
  }
  const partitions = t.numPartitions === -1 ? broker.config.numPartitions : t.numPartitions;
  const replicationFactor = t.replicationFactor === -1 ? broker.config.defaultReplicationFactor : t.replicationFactor;
  return { partitions, replicationFactor, configs };
}
