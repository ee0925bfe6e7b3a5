/**
 * DeleteAcls (key 31), versions 1–3 (v1 pattern types, KIP-290; v2+ flexible): remove the ACL
 * bindings each filter matches; one result per filter listing what it removed. As Kafka's
 * AclApis.handleDeleteAcls and AclControlManager.deleteAcls:
 * - CLUSTER ALTER is needed (else CLUSTER_AUTHORIZATION_FAILED for every filter);
 * - without an authorizer: SECURITY_DISABLED for every filter;
 * - a filter with an UNKNOWN element: INVALID_REQUEST for that filter;
 * - a binding two filters match is listed by both (removed once).
 */
import { ApiKey, DeleteAclsRequest, DeleteAclsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType, filterProblem } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { NO_AUTHORIZER } from './29-describe-acls.js';

export default defineHandler({
  apiKey: ApiKey.DeleteAcls,
  minVersion: 1,
  maxVersion: 3,
  request: DeleteAclsRequest,
  response: DeleteAclsResponse,
  async handle(req, ctx) {
    const all = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!allowed(ctx, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const authorizer = ctx.broker.security.authorizer;
    if (!authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    // Every filter sees the bindings as they were before the request (Kafka matches all filters first).
    const matched = req.filters.map((f) => {
      const filter = {
        resourceType: f.resourceTypeFilter,
        resourceName: f.resourceNameFilter,
        patternType: f.patternTypeFilter,
        principal: f.principalFilter,
        host: f.hostFilter,
        operation: f.operation,
        permission: f.permissionType,
      };
      const problem = filterProblem(filter);
      return problem !== null ? { problem, bindings: [] } : { problem: null, bindings: authorizer.describe(filter) };
    });
    const filterResults = [];
    for (const m of matched) {
      if (m.problem !== null) {
        filterResults.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: m.problem, matchingAcls: [] });
        continue;
      }
      const matchingAcls = [];
      for (const b of m.bindings) {
        let errorCode: number = ErrorCode.NONE;
        let errorMessage: string | null = null;
        try {
          await authorizer.delete(b);
        } catch (err) {
          const answer = ctx.broker.engineFaults.answer('deleting an ACL binding', err);
          errorCode = answer.errorCode;
          errorMessage = answer.message;
        }
        matchingAcls.push({
          errorCode,
          errorMessage,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permission,
        });
      }
      filterResults.push({ errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls });
    }
    return { throttleTimeMs: 0, filterResults };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) };
  },
});
