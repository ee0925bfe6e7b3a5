/**
 * DeleteGroups (key 42), versions 0–2: delete groups and their committed offsets.
 * - Only groups without members: NON_EMPTY_GROUP otherwise; GROUP_ID_NOT_FOUND for an unknown one.
 *   A group named twice is deleted (and answered) once, as Kafka does. v2+ flexible.
 */
import { ApiKey, DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(req, ctx) {
    const results = await ctx.broker.groups.deleteGroups([...new Set(req.groupsNames)]);
    return { throttleTimeMs: 0, results };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode) {
    return { results: req.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
});
