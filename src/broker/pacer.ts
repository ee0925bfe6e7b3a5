/**
 * Lets a handler that works through many entries of one request (up to the element limit of
 * src/base/limits.ts) give other connections a turn: `await pacer.step()` once per entry returns at once
 * until PACER_SLICE_MS of work have passed, then waits for a macrotask (setImmediate), so pending
 * I/O — other clients' requests — runs in between. Awaiting an already-resolved promise does not do
 * that: promise callbacks all run before the event loop looks at sockets again.
 */

/** Work between two yields, at most (about). */
export const PACER_SLICE_MS = 20;
/** Entries between two looks at the clock. */
const CHECK_EVERY = 64;

export class Pacer {
  private sinceCheck = 0;
  private sliceStart = performance.now();

  step(): Promise<void> | undefined {
    if (++this.sinceCheck < CHECK_EVERY) return undefined;
    this.sinceCheck = 0;
    if (performance.now() - this.sliceStart < PACER_SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.sliceStart = performance.now();
        resolve();
      }),
    );
  }
}
