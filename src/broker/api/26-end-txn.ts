/**
 * EndTxn (key 26), versions 0–4: commit (committed=true) or abort the producer's transaction.
 * - Answered NONE once PrepareCommit/PrepareAbort is stored; the markers are then written to every
 *   partition of the transaction and the groups' offsets applied (commit) or dropped (abort), after
 *   which the transactional id is CompleteCommit/CompleteAbort (src/broker/transactions/).
 * - A retried EndTxn of a completed transaction with the same outcome is NONE; the opposite outcome,
 *   or no transaction at all, is INVALID_TXN_STATE; while the markers are being written the same
 *   outcome is CONCURRENT_TRANSACTIONS (retriable).
 * - INVALID_PRODUCER_ID_MAPPING for an unknown id or another producer id; PRODUCER_FENCED for any
 *   other epoch (v2+; INVALID_PRODUCER_EPOCH before, KIP-588); COORDINATOR_NOT_AVAILABLE /
 *   NOT_COORDINATOR (retriable); INVALID_REQUEST for an empty transactional id.
 * - v3 is the first flexible version; v4 only adds TRANSACTION_ABORTABLE (KIP-890), never answered
 *   here. v5 (transactions v2, KIP-890 part 2: an epoch bump per transaction) is not served.
 * - ACLs (Kafka's handleEndTxnRequest): WRITE on the transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
 */
import { ApiKey, EndTxnRequest, EndTxnResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { fencedCode } from '../transactions/errors.js';

export default defineHandler({
  apiKey: ApiKey.EndTxn,
  minVersion: 0,
  maxVersion: 4,
  request: EndTxnRequest,
  response: EndTxnResponse,
  async handle(req, ctx) {
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    const code = await ctx.broker.transactions.endTransaction(req.transactionalId, Number(req.producerId), req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencedCode(code, ctx.apiVersion, 2), producerId: -1n, producerEpoch: -1 };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, producerId: -1n, producerEpoch: -1 };
  },
});
