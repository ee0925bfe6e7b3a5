/**
 * AlterClientQuotas (key 49), versions 0-1 (KIP-546; v1 is flexible): set and remove client quotas
 * of user / client-id entities (a null name: that type's default), what `kafka-configs.sh --alter
 * --add-config producer_byte_rate=… --entity-type users --entity-name …` sends. Checked as Kafka's
 * ClientQuotaControlManager checks it, one result per entity, INVALID_REQUEST for:
 * - an empty entity, an unknown or repeated entity type, an empty name (`ip` entities, Kafka's
 *   connection_creation_rate, are not supported);
 * - a quota key other than producer_byte_rate, consumer_byte_rate, request_percentage,
 *   controller_mutation_rate; a value ≤ 0; a fractional byte rate; the same key twice;
 * - the same entity twice in one request (the later entry; the first is applied, as in Kafka).
 * Removing a quota that is not set is no error. An entity with any refused op gets none applied;
 * validate_only checks and stores nothing. Quotas are stored by the storage engine before the
 * answer, and apply to the next request of every client they cover.
 * Kafka's response never asks the client to throttle itself (a throttle delays the answer).
 */
import { ApiKey, AlterClientQuotasRequest, AlterClientQuotasResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { entityKey, isQuotaKey, parseEntity, quotaValueRefusal, type QuotaKey } from '../quotas/entities.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizationMessage } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.AlterClientQuotas,
  minVersion: 0,
  maxVersion: 1,
  request: AlterClientQuotasRequest,
  response: AlterClientQuotasResponse,
  async handle(req, ctx) {
    // As Kafka's ControllerApis: ALTER_CONFIGS on the cluster, else every entity is refused.
    if (!allowed(ctx, AclOperation.ALTER_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      const errorMessage = authorizationMessage(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      return { throttleTimeMs: 0, entries: req.entries.map((e) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage, entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })) })) };
    }
    const store = ctx.broker.quotas.store;
    const seen = new Set<string>();
    const entries: { errorCode: number; errorMessage: string | null; entity: { entityType: string; entityName: string | null }[] }[] = [];
    for (const entry of req.entries) {
      const answer = (errorCode: number, errorMessage: string | null) => {
        entries.push({ errorCode, errorMessage, entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })) });
      };
      const entity = parseEntity(entry.entity);
      if ('errorCode' in entity) {
        answer(entity.errorCode, entity.errorMessage);
        continue;
      }
      const key = entityKey(entity);
      if (seen.has(key)) {
        answer(ErrorCode.INVALID_REQUEST, `Ignoring duplicate entity ${describeEntity(entry.entity)}`);
        continue;
      }
      seen.add(key);
      const next = new Map(store.quotasOf(entity));
      const keys = new Set<string>();
      let refused: { errorCode: number; errorMessage: string } | null = null;
      for (const op of entry.ops) {
        if (keys.has(op.key)) {
          refused = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate quota key ${op.key} not updating quota for this entity ${describeEntity(entry.entity)}` };
          break;
        }
        keys.add(op.key);
        if (op.remove) {
          if (isQuotaKey(op.key)) next.delete(op.key);
          continue;
        }
        refused = quotaValueRefusal(op.key, op.value);
        if (refused !== null) break;
        next.set(op.key as QuotaKey, op.value);
      }
      if (refused !== null) {
        answer(refused.errorCode, refused.errorMessage);
        continue;
      }
      if (req.validateOnly || sameQuotas(store.quotasOf(entity), next)) {
        answer(ErrorCode.NONE, null);
        continue;
      }
      try {
        await store.put(entity, next);
        ctx.broker.log.info(`client quotas of ${describeEntity(entry.entity)} set to ${JSON.stringify(Object.fromEntries(next))} by ${ctx.connection.remote}`);
        answer(ErrorCode.NONE, null);
      } catch (err) {
        const fault = ctx.broker.engineFaults.answer(`storing client quotas of ${describeEntity(entry.entity)}`, err);
        answer(fault.errorCode, fault.message);
      }
    }
    return { throttleTimeMs: 0, entries };
  },
  clientThrottlesFromVersion: null,
  // Kafka's AlterClientQuotasRequest.getErrorResponse: each entry's entity with the code.
  errorResponse(req, _v, errorCode, errorMessage) {
    return {
      entries: req.entries.map((e) => ({ errorCode, errorMessage, entity: e.entity.map((d) => ({ entityType: d.entityType, entityName: d.entityName })) })),
    };
  },
});

function sameQuotas(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** As Kafka's ClientQuotaEntity prints in its messages. */
function describeEntity(parts: readonly { entityType: string; entityName: string | null }[]): string {
  return `ClientQuotaEntity(entries={${parts.map((p) => `${p.entityType}=${p.entityName}`).join(', ')}})`;
}
