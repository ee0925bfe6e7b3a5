/**
 * DescribeGroups (key 15), versions 0–5: state, protocol and members of groups.
 * - Each member with its client id, host (the connection's address as Kafka prints it,
 *   `/127.0.0.1`) and assignment; its metadata (subscription) and the protocol name only while the
 *   group is Stable, as Kafka shows them. An unknown group is described as Dead with no error.
 * - v3+ include_authorized_operations: not computed (no ACLs), Kafka's "not requested" value, as
 *   DescribeCluster answers. v4+ group_instance_id of members; v5+ flexible.
 */
import { ApiKey, DescribeGroupsRequest, DescribeGroupsResponse } from '../../protocol/messages/index.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  handle(req, ctx) {
    return { throttleTimeMs: 0, groups: req.groups.map((id) => ctx.broker.groups.describeGroup(id)) };
  },
  clientThrottlesFromVersion: 2,
  errorResponse(req, _v, errorCode) {
    return { groups: req.groups.map((groupId) => ({ errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [] })) };
  },
});
