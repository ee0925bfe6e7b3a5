/**
 * ListGroups (key 16), versions 0–5: every group this coordinator has, with its protocol type ("" for
 * groups that only hold offsets committed outside group membership).
 * - v3+ flexible; v4+ the state of each group and a states filter (KIP-518: case-insensitive; empty
 *   = all); v5+ the group type ("classic", or "consumer" for KIP-848 consumer-protocol groups, whose
 *   states are Empty, Assigning, Reconciling, Stable) and a types filter (KIP-848, case-insensitive).
 * - ACLs (Kafka's handleListGroupsRequest): with DESCRIBE on the cluster every group, else only the
 *   groups the principal may DESCRIBE.
 */
import { ApiKey, ListGroupsRequest, ListGroupsResponse } from '../../protocol/messages/index.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  request: ListGroupsRequest,
  response: ListGroupsResponse,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const out = ctx.broker.groups.listGroups(v >= 4 ? req.statesFilter : [], v >= 5 ? req.typesFilter : []);
    const groups = allowed(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME) ? out.groups : out.groups.filter((g) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId));
    return { throttleTimeMs: 0, errorCode: out.errorCode, groups };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, groups: [] };
  },
});
