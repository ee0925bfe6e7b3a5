/**
 * The hook runner: owns the registered hooks and runs each stage for the broker. The broker's call
 * sites test one property per stage (`broker.hooks.beforeProduce !== null`, …); a stage no hook
 * implements is null, so a broker without hooks on a stage pays one property read for it — no
 * decoding, no allocation, no promise.
 *
 * Guarantees (docs/hooks.md):
 * - Order: hooks run in registration order; within a stage each sees the previous one's changes;
 *   the first refusal ends the stage.
 * - Time: every hook call that returns a promise is raced against `hook.timeout.ms`. A timed-out
 *   call is abandoned (its `signal` aborts); its stage fails with REQUEST_TIMED_OUT.
 * - Failure: a hook that throws fails its stage with UNKNOWN_SERVER_ERROR and the message
 *   `hook "<name>" (<stage>) failed: <error>`; the broker logs one line. Only the affected part of
 *   the request (the partition, the topic, the request) gets the error; nothing escapes to the
 *   connection, so other partitions of the same request are written and read normally.
 * - Observers (afterProduce, onRebalance, onCommit) never change an answer: their failures are
 *   logged only.
 *
 * Called only from the broker's event loop.
 */
import type { Socket } from 'node:net';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { API_SPECS } from '../protocol/messages/index.js';
import { readBatchHeader, BATCH_HEADER_BYTES, batchByteLength, type ValidatedBatch } from '../protocol/records/batch.js';
import { RecordsError } from '../protocol/records/errors.js';
import type { Logger } from '../broker/logger.js';
import type { ConnectionInfo, RequestContext, ServedApi } from '../broker/handler.js';
import type { PartitionAppendResult } from '../broker/append.js';
import { LazyBatch } from './batch.js';
import {
  HOOK_FAILED_ERROR,
  HOOK_TIMEOUT_ERROR,
  type Hook,
  type HookLogger,
  type Refusal,
  type RequestVerdict,
  type ResponseVerdict,
  type TopicSelector,
} from './types.js';

/** The stages a hook may implement, in documentation order. */
export const STAGES = [
  'onConnection',
  'onRequest',
  'onResponse',
  'beforeProduce',
  'afterProduce',
  'beforeFetch',
  'afterFetch',
  'onTopicCreate',
  'onTopicDelete',
  'onJoin',
  'onRebalance',
  'onCommit',
] as const;
export type Stage = (typeof STAGES)[number];

/** Named limit: the longest a connection stays muted for one throttle (Kafka's default quota window, 11 × 1 s). */
export const MAX_THROTTLE_MS = 11_000;

const EMPTY = Buffer.alloc(0);

// ---- registration ---------------------------------------------------------------------------------

export interface Registered {
  readonly hook: Hook;
  readonly name: string;
  /** null = every topic. */
  readonly matches: ((topic: string) => boolean) | null;
  /** null = every API. */
  readonly apis: ReadonlySet<number> | null;
  readonly log: HookLogger;
}

export interface RegisterOptions {
  name?: string;
  topics?: TopicSelector;
  apis?: readonly (number | string)[];
}

const API_BY_NAME = new Map<string, number>([...API_SPECS.values()].map((s) => [s.name.toLowerCase(), s.apiKey]));

/** `/regex/flags` written as a string (YAML) is a pattern; anything else is an exact topic name. */
export function compileSelector(sel: TopicSelector | undefined): ((topic: string) => boolean) | null {
  if (sel === undefined) return null;
  if (typeof sel === 'function') return sel;
  const parts = (Array.isArray(sel) ? sel : [sel]) as (string | RegExp)[];
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const p of parts) {
    if (p instanceof RegExp) patterns.push(p);
    else if (typeof p === 'string') {
      const m = /^\/(.*)\/([a-z]*)$/s.exec(p);
      if (m) patterns.push(new RegExp(m[1]!, m[2]));
      else names.add(p);
    } else throw new TypeError(`topics: expected names or regular expressions, got ${typeof p}`);
  }
  // A pattern matches the whole name, as Kafka's subscription patterns do.
  const anchored = patterns.map((r) => new RegExp(`^(?:${r.source})$`, r.flags.replace(/[gy]/g, '')));
  return (topic) => names.has(topic) || anchored.some((r) => r.test(topic));
}

function resolveApis(apis: readonly (number | string)[] | undefined): Set<number> | null {
  if (apis === undefined) return null;
  const out = new Set<number>();
  for (const a of apis) {
    const key = typeof a === 'number' ? a : API_BY_NAME.get(a.toLowerCase().replace(/[^a-z]/g, ''));
    if (key === undefined || !API_SPECS.has(key)) throw new TypeError(`apis: unknown API ${JSON.stringify(a)}`);
    out.add(key);
  }
  return out;
}

