/**
 * The client's errors: one class per kind of failure, each with a stable `code` (a string that never
 * changes between releases), and `retriable`, whether trying the same operation again may succeed.
 *
 * - KafkaProtocolError: the broker answered with a Kafka error code. `code` is Kafka's name for it
 *   (`UNKNOWN_TOPIC_OR_PARTITION`), `errorCode` the number, `retriable` Kafka's own flag.
 * - ConnectionError: the TCP connection could not be made or broke while a request was in flight.
 * - RequestTimeoutError: no response within `requestTimeoutMs` (the connection is then closed, as
 *   Kafka's NetworkClient does: a late response could otherwise be matched to the wrong request).
 * - UnsupportedVersionError: the broker does not offer any version of an API that we can speak.
 * - TlsError: the TLS handshake failed for a reason retrying will not fix (the broker's certificate
 *   does not verify or does not name the host, our client certificate is refused or missing): Java's
 *   SslAuthenticationException. A failed SASL login is the broker's SASL_AUTHENTICATION_FAILED (a
 *   KafkaProtocolError, not retriable), also when it is our side that refuses the broker's SCRAM
 *   signature.
 * - DeliveryTimeoutError: the producer gave up on a record after `deliveryTimeoutMs` of retries.
 * - BufferFullError / RecordTooLargeError: producer-side limits.
 * - ClientClosedError: the operation was started on (or interrupted by) a closed client.
 * - ConfigError: invalid options; raised by constructors.
 * - Transactions (src/client/transactions.ts), as the Java client's TransactionManager raises them:
 *   TransactionStateError (a method called in a state that does not allow it: Java's
 *   IllegalStateException), AbortableTransactionError (an earlier error made the transaction
 *   abortable: only abortTransaction() works now; `cause` is that error), TransactionAbortedError (a
 *   record never sent because its transaction was aborted), TransactionTimeoutError (a blocking call
 *   ran out of maxBlockMs; calling it again resumes). A fatal error (PRODUCER_FENCED, …) is the
 *   broker's KafkaProtocolError itself, thrown again by every later call.
 */
import { errorName, isRetriable } from '../protocol/error-codes.js';

export class KafkaClientError extends Error {
  override readonly name: string = 'KafkaClientError';
  constructor(
    /** Stable identifier of the failure, e.g. `RAFKA_CONNECTION` or Kafka's `NOT_LEADER_OR_FOLLOWER`. */
    readonly code: string,
    message: string,
    /** Whether the same operation may succeed when tried again. */
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class KafkaProtocolError extends KafkaClientError {
  override readonly name: string = 'KafkaProtocolError';
  /** Kafka's numeric error code. */
  readonly errorCode: number;
  /** Kafka's name for the code (same as `code`). */
  readonly type: string;
  constructor(errorCode: number, detail?: string | null) {
    const type = errorName(errorCode);
    super(type, detail ? `${type}: ${detail}` : type, isRetriable(errorCode));
    this.errorCode = errorCode;
    this.type = type;
  }
}

export class ConnectionError extends KafkaClientError {
  override readonly name: string = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RAFKA_CONNECTION', message, true, options);
  }
}

export class RequestTimeoutError extends KafkaClientError {
  override readonly name: string = 'RequestTimeoutError';
  constructor(message: string) {
    super('RAFKA_REQUEST_TIMEOUT', message, true);
  }
}

export class UnsupportedVersionError extends KafkaClientError {
  override readonly name: string = 'UnsupportedVersionError';
  constructor(message: string) {
    super('RAFKA_UNSUPPORTED_VERSION', message, false);
  }
}

export class TlsError extends KafkaClientError {
  override readonly name: string = 'TlsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RAFKA_TLS', message, false, options);
  }
}

export class DeliveryTimeoutError extends KafkaClientError {
  override readonly name: string = 'DeliveryTimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RAFKA_DELIVERY_TIMEOUT', message, false, options);
  }
}

export class BufferFullError extends KafkaClientError {
  override readonly name: string = 'BufferFullError';
  constructor(message: string) {
    super('RAFKA_BUFFER_FULL', message, true);
  }
}

export class RecordTooLargeError extends KafkaClientError {
  override readonly name: string = 'RecordTooLargeError';
  constructor(message: string) {
    super('RAFKA_RECORD_TOO_LARGE', message, false);
  }
}

export class ClientClosedError extends KafkaClientError {
  override readonly name: string = 'ClientClosedError';
  constructor(what = 'client') {
    super('RAFKA_CLIENT_CLOSED', `the ${what} is closed`, false);
  }
}

export class ConfigError extends KafkaClientError {
  override readonly name: string = 'ConfigError';
  constructor(message: string) {
    super('RAFKA_CONFIG', message, false);
  }
}

export class TransactionStateError extends KafkaClientError {
  override readonly name: string = 'TransactionStateError';
  constructor(message: string) {
    super('RAFKA_TXN_STATE', message, false);
  }
}

export class AbortableTransactionError extends KafkaClientError {
  override readonly name: string = 'AbortableTransactionError';
  constructor(message: string, cause: Error) {
    super('RAFKA_TXN_ABORTABLE', `${message}: ${cause.message}`, false, { cause });
  }
}

export class TransactionAbortedError extends KafkaClientError {
  override readonly name: string = 'TransactionAbortedError';
  constructor(message = 'the transaction was aborted before this record was sent') {
    super('RAFKA_TXN_ABORTED', message, false);
  }
}

export class TransactionTimeoutError extends KafkaClientError {
  override readonly name: string = 'TransactionTimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RAFKA_TXN_TIMEOUT', message, true, options);
  }
}

/** Throw KafkaProtocolError unless `errorCode` is NONE (0). */
export function check(errorCode: number, detail?: string | null): void {
  if (errorCode !== 0) throw new KafkaProtocolError(errorCode, detail);
}

/** Whether an error may go away by trying again (connection trouble or a retriable Kafka code). */
export function isRetriableError(e: unknown): boolean {
  return e instanceof KafkaClientError && e.retriable;
}
