/**
 * The one error an engine throws for an I/O fault (a failed write or fsync, a log taken offline, an
 * engine closed under a request): the broker answers KAFKA_STORAGE_ERROR, as Kafka does for a log
 * directory failure. Anything else an engine throws is a bug — an invariant broke — and the broker
 * treats it as an internal error (logged with context, UNKNOWN_SERVER_ERROR, counted: broker.ts).
 */
export class StorageError extends Error {
  readonly code = 'KAFKA_STORAGE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/**
 * A topic create refused because a topic of that name exists in the storage although this broker
 * did not know it: another broker sharing the storage created it at the same moment. Not an I/O
 * fault: the broker answers TOPIC_ALREADY_EXISTS, as Kafka's controller answers the second create.
 */
export class TopicExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicExistsError';
  }
}

/** A Node system error (EIO, ENOSPC, EBADF, …) from a file operation: an I/O fault. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * An append refused because this broker no longer holds the partition's leader epoch in a storage
 * shared by several brokers (the postgres engine: another broker bumped the epoch and took the
 * partition). The broker answers NOT_LEADER_OR_FOLLOWER, so the client looks up the new leader.
 */
export class NotLeaderError extends StorageError {
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

/**
 * A group write refused because this broker no longer coordinates the group in a storage shared by
 * several brokers (another took it over). The group APIs answer NOT_COORDINATOR, as for any failed
 * group write (src/broker/groups/coordinator.ts STORAGE_FAILURE).
 */
export class NotCoordinatorError extends StorageError {
  constructor(message: string) {
    super(message);
    this.name = 'NotCoordinatorError';
  }
}
