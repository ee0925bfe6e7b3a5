/**
 * DescribeAcls (key 29), versions 1–3 (v0 is gone from Kafka 4, as from the spec Rafka generates
 * from; v1 brought pattern types, KIP-290; v2+ flexible): the ACL bindings a filter matches, grouped
 * by resource pattern. As Kafka's AclApis.handleDescribeAcls:
 * - CLUSTER DESCRIBE is needed (else CLUSTER_AUTHORIZATION_FAILED);
 * - without an authorizer: SECURITY_DISABLED "No Authorizer is configured.";
 * - a filter with an UNKNOWN element: INVALID_REQUEST.
 */
import { ApiKey, DescribeAclsRequest, DescribeAclsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType, filterProblem, type AclBinding } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';

export const NO_AUTHORIZER = 'No Authorizer is configured.';

export default defineHandler({
  apiKey: ApiKey.DescribeAcls,
  minVersion: 1,
  maxVersion: 3,
  request: DescribeAclsRequest,
  response: DescribeAclsResponse,
  handle(req, ctx) {
    if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, resources: [] };
    }
    const authorizer = ctx.broker.security.authorizer;
    if (!authorizer.enabled) return { throttleTimeMs: 0, errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: NO_AUTHORIZER, resources: [] };
    const filter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permission: req.permissionType,
    };
    const problem = filterProblem(filter);
    if (problem !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] };
    const byPattern = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: AclBinding[] }>();
    for (const b of authorizer.describe(filter)) {
      const key = JSON.stringify([b.resourceType, b.patternType, b.resourceName]);
      let entry = byPattern.get(key);
      if (!entry) byPattern.set(key, (entry = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
      entry.acls.push(b);
    }
    const resources = [...byPattern.values()].map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      patternType: r.patternType,
      acls: r.acls.map((b) => ({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission })),
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(_req, _v, errorCode, errorMessage) {
    return { errorCode, errorMessage, resources: [] };
  },
});
