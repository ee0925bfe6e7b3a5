/**
 * DescribeTopicPartitions (key 75), version 0 (KIP-966): topics and their partitions, paged by a
 * cursor; the Java admin client (3.8+) describes topics with it instead of Metadata.
 * - An empty topic list means every topic. Topics are answered sorted by name, from the cursor's
 *   topic on (the cursor's partition index applies to that topic only); a cursor whose topic is not
 *   in a non-empty list is INVALID_REQUEST for every requested topic, as Kafka answers.
 * - At most min(`response_partition_limit`, PARTITIONS_PER_RESPONSE_MAX) partitions: where a topic is
 *   cut, or the next topic does not fit, `next_cursor` names where to go on.
 * - A named topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an
 *   illegal name); it is never auto-created.
 * - One broker leads every partition at epoch 0 and is its only replica; no ELR (KIP-966's eligible
 *   leader replicas need several replicas), so both ELR lists are empty.
 * - `topic_authorized_operations`: every topic operation, as Kafka answers without an authorizer.
 */
import { describePartition } from '../cluster.js';
import { ApiKey, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, type DescribeTopicPartitionsResponseTopic } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ZERO_UUID } from '../../protocol/codec/uuid.js';
import type { Init } from '../../protocol/codec/message.js';
import { validateTopicName } from '../../config/topic-configs.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

/** Kafka's `max.request.partition.size.limit` default: the most partitions one response holds. */
export const PARTITIONS_PER_RESPONSE_MAX = 2000;

type TopicAnswer = Init<DescribeTopicPartitionsResponseTopic>;

/** Kafka's DescribeTopicPartitionsRequest.getErrorResponse: each named topic with the error, no partitions. */
function refused(req: DescribeTopicPartitionsRequest, errorCode: number): Init<DescribeTopicPartitionsResponse> {
  return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ errorCode, name: t.name, topicId: ZERO_UUID, isInternal: false, partitions: [] })), nextCursor: null };
}

export default defineHandler({
  apiKey: ApiKey.DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  request: DescribeTopicPartitionsRequest,
  response: DescribeTopicPartitionsResponse,
  handle(req, ctx) {
    const broker = ctx.broker;
    const all = req.topics.length === 0;
    const cursor = req.cursor;
    const from = cursor?.topicName ?? '';
    const names = new Set<string>();
    // ACLs (Kafka's DescribeTopicPartitionsRequestHandler): only topics the principal may DESCRIBE;
    // a named one it may not is TOPIC_AUTHORIZATION_FAILED, listed after the others, and every topic
    // answered carries the bit set of the operations allowed on it.
    const unauthorized: TopicAnswer[] = [];
    for (const name of all ? broker.topics.list().map((t) => t.name) : req.topics.map((t) => t.name)) {
      if (name < from) continue;
      if (allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) names.add(name);
      else if (!all && !unauthorized.some((u) => u.name === name)) unauthorized.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [] });
    }
    if (!all && cursor !== null && !names.has(cursor.topicName) && !unauthorized.some((u) => u.name === cursor.topicName)) {
      // Kafka throws InvalidRequestException here, which becomes this request's error response.
      return refused(req, ErrorCode.INVALID_REQUEST);
    }
    let remaining = Math.min(req.responsePartitionLimit, PARTITIONS_PER_RESPONSE_MAX);
    const topics: TopicAnswer[] = [];
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of [...names].sort()) {
      if (remaining <= 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const topic = broker.topics.get(name);
      if (topic === undefined) {
        if (!all) {
          const errorCode = validateTopicName(name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
          topics.push({ errorCode, name, topicId: ZERO_UUID, partitions: [], topicAuthorizedOperations: authorizedOperations(ctx, true, ResourceType.TOPIC, name) });
        }
        continue;
      }
      const start = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
      const end = Math.min(topic.partitionCount, start + remaining);
      const partitions = [];
      for (let p = start; p < end; p++) {
        partitions.push({ partitionIndex: p, ...describePartition(broker, topic, p), eligibleLeaderReplicas: [], lastKnownElr: [] });
      }
      topics.push({ errorCode: ErrorCode.NONE, name, topicId: topic.id, isInternal: false, partitions, topicAuthorizedOperations: authorizedOperations(ctx, true, ResourceType.TOPIC, name) });
      remaining -= partitions.length;
      if (end < topic.partitionCount) {
        nextCursor = { topicName: name, partitionIndex: end };
        break;
      }
    }
    return { throttleTimeMs: 0, topics: [...topics, ...unauthorized], nextCursor };
  },
  // DescribeTopicPartitionsResponse.shouldClientThrottle is true at every version.
  clientThrottlesFromVersion: 0,
  errorResponse: (req, _v, errorCode) => refused(req, errorCode),
});
