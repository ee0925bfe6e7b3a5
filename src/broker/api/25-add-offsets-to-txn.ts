/**
 * AddOffsetsToTxn (key 25), versions 0–4: the consumer group whose offsets the transaction will
 * commit (TxnOffsetCommit) joins the transaction, as Kafka adds the group's `__consumer_offsets`
 * partition. Errors as AddPartitionsToTxn: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (v2+;
 * INVALID_PRODUCER_EPOCH before, KIP-588), CONCURRENT_TRANSACTIONS, INVALID_REQUEST (empty
 * transactional id), COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR. The group id is not checked
 * here (Kafka only maps it to its offsets partition); TxnOffsetCommit checks the group. v3 is the first flexible version; v4 only adds TRANSACTION_ABORTABLE (KIP-890), which this
 * broker never answers.
 * - ACLs (Kafka's handleAddOffsetsToTxnRequest): WRITE on the transactional id, else
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; READ on the group, else GROUP_AUTHORIZATION_FAILED.
 */
import { ApiKey, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/messages/index.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import { fencedCode } from '../transactions/errors.js';

export default defineHandler({
  apiKey: ApiKey.AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  request: AddOffsetsToTxnRequest,
  response: AddOffsetsToTxnResponse,
  async handle(req, ctx) {
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const code = await ctx.broker.transactions.addToTransaction(req.transactionalId, Number(req.producerId), req.producerEpoch, [], [req.groupId]);
    return { throttleTimeMs: 0, errorCode: fencedCode(code, ctx.apiVersion, 2) };
  },
  clientThrottlesFromVersion: 1,
  errorResponse(_req, _v, errorCode) {
    return { errorCode };
  },
});
