/**
 * SyncGroup (key 14), versions 0–5: after a join phase the leader sends every member's assignment
 * and each member receives its own. Followers' requests wait until the leader's assignment is stored
 * (up to the rebalance timeout; members that never sync are dropped and the group rebalances).
 * - Errors: UNKNOWN_MEMBER_ID (unknown group or member), FENCED_INSTANCE_ID (v3+ static members),
 *   ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (a new join phase started), INVALID_GROUP_ID.
 * - v3+ group_instance_id; v4+ flexible; v5+ (KIP-559) protocol type and name are mandatory and
 *   must match the group's, else INCONSISTENT_GROUP_PROTOCOL; the response names them.
 */
import { ApiKey, SyncGroupRequest, SyncGroupResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    // ACLs (Kafka's handleSyncGroupRequest): READ on the group.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, assignment: Buffer.alloc(0) };
    const out = await ctx.broker.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments,
      apiVersion: v,
    });
    return { throttleTimeMs: 0, errorCode: out.errorCode, protocolType: out.protocolType, protocolName: out.protocolName, assignment: out.assignment };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, assignment: Buffer.alloc(0) };
  },
});
