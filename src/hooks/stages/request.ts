/**
 * onRequest / onResponse around an API's handler: pass, rewrite, answer, refuse with the API's own
 * error response (its module's `errorResponse`), and throttle (KIP-219: the response carries the
 * throttle, then the connection is muted; versions whose clients do not throttle themselves get
 * the answer delayed instead).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { API_SPECS } from '../../protocol/messages/index.js';
import type { ConnectionInfo, RequestScope, ServedApiFacts } from '../../contracts/request.js';
import type { Registered } from '../registration.js';
import { isFailure, requestInfo, sleep, stageContext, withLog, type HookChain } from '../machinery.js';
import type { RequestVerdict, ResponseVerdict } from '../types.js';
import { MAX_THROTTLE_MS } from '../../base/limits.js';

export { MAX_THROTTLE_MS };

export class RequestStage {
  /** Request-stage hooks per API key (undefined: none for that API). */
  private readonly requestHooks: (Registered[] | undefined)[] = [];
  /** Connections muted by a throttle, until this time (ms). */
  private readonly mutedUntil = new WeakMap<object, number>();
  private anyThrottle = false;
  /** onRequest / onResponse around the handler; null when no hook implements either. */
  readonly handle: ((api: ServedApiFacts, request: unknown, ctx: RequestScope) => Promise<unknown>) | null;

  constructor(private readonly chain: HookChain) {
    for (const spec of API_SPECS.values()) {
      const list = chain.regs.filter((r) => (typeof r.hook.onRequest === 'function' || typeof r.hook.onResponse === 'function') && (r.apis === null || r.apis.has(spec.apiKey)));
      if (list.length > 0) this.requestHooks[spec.apiKey] = list;
    }
    this.handle = chain.has('onRequest') || chain.has('onResponse') ? (handler, request, ctx) => this.run(handler, request, ctx) : null;
  }

  private async run(handler: ServedApiFacts, request: unknown, ctx: RequestScope): Promise<unknown> {
    if (this.anyThrottle) await this.waitUnmuted(ctx);
    const regs = this.requestHooks[ctx.apiKey];
    if (regs === undefined) return handler.handle(request, ctx);
    const receivedAtMs = Date.now();
    const info = stageContext({ ...requestInfo(ctx, receivedAtMs), request, response: null as unknown, log: this.chain.log });
    const where = `${info.apiName} v${ctx.apiVersion} from ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
    let throttleMs = 0;
    let body: unknown = undefined;
    let answered = false;
    const refuse = async (errorCode: number, message: string | null): Promise<void> => {
      body = await this.errorBody(handler, ctx, info.request, errorCode, message);
      answered = true;
    };

    for (const reg of regs) {
      if (typeof reg.hook.onRequest !== 'function') continue;
      const out = await this.chain.call(reg, 'onRequest', where, info, () => reg.hook.onRequest!(withLog(info, reg)));
      if (isFailure(out)) {
        await refuse(out.errorCode, out.message);
        break;
      }
      if (out === undefined || out === null) continue;
      const v = out as RequestVerdict;
      if (typeof v.throttleTimeMs === 'number' && v.throttleTimeMs > throttleMs) throttleMs = Math.min(v.throttleTimeMs, MAX_THROTTLE_MS);
      if (v.errorCode !== undefined && v.errorCode !== ErrorCode.NONE) {
        await refuse(v.errorCode, v.message ?? `refused by hook "${reg.name}"`);
        break;
      }
      if (v.response !== undefined) {
        body = v.response;
        answered = true;
        break;
      }
      if (v.request !== undefined) info.request = v.request;
    }
    if (!answered) body = await handler.handle(info.request, ctx);
    if (body === null && answered) return this.finish(handler, ctx, null, throttleMs); // refused, connection closed

    for (const reg of regs) {
      if (typeof reg.hook.onResponse !== 'function') continue;
      info.response = body;
      const out = await this.chain.call(reg, 'onResponse', where, info, () => reg.hook.onResponse!(withLog(info, reg)));
      if (isFailure(out)) {
        if (body !== null) body = await this.errorBody(handler, ctx, info.request, out.errorCode, out.message);
        if (body === null) break;
        continue;
      }
      if (out === undefined || out === null) continue;
      const v = out as ResponseVerdict;
      if (typeof v.throttleTimeMs === 'number' && v.throttleTimeMs > throttleMs) throttleMs = Math.min(v.throttleTimeMs, MAX_THROTTLE_MS);
      if (body === null) continue; // no response to change (Produce acks=0)
      if (v.errorCode !== undefined && v.errorCode !== ErrorCode.NONE) {
        body = await this.errorBody(handler, ctx, info.request, v.errorCode, v.message ?? `refused by hook "${reg.name}"`);
        if (body === null) break;
      } else if (v.response !== undefined) body = v.response;
    }
    return this.finish(handler, ctx, body, throttleMs);
  }

  /**
   * The API's error response (its module's `errorResponse`), or null after closing the connection
   * when there is none to send: Produce with acks=0 has no response (Kafka closes the connection of
   * a failed acks=0 produce so the producer notices), and a request a hook rewrote into something
   * the API's error form cannot read is logged.
   */
  private async errorBody(handler: ServedApiFacts, ctx: RequestScope, request: unknown, errorCode: number, message: string | null): Promise<unknown> {
    let body: unknown = null;
    try {
      body = await handler.errorResponse(request, ctx.apiVersion, errorCode, message);
    } catch (err) {
      this.chain.log.error(`could not build an error response for ${handler.request.name} v${ctx.apiVersion}: ${(err as Error).message}`);
    }
    if (body === null) ctx.connection.close(`request refused by a hook (error ${errorCode}) and no error response can be sent`);
    return body;
  }

  /**
   * Apply a throttle (KIP-219): in the response, then mute the connection; a version whose clients do
   * not throttle themselves (the API's `clientThrottlesFromVersion`) gets its answer delayed instead.
   */
  private async finish(handler: ServedApiFacts, ctx: RequestScope, body: unknown, throttleMs: number): Promise<unknown> {
    if (throttleMs <= 0) return body;
    this.anyThrottle = true;
    if (body !== null && typeof body === 'object') {
      const b = body as { throttleTimeMs?: number };
      b.throttleTimeMs = Math.max(b.throttleTimeMs ?? 0, throttleMs);
    }
    const from = handler.clientThrottlesFromVersion;
    if (from === null || ctx.apiVersion < from) await sleep(throttleMs);
    else this.mutedUntil.set(ctx.connection, Date.now() + throttleMs);
    return body;
  }

  /** A muted connection's next request waits out the mute (Kafka mutes the channel instead). */
  private async waitUnmuted(ctx: RequestScope): Promise<void> {
    const until = this.mutedUntil.get(ctx.connection);
    if (until === undefined) return;
    this.mutedUntil.delete(ctx.connection);
    const waitMs = until - Date.now();
    if (waitMs > 0 && !ctx.broker.isClosing) await sleep(waitMs);
  }

  /** For tests and diagnostics: whether a throttle currently mutes this connection. */
  isMuted(connection: ConnectionInfo): boolean {
    const until = this.mutedUntil.get(connection);
    return until !== undefined && until > Date.now();
  }
}
