/**
 * AlterUserScramCredentials (key 51), version 0 (KIP-554): add, replace and delete users' SCRAM
 * credentials; what `kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=…]'` sends.
 * The client sends salt, iterations and the salted password (never the password); the broker keeps
 * only StoredKey and ServerKey (src/broker/security/scram-credentials.ts) in the storage engine.
 * One result per user (the applied ones first, then the refused); a user with a refused alteration
 * gets none applied:
 * - UNACCEPTABLE_CREDENTIAL: empty user name, empty salt or salted password, iterations outside
 *   4096–16384 (Kafka's ScramMechanism bounds);
 * - UNSUPPORTED_SASL_MECHANISM: a mechanism code other than SCRAM-SHA-256 (1) / SCRAM-SHA-512 (2);
 * - DUPLICATE_RESOURCE: the same user twice in the request, whatever the mechanisms (Kafka's
 *   ScramControlManager: one alteration per user and request);
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

interface Deletion {
  user: string;
  mechanism: ScramMechanism;
}

interface Upsertion extends Deletion {
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

interface Refusal {
  errorCode: number;
  errorMessage: string;
}

const ALTERED_TWICE: Refusal = { errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'A user credential cannot be altered twice in the same request' };

function nameAndMechanism(user: string, code: number): Refusal | ScramMechanism {
  if (user === '') return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Username must not be empty' };
  return mechanismByCode(code) ?? { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' };
}

function upsertionRefusal(m: ScramMechanism, iterations: number, salt: Buffer, saltedPassword: Buffer): Refusal | null {
  if (iterations < SCRAM_MIN_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too few iterations' };
  if (iterations > SCRAM_MAX_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too many iterations' };
  // Stricter than Kafka, which derives keys from whatever bytes it is sent.
  if (salt.length === 0 || saltedPassword.length !== SCRAM[m].bytes) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salt and salted password must not be empty, and the salted password must be one hash long' };
  }
  return null;
}

const isUpsertion = (a: Deletion | Upsertion): a is Upsertion => 'salt' in a;

/**
 * Sorts the request into the deletions and upsertions to apply and the refused users, as Kafka's
 * ScramControlManager.alterCredentials does: deletions first, then upsertions, in request order; a
 * user's first refusal sticks; a user altered a second time (whatever the mechanism: two
 * mechanisms of one user take two requests, which is how kafka-configs.sh and Rafka's client send
 * them) is refused with DUPLICATE_RESOURCE and none of its alterations is applied.
 */
function plan(req: AlterUserScramCredentialsRequest, exists: (user: string, m: ScramMechanism) => boolean) {
  const deletions = new Map<string, Deletion>();
  const upsertions = new Map<string, Upsertion>();
  const refused = new Map<string, Refusal>();
  for (const d of req.deletions) {
    if (refused.has(d.name)) continue;
    if (deletions.delete(d.name)) {
      refused.set(d.name, ALTERED_TWICE);
      continue;
    }
    const m = nameAndMechanism(d.name, d.mechanism);
    if (typeof m !== 'string') refused.set(d.name, m);
    else if (!exists(d.name, m)) refused.set(d.name, { errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to delete a user credential that does not exist' });
    else deletions.set(d.name, { user: d.name, mechanism: m });
  }
  for (const u of req.upsertions) {
    if (refused.has(u.name)) continue;
    // A user deleted or upserted before: neither alteration is applied.
    if (deletions.delete(u.name) || upsertions.delete(u.name)) {
      refused.set(u.name, ALTERED_TWICE);
      continue;
    }
    const m = nameAndMechanism(u.name, u.mechanism);
    if (typeof m !== 'string') {
      refused.set(u.name, m);
      continue;
    }
    const refusal = upsertionRefusal(m, u.iterations, u.salt, u.saltedPassword);
    if (refusal !== null) refused.set(u.name, refusal);
    else upsertions.set(u.name, { user: u.name, mechanism: m, iterations: u.iterations, salt: u.salt, saltedPassword: u.saltedPassword });
  }
  return { deletions: [...deletions.values()], upsertions: [...upsertions.values()], refused };
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
    const { deletions, upsertions, refused } = plan(req, (user, m) => credentials.scramCredential(user, m) !== null);
    const results = [];
    const alterations: (Deletion | Upsertion)[] = [...deletions, ...upsertions];
    for (const a of alterations) {
      try {
        if (isUpsertion(a)) await credentials.put(a.user, a.mechanism, credentialFromSalted(a.mechanism, a.salt, a.iterations, a.saltedPassword));
        else await credentials.delete(a.user, a.mechanism);
        ctx.broker.log.info(`SCRAM credentials of user ${JSON.stringify(a.user)} altered by ${ctx.connection.remote}`);
        results.push({ user: a.user, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const answer = ctx.broker.engineFaults.answer(`storing SCRAM credentials of user ${JSON.stringify(a.user)}`, err);
        results.push({ user: a.user, errorCode: answer.errorCode, errorMessage: answer.message });
      }
    }
    for (const [user, r] of refused) results.push({ user, ...r });
    return { throttleTimeMs: 0, results };
  },
  clientThrottlesFromVersion: 0,
  // Kafka's AlterUserScramCredentialsRequest.getErrorResponse: one result per user named, sorted.
  errorResponse(req, _v, errorCode, errorMessage) {
    const users = new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)]);
    return { results: [...users].sort().map((user) => ({ user, errorCode, errorMessage })) };
  },
});
