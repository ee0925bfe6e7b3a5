/**
 * The two measurements Kafka's client quotas are enforced with, as Kafka's metrics library computes
 * them (org.apache.kafka.common.metrics.stats): a sampled Rate (producer_byte_rate,
 * consumer_byte_rate, request_percentage) and a TokenBucket (controller_mutation_rate). Pure
 * arithmetic on times passed in, so tests can drive them with any clock.
 */

/** Kafka's SampledStat + Rate: `samples` windows of `windowMs`, a new window started on the first record past the current one. */
export class SampledRate {
  private readonly list: { start: number; value: number }[] = [];
  private current = 0;
  constructor(
    private readonly samples: number,
    private readonly windowMs: number,
  ) {}

  record(value: number, now: number): void {
    let cur = this.list[this.current];
    if (cur === undefined) {
      cur = { start: now, value: 0 };
      this.list[this.current] = cur;
    } else if (now >= cur.start + this.windowMs) {
      this.current = (this.current + 1) % this.samples;
      cur = this.list[this.current];
      if (cur === undefined) this.list[this.current] = cur = { start: now, value: 0 };
      else {
        cur.start = now;
        cur.value = 0;
      }
    }
    cur.value += value;
  }

  /** Samples older than the whole window start over (Kafka's purgeObsoleteSamples). */
  private purge(now: number): void {
    const expireMs = this.samples * this.windowMs;
    for (const s of this.list) {
      if (now - s.start >= expireMs) {
        s.start = now;
        s.value = 0;
      }
    }
  }

  /**
   * The window the rate is taken over (Kafka's Rate.windowSize): since the oldest sample, padded to
   * at least `samples - 1` full windows, so a client's first burst is not measured over a few ms.
   */
  windowSize(now: number): number {
    this.purge(now);
    let oldest = now;
    for (const s of this.list) if (s.start < oldest) oldest = s.start;
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    const minFull = this.samples - 1;
    if (full < minFull) elapsed += (minFull - full) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  /** Per second. */
  rate(now: number): number {
    const windowMs = this.windowSize(now); // purges
    let total = 0;
    for (const s of this.list) total += s.value;
    return (total * 1000) / windowMs;
  }
}

/**
 * Kafka's QuotaUtils.throttleTime: how long until the rate is back at the quota if nothing more is
 * recorded, (rate - quota) / quota × window.
 */
export function rateThrottleMs(rate: number, quota: number, windowSizeMs: number): number {
  if (rate <= quota) return 0;
  return Math.round(((rate - quota) / quota) * windowSizeMs);
}

/**
 * Kafka's TokenBucket (KIP-599, controller_mutation_rate): `quota` tokens a second, a burst of
 * `samples × windowSeconds × quota`; it starts full. Over quota means fewer than zero tokens.
 */
export class TokenBucket {
  private tokens = 0;
  private lastMs = Number.NEGATIVE_INFINITY; // the first refill fills the bucket

  constructor(
    private readonly samples: number,
    private readonly windowMs: number,
  ) {}

  private refill(quota: number, now: number): void {
    const burst = this.samples * (this.windowMs / 1000) * quota;
    this.tokens = Math.min(burst, this.tokens + (quota * (now - this.lastMs)) / 1000);
    this.lastMs = now;
  }

  measure(quota: number, now: number): number {
    this.refill(quota, now);
    return this.tokens;
  }

  record(quota: number, value: number, now: number): void {
    this.refill(quota, now);
    this.tokens -= value;
  }
}

/** Kafka's ControllerMutationQuotaManager.throttleTimeMs: time to earn the missing tokens back. */
export function bucketThrottleMs(tokens: number, quota: number): number {
  return tokens >= 0 ? 0 : Math.round((-tokens / quota) * 1000);
}
