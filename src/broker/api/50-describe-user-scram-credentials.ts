/**
 * DescribeUserScramCredentials (key 50), version 0 (KIP-554): the SCRAM mechanisms and iteration
 * counts stored for users — never salts or keys. Answered as Kafka's ScramImage.describe does:
 * - users null or empty: every user with a credential;
 * - a user named twice: DUPLICATE_RESOURCE; a user without credentials: RESOURCE_NOT_FOUND.
 * Without an authorizer (Kafka's default) any client that reached the API may ask, as in Kafka; with
 * one, DESCRIBE on the cluster is needed (else CLUSTER_AUTHORIZATION_FAILED, Kafka's message, also
 * once per user named, as Kafka answers).
 */
import { ApiKey, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { SCRAM } from '../security/scram-credentials.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

/**
 * Kafka's DescribeUserScramCredentialsRequest.getErrorResponse, which also answers a refused
 * authorization: the code at the top and once per user named, without the user's name.
 */
function unnamedErrors(req: DescribeUserScramCredentialsRequest, errorCode: number, errorMessage: string | null) {
  return { errorCode, errorMessage, results: (req.users ?? []).map(() => ({ user: '', errorCode, errorMessage, credentialInfos: [] })) };
}

export default defineHandler({
  apiKey: ApiKey.DescribeUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  request: DescribeUserScramCredentialsRequest,
  response: DescribeUserScramCredentialsResponse,
  handle(req, ctx) {
    if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, ...unnamedErrors(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, authorizationMessage(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)) };
    }
    const credentials = ctx.broker.security.credentials;
    const named = new Map<string, boolean>(); // user → named more than once
    if (req.users === null || req.users.length === 0) for (const u of credentials.scramUsers()) named.set(u, false);
    else for (const u of req.users) named.set(u.name, named.has(u.name));
    const results = [...named].map(([user, duplicate]) => {
      if (duplicate) {
        return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] };
      }
      const infos = credentials.describe(user);
      if (infos === null) {
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
      }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infos.map((i) => ({ mechanism: SCRAM[i.mechanism].code, iterations: i.iterations })) };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
  clientThrottlesFromVersion: 0,
  errorResponse: (req, _v, errorCode, errorMessage) => unnamedErrors(req, errorCode, errorMessage),
});
