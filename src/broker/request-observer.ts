/**
 * What watches every request the broker handles: the metrics (requests, error codes and latency per
 * API and version) and, at `log.level: debug`, one log line per request (API, version, client id,
 * duration). Built once at start; null when neither is on, so the request path then pays one null
 * check and never reads the clock.
 *
 * Callers: connection.ts, on the event loop, once per request it decoded.
 */
import { API_SPECS } from '../protocol/messages/index.js';
import type { Logger } from './logger.js';
import type { RequestContext } from './handler.js';
import type { BrokerMetrics } from './metrics/metrics.js';

export interface RequestObserver {
  /**
   * The request was answered with `response` (null: no response, as for acks=0), or its handling
   * `failed` (the connection is closed), `seconds` after it was taken off its connection's queue.
   */
  requestDone(ctx: RequestContext, response: unknown, seconds: number, failed: boolean): void;
}

/** An API's name (`Produce`): the `api` label of metrics and log lines; its key where the spec has none. */
export function apiName(apiKey: number): string {
  return API_SPECS.get(apiKey)?.name ?? String(apiKey);
}

export function requestObserver(metrics: BrokerMetrics | null, log: Logger): RequestObserver | null {
  const logRequests = log.enabled?.('debug') ?? true;
  if (metrics === null && !logRequests) return null;
  return {
    requestDone(ctx, response, seconds, failed) {
      metrics?.request(ctx.apiKey, ctx.apiVersion, response, seconds, failed);
      if (logRequests) {
        const api = apiName(ctx.apiKey);
        // No request content: names and numbers only, so no secret reaches the log.
        log.debug(failed ? 'request failed' : 'request', {
          api,
          apiVersion: ctx.apiVersion,
          correlationId: ctx.correlationId,
          clientId: ctx.clientId,
          remote: ctx.connection.remote,
          durationMs: Math.round(seconds * 1e6) / 1e3,
        });
      }
    },
  };
}
