/**
 * DescribeGroups (key 15), versions 0–6: state, protocol and members of groups.
 * - Each member with its client id, host (the connection's address as Kafka prints it,
 *   `/127.0.0.1`) and assignment; its metadata (subscription) and the protocol name only while the
 *   group is Stable, as Kafka shows them. An unknown group is described as Dead with no error
 *   before v6; from v6 (KIP-1043) also with GROUP_ID_NOT_FOUND and Kafka's message. A KIP-848
 *   consumer-protocol group is not described here, as in Kafka: Dead, from v6 GROUP_ID_NOT_FOUND
 *   "Group … is not a classic group." (ConsumerGroupDescribe describes it).
 * - ACLs: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED for it (Kafka's groupError).
 * - v3+ include_authorized_operations: the bit set of what the principal may do with the group
 *   (authorizer.ts), else Kafka's "not requested" value. v4+ group_instance_id of members; v5+ flexible.
 * - A group asked for twice is answered twice, as Kafka does, but described once. The response is
 *   bounded (response-budget.ts): a group that would take it past RESPONSE_MAX_BYTES is answered
 *   INVALID_REQUEST with no members.
 */
import { ApiKey, DescribeGroupsRequest, DescribeGroupsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { DescribedGroup } from '../groups/coordinator.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';

export default defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 6,
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const budget = new ResponseBudget();
    const described = new Map<string, { group: DescribedGroup; bytes: number }>();
    const withOperations = v >= 3 && req.includeAuthorizedOperations;
    const groups = req.groups.map((id) => {
      if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, id)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId: id, groupState: '', protocolType: '', protocolData: '', members: [] };
      }
      let known = described.get(id);
      if (known === undefined) {
        const g = ctx.broker.groups.describeGroup(id);
        // A Dead group is one the coordinator does not have (a deleted group leaves the map as it dies).
        const notFound = v >= 6 && g.errorCode === ErrorCode.NONE && g.groupState === 'Dead';
        const message = g.errorMessage ?? `Group ${id} not found.`;
        const group: DescribedGroup = notFound ? { ...g, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: message } : { ...g, errorMessage: undefined };
        known = { group, bytes: groupBytes(group) };
        described.set(id, known);
      }
      if (!budget.take(known.bytes)) return { errorCode: budget.errorCode, groupId: id, groupState: '', protocolType: '', protocolData: '', members: [] };
      // Repeats share the described group; only the authorized-operations field, when asked for, is per answer.
      return withOperations ? { ...known.group, authorizedOperations: authorizedOperations(ctx, true, ResourceType.GROUP, id) } : known.group;
    });
    return { throttleTimeMs: 0, groups };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(req, _v, errorCode) {
    return { groups: req.groups.map((groupId) => ({ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [] })) };
  },
});

/** Estimated encoded size of one described group. */
function groupBytes(g: DescribedGroup): number {
  let n = 16 + stringBytes(g.groupId) + stringBytes(g.groupState) + stringBytes(g.protocolType) + stringBytes(g.protocolData);
  for (const m of g.members) {
    n += 16 + stringBytes(m.memberId) + stringBytes(m.groupInstanceId) + stringBytes(m.clientId) + stringBytes(m.clientHost);
    n += m.memberMetadata.length + m.memberAssignment.length;
  }
  return n;
}
