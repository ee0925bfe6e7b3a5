/**
 * The size of one response, estimated while it is planned, against RESPONSE_MAX_BYTES (src/base/limits.ts):
 * a handler whose answer grows with the broker's state rather than with the request (a topic's
 * partitions, a resource's configs, a group's members or committed offsets) asks for each entry's
 * estimated size before building it, and answers an entry that does not fit with an error instead.
 * Once one entry is refused every later one is too, so a client sees a prefix and errors, never a
 * response with holes.
 *
 * There is no Kafka error code for "response too large"; INVALID_REQUEST is what Kafka answers
 * requests it will not serve as asked, with the message saying why. Kafka has no such limit (its
 * KIP-966 DescribeTopicPartitions pages instead); connection.ts also bounds the encoding itself.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { RESPONSE_MAX_BYTES } from '../base/limits.js';

export class ResponseBudget {
  private left: number;

  constructor(readonly maxBytes: number = RESPONSE_MAX_BYTES) {
    this.left = maxBytes;
  }

  /** Whether an entry of about `bytes` still fits (and count it). */
  take(bytes: number): boolean {
    if (bytes > this.left) {
      this.left = 0;
      return false;
    }
    this.left -= bytes;
    return true;
  }

  readonly errorCode = ErrorCode.INVALID_REQUEST;

  get message(): string {
    return `The response would be larger than this broker's limit of ${this.maxBytes} bytes`;
  }
}

/** Estimated encoded bytes of a string field (length prefix and UTF-8; ASCII assumed, rounded up). */
export function stringBytes(s: string | null | undefined): number {
  return 3 + (s == null ? 0 : s.length * 3);
}
