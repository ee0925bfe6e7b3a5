/**
 * The broker's one source of time: what it reads as "now" and how it waits. Everything on a path
 * that waits on time (group sessions and rebalances, transaction timeouts and id expiry, retention
 * and compaction passes, LogAppendTime stamps, fetch long polls, fetch-session eviction, client
 * quota windows and throttles, injected delays and throttles) asks the broker's Clock instead of Date.now()/setTimeout/setInterval, so
 * that a test can run it on virtual time (docs/testing.md, "Virtual time").
 *
 * - `SYSTEM_CLOCK` is Node's own timers and Date.now(): with it the broker behaves as it always has.
 * - `ManualClock` moves only when told: `advance(ms)` runs every timer that falls due, in time order,
 *   and lets the promises they start settle before the next one. A timer due at once (delay 0 or
 *   less) runs on the next turn of the event loop without any advance, as it would on real time:
 *   virtual time only stands still, it never stops work that needs no time to pass.
 *
 * What stays on real time, on purpose: socket idle timeouts, hook time limits, connection-rate
 * limits and latency measurements — they guard the process or measure it, and are not behaviour a
 * test wants to fast-forward.
 */

/** A scheduled timer; `unref()` lets the process exit while it is pending (a no-op on virtual time). */
export interface ClockTimer {
  unref(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, delayMs: number): ClockTimer;
  setInterval(fn: () => void, periodMs: number): ClockTimer;
  /** Cancel a timeout or an interval (either kind, as Node's clearTimeout does). */
  clearTimeout(timer: ClockTimer | undefined | null): void;
  /** A promise that resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

/** Node's timers and Date.now(). */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, delayMs: number): ClockTimer => setTimeout(fn, delayMs),
  setInterval: (fn: () => void, periodMs: number): ClockTimer => setInterval(fn, periodMs),
  clearTimeout: (timer: ClockTimer | undefined | null): void => clearTimeout(timer as NodeJS.Timeout | undefined),
  sleep: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
});

interface VirtualTimer extends ClockTimer {
  readonly seq: number;
  dueMs: number;
  /** 0 for a timeout. */
  readonly periodMs: number;
  readonly fn: () => void;
}

/** Turns of the event loop `advance` lets pass after each timer: enough for promise chains and in-memory storage. */
const SETTLE_TURNS = 3;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Virtual time for tests. It starts at `startMs` (default: the real time when it is made, so record
 * timestamps look ordinary) and moves only through `advance` or `set`.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Set<VirtualTimer>();
  /** The advance under way: advances run one after another, never interleaved. */
  private tail: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Errors thrown by timer callbacks during the current advance (the first is rethrown). */
  private errors: unknown[] = [];

  constructor(startMs: number = Date.now()) {
    if (!Number.isFinite(startMs)) throw new RangeError(`clock start must be a finite number of ms, not ${startMs}`);
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): ClockTimer {
    return this.add(fn, delayMs, 0);
  }

  setInterval(fn: () => void, periodMs: number): ClockTimer {
    // As Node: an interval below 1 ms runs every 1 ms.
    const period = Math.max(1, Number.isFinite(periodMs) ? periodMs : 1);
    return this.add(fn, period, period);
  }

  clearTimeout(timer: ClockTimer | undefined | null): void {
    if (timer) this.timers.delete(timer as VirtualTimer);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers waiting, and when each falls due (ms since the epoch), soonest first. */
  pending(): number[] {
    return [...this.timers].map((t) => t.dueMs).sort((a, b) => a - b);
  }

  /**
   * Move time forward by `ms`: every timer due up to the new time runs, in time order (ties in the
   * order they were set), with the clock reading the timer's own due time while it runs, and the
   * promises it starts get a few turns of the event loop to settle before the next one. Timers set
   * by those callbacks run too when they fall due within the same advance. Resolves once time reads
   * `now() + ms`. Work that waits on real I/O (a disk, a client's next request) may still be under
   * way then: wait for its effect (rafka/testing's `waitFor`).
   */
  advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) return Promise.reject(new RangeError(`advance needs a finite number of ms >= 0, not ${ms}`));
    const run = this.tail.then(() => this.runUntil(this.nowMs + ms));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Move time to `atMs` (not backwards), as `advance(atMs - now())`. */
  set(atMs: number): Promise<void> {
    return this.advance(Math.max(0, atMs - this.nowMs));
  }

  private add(fn: () => void, delayMs: number, periodMs: number): VirtualTimer {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: VirtualTimer = { seq: this.seq++, dueMs: this.nowMs + delay, periodMs, fn, unref: () => timer };
    this.timers.add(timer);
    if (delay === 0) this.scheduleFlush();
    return timer;
  }

  /** Run timers due at the current time on the next turn of the event loop (no time passes). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (let t = this.nextDue(this.nowMs); t !== null; t = this.nextDue(this.nowMs)) this.fire(t, (err) => this.report(err));
    });
  }

  private async runUntil(targetMs: number): Promise<void> {
    this.errors = [];
    await this.settle();
    for (let t = this.nextDue(targetMs); t !== null; t = this.nextDue(targetMs)) {
      this.nowMs = Math.max(this.nowMs, t.dueMs);
      this.fire(t, (err) => this.errors.push(err));
      await this.settle();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
    await this.settle();
    if (this.errors.length > 0) throw this.errors[0];
  }

  private fire(t: VirtualTimer, onError: (err: unknown) => void): void {
    if (t.periodMs > 0) t.dueMs += t.periodMs;
    else this.timers.delete(t);
    try {
      t.fn();
    } catch (err) {
      onError(err);
    }
  }

  /** A callback that throws outside an advance: as a throwing Node timer, an uncaught exception. */
  private report(err: unknown): never {
    throw err;
  }

  private nextDue(limitMs: number): VirtualTimer | null {
    let best: VirtualTimer | null = null;
    for (const t of this.timers) {
      if (t.dueMs > limitMs) continue;
      if (best === null || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private async settle(): Promise<void> {
    for (let i = 0; i < SETTLE_TURNS; i++) await nextTurn();
  }
}
