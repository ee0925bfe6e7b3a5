/**
 * The machinery every hook stage shares (stages/*.ts use it; runner.ts wires them):
 *
 * - Order: hooks run in registration order; within a stage each sees the previous one's changes;
 *   the first refusal ends the stage.
 * - Time: every hook call that returns a promise is raced against `hook.timeout.ms`. A timed-out
 *   call is abandoned (its `signal` aborts); its stage fails with REQUEST_TIMED_OUT.
 * - Failure: a hook that throws fails its stage with UNKNOWN_SERVER_ERROR and the message
 *   `hook "<name>" (<stage>) failed: <error>`; the broker logs one line. Only the affected part of
 *   the request (the partition, the topic, the request) gets the error; nothing escapes to the
 *   connection.
 * - Observers (afterProduce, onRebalance, onCommit) never change an answer: their failures are
 *   logged only.
 *
 * Called only from the broker's event loop.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { API_SPECS } from '../protocol/messages/index.js';
import { RecordsError } from '../protocol/records/errors.js';
import type { Logger } from '../contracts/logger.js';
import type { RequestScope } from '../contracts/request.js';
import type { HookCallObserver } from '../contracts/observers.js';
import { STAGES, type Registered, type Stage } from './registration.js';
import { HOOK_FAILED_ERROR, HOOK_TIMEOUT_ERROR, type Refusal } from './types.js';

class HookTimeout extends Error {}

/** A hook call that did not produce a decision. */
export interface HookFailure {
  readonly failed: true;
  readonly errorCode: number;
  readonly message: string;
  /** The call ran past hook.timeout.ms (rather than throwing). */
  readonly timedOut?: boolean;
}

export function isFailure(v: unknown): v is HookFailure {
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
export function asRefusal(v: unknown, reg: Registered, stage: Stage): Decided | null {
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

/** Base of every stage context: the abort signal is created only if a hook reads it. */
export class StageContext {
  private controller: AbortController | null = null;
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  abandon(reason: string): void {
    this.controller?.abort(new Error(reason));
  }
}

export function stageContext<T extends object>(fields: T): T & StageContext {
  return Object.assign(new StageContext(), fields);
}

export function requestInfo(ctx: RequestScope, receivedAtMs: number) {
  return {
    apiKey: ctx.apiKey,
    apiName: API_SPECS.get(ctx.apiKey)?.name ?? String(ctx.apiKey),
    apiVersion: ctx.apiVersion,
    correlationId: ctx.correlationId,
    clientId: ctx.clientId,
    connection: { remote: ctx.connection.remote, remoteAddress: ctx.connection.remoteAddress },
    principal: ctx.principal,
    receivedAtMs,
  };
}

/** The same context with the hook's own logger (context objects are shared along a stage's chain). */
export function withLog<T extends StageContext & { log: unknown }>(ctx: T, reg: Registered): T {
  ctx.log = reg.log;
  return ctx;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The registered hooks by stage, and how one hook call is made: bounded in time, its failure turned
 * into an error code and one log line, its answer read as a refusal or not.
 */
export class HookChain {
  private readonly byStage = new Map<Stage, Registered[]>();
  private readonly topicCache = new Map<Stage, Map<string, Registered[]>>();

  constructor(
    readonly regs: readonly Registered[],
    /** `hook.timeout.ms`. */
    readonly timeoutMs: number,
    readonly log: Logger,
    /** Counts and times every call (the broker's metrics); null: nothing watches. */
    readonly observer: HookCallObserver | null = null,
  ) {
    for (const s of STAGES) this.byStage.set(s, regs.filter((r) => typeof r.hook[s] === 'function'));
  }

  /** Hooks implementing `stage`, in order. */
  stage(stage: Stage): readonly Registered[] {
    return this.byStage.get(stage)!;
  }

  /** Whether any hook implements `stage`. */
  has(stage: Stage): boolean {
    return this.byStage.get(stage)!.length > 0;
  }

  /** Hooks implementing `stage` that apply to `topic` (cached per topic name). */
  forTopic(stage: Stage, topic: string): Registered[] {
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
  call<T>(reg: Registered, stage: Stage | 'close', where: string, ctx: StageContext | null, fn: () => T | PromiseLike<T>): Promise<T | HookFailure> {
    const observer = this.observer;
    return observer === null ? this.bounded(reg, stage, where, ctx, fn) : this.observed(observer, reg, stage, where, ctx, fn);
  }

  /** `bounded`, timed and counted by the observer (its duration includes the wait for a timeout). */
  private async observed<T>(
    observer: HookCallObserver,
    reg: Registered,
    stage: Stage | 'close',
    where: string,
    ctx: StageContext | null,
    fn: () => T | PromiseLike<T>,
  ): Promise<T | HookFailure> {
    const started = performance.now();
    const out = await this.bounded(reg, stage, where, ctx, fn);
    observer.hookCall(reg.name, stage, (performance.now() - started) / 1000, !isFailure(out) ? 'ok' : out.timedOut === true ? 'timeout' : 'error');
    return out;
  }

  private async bounded<T>(reg: Registered, stage: Stage | 'close', where: string, ctx: StageContext | null, fn: () => T | PromiseLike<T>): Promise<T | HookFailure> {
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

  failure(reg: Registered, stage: Stage | 'close', where: string, ctx: StageContext | null, err: unknown): HookFailure {
    if (err instanceof HookTimeout) {
      const message = `hook "${reg.name}" (${stage}) did not finish within hook.timeout.ms=${this.timeoutMs}`;
      ctx?.abandon(message);
      this.log.warn(`${message} (${where})`);
      return { failed: true, errorCode: HOOK_TIMEOUT_ERROR, message, timedOut: true };
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

  /** NONE to go on, else the error code a failure or refusal gives the partition. */
  decisionCode(out: unknown, reg: Registered, stage: Stage, where: string, ctx: StageContext): number {
    if (isFailure(out)) return out.errorCode;
    try {
      return asRefusal(out, reg, stage)?.errorCode ?? ErrorCode.NONE;
    } catch (err) {
      return this.failure(reg, stage, where, ctx, err).errorCode;
    }
  }

  /** Topic stages report a refusal to TopicManager as a KafkaError (its callers turn it into the wire code). */
  throwIfRefused(out: unknown, reg: Registered, stage: Stage, where: string, ctx: StageContext): void {
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

  /** Observers run in order without delaying the answer; failures are logged only. */
  observe(stage: 'onRebalance' | 'onCommit', where: string, event: StageContext & { log: unknown }): void {
    const regs = this.stage(stage);
    void (async () => {
      for (const reg of regs) await this.call(reg, stage, where, event, () => (reg.hook[stage] as (e: unknown) => unknown)(withLog(event, reg)));
    })();
  }
}