const KNOWN_MEMBERS = new Set<string>([...STAGES, 'name', 'topics', 'apis', 'close']);

/** Checks a hook object's shape; throws TypeError naming the problem. */
export function checkHook(hook: unknown, what: string): asserts hook is Hook {
  if (hook === null || typeof hook !== 'object') throw new TypeError(`${what}: a hook must be an object, got ${hook === null ? 'null' : typeof hook}`);
  const h = hook as Record<string, unknown>;
  if (typeof h['name'] !== 'string' || h['name'] === '') throw new TypeError(`${what}: a hook needs a non-empty string "name"`);
  for (const key of Object.keys(h)) {
    if (typeof h[key] === 'function' && !KNOWN_MEMBERS.has(key)) {
      const close = STAGES.find((s) => s.toLowerCase() === key.toLowerCase() || levenshtein(s, key) <= 2);
      throw new TypeError(`${what}: hook "${h['name']}" has an unknown method "${key}"${close ? ` (did you mean "${close}"?)` : ''}`);
    }
  }
  for (const s of [...STAGES, 'close'] as const) {
    if (h[s] !== undefined && typeof h[s] !== 'function') throw new TypeError(`${what}: hook "${h['name']}": ${s} must be a function`);
  }
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

// ---- failures -------------------------------------------------------------------------------------

class HookTimeout extends Error {}

/** A hook call that did not produce a decision. */
export interface HookFailure {
  readonly failed: true;
  readonly errorCode: number;
  readonly message: string;
}

function isFailure(v: unknown): v is HookFailure {
  return typeof v === 'object' && v !== null && (v as HookFailure).failed === true;
}

function isPromiseLike<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<T>).then === 'function';
}

/** A refusal with its code and message settled. */
export interface Decided {
  readonly errorCode: number;
  readonly message: string;
  readonly recordErrors?: Refusal['recordErrors'];
}

/**
 * A refusal a hook returned, normalised; null when the hook allowed. Nothing (undefined, null,
 * true) allows; `false` or an object refuses, with POLICY_VIOLATION unless it names another code;
 * `errorCode: 0` (NONE) allows.
 */
function asRefusal(v: unknown, reg: Registered, stage: Stage): Decided | null {
  if (v === undefined || v === null || v === true) return null;
  const fallback = `refused by hook "${reg.name}"`;
  if (v === false) return { errorCode: ErrorCode.POLICY_VIOLATION, message: fallback };
  if (typeof v !== 'object') throw new TypeError(`${stage} returned ${typeof v}; expected nothing or { errorCode, message }`);
  const r = v as Refusal;
  const errorCode = r.errorCode ?? ErrorCode.POLICY_VIOLATION;
  if (errorCode === ErrorCode.NONE) return null;
  if (!Number.isInteger(errorCode)) throw new TypeError(`${stage} returned a non-integer errorCode ${String(r.errorCode)}`);
  if (r.message !== undefined && typeof r.message !== 'string') throw new TypeError(`${stage} returned a non-string message`);
  return { errorCode, message: r.message ?? fallback, ...(r.recordErrors ? { recordErrors: r.recordErrors } : {}) };
}

// ---- stage contexts -------------------------------------------------------------------------------

/** Base of every stage context: the abort signal is created only if a hook reads it. */
class StageContext {
  private controller: AbortController | null = null;
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  abandon(reason: string): void {
    this.controller?.abort(new Error(reason));
  }
}

function stageContext<T extends object>(fields: T): T & StageContext {
  return Object.assign(new StageContext(), fields);
}

function requestInfo(ctx: RequestContext, receivedAtMs: number) {
  return {
    apiKey: ctx.apiKey,
    apiName: API_SPECS.get(ctx.apiKey)?.name ?? String(ctx.apiKey),
    apiVersion: ctx.apiVersion,
    correlationId: ctx.correlationId,
    clientId: ctx.clientId,
    connection: { remote: ctx.connection.remote, remoteAddress: ctx.connection.remoteAddress },
    receivedAtMs,
  };
}

/** The plan of one fetched partition, as 01-fetch.ts builds it. */
export interface FetchPlanPartition {
  topic: string | null;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  errorCode: number;
}

export interface FetchPlanTopic {
  partitions: FetchPlanPartition[];
}

