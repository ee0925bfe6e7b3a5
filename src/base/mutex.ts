/**
 * A FIFO async mutex: runs critical sections one after another. Used where an operation spans
 * awaits and must not interleave with another (a partition's structural changes: writes, rolls,
 * segment deletion and replacement; the engine's topic operations).
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Critical sections queued or running. */
  get pending(): number {
    return this.waiting;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }
}
