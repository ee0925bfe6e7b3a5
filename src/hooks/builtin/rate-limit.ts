/**
 * Built-in `rate-limit`: an example of a hook that throttles — a produce byte-rate quota per client
 * id set in the hook's options, answered as Kafka's quotas are (KIP-13, KIP-219). The broker's own
 * client quotas (src/broker/quotas/: AlterClientQuotas, `rafka quotas set`, kafka-configs.sh) are
 * the way to limit clients; this hook shows how a hook can throttle by any rule of its own. The bytes of every Produce request are recorded against the client id; when
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
import { SampledRate, rateThrottleMs } from '../../base/rates.js';

export interface RateLimitOptions {
  bytesPerSecond?: number;
  clients?: Record<string, number>;
  samples?: number;
  windowMs?: number;
}

/** Named limit: client ids tracked at once (least recently seen forgotten first). */
export const MAX_TRACKED_CLIENTS = 10_000;

/** Kafka's throttle time for an observed rate over a quota: (rate - quota) / quota × window, capped. */
export function throttleTimeMs(rate: number, quota: number, windowSizeMs: number, maxMs: number): number {
  return Math.min(rateThrottleMs(rate, quota, windowSizeMs), maxMs);
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
  const rates = new Map<string, SampledRate>();

  return {
    name: 'rate-limit',
    apis: [ApiKey.Produce],
    onRequest(ctx) {
      const id = ctx.clientId ?? '';
      const quota = clients[id] ?? o.bytesPerSecond;
      if (quota === undefined) return;
      let rate = rates.get(id);
      if (rate) rates.delete(id); // re-insert: Map order is least recently seen first
      else rate = new SampledRate(samples, windowMs);
      rates.set(id, rate);
      if (rates.size > MAX_TRACKED_CLIENTS) rates.delete(rates.keys().next().value as string);
      const now = Date.now();
      rate.record(requestBytes(ctx.request), now);
      const throttle = throttleTimeMs(rate.rate(now), quota, rate.windowSize(now), samples * windowMs);
      if (throttle > 0) {
        ctx.log.debug(`client ${JSON.stringify(id)} over its quota of ${quota} B/s: throttled ${throttle} ms`);
        return { throttleTimeMs: throttle };
      }
    },
  };
};