/** A fetched partition's response data, as 01-fetch.ts builds it. */
interface FetchedPartitionData {
  errorCode?: number;
  highWatermark?: bigint;
  records?: unknown;
}

interface FetchedTopicData {
  partitions?: readonly FetchedPartitionData[];
}

/** What TopicManager asks of hooks (onTopicCreate / onTopicDelete); refusals are thrown as KafkaError. */
export interface TopicPolicy {
  create(req: {
    name: string;
    partitions: number;
    replicationFactor: number;
    configs: Record<string, string>;
    origin: 'create-topics' | 'auto-create';
  }): Promise<{ partitions: number; configs: Record<string, string> }>;
  delete(topic: { name: string; id: string; partitionCount: number }): Promise<void>;
}

export interface JoinArgsLike {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: readonly { name: string }[];
}

export interface JoinOutcomeLike {
  errorCode: number;
  generationId: number;
  protocolType?: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: readonly { memberId: string }[];
}

/** The OffsetCommit request (as decoded) the commit event is built from. */
export interface CommitArgsLike {
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  topics: readonly { name: string; partitions: readonly { partitionIndex: number; committedOffset: bigint; committedMetadata: string | null }[] }[];
}

export interface CommitResultLike {
  name: string;
  partitions: readonly { partitionIndex: number; errorCode: number }[];
}

// ---- the runner -----------------------------------------------------------------------------------

export interface HookRunnerOptions {
  /** `hook.timeout.ms`. */
  timeoutMs: number;
  log: Logger;
}

export class HookRunner {
  private readonly regs: readonly Registered[];
  private readonly byStage = new Map<Stage, Registered[]>();
  private readonly topicCache = new Map<Stage, Map<string, Registered[]>>();
  /** Request-stage hooks per API key (undefined: none for that API). */
  private readonly requestHooks: (Registered[] | undefined)[] = [];
  /** Connections muted by a throttle, until this time (ms). */
  private readonly mutedUntil = new WeakMap<object, number>();
  private anyThrottle = false;
  readonly timeoutMs: number;
  private readonly log: Logger;

  // One property per stage: null when no hook implements it (the broker's zero-cost test).
  readonly onConnection: ((socket: Socket, admit: () => void) => void) | null;
  readonly handle: ((handler: ServedApi, request: unknown, ctx: RequestContext) => Promise<unknown>) | null;
  readonly beforeProduce: ((ctx: RequestContext, topic: string, partition: number, h: ValidatedBatch) => Promise<ValidatedBatch | PartitionAppendResult>) | null;
  readonly afterProduce:
    | ((ctx: RequestContext, topic: string, partition: number, h: ValidatedBatch, baseOffset: number, logAppendTimeMs: number) => Promise<void>)
    | null;
  readonly beforeFetch: ((ctx: RequestContext, plan: readonly FetchPlanTopic[]) => Promise<void>) | null;
  readonly afterFetch: ((ctx: RequestContext, plan: readonly FetchPlanTopic[], responses: readonly FetchedTopicData[]) => Promise<void>) | null;
  readonly topicPolicy: TopicPolicy | null;
  /** JoinGroup, before the coordinator: null to go on, else the refusal (the handler answers it with its error response). */
  readonly onJoin: ((ctx: RequestContext, req: JoinArgsLike) => Promise<Decided | null>) | null;
  readonly onJoined: ((ctx: RequestContext, args: JoinArgsLike, out: JoinOutcomeLike) => void) | null;
  readonly onCommit: ((ctx: RequestContext, args: CommitArgsLike, results: readonly CommitResultLike[]) => void) | null;

