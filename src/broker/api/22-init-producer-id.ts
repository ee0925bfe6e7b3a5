/**
 * InitProducerId (key 22), versions 0–5, for idempotent producers.
 * - Without a transactional id Kafka always hands out a fresh producer id at epoch 0, also when the
 *   client names its previous id and epoch (v3+, KIP-360): the new id starts with clean sequences.
 *   Ids are never reused, also across restarts on durable storage (broker.allocateProducerId).
 * - With a transactional id: transactions are not supported by this broker, answered with
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED (non-retriable, so the client stops instead of looping).
 */
import { ApiKey, InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(req, ctx) {
    if (req.transactionalId !== null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    try {
      const producerId = await ctx.broker.allocateProducerId();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(producerId), producerEpoch: 0 };
    } catch (err) {
      ctx.broker.log.error(`InitProducerId: could not persist the producer id counter: ${(err as Error).message}`);
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  },
  clientThrottlesFromVersion: 1,
  errorResponse(_req, _v, errorCode) {
    return { errorCode, producerId: -1n, producerEpoch: -1 };
  },
});
