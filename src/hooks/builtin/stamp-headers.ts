/**
 * Built-in `stamp-headers`: adds headers to every produced record, set by the broker so consumers
 * can trust them (a header of the same name sent by the producer is replaced).
 *
 * Options (each a header name, or false to leave it out):
 *   receivedAt:     the broker's receive time, ms since the epoch as decimal text (default `rafka.received.ms`)
 *   clientId:       the producer's client id (default `rafka.client.id`; omitted when the client sent none)
 *   clientAddress:  the producer's address `ip:port` (default false)
 *   static:         extra fixed headers, name → text
 *
 * Idempotent batches may be stamped: the record count and offsets do not change.
 */
import type { Hook, HookFactory } from '../types.js';

export interface StampHeadersOptions {
  receivedAt?: string | false;
  clientId?: string | false;
  clientAddress?: string | false;
  static?: Record<string, string>;
}

export const stampHeadersHook: HookFactory<StampHeadersOptions> = (options): Hook => {
  const o = options ?? {};
  const receivedAt = o.receivedAt === undefined ? 'rafka.received.ms' : o.receivedAt;
  const clientId = o.clientId === undefined ? 'rafka.client.id' : o.clientId;
  const clientAddress = o.clientAddress ?? false;
  const fixed = Object.entries(o.static ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'utf8')] as const);
  for (const name of [receivedAt, clientId, clientAddress]) {
    if (name !== false && (typeof name !== 'string' || name === '')) throw new TypeError('stamp-headers: header names must be non-empty strings or false');
  }
  return {
    name: 'stamp-headers',
    async beforeProduce(ctx) {
      const time = receivedAt ? Buffer.from(String(ctx.receivedAtMs)) : null;
      const client = clientId && ctx.clientId !== null ? Buffer.from(ctx.clientId) : null;
      const address = clientAddress ? Buffer.from(ctx.connection.remote) : null;
      for (const r of await ctx.batch.records()) {
        if (time) r.setHeader(receivedAt as string, time);
        if (client) r.setHeader(clientId as string, client);
        if (address) r.setHeader(clientAddress as string, address);
        for (const [k, v] of fixed) r.setHeader(k, v);
      }
    },
  };
};