  constructor(hooks: readonly (Hook | { hook: Hook; options: RegisterOptions })[], options: HookRunnerOptions) {
    this.timeoutMs = options.timeoutMs;
    this.log = options.log;
    this.regs = hooks.map((entry, i) => {
      const { hook, options: o } = 'hook' in entry && typeof (entry as { hook: unknown }).hook === 'object' ? (entry as { hook: Hook; options: RegisterOptions }) : { hook: entry as Hook, options: {} };
      checkHook(hook, `hooks[${i}]`);
      const name = o.name ?? hook.name;
      const prefix = `hook ${name}: `;
      return {
        hook,
        name,
        matches: compileSelector(o.topics ?? hook.topics),
        apis: resolveApis(o.apis ?? hook.apis),
        log: {
          error: (m: string) => this.log.error(prefix + m),
          warn: (m: string) => this.log.warn(prefix + m),
          info: (m: string) => this.log.info(prefix + m),
          debug: (m: string) => this.log.debug(prefix + m),
        },
      };
    });
    const names = new Set<string>();
    for (const r of this.regs) {
      if (names.has(r.name)) throw new TypeError(`two hooks are named "${r.name}": give each a distinct name`);
      names.add(r.name);
    }
    for (const s of STAGES) this.byStage.set(s, this.regs.filter((r) => typeof r.hook[s] === 'function'));
    const has = (s: Stage) => this.byStage.get(s)!.length > 0;

    for (const spec of API_SPECS.values()) {
      const list = this.regs.filter((r) => (typeof r.hook.onRequest === 'function' || typeof r.hook.onResponse === 'function') && (r.apis === null || r.apis.has(spec.apiKey)));
      if (list.length > 0) this.requestHooks[spec.apiKey] = list;
    }

    this.onConnection = has('onConnection') ? (socket, admit) => void this.admit(socket, admit) : null;
    this.handle = has('onRequest') || has('onResponse') ? (handler, request, ctx) => this.runRequest(handler, request, ctx) : null;
    this.beforeProduce = has('beforeProduce') ? (ctx, topic, partition, h) => this.runBeforeProduce(ctx, topic, partition, h) : null;
    this.afterProduce = has('afterProduce') ? (ctx, t, p, h, base, lat) => this.runAfterProduce(ctx, t, p, h, base, lat) : null;
    this.beforeFetch = has('beforeFetch') ? (ctx, plan) => this.runBeforeFetch(ctx, plan) : null;
    this.afterFetch = has('afterFetch') ? (ctx, plan, responses) => this.runAfterFetch(ctx, plan, responses) : null;
    this.topicPolicy =
      has('onTopicCreate') || has('onTopicDelete') ? { create: (req) => this.runTopicCreate(req), delete: (topic) => this.runTopicDelete(topic) } : null;
    this.onJoin = has('onJoin') ? (ctx, args) => this.joinDecision(ctx, args) : null;
    this.onJoined = has('onRebalance') ? (ctx, args, out) => this.runRebalance(args, out) : null;
    this.onCommit = has('onCommit') ? (ctx, args, results) => this.runCommit(ctx, args, results) : null;
  }

  /** Registered hooks in order (names, for diagnostics). */
  get names(): string[] {
    return this.regs.map((r) => r.name);
  }

  /** Hooks implementing `stage` that apply to `topic` (cached per topic name). */
  private forTopic(stage: Stage, topic: string): Registered[] {
    let cache = this.topicCache.get(stage);
    if (!cache) this.topicCache.set(stage, (cache = new Map()));
    let list = cache.get(topic);
    if (!list) {
      list = this.byStage.get(stage)!.filter((r) => r.matches === null || r.matches(topic));
      cache.set(topic, list);
    }
    return list;
  }

