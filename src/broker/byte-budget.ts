/**
 * A broker-wide count of bytes held for connections, with a cap and a wait list. Two instances:
 *
 * - `queued.max.request.bytes` (Kafka's name): request bytes read from sockets and not yet handled
 *   (frames waiting in a connection's queue, the frame being handled, a partial frame). At the cap a
 *   connection that already has a request waiting stops reading; one with none may still read its
 *   next frame, so every connection can make progress and nothing deadlocks on partial frames.
 *   Bound: the cap plus one frame (≤ `socket.request.max.bytes`) per connection.
 * - `queued.max.response.bytes`: response bytes handed to sockets and not yet written to the kernel.
 *   Fetch responses fill it: a consumer that stops reading leaves its response in Node's socket
 *   buffer. Each connection holds at most one such response (it handles no further request until its
 *   socket drained, as Kafka mutes a channel until its response is sent), and no Fetch starts while
 *   the count is at the cap. Bound: the cap plus the Fetches already started when it was reached.
 *
 * Callers: connections (connection.ts), on the broker's event loop only.
 */
export class ByteBudget {
  private held = 0;
  private peak = 0;
  private waits = 0;
  /** Connections waiting for room: at most one entry per connection, so bounded by max.connections. */
  private readonly waiters = new Set<() => void>();
  /** Set at shutdown: nothing waits any more, so every request already read can be answered. */
  private opened = false;

  constructor(
    /** The setting's name, for messages. */
    readonly name: string,
    readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`${name} must be >= 1 (got ${maxBytes})`);
  }

  get full(): boolean {
    return !this.opened && this.held >= this.maxBytes;
  }

  get heldBytes(): number {
    return this.held;
  }

  add(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
  }

  release(bytes: number): void {
    this.held -= bytes;
    if (this.held < 0) throw new Error(`${this.name}: count went negative (${this.held}); a connection released more than it added`);
    if (!this.full && this.waiters.size > 0) this.wakeAll();
  }

  /**
   * Wait until the count is below the cap. `resume` is called once, when there is room (at once if
   * there is room now); `cancel()` (a closing connection) drops the wait without calling it.
   */
  waitForRoom(resume: () => void): { cancel(): void } {
    if (!this.full) {
      resume();
      return { cancel() {} };
    }
    this.waits++;
    this.waiters.add(resume);
    return { cancel: () => this.waiters.delete(resume) };
  }

  /** Shutdown: stop holding anything back. */
  open(): void {
    this.opened = true;
    this.wakeAll();
  }

  stats(): { heldBytes: number; peakBytes: number; maxBytes: number; waits: number; waiting: number } {
    return { heldBytes: this.held, peakBytes: this.peak, maxBytes: this.maxBytes, waits: this.waits, waiting: this.waiters.size };
  }

  private wakeAll(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const resume of all) resume();
  }
}
