/**
 * KIP-588: PRODUCER_FENCED is answered only from the version of each transactional API that added
 * it (InitProducerId v4, AddPartitionsToTxn/AddOffsetsToTxn/EndTxn v2); older clients get
 * INVALID_PRODUCER_EPOCH, as Kafka's KafkaApis converts it. The version is the handler's fact.
 */
import { ErrorCode } from '../../protocol/error-codes.js';

export function fencedCode(errorCode: number, version: number, fencedFromVersion: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < fencedFromVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