  /**
   * Run one hook method, bounded by hook.timeout.ms when it returns a promise. Returns the hook's
   * value, or a HookFailure (already logged) when it threw or timed out.
   */
  private async call<T>(reg: Registered, stage: Stage | 'close', where: string, ctx: StageContext | null, fn: () => T | PromiseLike<T>): Promise<T | HookFailure> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const out = fn();
      if (!isPromiseLike<T>(out)) return out;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HookTimeout()), this.timeoutMs);
      });
      return await Promise.race([out, timeout]);
    } catch (err) {
      return this.failure(reg, stage, where, ctx, err);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private failure(reg: Registered, stage: Stage | 'close', where: string, ctx: StageContext | null, err: unknown): HookFailure {
    if (err instanceof HookTimeout) {
      const message = `hook "${reg.name}" (${stage}) did not finish within hook.timeout.ms=${this.timeoutMs}`;
      ctx?.abandon(message);
      this.log.warn(`${message} (${where})`);
      return { failed: true, errorCode: HOOK_TIMEOUT_ERROR, message };
    }
    if (err instanceof RecordsError || err instanceof KafkaError) {
      // The records themselves are bad (decoding failed), or the hook chose a Kafka error.
      return { failed: true, errorCode: err.errorCode, message: err.message };
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const message = `hook "${reg.name}" (${stage}) failed: ${e.message}`;
    this.log.error(`${message} (${where})\n${e.stack ?? ''}`);
    return { failed: true, errorCode: HOOK_FAILED_ERROR, message };
  }

  // ---- onConnection ---------------------------------------------------------------------------------

  /** Reading waits until every onConnection hook accepted; a refusal or failure closes the socket. */
  private async admit(socket: Socket, admit: () => void): Promise<void> {
    socket.pause();
    const swallow = () => {}; // a reset while we decide must not become an uncaught 'error'
    socket.on('error', swallow);
    const ctx = stageContext({
      remote: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`,
      remoteAddress: socket.remoteAddress ?? 'unknown',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? 'unknown',
      localPort: socket.localPort ?? 0,
      listener: 'PLAINTEXT' as const,
      log: this.log,
    });
    let refused: string | null = null;
    for (const reg of this.byStage.get('onConnection')!) {
      const out = await this.call(reg, 'onConnection', ctx.remote, ctx, () => reg.hook.onConnection!(withLog(ctx, reg)));
      if (isFailure(out)) refused = out.message;
      else if (out === false) refused = `refused by hook "${reg.name}"`;
      else if (typeof out === 'object' && out !== null && typeof (out as { refuse?: unknown }).refuse === 'string') {
        refused = `refused by hook "${reg.name}": ${(out as { refuse: string }).refuse}`;
      }
      if (refused !== null) break;
    }
    socket.off('error', swallow);
    if (socket.destroyed) return;
    if (refused !== null) {
      this.log.info(`connection ${ctx.remote} closed: ${refused}`);
      socket.destroy();
      return;
    }
    admit();
    socket.resume();
  }

  // ---- onRequest / onResponse -----------------------------------------------------------------------

  private async runRequest(handler: ServedApi, request: unknown, ctx: RequestContext): Promise<unknown> {
    if (this.anyThrottle) await this.waitUnmuted(ctx);
    const regs = this.requestHooks[ctx.apiKey];
    if (regs === undefined) return handler.handle(request, ctx);
    const receivedAtMs = Date.now();
    const info = stageContext({ ...requestInfo(ctx, receivedAtMs), request, response: null as unknown, log: this.log });
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
      const out = await this.call(reg, 'onRequest', where, info, () => reg.hook.onRequest!(withLog(info, reg)));
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
      const out = await this.call(reg, 'onResponse', where, info, () => reg.hook.onResponse!(withLog(info, reg)));
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
  private async errorBody(handler: ServedApi, ctx: RequestContext, request: unknown, errorCode: number, message: string | null): Promise<unknown> {
    let body: unknown = null;
    try {
      body = await handler.errorResponse(request, ctx.apiVersion, errorCode, message);
    } catch (err) {
      this.log.error(`could not build an error response for ${handler.request.name} v${ctx.apiVersion}: ${(err as Error).message}`);
    }
    if (body === null) ctx.connection.close(`request refused by a hook (error ${errorCode}) and no error response can be sent`);
    return body;
  }

  /**
   * Apply a throttle (KIP-219): in the response, then mute the connection; a version whose clients do
   * not throttle themselves (the API's `clientThrottlesFromVersion`) gets its answer delayed instead.
   */
  private async finish(handler: ServedApi, ctx: RequestContext, body: unknown, throttleMs: number): Promise<unknown> {
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
  private async waitUnmuted(ctx: RequestContext): Promise<void> {
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

  // ---- produce --------------------------------------------------------------------------------------

  private async runBeforeProduce(ctx: RequestContext, topic: string, partition: number, h: ValidatedBatch): Promise<ValidatedBatch | PartitionAppendResult> {
    const regs = this.forTopic('beforeProduce', topic);
    if (regs.length === 0) return h;
    const batch = new LazyBatch(topic, partition, h, h.buffer, 'produce');
    const pctx = stageContext({ ...requestInfo(ctx, Date.now()), topic, partition, batch, log: this.log });
    const where = `${topic}-${partition} from ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
    for (const reg of regs) {
      const out = await this.call(reg, 'beforeProduce', where, pctx, () => reg.hook.beforeProduce!(withLog(pctx, reg)));
      if (isFailure(out)) return refusedAppend(out.errorCode, out.message);
      let refusal: Decided | null;
      try {
        refusal = asRefusal(out, reg, 'beforeProduce');
      } catch (err) {
        const f = this.failure(reg, 'beforeProduce', where, pctx, err);
        return refusedAppend(f.errorCode, f.message);
      }
      if (refusal) {
        this.log.debug(`hook ${reg.name} refused ${where}: ${refusal.message}`);
        return refusedAppend(
          refusal.errorCode,
          refusal.message ?? null,
          (refusal.recordErrors ?? []).map((e) => ({ batchIndex: e.index, batchIndexErrorMessage: e.message ?? null })),
        );
      }
    }
    if (!batch.changed) return h;
    let re;
    try {
      re = await batch.reencode();
    } catch (err) {
      const f = this.failure(regs[regs.length - 1]!, 'beforeProduce', where, pctx, err);
      return refusedAppend(f.errorCode, `records changed by hooks cannot be encoded: ${f.message}`);
    }
    if (re.bytes === null) {
      // Every record of a non-idempotent batch was dropped: nothing is written.
      let logStartOffset = -1;
      try {
        logStartOffset = ctx.broker.storage.offsets(topic, partition).logStartOffset;
      } catch {
        // deleted meanwhile: the answer still says nothing was written
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset };
    }
    const nh = readBatchHeader(re.bytes);
    // An idempotent batch keeps its record count as produced: the producer's sequence numbers (and
    // the broker's duplicate check) count the records it sent, and the offsets keep their gaps.
    return { ...nh, buffer: re.bytes, recordCount: batch.idempotent ? h.recordCount : nh.recordCount };
  }

  private async runAfterProduce(ctx: RequestContext, topic: string, partition: number, h: ValidatedBatch, baseOffset: number, logAppendTimeMs: number): Promise<void> {
    const regs = this.forTopic('afterProduce', topic);
    if (regs.length === 0) return;
    const header = { ...readBatchHeader(h.buffer), baseOffset };
    const batch = new LazyBatch(topic, partition, header, h.buffer, 'fetch');
    const actx = stageContext({
      ...requestInfo(ctx, Date.now()),
      topic,
      partition,
      batch,
      baseOffset,
      lastOffset: baseOffset + header.lastOffsetDelta,
      logAppendTimeMs,
      log: this.log,
    });
    const where = `${topic}-${partition} offsets ${baseOffset}..${actx.lastOffset}`;
    for (const reg of regs) await this.call(reg, 'afterProduce', where, actx, () => reg.hook.afterProduce!(withLog(actx, reg)));
  }

  // ---- fetch ----------------------------------------------------------------------------------------

  private async runBeforeFetch(ctx: RequestContext, plan: readonly FetchPlanTopic[]): Promise<void> {
    const base = requestInfo(ctx, Date.now());
    for (const t of plan) {
      for (const p of t.partitions) {
        if (p.topic === null || p.errorCode !== ErrorCode.NONE) continue;
        const regs = this.forTopic('beforeFetch', p.topic);
        if (regs.length === 0) continue;
        const fctx = stageContext({ ...base, topic: p.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.maxBytes, log: this.log });
        const where = `${p.topic}-${p.partition} for ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
        for (const reg of regs) {
          const out = await this.call(reg, 'beforeFetch', where, fctx, () => reg.hook.beforeFetch!(withLog(fctx, reg)));
          const code = this.decisionCode(out, reg, 'beforeFetch', where, fctx);
          if (code !== ErrorCode.NONE) {
            p.errorCode = code;
            break;
          }
        }
      }
    }
  }

  /** NONE to go on, else the error code a failure or refusal gives the partition. */
  private decisionCode(out: unknown, reg: Registered, stage: Stage, where: string, ctx: StageContext): number {
    if (isFailure(out)) return out.errorCode;
    try {
      return asRefusal(out, reg, stage)?.errorCode ?? ErrorCode.NONE;
    } catch (err) {
      return this.failure(reg, stage, where, ctx, err).errorCode;
    }
  }

  private async runAfterFetch(ctx: RequestContext, plan: readonly FetchPlanTopic[], responses: readonly FetchedTopicData[]): Promise<void> {
    let base: ReturnType<typeof requestInfo> | null = null;
    for (let ti = 0; ti < plan.length; ti++) {
      const planned = plan[ti]!.partitions;
      const datas = responses[ti]?.partitions ?? [];
      for (let pi = 0; pi < planned.length; pi++) {
        const p = planned[pi]!;
        const data = datas[pi];
        if (!data || p.topic === null || (data.errorCode ?? 0) !== ErrorCode.NONE) continue;
        const regs = this.forTopic('afterFetch', p.topic);
        if (regs.length === 0) continue;
        const pieces = splitBatches(data.records);
        if (pieces.length === 0) continue;
        base ??= requestInfo(ctx, Date.now());
        const batches: LazyBatch[] = [];
        const slots: (LazyBatch | Buffer)[] = pieces.map((piece) => {
          if (piece.header === null || piece.header.isControl) return piece.bytes;
          const b = new LazyBatch(p.topic!, p.partition, piece.header, piece.bytes, 'fetch');
          batches.push(b);
          return b;
        });
        if (batches.length === 0) continue;
        const fctx = stageContext({
          ...base,
          topic: p.topic,
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          highWatermark: Number(data.highWatermark ?? -1n),
          batches,
          log: this.log,
        });
        const where = `${p.topic}-${p.partition} at ${p.fetchOffset} for ${ctx.connection.remote} (client ${ctx.clientId ?? 'null'})`;
        let code: number = ErrorCode.NONE;
        for (const reg of regs) {
          const out = await this.call(reg, 'afterFetch', where, fctx, () => reg.hook.afterFetch!(withLog(fctx, reg)));
          code = this.decisionCode(out, reg, 'afterFetch', where, fctx);
          if (code !== ErrorCode.NONE) break;
        }
        if (code === ErrorCode.NONE && batches.some((b) => b.changed)) {
          try {
            data.records = await rebuild(slots);
          } catch (err) {
            code = this.failure(regs[regs.length - 1]!, 'afterFetch', where, fctx, err).errorCode;
          }
        }
        // Fail closed: a consumer never receives records a hook could not finish with.
        if (code !== ErrorCode.NONE) {
          data.errorCode = code;
          data.records = EMPTY;
        }
      }
    }
  }

  // ---- topics ---------------------------------------------------------------------------------------

  private async runTopicCreate(req: Parameters<TopicPolicy['create']>[0]): Promise<{ partitions: number; configs: Record<string, string> }> {
    const regs = this.forTopic('onTopicCreate', req.name);
    if (regs.length === 0) return { partitions: req.partitions, configs: req.configs };
    const tctx = stageContext({
      topic: req.name,
      partitions: req.partitions,
      replicationFactor: req.replicationFactor,
      configs: { ...req.configs },
      origin: req.origin,
      log: this.log,
    });
    for (const reg of regs) {
      const out = await this.call(reg, 'onTopicCreate', `topic ${req.name}`, tctx, () => reg.hook.onTopicCreate!(withLog(tctx, reg)));
      this.throwIfRefused(out, reg, 'onTopicCreate', `topic ${req.name}`, tctx);
    }
    if (!Number.isInteger(tctx.partitions)) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `hook set partitions to ${String(tctx.partitions)}`);
    const configs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tctx.configs ?? {})) if (v !== undefined && v !== null) configs[k] = String(v);
    return { partitions: tctx.partitions, configs };
  }

  private async runTopicDelete(topic: { name: string; id: string; partitionCount: number }): Promise<void> {
    const regs = this.forTopic('onTopicDelete', topic.name);
    const dctx = stageContext({ topic: topic.name, topicId: topic.id, partitions: topic.partitionCount, log: this.log });
    for (const reg of regs) {
      const out = await this.call(reg, 'onTopicDelete', `topic ${topic.name}`, dctx, () => reg.hook.onTopicDelete!(withLog(dctx, reg)));
      this.throwIfRefused(out, reg, 'onTopicDelete', `topic ${topic.name}`, dctx);
    }
  }

  /** Topic stages report a refusal to TopicManager as a KafkaError (its callers turn it into the wire code). */
  private throwIfRefused(out: unknown, reg: Registered, stage: Stage, where: string, ctx: StageContext): void {
    if (isFailure(out)) throw new KafkaError(out.errorCode, out.message);
    let refusal: Decided | null;
    try {
      refusal = asRefusal(out, reg, stage);
    } catch (err) {
      const f = this.failure(reg, stage, where, ctx, err);
      throw new KafkaError(f.errorCode, f.message);
    }
    if (refusal) throw new KafkaError(refusal.errorCode, refusal.message);
  }

  // ---- groups ---------------------------------------------------------------------------------------

  private async joinDecision(ctx: RequestContext, args: JoinArgsLike): Promise<Decided | null> {
    const jctx = stageContext({
      ...requestInfo(ctx, Date.now()),
      groupId: args.groupId,
      memberId: args.memberId,
      groupInstanceId: args.groupInstanceId,
      protocolType: args.protocolType,
      protocols: args.protocols.map((p) => p.name),
      log: this.log,
    });
    const where = `group ${args.groupId} member ${args.memberId || '(new)'} from ${ctx.connection.remote}`;
    for (const reg of this.byStage.get('onJoin')!) {
      const out = await this.call(reg, 'onJoin', where, jctx, () => reg.hook.onJoin!(withLog(jctx, reg)));
      if (isFailure(out)) return { errorCode: out.errorCode, message: out.message };
      try {
        const refusal = asRefusal(out, reg, 'onJoin');
        if (refusal) return refusal;
      } catch (err) {
        const f = this.failure(reg, 'onJoin', where, jctx, err);
        return { errorCode: f.errorCode, message: f.message };
      }
    }
    return null;
  }

  /** A generation completed: the leader's JoinGroup answer carries it (one event per generation). */
  private runRebalance(args: JoinArgsLike, out: JoinOutcomeLike): void {
    if (out.errorCode !== ErrorCode.NONE || out.leader !== out.memberId || out.leader === '') return;
    const event = stageContext({
      groupId: args.groupId,
      generationId: out.generationId,
      protocolType: out.protocolType ?? args.protocolType,
      protocol: out.protocolName,
      leaderId: out.leader,
      memberIds: out.members.map((m) => m.memberId),
      log: this.log,
    });
    this.observe('onRebalance', `group ${args.groupId} generation ${out.generationId}`, event);
  }

  private runCommit(ctx: RequestContext, args: CommitArgsLike, results: readonly CommitResultLike[]): void {
    const codes = new Map<string, number>();
    for (const t of results) for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
    const offsets = args.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: Number(p.committedOffset),
        metadata: p.committedMetadata,
        errorCode: codes.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE,
      })),
    );
    const event = stageContext({
      ...requestInfo(ctx, Date.now()),
      groupId: args.groupId,
      memberId: args.memberId,
      generationId: args.generationIdOrMemberEpoch,
      offsets,
      log: this.log,
    });
    this.observe('onCommit', `group ${args.groupId}`, event);
  }

  /** Observers run in order without delaying the answer; failures are logged only. */
  private observe(stage: 'onRebalance' | 'onCommit', where: string, event: StageContext & { log: unknown }): void {
    const regs = this.byStage.get(stage)!;
    void (async () => {
      for (const reg of regs) await this.call(reg, stage, where, event, () => (reg.hook[stage] as (e: unknown) => unknown)(withLog(event, reg)));
    })();
  }

  // ---- shutdown -------------------------------------------------------------------------------------

  /** Calls every hook's close() (in reverse order, like a stack); errors are logged. */
  async close(): Promise<void> {
    for (const reg of [...this.regs].reverse()) {
      if (typeof reg.hook.close !== 'function') continue;
      const out = await this.call(reg, 'close', 'shutdown', null, () => reg.hook.close!());
      if (isFailure(out)) this.log.warn(`hook ${reg.name}: close failed: ${out.message}`);
    }
  }
}

/** The empty runner: every stage null. */
export const NO_HOOKS = new HookRunner([], { timeoutMs: 1000, log: { error() {}, warn() {}, info() {}, debug() {} } });

/** The same context with the hook's own logger (context objects are shared along a stage's chain). */
function withLog<T extends StageContext & { log: unknown }>(ctx: T, reg: Registered): T {
  ctx.log = reg.log;
  return ctx;
}

function refusedAppend(errorCode: number, errorMessage: string | null, recordErrors: PartitionAppendResult['recordErrors'] = []): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Piece {
  bytes: Buffer;
  /** null: not a whole batch (passed through untouched). */
  header: ReturnType<typeof readBatchHeader> | null;
}

/** The whole batches of a fetched partition's records (Buffer or list of Buffers), in order. */
function splitBatches(records: unknown): Piece[] {
  const bufs: Buffer[] = Buffer.isBuffer(records) ? [records] : Array.isArray(records) ? (records as Buffer[]) : [];
  const out: Piece[] = [];
  for (const buf of bufs) {
    let pos = 0;
    while (pos < buf.length) {
      if (buf.length - pos < BATCH_HEADER_BYTES) {
        out.push({ bytes: buf.subarray(pos), header: null });
        break;
      }
      const size = batchByteLength(buf, pos);
      if (size < BATCH_HEADER_BYTES || pos + size > buf.length) {
        out.push({ bytes: buf.subarray(pos), header: null });
        break;
      }
      const bytes = buf.subarray(pos, pos + size);
      let header: Piece['header'] = null;
      try {
        header = readBatchHeader(bytes);
      } catch {
        header = null; // not magic 2: pass it through as stored
      }
      out.push({ bytes, header });
      pos += size;
    }
  }
  return out;
}

/**
 * The partition's records after hooks: unchanged batches as stored (views, no copy), changed ones
 * re-encoded. A batch left with no records is omitted when another batch follows it (the consumer
 * advances past it through the next batch's offsets) and kept, empty, when it is the last one, so
 * the consumer's next fetch starts after it.
 */
async function rebuild(slots: readonly (LazyBatch | Buffer)[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (Buffer.isBuffer(s)) out.push(s);
    else if (!s.changed) out.push(s.bytes);
    else {
      const re = await s.reencode();
      if (re.recordCount === 0 && i < slots.length - 1) continue;
      out.push(re.bytes!);
    }
  }
  return out;
}
