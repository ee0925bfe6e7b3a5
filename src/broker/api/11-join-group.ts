/**
 * JoinGroup (key 11), versions 0–9: a member joins (or rejoins) a classic group and, once the join
 * phase ends, learns the generation, the selected protocol and the leader; the leader also gets
 * every member's metadata. The rules are the coordinator's (src/broker/groups/coordinator.ts).
 * - v0 has no rebalance timeout: the session timeout is used, as Kafka does.
 * - v4+: a dynamic member without a member id gets MEMBER_ID_REQUIRED and an id to join with
 *   (KIP-394). v5+: group_instance_id, static membership (KIP-345; FENCED_INSTANCE_ID).
 * - v6+ flexible; v7+ the response names the protocol type, and an unknown protocol name is null
 *   (before v7: empty string); v8+ the request carries a reason (KIP-800), logged.
 * - v9: a static leader that rejoins a Stable group without changing protocols is told to skip the
 *   assignment (`skip_assignment`); before v9 it is answered as a follower.
 * - Session timeouts outside group.min/max.session.timeout.ms: INVALID_SESSION_TIMEOUT; an empty
 *   group id: INVALID_GROUP_ID; group.max.size: GROUP_MAX_SIZE_REACHED.
 * The request waits (its connection answers nothing else meanwhile, as in Kafka) until the join
 * phase ends: up to group.initial.rebalance.delay.ms for a new group, else the rebalance timeout.
 */
import { ApiKey, JoinGroupRequest, JoinGroupResponse } from '../../protocol/messages/index.js';
import type { Init } from '../../protocol/codec/message.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { kafkaClientHost } from './group-common.js';

function errorResponse(req: JoinGroupRequest, v: number, errorCode: number): Init<JoinGroupResponse> {
  return { errorCode, generationId: -1, protocolName: v >= 7 ? null : '', leader: '', memberId: req.memberId, members: [] };
}

export default defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    // ACLs (Kafka's handleJoinGroupRequest): READ on the group.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return errorResponse(req, v, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    // onJoin hooks may refuse the member (e.g. GROUP_AUTHORIZATION_FAILED) before the group sees it.
    const refused = ctx.broker.hooks.onJoin === null ? null : await ctx.broker.hooks.onJoin(ctx, req);
    if (refused !== null) return errorResponse(req, v, refused.errorCode);
    const out = await ctx.broker.groups.joinGroup({
      groupId: req.groupId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      protocolType: req.protocolType,
      // Copies: the request frame is not kept alive by a group that lives on.
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      reason: v >= 8 ? req.reason : null,
      apiVersion: v,
      clientId: ctx.clientId ?? '',
      clientHost: kafkaClientHost(ctx.connection.remoteAddress),
    });
    if (ctx.broker.hooks.onJoined !== null) ctx.broker.hooks.onJoined(ctx, req, out); // onRebalance: the leader's answer ends a generation
    // Before v7 the protocol name is not nullable: Kafka sends "" for none; from v7, null for "".
    const protocolName = v >= 7 ? (out.protocolName === '' ? null : out.protocolName) : (out.protocolName ?? '');
    return {
      throttleTimeMs: 0,
      errorCode: out.errorCode,
      generationId: out.generationId,
      protocolType: out.protocolType,
      protocolName,
      leader: out.leader,
      skipAssignment: out.skipAssignment,
      memberId: out.memberId,
      members: out.members,
    };
  },
  clientThrottlesFromVersion: 3,
  errorResponse,
});
