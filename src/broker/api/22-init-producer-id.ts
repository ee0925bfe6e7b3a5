/**
 * InitProducerId (key 22), versions 0–5.
 * - Without a transactional id (idempotent producers) Kafka always hands out a fresh producer id at
 *   epoch 0, also when the client names its previous id and epoch (v3+, KIP-360): the new id starts
 *   with clean sequences. Ids are never reused, also across restarts on durable storage
 *   (broker.allocateProducerId).
 * - With a transactional id, the transaction coordinator (src/broker/transactions/) answers: the
 *   id's producer id with its epoch bumped (fencing the previous producer), CONCURRENT_TRANSACTIONS
 *   while its last transaction completes (an ongoing one is aborted first), INVALID_TRANSACTION_TIMEOUT
 *   for a timeout outside 1..transaction.max.timeout.ms, INVALID_REQUEST for an empty id.
 * - v3+: ProducerId/ProducerEpoch name the producer continuing after an error (KIP-360); both -1 or
 *   neither, else INVALID_REQUEST.
 * - v4+ may answer PRODUCER_FENCED (KIP-588); before, that is INVALID_PRODUCER_EPOCH.
 * - v5 only adds TRANSACTION_ABORTABLE (KIP-890), which this broker never answers here.
 * - ACLs (Kafka's handleInitProducerIdRequest): WRITE on the transactional id, else
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; without one, IDEMPOTENT_WRITE on the cluster or WRITE on
 *   some topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED.
 */
import { ApiKey, InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, allowedOnSome } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import { fencedCode } from '../transactions/errors.js';

export default defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(req, ctx) {
    const refuse = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    if (req.transactionalId !== null && !allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
      return refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if (req.transactionalId === null && !allowed(ctx, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME) && !allowedOnSome(ctx, AclOperation.WRITE, ResourceType.TOPIC)) {
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    if (req.transactionalId !== null) {
      let expected: { producerId: number; producerEpoch: number } | null = null;
      if (ctx.apiVersion >= 3 && (req.producerId !== -1n || req.producerEpoch !== -1)) {
        if (req.producerId === -1n || req.producerEpoch === -1) return refuse(ErrorCode.INVALID_REQUEST);
        expected = { producerId: Number(req.producerId), producerEpoch: req.producerEpoch };
      }
      const r = await ctx.broker.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected);
      if (r.errorCode !== ErrorCode.NONE) return refuse(fencedCode(r.errorCode, ctx.apiVersion, 4));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(r.producerId), producerEpoch: r.producerEpoch };
    }
    try {
      const producerId = await ctx.broker.allocateProducerId();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(producerId), producerEpoch: 0 };
    } catch (err) {
      ctx.broker.log.error(`InitProducerId: could not persist the producer id counter: ${(err as Error).message}`);
      return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  },
  clientThrottlesFromVersion: 1,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, producerId: -1n, producerEpoch: -1 };
  },
});
