/**
 * DeleteGroups (key 42), versions 0–2: delete groups and their committed offsets.
 * - Only groups without members: NON_EMPTY_GROUP otherwise; GROUP_ID_NOT_FOUND for an unknown one.
 *   A group named twice is deleted (and answered) once, as Kafka does. v2+ flexible.
 * - ACLs (Kafka's handleDeleteGroupsRequest): DELETE on each group, else GROUP_AUTHORIZATION_FAILED for it.
 */
import { ApiKey, DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(req, ctx) {
    const named = [...new Set(req.groupsNames)];
    const deletable = named.filter((g) => allowed(ctx, AclOperation.DELETE, ResourceType.GROUP, g));
    const refused = named.filter((g) => !deletable.includes(g)).map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
    const results = deletable.length > 0 ? await ctx.broker.groups.deleteGroups(deletable) : [];
    return { throttleTimeMs: 0, results: [...refused, ...results] };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode) {
    return { results: req.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
});
