/**
 * Errors raised by the record-batch code, each carrying the Kafka error code the broker should answer
 * with for the partition. The numeric constants below use Kafka's names; the shared error table
 * (src/protocol/error-codes.ts) is the authority and these are expected to be reconciled with it.
 */

/** CRC mismatch, impossible length, truncated batch, invalid magic byte (retriable in the Java client). */
export const CORRUPT_MESSAGE = 2;
/** Batch larger than max.message.bytes (the Java producer splits the batch and retries). */
export const MESSAGE_TOO_LARGE = 10;
/** Compression codec not allowed for this request version, or unknown codec id. */
export const UNSUPPORTED_COMPRESSION_TYPE = 76;
/** Batch or record fails validation: wrong magic for Produce v3+, inconsistent counts, bad record structure. */
export const INVALID_RECORD = 87;

export type RecordsErrorCode =
  | typeof CORRUPT_MESSAGE
  | typeof MESSAGE_TOO_LARGE
  | typeof UNSUPPORTED_COMPRESSION_TYPE
  | typeof INVALID_RECORD;

/** A record batch (or its compressed payload) is unacceptable; `errorCode` is Kafka's answer for it. */
export class RecordsError extends Error {
  override readonly name: string = 'RecordsError';
  constructor(readonly errorCode: RecordsErrorCode, message: string) {
    super(message);
  }
}

/**
 * Decompressed data would exceed the caller's limit (decompression-bomb guard). Answered as
 * MESSAGE_TOO_LARGE: the data really is too large for us, and the Java producer reacts to that code by
 * splitting the batch and retrying.
 */
export class DecompressionLimitError extends RecordsError {
  override readonly name: string = 'DecompressionLimitError';
  constructor(readonly limit: number, message?: string) {
    super(MESSAGE_TOO_LARGE, message ?? `decompressed data exceeds the limit of ${limit} bytes`);
  }
}
