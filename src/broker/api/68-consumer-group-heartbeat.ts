/**
 * ConsumerGroupHeartbeat (key 68), versions 0–1: the KIP-848 consumer group protocol
 * (`group.protocol=consumer`). A member joins (epoch 0), heartbeats with its epoch, subscription and
 * owned partitions, and leaves (epoch -1; -2 a static member restarting); the answer carries its
 * epoch, the heartbeat interval and, when it changed or the request was a full one, its assignment.
 * The rules are the group coordinator's (groups/consumer-groups.ts).
 * - v0: a joining member without a member id gets one from us. v1 (KIP-1082): the client generates
 *   its member id (empty is INVALID_REQUEST), and SubscribedTopicRegex, a server-side RE2 regex.
 * - Errors in the response with Kafka's message: INVALID_REQUEST, UNKNOWN_MEMBER_ID,
 *   FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR,
 *   GROUP_MAX_SIZE_REACHED, GROUP_ID_NOT_FOUND, INVALID_REGULAR_EXPRESSION (v1),
 *   COORDINATOR_NOT_AVAILABLE while loading, NOT_COORDINATOR at shutdown or when storing failed.
 * - A join (epoch 0) is first put to the onJoin hooks (protocol type "consumer"); a refusal is the
 *   heartbeat's error code.
 * - Flexible from v0; clients throttle themselves at every version (KIP-219).
 */
import { ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { kafkaClientHost } from './group-common.js';

export default defineHandler({
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  request: ConsumerGroupHeartbeatRequest,
  response: ConsumerGroupHeartbeatResponse,
  async handle(req, ctx) {
    // ACLs (Kafka's handleConsumerGroupHeartbeat): READ on the group; DESCRIBE on every subscribed
    // topic named (clients may not learn about topics they cannot describe).
    const refuse = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return refuse(ErrorCode.GROUP_AUTHORIZATION_FAILED, authorizationMessage(ErrorCode.GROUP_AUTHORIZATION_FAILED));
    const hidden = [...new Set(req.subscribedTopicNames ?? [])].filter((t) => !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t));
    if (hidden.length > 0) return refuse(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `The following topic names are not authorized: Set(${hidden.join(', ')})`);
    // A join (epoch 0) goes through the onJoin hooks as a JoinGroup does, so a hook that refuses a
    // group cannot be bypassed with the consumer protocol: protocol type "consumer", the protocols
    // being the server assignor the member asks for (none: the default).
    if (req.memberEpoch === 0 && ctx.broker.hooks.onJoin !== null) {
      const refused = await ctx.broker.hooks.onJoin(ctx, {
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId: req.instanceId,
        protocolType: 'consumer',
        protocols: req.serverAssignor === null ? [] : [{ name: req.serverAssignor }],
      });
      if (refused !== null) return { throttleTimeMs: 0, errorCode: refused.errorCode, errorMessage: refused.message ?? null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
    }
    const out = await ctx.broker.groups.consumerGroupHeartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: ctx.apiVersion >= 1 ? req.subscribedTopicRegex : null,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
      apiVersion: ctx.apiVersion,
      clientId: ctx.clientId ?? '',
      clientHost: kafkaClientHost(ctx.connection.remoteAddress),
    });
    return { throttleTimeMs: 0, ...out };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(_req, _v, errorCode, message) {
    return { errorCode, errorMessage: message };
  },
});
