/**
 * What the broker answers when a storage engine call throws, and the counts operators watch.
 *
 * Two kinds, told apart by type, never by message: a StorageError (src/storage/errors.ts) is an I/O
 * fault the engine reported — KAFKA_STORAGE_ERROR, as Kafka answers for a failed log directory.
 * Anything else is an internal error: an engine (or the broker) broke an invariant. It is logged with
 * its context and stack, counted, and answered UNKNOWN_SERVER_ERROR, so "the disk failed" and "a bug"
 * look different to the client and to the operator.
 *
 * Callers: the broker's handlers and the produce path, on the event loop.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { NotLeaderError, StorageError } from '../storage/errors.js';
import type { Logger } from '../contracts/logger.js';

export interface EngineFaultAnswer {
  readonly errorCode: number;
  readonly message: string;
}

export class EngineFaults {
  /** StorageErrors (I/O faults) answered since start. */
  storageErrors = 0;
  /** Internal errors (anything else an engine threw) answered since start. */
  internalErrors = 0;

  constructor(private readonly log: Logger) {}

  /** The answer to `err`, thrown by the engine while doing `what` (e.g. `append to orders-0`); logged. */
  answer(what: string, err: unknown): EngineFaultAnswer {
    // Leadership moved under the append (a shared storage's epoch was bumped): not a fault at all.
    if (err instanceof NotLeaderError) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: err.message };
    if (err instanceof StorageError) {
      this.storageErrors++;
      this.log.error(`${what} failed: ${err.message}`);
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: err.message };
    }
    this.internalErrors++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.log.error(`internal error (${this.internalErrors} since start) in ${what}: ${e.stack ?? e.message}`);
    return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: `internal error in ${what}: ${e.message}` };
  }
}
