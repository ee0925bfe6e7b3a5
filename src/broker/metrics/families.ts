/**
 * A scrape's figures as plain data: what the broker's event loop hands the HTTP endpoint's worker
 * (../http/front-worker.ts), which writes them out in Prometheus's text format with prom-client. Nothing here
 * loads prom-client: the broker's isolate keeps only these numbers, and every mark-compact of a busy
 * broker walks its whole live heap (bench/README.md, "Session 13").
 *
 * Callers: metrics.ts and process.ts (build them, on the broker's event loop), exposition-text.ts
 * (reads them, on its own thread).
 */

export type Labels = Record<string, string>;

/** One series of a counter or gauge. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** One series of a histogram: observations per bucket (not cumulative; the last is above every bound), their sum and count. */
export interface HistogramSample {
  labels: Labels;
  buckets: ArrayLike<number>;
  sum: number;
  count: number;
}

export type MetricFamily =
  | { type: 'counter' | 'gauge'; name: string; help: string; labelNames: readonly string[]; samples: Sample[] }
  | { type: 'histogram'; name: string; help: string; labelNames: readonly string[]; bounds: readonly number[]; samples: HistogramSample[] };

/**
 * A histogram kept as plain numbers: a count, a sum and a Float64Array of observations per bucket
 * (index i counts values above bound i−1 up to bound i, the last index those above every bound).
 * Observing allocates nothing.
 */
export class HistogramTally {
  count = 0;
  sum = 0;
  readonly buckets: Float64Array;

  constructor(readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.buckets[i]!++;
  }

  /** This tally as one series of a histogram family (a copy: the tally goes on counting). */
  sample(labels: Labels): HistogramSample {
    return { labels, buckets: this.buckets.slice(), sum: this.sum, count: this.count };
  }
}

/** A counter or gauge family with no series yet; `samples` is filled by the caller. */
export function family(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[] = []): Extract<MetricFamily, { type: 'counter' | 'gauge' }> {
  return { type, name, help, labelNames, samples: [] };
}

/** A histogram family of `samples` (HistogramTally.sample()), over `bounds`. */
export function histogramFamily(name: string, help: string, labelNames: readonly string[], bounds: readonly number[], samples: HistogramSample[]): MetricFamily {
  return { type: 'histogram', name, help, labelNames, bounds, samples };
}
