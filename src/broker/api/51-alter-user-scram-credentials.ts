/**
 * AlterUserScramCredentials (key 51), version 0 (KIP-554): add, replace and delete users' SCRAM
 * credentials; what `kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=…]'` sends.
 * The client sends salt, iterations and the salted password (never the password); the broker keeps
 * only StoredKey and ServerKey (src/broker/security/scram-credentials.ts) in the storage engine.
 * One result per user; a user with any refused alteration gets none applied:
 * - UNACCEPTABLE_CREDENTIAL: empty user name, empty salt or salted password, iterations outside
 *   4096–16384 (Kafka's ScramMechanism bounds);
 * - UNSUPPORTED_SASL_MECHANISM: a mechanism code other than SCRAM-SHA-256 (1) / SCRAM-SHA-512 (2);
 * - DUPLICATE_RESOURCE: the same user and mechanism twice in the request;
 * - RESOURCE_NOT_FOUND: deleting a credential that does not exist.
 * Without an authorizer (Kafka's default) any client that reached the API may alter, as in Kafka; with
 * one, ALTER on the cluster is needed (else CLUSTER_AUTHORIZATION_FAILED for every user).
 */
import { ApiKey, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  SCRAM,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  credentialFromSalted,
  mechanismByCode,
  type ScramMechanism,
} from '../security/scram-credentials.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

type Alteration =
  | { kind: 'delete'; user: string; mechanism: number }
  | { kind: 'upsert'; user: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer };

interface Refusal {
  errorCode: number;
  errorMessage: string;
}

function refusal(a: Alteration, exists: (user: string, m: ScramMechanism) => boolean): Refusal | null {
  if (a.user === '') return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Username must not be empty' };
  const m = mechanismByCode(a.mechanism);
  if (m === null) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' };
  if (a.kind === 'delete') {
    return exists(a.user, m) ? null : { errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to delete a user credential that does not exist' };
  }
  if (a.iterations < SCRAM_MIN_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too few iterations' };
  if (a.iterations > SCRAM_MAX_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too many iterations' };
  if (a.salt.length === 0 || a.saltedPassword.length !== SCRAM[m].bytes) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salt and salted password must not be empty, and the salted password must be one hash long' };
  }
  return null;
}

export default defineHandler({
  apiKey: ApiKey.AlterUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  request: AlterUserScramCredentialsRequest,
  response: AlterUserScramCredentialsResponse,
  async handle(req, ctx) {
    if (!allowed(ctx, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      const users = new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)]);
      return { throttleTimeMs: 0, results: [...users].sort().map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    const credentials = ctx.broker.security.credentials;
    const byUser = new Map<string, Alteration[]>();
    const add = (a: Alteration) => {
      const list = byUser.get(a.user);
      if (list) list.push(a);
      else byUser.set(a.user, [a]);
    };
    for (const d of req.deletions) add({ kind: 'delete', user: d.name, mechanism: d.mechanism });
    for (const u of req.upsertions) add({ kind: 'upsert', user: u.name, mechanism: u.mechanism, iterations: u.iterations, salt: u.salt, saltedPassword: u.saltedPassword });
    const exists = (user: string, m: ScramMechanism) => credentials.scramCredential(user, m) !== null;
    const results = [];
    for (const [user, alterations] of byUser) {
      const mechanisms = alterations.map((a) => a.mechanism);
      let refused: Refusal | null = null;
      if (new Set(mechanisms).size !== mechanisms.length) {
        refused = { errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'A user credential cannot be altered twice in the same request' };
      }
      for (const a of alterations) refused ??= refusal(a, exists);
      if (refused !== null) {
        results.push({ user, ...refused });
        continue;
      }
      try {
        for (const a of alterations) {
          const m = mechanismByCode(a.mechanism)!;
          if (a.kind === 'delete') await credentials.delete(user, m);
          else await credentials.put(user, m, credentialFromSalted(m, a.salt, a.iterations, a.saltedPassword));
        }
        ctx.broker.log.info(`SCRAM credentials of user ${JSON.stringify(user)} altered by ${ctx.connection.remote}`);
        results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const answer = ctx.broker.engineFaults.answer(`storing SCRAM credentials of user ${JSON.stringify(user)}`, err);
        results.push({ user, errorCode: answer.errorCode, errorMessage: answer.message });
      }
    }
    return { throttleTimeMs: 0, results };
  },
  clientThrottlesFromVersion: 0,
  // Kafka's AlterUserScramCredentialsRequest.getErrorResponse: one result per user named, sorted.
  errorResponse(req, _v, errorCode, errorMessage) {
    const users = new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)]);
    return { results: [...users].sort().map((user) => ({ user, errorCode, errorMessage })) };
  },
});
