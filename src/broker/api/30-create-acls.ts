/**
 * CreateAcls (key 30), versions 1–3 (v1 pattern types, KIP-290; v2+ flexible): store ACL bindings,
 * one result per creation in request order. As Kafka's AclApis.handleCreateAcls and
 * AclControlManager.validateNewAcl:
 * - CLUSTER ALTER is needed (else CLUSTER_AUTHORIZATION_FAILED for every creation);
 * - without an authorizer: SECURITY_DISABLED for every creation;
 * - INVALID_REQUEST for a CLUSTER resource not named kafka-cluster, an empty name, a pattern other
 *   than LITERAL/PREFIXED, an UNKNOWN/ANY operation or permission, a principal without `Type:`;
 * - creating a binding that exists succeeds (nothing changes).
 */
import { ApiKey, CreateAclsRequest, CreateAclsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType, bindingProblem } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { NO_AUTHORIZER } from './29-describe-acls.js';

export default defineHandler({
  apiKey: ApiKey.CreateAcls,
  minVersion: 1,
  maxVersion: 3,
  request: CreateAclsRequest,
  response: CreateAclsResponse,
  async handle(req, ctx) {
    const all = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
    if (!allowed(ctx, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const authorizer = ctx.broker.security.authorizer;
    if (!authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    const results = [];
    for (const c of req.creations) {
      const binding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permission: c.permissionType,
      };
      const problem = bindingProblem(binding);
      if (problem !== null) {
        results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem });
        continue;
      }
      try {
        await authorizer.create(binding);
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const answer = ctx.broker.engineFaults.answer('storing an ACL binding', err);
        results.push({ errorCode: answer.errorCode, errorMessage: answer.message });
      }
    }
    return { throttleTimeMs: 0, results };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(req, _v, errorCode, errorMessage) {
    return { results: req.creations.map(() => ({ errorCode, errorMessage })) };
  },
});
