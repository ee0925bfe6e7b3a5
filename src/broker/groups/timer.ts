/**
 * Keyed timeouts for the group coordinator (session expiry per member, join and sync deadlines per
 * group, the offset retention pass). Scheduling a key again replaces its timeout, as Kafka's
 * coordinator timer does. Timers are unref'd: they never keep a process alive on their own.
 *
 * The callback runs on the event loop like any request handler, so it sees and changes the
 * coordinator's state between requests, never in the middle of one. A callback that throws is a bug:
 * it is reported to `onError` (logged) rather than crashing the process.
 */
import { SYSTEM_CLOCK, type Clock, type ClockTimer } from '../../base/clock.js';

export class KeyedTimer {
  private readonly timers = new Map<string, ClockTimer>();
  private stopped = false;

  constructor(
    private readonly onError: (key: string, err: unknown) => void,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  /** Replace the key's timeout; does nothing once stopped. */
  schedule(key: string, delayMs: number, fn: () => void): void {
    this.cancel(key);
    if (this.stopped) return;
    const t = this.clock.setTimeout(() => {
      if (this.timers.get(key) !== t) return;
      this.timers.delete(key);
      try {
        fn();
      } catch (err) {
        this.onError(key, err);
      }
    }, Math.max(0, Math.min(delayMs, 2147483647)));
    t.unref();
    this.timers.set(key, t);
  }

  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t === undefined) return;
    this.clock.clearTimeout(t);
    this.timers.delete(key);
  }

  has(key: string): boolean {
    return this.timers.has(key);
  }

  /** Cancel everything and refuse new timeouts (shutdown). */
  stop(): void {
    this.stopped = true;
    this.cancelAll();
  }

  cancelAll(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
  }

  get size(): number {
    return this.timers.size;
  }
}
