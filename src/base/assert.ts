/**
 * Invariant checks for the hot path (TigerBeetle's rule: assert what must hold, and stop when it does
 * not). A broken invariant is a bug, never a client's doing: `invariant` throws InvariantError, which
 * the broker answers as an internal error (logged with context, UNKNOWN_SERVER_ERROR, counted:
 * src/broker/engine-faults.ts) instead of writing or acknowledging something wrong.
 *
 * Always on, in tests and in production: a check is one comparison and a branch. Call sites pass a
 * constant message and up to two numbers, so nothing is allocated unless the check fails.
 */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

/** Throws InvariantError(`what` with the numbers) unless `cond` holds. */
export function invariant(cond: boolean, what: string, a?: number, b?: number): asserts cond {
  if (!cond) fail(what, a, b);
}

function fail(what: string, a: number | undefined, b: number | undefined): never {
  const detail = a === undefined ? '' : b === undefined ? ` (${a})` : ` (${a}, ${b})`;
  throw new InvariantError(`invariant broken: ${what}${detail}`);
}
