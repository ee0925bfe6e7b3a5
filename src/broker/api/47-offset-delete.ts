/**
 * OffsetDelete (key 47), version 0 (KIP-496): delete a group's committed offsets of some partitions.
 * - Unknown topics or partitions: UNKNOWN_TOPIC_OR_PARTITION for them. Unknown group:
 *   GROUP_ID_NOT_FOUND; empty group id: INVALID_GROUP_ID (top level).
 * - A group with members: NON_EMPTY_GROUP, unless it uses the consumer protocol — then offsets of
 *   topics it subscribes to are refused with GROUP_SUBSCRIBED_TO_TOPIC and the others deleted.
 * - Partitions without a commit are answered NONE (nothing to delete).
 */
import { ApiKey, OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  async handle(req, ctx) {
    const out = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: out.errorCode, topics: out.topics };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, topics: [] };
  },
});
