/**
 * Built-in `rate-limit`: a produce byte-rate quota per client id, answered as Kafka's quotas are
 * (KIP-13, KIP-219). The bytes of every Produce request are recorded against the client id; when
 * the client's rate over the quota window exceeds its quota, the response carries
 * `throttle_time_ms` and the broker mutes the connection for that long after answering (requests
 * of clients that predate KIP-219 — Produce below v6 — get their answer delayed instead). The
 * request itself is always handled: a quota slows a client down, it never refuses data.
 *
 * The rate and the throttle time follow Kafka's ClientQuotaManager: the rate is measured over
 * `samples` windows of `windowMs` each (Kafka's quota.window.num = 11, quota.window.size.seconds =
 * 1); the window counts as at least `samples - 1` full windows, and the throttle is
 * (rate - quota) / quota × window, at most the whole window.
 *
 * Options:
 *   bytesPerSecond:  the default quota of every client id (Kafka's producer_byte_rate)
 *   clients:         quotas of particular client ids, id → bytes per second
 *   samples:         windows kept (default 11)
 *   windowMs:        length of one window (default 1000)
 */
import { ApiKey } from '../../protocol/messages/index.js';
import type { Hook, HookFactory } from '../types.js';

export interface RateLimitOptions {
  bytesPerSecond?: number;
  clients?: Record<string, number>;
  samples?: number;
  windowMs?: number;
}

/** Named limit: client ids tracked at once (least recently seen forgotten first). */
export const MAX_TRACKED_CLIENTS = 10_000;

interface Sample {
  start: number;
  bytes: number;
}

/** Kafka's SampledStat Rate over `samples` windows of `windowMs`. */
export class ByteRate {
  private readonly list: Sample[] = [];
  constructor(
    private readonly samples: number,
    private readonly windowMs: number,
  ) {}

  record(now: number, bytes: number): void {
    const last = this.list[this.list.length - 1];
    if (last && now - last.start < this.windowMs) last.bytes += bytes;
    else this.list.push({ start: now, bytes });
    while (this.list.length > 0 && now - this.list[0]!.start >= this.samples * this.windowMs) this.list.shift();
  }

  /** Measured window in ms: since the oldest sample, at least samples - 1 full windows. */
  windowSize(now: number): number {
    const oldest = this.list[0]?.start ?? now;
    return Math.max(now - oldest, (this.samples - 1) * this.windowMs, 1);
  }

  /** Bytes per second. */
  rate(now: number): number {
    let total = 0;
    for (const s of this.list) total += s.bytes;
    return (total * 1000) / this.windowSize(now);
  }
}

/** Kafka's throttle time for an observed rate over a quota: (rate - quota) / quota × window, capped. */
export function throttleTimeMs(rate: number, quota: number, windowSizeMs: number, maxMs: number): number {
  if (rate <= quota) return 0;
  return Math.min(Math.round(((rate - quota) / quota) * windowSizeMs), maxMs);
}

function requestBytes(req: { topicData?: { partitionData?: { records?: unknown }[] }[] }): number {
  let n = 0;
  for (const t of req.topicData ?? []) {
    for (const p of t.partitionData ?? []) {
      const r = p.records;
      if (Buffer.isBuffer(r)) n += r.length;
    }
  }
  return n;
}

export const rateLimitHook: HookFactory<RateLimitOptions> = (options): Hook => {
  const o = options ?? {};
  const samples = o.samples ?? 11;
  const windowMs = o.windowMs ?? 1000;
  const clients = o.clients ?? {};
  if (o.bytesPerSecond === undefined && Object.keys(clients).length === 0) throw new TypeError('rate-limit: give bytesPerSecond and/or clients');
  for (const [who, q] of [['bytesPerSecond', o.bytesPerSecond] as const, ...Object.entries(clients)]) {
    if (q !== undefined && !(typeof q === 'number' && q > 0)) throw new TypeError(`rate-limit: quota of ${who} must be a positive number`);
  }
  if (!Number.isInteger(samples) || samples < 2) throw new TypeError('rate-limit: samples must be an integer >= 2');
  if (!(windowMs > 0)) throw new TypeError('rate-limit: windowMs must be positive');
  const rates = new Map<string, ByteRate>();

  return {
    name: 'rate-limit',
    apis: [ApiKey.Produce],
    onRequest(ctx) {
      const id = ctx.clientId ?? '';
      const quota = clients[id] ?? o.bytesPerSecond;
      if (quota === undefined) return;
      let rate = rates.get(id);
      if (rate) rates.delete(id); // re-insert: Map order is least recently seen first
      else rate = new ByteRate(samples, windowMs);
      rates.set(id, rate);
      if (rates.size > MAX_TRACKED_CLIENTS) rates.delete(rates.keys().next().value as string);
      const now = Date.now();
      rate.record(now, requestBytes(ctx.request));
      const throttle = throttleTimeMs(rate.rate(now), quota, rate.windowSize(now), samples * windowMs);
      if (throttle > 0) {
        ctx.log.debug(`client ${JSON.stringify(id)} over its quota of ${quota} B/s: throttled ${throttle} ms`);
        return { throttleTimeMs: throttle };
      }
    },
  };
};
