/**
 * Heartbeat (key 12), versions 0–4: a member tells the coordinator it is alive (restarting its
 * session timeout) and learns whether a rebalance is under way.
 * - NONE while the group is Stable or completing a rebalance; REBALANCE_IN_PROGRESS while members
 *   must rejoin; ILLEGAL_GENERATION for another generation; UNKNOWN_MEMBER_ID for an unknown group
 *   or member (e.g. evicted after its session expired); INVALID_GROUP_ID for an empty group id.
 * - v3+ group_instance_id: a static member's id held by another member id is FENCED_INSTANCE_ID.
 * - v4+ flexible.
 */
import { ApiKey, HeartbeatRequest, HeartbeatResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  handle(req, ctx) {
    // ACLs (Kafka's handleHeartbeatRequest): READ on the group.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const errorCode = ctx.broker.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(_req, _v, errorCode) {
    return { errorCode };
  },
});
