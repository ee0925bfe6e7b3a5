/**
 * DescribeClientQuotas (key 48), versions 0-1 (KIP-546; v1 is flexible): the stored client quotas
 * of the entities matching a filter, as Kafka's ClientQuotasImage.describe answers:
 * - each component matches one entity type exactly (a name), its default (MATCH_TYPE_DEFAULT, a
 *   null name) or any entity that has the type (MATCH_TYPE_SPECIFIED); no components: everything;
 * - strict: only entities with exactly the filtered types;
 * - a malformed filter (empty or repeated type, a match string where none belongs, a user or
 *   client-id filter with ip) answers INVALID_REQUEST, an unknown entity type UNSUPPORTED_VERSION,
 *   with entries null.
 * Kafka's response never asks the client to throttle itself (a throttle delays the answer).
 */
import { ApiKey, DescribeClientQuotasRequest, DescribeClientQuotasResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { entityData, parseFilter } from '../quotas/entities.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.DescribeClientQuotas,
  minVersion: 0,
  maxVersion: 1,
  request: DescribeClientQuotasRequest,
  response: DescribeClientQuotasResponse,
  handle(req, ctx) {
    // As Kafka's KafkaApis: DESCRIBE_CONFIGS on the cluster, else the whole request is refused.
    if (!allowed(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: authorizationMessage(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), entries: null };
    }
    const filter = parseFilter(req.components, req.strict);
    if ('errorCode' in filter) return { throttleTimeMs: 0, errorCode: filter.errorCode, errorMessage: filter.errorMessage, entries: null };
    const entries = ctx.broker.quotas.store.describe(filter).map((e) => ({
      entity: entityData(e.entity),
      values: [...e.quotas].map(([key, value]) => ({ key, value })),
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
  clientThrottlesFromVersion: null,
  // Kafka's DescribeClientQuotasRequest.getErrorResponse: the code at the top, entries null.
  errorResponse(_req, _v, errorCode, errorMessage) {
    return { errorCode, errorMessage, entries: null };
  },
});
