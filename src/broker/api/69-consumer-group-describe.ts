/**
 * ConsumerGroupDescribe (key 69), versions 0–1: KIP-848 consumer groups as Kafka describes them —
 * state (Empty, Assigning, Reconciling, Stable), group and assignment epochs, the assignor in use,
 * and each member with its epoch, subscription (names, regex), current and target assignment.
 * - A group that does not exist, or is a classic group, is GROUP_ID_NOT_FOUND with Kafka's message
 *   (Admin clients then describe it with DescribeGroups).
 * - include_authorized_operations: not computed (no ACLs), Kafka's "not requested" value.
 * - v1 (KIP-1099): member_type, 1 (consumer protocol) for every member here.
 * - A group asked for twice is answered twice. The response is bounded (response-budget.ts): a group
 *   that would take it past RESPONSE_MAX_BYTES is answered INVALID_REQUEST with no members.
 */
import { ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import type { DescribedConsumerGroup } from '../groups/consumer-groups.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';

export default defineHandler({
  apiKey: ApiKey.ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 1,
  request: ConsumerGroupDescribeRequest,
  response: ConsumerGroupDescribeResponse,
  handle(req, ctx) {
    const budget = new ResponseBudget();
    const groups = req.groupIds.map((id) => {
      // ACLs (Kafka's handleConsumerGroupDescribe): DESCRIBE on the group; a group whose members'
      // assignments name a topic the principal may not DESCRIBE is TOPIC_AUTHORIZATION_FAILED.
      if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, id)) return refused(id, ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
      const described = ctx.broker.groups.consumerGroupDescribe(id, req.includeAuthorizedOperations);
      if (described.errorCode !== ErrorCode.NONE) return described;
      const topics = new Set(described.members.flatMap((m) => [m.assignment, m.targetAssignment].flatMap((a) => a.topicPartitions.map((tp) => tp.topicName))));
      if ([...topics].some((t) => !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t))) {
        return refused(id, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The group has described topic(s) that the client is not authorized to describe.');
      }
      const g = { ...described, authorizedOperations: authorizedOperations(ctx, req.includeAuthorizedOperations, ResourceType.GROUP, id) };
      if (budget.take(groupBytes(g))) return g;
      return refused(id, budget.errorCode, null);
    });
    return { throttleTimeMs: 0, groups };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(req, _v, errorCode, message) {
    return { groups: req.groupIds.map((id) => refused(id, errorCode, message)) };
  },
});

function refused(groupId: string, errorCode: number, errorMessage: string | null) {
  return { errorCode, errorMessage, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: -2147483648 };
}

/** Estimated encoded size of one described group. */
function groupBytes(g: DescribedConsumerGroup): number {
  let n = 32 + stringBytes(g.groupId) + stringBytes(g.groupState) + stringBytes(g.assignorName) + stringBytes(g.errorMessage);
  for (const m of g.members) {
    n += 32 + stringBytes(m.memberId) + stringBytes(m.instanceId) + stringBytes(m.rackId) + stringBytes(m.clientId) + stringBytes(m.clientHost);
    n += stringBytes(m.subscribedTopicRegex);
    for (const t of m.subscribedTopicNames) n += stringBytes(t);
    for (const a of [m.assignment, m.targetAssignment]) for (const tp of a.topicPartitions) n += 24 + stringBytes(tp.topicName) + 4 * tp.partitions.length;
  }
  return n;
}
