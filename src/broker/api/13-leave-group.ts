/**
 * LeaveGroup (key 13), versions 0–5: members leave a group, which then rebalances.
 * - v0–2 name one member; the response has only a top-level error (that member's).
 * - v3+ batch members by member id and/or group_instance_id (KIP-345): an admin may remove a static
 *   member by instance id alone (empty member id). Each member gets its own error
 *   (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID); an unknown group answers UNKNOWN_MEMBER_ID per member.
 * - v4+ flexible; v5+ a reason per member (KIP-800), logged.
 */
import { ApiKey, LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    // ACLs (Kafka's handleLeaveGroupRequest): READ on the group.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const identities =
      v >= 3
        ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: v >= 5 ? m.reason : null }))
        : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const out = await ctx.broker.groups.leaveGroup(req.groupId, identities);
    if (v >= 3) return { throttleTimeMs: 0, errorCode: out.errorCode, members: out.members };
    // Old clients read one error: the top-level one, else the member's (Kafka's LeaveGroupResponse).
    const memberError = out.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: out.errorCode !== ErrorCode.NONE ? out.errorCode : memberError, members: [] };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, members: [] };
  },
});
