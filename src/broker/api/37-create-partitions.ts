/**
 * CreatePartitions (key 37), versions 0–3.
 * - The new count must be larger than the current one (INVALID_PARTITIONS with Kafka's messages);
 *   unknown topic: UNKNOWN_TOPIC_OR_PARTITION; a topic named twice: INVALID_REQUEST.
 * - Assignments, when given, name exactly the new partitions, each on this broker alone, else
 *   INVALID_REPLICA_ASSIGNMENT. `validate_only` checks and changes nothing.
 * - controller_mutation_rate (KIP-599, src/broker/quotas/): the partitions added count against the
 *   client's quota (validate_only too); from v3 a topic grown while the quota is spent is
 *   THROTTLING_QUOTA_EXCEEDED.
 */
import { ApiKey, CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/messages/index.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quotas/client-quotas.js';
import { MAX_PARTITIONS_PER_TOPIC } from '../topics.js';

type Wanted = CreatePartitionsRequest['topics'][number];

export default defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  request: CreatePartitionsRequest,
  response: CreatePartitionsResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    // controller_mutation_rate (KIP-599): the partitions added; strict (refusing) from v3.
    const mutations = broker.quotas.mutations(ctx, 3);
    const results = [];
    for (const t of req.topics) {
      if (counts.get(t.name)! > 1) {
        results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' });
        continue;
      }
      // ACLs (Kafka's ControllerApis.createPartitions): ALTER on the topic, with Kafka's message.
      if (!allowed(ctx, AclOperation.ALTER, ResourceType.TOPIC, t.name)) {
        results.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'The topic authorization is failed.' });
        continue;
      }
      try {
        check(broker, t);
        const added = t.count - broker.topics.get(t.name)!.partitionCount;
        if (!mutations.admit(added)) {
          results.push({ name: t.name, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: THROTTLING_QUOTA_EXCEEDED_MESSAGE });
          continue;
        }
        if (!req.validateOnly) {
          await broker.topics.setPartitionCount(t.name, t.count);
          broker.log.info(`topic ${t.name} now has ${t.count} partitions`);
        }
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        results.push({ name: t.name, errorCode: err.errorCode, errorMessage: err.message });
      }
    }
    mutations.done();
    return { throttleTimeMs: 0, results };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { results: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage })) };
  },
});

function check(broker: Broker, t: Wanted): void {
  const topic = broker.topics.get(t.name);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
  const current = topic.partitionCount;
  if (t.count < current) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`);
  }
  if (t.count === current) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
  if (t.count > MAX_PARTITIONS_PER_TOPIC) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${t.count} is larger than the limit ${MAX_PARTITIONS_PER_TOPIC}.`);
  }
  if (t.assignments !== null) {
    const added = t.count - current;
    if (t.assignments.length !== added) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${added} but ${t.assignments.length} assignments provided.`);
    }
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Every new partition must be assigned to broker ${broker.nodeId} alone.`);
      }
    }
  }
}
