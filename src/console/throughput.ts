/**
 * The overview's sparklines: every THROUGHPUT_SAMPLE_MS the broker-wide totals of bytes in, records
 * in and bytes out (BrokerMetrics.totals(), the counters /metrics serves) become one rate sample; the
 * last THROUGHPUT_SAMPLES are kept, so the page shows the last minutes even when just opened. A
 * deleted topic takes its counts with it, so a negative difference counts as 0.
 *
 * Callers: console/index.ts starts it with the console and stops it when the endpoint closes; its
 * timer is unref'd (it never holds the process open).
 */
import type { BrokerMetrics } from '../broker/metrics/metrics.js';

export const THROUGHPUT_SAMPLE_MS = 2000;
/** Samples kept: five minutes at one every two seconds. */
export const THROUGHPUT_SAMPLES = 150;

export interface ThroughputSample {
  /** End of the interval, ms since the epoch. */
  readonly t: number;
  readonly bytesInPerSec: number;
  readonly recordsInPerSec: number;
  readonly bytesOutPerSec: number;
}

export class ThroughputSampler {
  private readonly samples: ThroughputSample[] = [];
  private last: { t: number; bytesIn: number; recordsIn: number; bytesOut: number };
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly metrics: Pick<BrokerMetrics, 'totals'>) {
    this.last = { t: Date.now(), ...metrics.totals() };
  }

  start(intervalMs = THROUGHPUT_SAMPLE_MS): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Take one sample now (the timer's tick). */
  sample(now = Date.now()): void {
    const totals = this.metrics.totals();
    const secs = Math.max(0.001, (now - this.last.t) / 1000);
    const rate = (a: number, b: number) => Math.max(0, a - b) / secs;
    this.samples.push({
      t: now,
      bytesInPerSec: rate(totals.bytesIn, this.last.bytesIn),
      recordsInPerSec: rate(totals.recordsIn, this.last.recordsIn),
      bytesOutPerSec: rate(totals.bytesOut, this.last.bytesOut),
    });
    if (this.samples.length > THROUGHPUT_SAMPLES) this.samples.shift();
    this.last = { t: now, ...totals };
  }

  /** The samples, oldest first, and the totals since start. */
  view(): { intervalMs: number; samples: readonly ThroughputSample[]; totals: ReturnType<BrokerMetrics['totals']> } {
    return { intervalMs: THROUGHPUT_SAMPLE_MS, samples: this.samples, totals: this.metrics.totals() };
  }
}
