/**
 * ListTransactions (key 66), versions 0–1 (KIP-664): the transactional ids this coordinator knows,
 * filtered by state names and producer ids (an empty filter matches all). State names Kafka does not
 * know are echoed in `unknownStateFilters` and match nothing. v1 adds DurationFilter (KIP-994): only
 * transactions begun more than that many milliseconds ago (-1: no filter). COORDINATOR_NOT_AVAILABLE
 * while the coordinator loads. The response is bounded (response-budget.ts): a list that would take
 * it past RESPONSE_MAX_BYTES is answered INVALID_REQUEST, empty (narrow the filters).
 */
import { ApiKey, ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { ResponseBudget, stringBytes } from '../response-budget.js';
import { ALL_STATES, type TxnState } from '../transactions/metadata.js';

export default defineHandler({
  apiKey: ApiKey.ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  request: ListTransactionsRequest,
  response: ListTransactionsResponse,
  handle(req, ctx) {
    const txns = ctx.broker.transactions;
    const unknownStateFilters = req.stateFilters.filter((s) => !ALL_STATES.includes(s as TxnState));
    if (!txns.isActive) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    const duration = ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1;
    // ACLs (Kafka's handleListTransactionsRequest): only transactional ids the principal may DESCRIBE.
    const listed = txns.list(req.stateFilters, req.producerIdFilters.map(Number), duration).filter((t) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactionalId));
    const budget = new ResponseBudget();
    if (!listed.every((t) => budget.take(stringBytes(t.transactionalId) + stringBytes(t.state) + 9))) {
      return { throttleTimeMs: 0, errorCode: budget.errorCode, unknownStateFilters, transactionStates: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: listed.map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.state })),
    };
  },
  clientThrottlesFromVersion: 0,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, unknownStateFilters: [], transactionStates: [] };
  },
});
