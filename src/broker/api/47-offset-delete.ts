/**
 * OffsetDelete (key 47), version 0 (KIP-496): delete a group's committed offsets of some partitions.
 * - Unknown topics or partitions: UNKNOWN_TOPIC_OR_PARTITION for them. Unknown group:
 *   GROUP_ID_NOT_FOUND; empty group id: INVALID_GROUP_ID (top level).
 * - A group with members: NON_EMPTY_GROUP, unless it uses the consumer protocol — then offsets of
 *   topics it subscribes to are refused with GROUP_SUBSCRIBED_TO_TOPIC and the others deleted.
 * - Partitions without a commit are answered NONE (nothing to delete).
 * - ACLs (Kafka's handleOffsetDeleteRequest): DELETE on the group, else GROUP_AUTHORIZATION_FAILED
 *   (top level); READ on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.
 */
import { ApiKey, OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  async handle(req, ctx) {
    if (!allowed(ctx, AclOperation.DELETE, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
    const readable = req.topics.filter((t) => allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const refused = req.topics
      .filter((t) => !readable.includes(t))
      .map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
    const out = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      readable.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: out.errorCode, topics: out.errorCode === ErrorCode.NONE ? [...refused, ...out.topics] : out.topics };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, topics: [] };
  },
});
