/**
 * DeleteTopics (key 20), versions 1–6 (v0 was removed in Kafka 4.0, KIP-896).
 * - v1–5 name topics; v6 names or ids (KIP-516). Unknown name: UNKNOWN_TOPIC_OR_PARTITION; unknown
 *   id: UNKNOWN_TOPIC_ID; both a name and an id: INVALID_REQUEST.
 * - Deleting drops the data, the producers' sequence state and the committed offsets of the topic;
 *   fetches waiting on it wake and see it gone.
 * - ACLs (Kafka's ControllerApis.deleteTopics): DESCRIBE and DELETE on the topic, else
 *   TOPIC_AUTHORIZATION_FAILED — for a name before whether it exists, for an id after (ids are not secret).
 * - controller_mutation_rate (KIP-599, src/broker/quotas/): a topic's partitions count against the
 *   client's quota; from v5 a topic named while the quota is spent is THROTTLING_QUOTA_EXCEEDED.
 */
import { ApiKey, DeleteTopicsRequest, DeleteTopicsResponse } from '../../protocol/messages/index.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { ZERO_UUID } from '../../protocol/codec/uuid.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE, type MutationQuota } from '../quotas/client-quotas.js';

export default defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 1,
  maxVersion: 6,
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  async handle(req, ctx) {
    const broker = ctx.broker;
    const wanted = ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    // controller_mutation_rate (KIP-599): each topic's partitions; strict (refusing) from v5.
    const mutations = broker.quotas.mutations(ctx, 5);
    const responses = [];
    for (const w of wanted) {
      responses.push(await deleteOne(broker, w.name, w.topicId, (name) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name) && allowed(ctx, AclOperation.DELETE, ResourceType.TOPIC, name), mutations));
    }
    mutations.done();
    return { throttleTimeMs: 0, responses };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(req, v, errorCode, errorMessage) {
    return {
      responses:
        v >= 6
          ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage }))
          : req.topicNames.map((name) => ({ name, errorCode, errorMessage })),
    };
  },
});

/** Kafka's default message of TOPIC_AUTHORIZATION_FAILED (what an ApiError without one carries). */
const TOPIC_AUTHORIZATION_MESSAGE = authorizationMessage(ErrorCode.TOPIC_AUTHORIZATION_FAILED);

async function deleteOne(broker: Broker, name: string | null, topicId: string, deletable: (name: string) => boolean, mutations: MutationQuota) {
  const byId = topicId !== ZERO_UUID;
  if (name !== null && byId) {
    return { name, topicId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Only one of topic name or topic id may be set.' };
  }
  if (!byId && name !== null && !deletable(name)) return { name, topicId: ZERO_UUID, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: TOPIC_AUTHORIZATION_MESSAGE };
  const topic = byId ? broker.topics.getById(topicId) : name !== null ? broker.topics.get(name) : undefined;
  if (!topic) {
    return byId
      ? { name: null, topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' }
      : { name, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
  }
  if (byId && !deletable(topic.name)) return { name: null, topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: TOPIC_AUTHORIZATION_MESSAGE };
  if (!mutations.admit(topic.partitionCount)) {
    return { name: topic.name, topicId: topic.id, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: THROTTLING_QUOTA_EXCEEDED_MESSAGE };
  }
  try {
    await broker.topics.delete(topic.name);
  } catch (err) {
    mutations.refund(topic.partitionCount);
    if (err instanceof KafkaError) return { name: topic.name, topicId: topic.id, errorCode: err.errorCode, errorMessage: err.message };
    const answer = broker.engineFaults.answer(`delete of topic ${topic.name}`, err);
    return { name: topic.name, topicId: topic.id, errorCode: answer.errorCode, errorMessage: answer.message };
  }
  broker.producers.dropTopic(topic.name);
  for (let p = 0; p < topic.partitionCount; p++) broker.waiters.notify(topic.name, p);
  broker.log.info(`deleted topic ${topic.name} (id ${topic.id})`);
  return { name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null };
}
