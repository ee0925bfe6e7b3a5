/**
 * Fault injection at the protocol level (docs/testing.md): rules that make the broker answer some
 * requests the way a Kafka cluster in trouble answers them, so that a client's retry, failover and
 * rebalance paths can be tested against real wire behaviour:
 *
 * - `errorCode`: the API's own error response (its module's `errorResponse`, as a hook refusal uses)
 *   with the error in every part that has one; the request is not handled, so a produce answered
 *   NOT_LEADER_OR_FOLLOWER wrote nothing, as with a real leader change. A request naming the rule's
 *   topic is refused as a whole (every partition in it gets the error), as when all of them moved.
 * - `delayMs`: the request is handled that much later (latency).
 * - `drop: 'before'`: the connection is closed without handling the request; `drop: 'after'`: the
 *   request is handled (a produce is written) and the connection closed before its response is sent,
 *   so the client retries something that succeeded — the case idempotence exists for.
 * - `throttleMs`: the response carries `throttle_time_ms` and the connection is muted for that long;
 *   to versions whose clients do not throttle themselves the answer is delayed instead (KIP-219, as
 *   Kafka's quotas and the hooks' throttle).
 * - `partialFetch`: the last record batch of each partition a Fetch serves is cut in half, as Kafka
 *   sends a partial batch at the end of a response when a size limit falls inside it.
 * - `rebalance`: the group is made to rebalance before the request is handled.
 * `moveCoordinator` answers the group APIs NOT_COORDINATOR, and `rebalance(group)` rebalances now.
 *
 * A rule fires `times` times (default once), first matching rule first. Every firing is counted on
 * its rule and recorded in `history`. With no rule installed the connection pays one property read
 * (`active`) per request and never calls in here.
 *
 * Faults are a broker feature, not a hook: they sit in the connection's dispatch, outside the hooks,
 * so a hook sees only requests that got through and a drop happens where a network would cut.
 */
import { ApiKey } from '../protocol/messages/index.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { ZERO_UUID } from '../protocol/codec/uuid.js';
import { FAULT_DELAY_MAX_MS, FAULT_HISTORY_MAX, FAULT_RULES_MAX, MAX_THROTTLE_MS } from '../base/limits.js';
import { FAULT_ALWAYS, FAULT_DROP_POINTS, FAULT_ENTRY_KEYS, type FaultSpec } from '../config/fault-entry.js';
import type { ConnectionInfo } from '../contracts/request.js';
import type { Logger } from '../contracts/logger.js';
import type { RequestContext, ServedApi } from './handler.js';
import { SYSTEM_CLOCK, type Clock } from '../base/clock.js';

export type { FaultSpec };

export type FaultKind = 'error' | 'delay' | 'drop-before' | 'drop-after' | 'throttle' | 'partial-fetch' | 'rebalance';

/** One fired fault, as `broker.faults.history` keeps it. */
export interface FaultRecord {
  /** 1 for the first fault this broker fired, then 2, 3, … */
  readonly seq: number;
  readonly atMs: number;
  /** The rule's id (`InjectedFault.id`); 0 for `faults.rebalance()` called directly. */
  readonly rule: number;
  readonly kind: FaultKind;
  /** The API's name (`Produce`), or null for `faults.rebalance()` called directly. */
  readonly api: string | null;
  readonly apiVersion: number | null;
  readonly clientId: string | null;
  /** The client's address and port. */
  readonly remote: string | null;
  /** `error`: the code sent and its name. */
  readonly errorCode?: number;
  readonly errorName?: string;
  /** `rebalance`: the group. */
  readonly group?: string;
}

/** A rule as installed: its counts, and a way to take it out. */
export interface InjectedFault {
  readonly id: number;
  readonly kind: FaultKind;
  /** Times it has fired. */
  readonly fired: number;
  /** Times it will still fire (Infinity for `always`); 0 once spent (it is then removed). */
  readonly remaining: number;
  /** Take the rule out (it fires no more). */
  remove(): void;
}

/** A fault spec the broker cannot install: an unknown API or error, no effect or two, a bad number. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

export interface FaultDeps {
  readonly log: Logger;
  /** A topic id's name (Fetch v13+ and other requests that name topics by id). */
  topicName(topicId: string): string | undefined;
  /** Start a rebalance of a group that has members; false when it has none or is rebalancing already. */
  forceRebalance(groupId: string, reason: string): boolean;
  /** Delays, throttles and history times (default: the system clock). */
  readonly clock?: Clock;
}

/** The APIs a group coordinator answers: what `moveCoordinator` answers NOT_COORDINATOR. */
export const GROUP_COORDINATOR_APIS: readonly string[] = ['JoinGroup', 'SyncGroup', 'Heartbeat', 'LeaveGroup', 'OffsetCommit', 'OffsetFetch', 'DescribeGroups', 'TxnOffsetCommit'];

interface Rule {
  readonly id: number;
  readonly kind: FaultKind;
  /** API keys it matches; null: every API. */
  readonly apis: ReadonlySet<number> | null;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly group: string | undefined;
  readonly clientId: string | undefined;
  readonly errorCode: number;
  readonly ms: number;
  fired: number;
  remaining: number;
}

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));
const EFFECT_KEYS = ['errorCode', 'delayMs', 'drop', 'throttleMs', 'partialFetch', 'rebalance'] as const;

export class FaultInjector {
  /**
   * True while a rule is installed or a throttle mutes a connection: only then does a connection
   * call `around`. A plain field, so the check costs one property read.
   */
  active = false;
  /** Fired faults, oldest first (the newest FAULT_HISTORY_MAX). */
  readonly history: FaultRecord[] = [];
  private rules: Rule[] = [];
  private nextId = 1;
  private seq = 0;
  /** Connections muted by a throttle fault, until this time (ms). */
  private readonly muted = new Map<ConnectionInfo, number>();
  /** Delays and throttles under way: shutdown (`wakeAll`) ends them at once. */
  private readonly sleepers = new Set<() => void>();

  private readonly clock: Clock;

  constructor(private readonly deps: FaultDeps) {
    this.clock = deps.clock ?? SYSTEM_CLOCK;
  }

  /** Faults fired since start (also those history no longer holds). */
  get count(): number {
    return this.seq;
  }

  /** The rules installed now, first matching first. */
  get rulesInstalled(): readonly InjectedFault[] {
    return this.rules.map((r) => this.handle(r));
  }

  /**
   * Install a rule (FaultSpec in src/config/fault-entry.ts). Throws FaultSpecError when the spec names
   * an unknown API or error, has no effect or more than one, or a number out of range.
   */
  inject(spec: FaultSpec): InjectedFault {
    if (this.rules.length >= FAULT_RULES_MAX) throw new FaultSpecError(`at most ${FAULT_RULES_MAX} fault rules may be installed at once`);
    const rule = compileRule(spec, this.nextId);
    this.nextId++;
    this.rules.push(rule);
    this.active = true;
    return this.handle(rule);
  }

  /**
   * A coordinator moving: the group APIs (GROUP_COORDINATOR_APIS) are answered NOT_COORDINATOR, for
   * one group or all, `times` times (default once), so clients look the coordinator up again.
   */
  moveCoordinator(options: { group?: string; times?: FaultSpec['times'] } = {}): InjectedFault {
    return this.inject({ api: GROUP_COORDINATOR_APIS, errorCode: ErrorCode.NOT_COORDINATOR, ...options });
  }

  /**
   * Rebalance a group now, as when a member joins or leaves: its members learn it from their next
   * heartbeat (REBALANCE_IN_PROGRESS) and rejoin. False (and nothing recorded) when the group has no
   * members or is rebalancing already.
   */
  rebalance(groupId: string): boolean {
    if (!this.deps.forceRebalance(groupId, 'forced by fault injection')) return false;
    this.record(0, 'rebalance', null, null, { group: groupId });
    return true;
  }

  /** Take every rule out and lift every mute (history and counts stay). */
  clear(): void {
    this.rules = [];
    this.muted.clear();
    this.active = false;
  }

  /** `clear()`, and history and counts start again (broker.reset()). */
  reset(): void {
    this.clear();
    this.history.length = 0;
    this.seq = 0;
  }

  /** A connection closed: a mute it still had goes with it. */
  connectionClosed(connection: ConnectionInfo): void {
    if (this.muted.delete(connection)) this.active = this.rules.length > 0 || this.muted.size > 0;
  }

  /** Shutdown: delays and throttles under way end now, so connections drain. */
  wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /**
   * Handle one request with the faults that apply to it. `run` is the normal dispatch (hooks and
   * handler); null means no response (the connection was closed, or Produce acks=0).
   */
  async around(handler: ServedApi, request: unknown, ctx: RequestContext, run: (request: unknown) => unknown): Promise<unknown> {
    if (this.muted.size > 0) await this.waitUnmuted(ctx.connection);
    const rule = this.match(request, ctx);
    if (rule === null) return run(request);
    this.spend(rule);
    const api = API_NAMES.get(ctx.apiKey) ?? String(ctx.apiKey);
    const what = `fault ${rule.id} (${rule.kind}) on ${api} v${ctx.apiVersion} from ${ctx.connection.remote}`;
    this.deps.log.debug(what);
    switch (rule.kind) {
      case 'error': {
        this.record(rule.id, 'error', ctx, api, { errorCode: rule.errorCode, errorName: errorName(rule.errorCode) });
        const body = await handler.errorResponse(request, ctx.apiVersion, rule.errorCode, null);
        // No response to carry the error (Produce acks=0): Kafka closes the connection so the client notices.
        if (body === null) ctx.connection.close(`${what}: no response can carry the error`);
        return body;
      }
      case 'delay':
        this.record(rule.id, 'delay', ctx, api);
        await this.sleep(rule.ms);
        return run(request);
      case 'drop-before':
        this.record(rule.id, 'drop-before', ctx, api);
        ctx.connection.close(what);
        return null;
      case 'drop-after': {
        this.record(rule.id, 'drop-after', ctx, api);
        await run(request);
        ctx.connection.close(what);
        return null;
      }
      case 'throttle': {
        this.record(rule.id, 'throttle', ctx, api);
        const body = await run(request);
        await this.throttle(handler, ctx, body, rule.ms);
        return body;
      }
      case 'partial-fetch': {
        this.record(rule.id, 'partial-fetch', ctx, api);
        const body = await run(request);
        if (body !== null) cutFetchBatches(body, rule, this.deps.topicName);
        return body;
      }
      case 'rebalance': {
        const forced = this.deps.forceRebalance(rule.group!, `forced by fault ${rule.id}`);
        this.record(rule.id, 'rebalance', ctx, api, { group: rule.group! });
        if (!forced) this.deps.log.debug(`${what}: group ${rule.group} has no members or is rebalancing already`);
        return run(request);
      }
    }
  }

  private match(request: unknown, ctx: RequestContext): Rule | null {
    for (const r of this.rules) {
      if (r.apis !== null && !r.apis.has(ctx.apiKey)) continue;
      if (r.clientId !== undefined && ctx.clientId !== r.clientId) continue;
      if (r.topic !== undefined && !namesTopic(request, r.topic, r.partition, this.deps.topicName, 0)) continue;
      if (r.group !== undefined && !namesGroup(request, r.group, 0)) continue;
      return r;
    }
    return null;
  }

  private spend(rule: Rule): void {
    rule.fired++;
    rule.remaining--;
    if (rule.remaining <= 0) this.remove(rule.id);
  }

  private remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
    this.active = this.rules.length > 0 || this.muted.size > 0;
  }

  private handle(rule: Rule): InjectedFault {
    return {
      id: rule.id,
      kind: rule.kind,
      get fired() {
        return rule.fired;
      },
      get remaining() {
        return Math.max(rule.remaining, 0);
      },
      remove: () => {
        rule.remaining = 0;
        this.remove(rule.id);
      },
    };
  }

  private record(rule: number, kind: FaultKind, ctx: RequestContext | null, api: string | null, extra: Partial<FaultRecord> = {}): void {
    this.seq++;
    this.history.push({
      seq: this.seq,
      atMs: this.clock.now(),
      rule,
      kind,
      api,
      apiVersion: ctx?.apiVersion ?? null,
      clientId: ctx?.clientId ?? null,
      remote: ctx?.connection.remote ?? null,
      ...extra,
    });
    if (this.history.length > FAULT_HISTORY_MAX) this.history.splice(0, this.history.length - FAULT_HISTORY_MAX);
  }

  /**
   * KIP-219, as Kafka's quotas: the response carries the throttle and the connection is muted for it;
   * a version whose clients do not throttle themselves (the API's `clientThrottlesFromVersion`) gets
   * its answer delayed instead.
   */
  private async throttle(handler: ServedApi, ctx: RequestContext, body: unknown, ms: number): Promise<void> {
    if (body !== null && typeof body === 'object') {
      const b = body as { throttleTimeMs?: number };
      b.throttleTimeMs = Math.max(b.throttleTimeMs ?? 0, ms);
    }
    const from = handler.clientThrottlesFromVersion;
    if (from === null || ctx.apiVersion < from) return this.sleep(ms);
    this.muted.set(ctx.connection, this.clock.now() + ms);
    this.active = true;
  }

  /** A muted connection's next request waits out the mute (Kafka mutes the channel). */
  private async waitUnmuted(connection: ConnectionInfo): Promise<void> {
    const until = this.muted.get(connection);
    if (until === undefined) return;
    this.muted.delete(connection);
    this.active = this.rules.length > 0 || this.muted.size > 0;
    const waitMs = until - this.clock.now();
    if (waitMs > 0) await this.sleep(waitMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

// ---- rules ----------------------------------------------------------------------------------------

function compileRule(spec: FaultSpec, id: number): Rule {
  if (spec === null || typeof spec !== 'object') throw new FaultSpecError('a fault must be an object');
  for (const key of Object.keys(spec)) {
    if (!(FAULT_ENTRY_KEYS as readonly string[]).includes(key)) throw new FaultSpecError(`unknown fault key "${key}" (keys: ${FAULT_ENTRY_KEYS.join(', ')})`);
  }
  const effects = EFFECT_KEYS.filter((k) => spec[k] !== undefined && spec[k] !== false);
  if (effects.length !== 1) {
    throw new FaultSpecError(`a fault has exactly one effect of ${EFFECT_KEYS.join(', ')} (got ${effects.length === 0 ? 'none' : effects.join(' and ')})`);
  }
  const apis = apiKeys(spec.api);
  const times = spec.times ?? 1;
  const remaining = times === FAULT_ALWAYS || times === Infinity ? Infinity : times;
  if (!(remaining === Infinity || (Number.isSafeInteger(remaining) && remaining >= 1))) {
    throw new FaultSpecError(`times must be a positive integer or "${FAULT_ALWAYS}" (got ${JSON.stringify(times)})`);
  }
  if (spec.topic !== undefined && (typeof spec.topic !== 'string' || spec.topic === '')) throw new FaultSpecError('topic must be a topic name');
  if (spec.partition !== undefined) {
    if (spec.topic === undefined) throw new FaultSpecError('partition needs topic');
    if (!Number.isSafeInteger(spec.partition) || spec.partition < 0) throw new FaultSpecError(`partition must be an integer >= 0 (got ${String(spec.partition)})`);
  }
  if (spec.group !== undefined && (typeof spec.group !== 'string' || spec.group === '')) throw new FaultSpecError('group must be a group id');
  if (spec.clientId !== undefined && typeof spec.clientId !== 'string') throw new FaultSpecError('clientId must be a string');
  const base = { id, apis, topic: spec.topic, partition: spec.partition, group: spec.group, clientId: spec.clientId, errorCode: ErrorCode.NONE as number, ms: 0, fired: 0, remaining };
  switch (effects[0]!) {
    case 'errorCode':
      return { ...base, kind: 'error', errorCode: errorCodeOf(spec.errorCode!) };
    case 'delayMs':
      return { ...base, kind: 'delay', ms: milliseconds('delayMs', spec.delayMs, FAULT_DELAY_MAX_MS) };
    case 'throttleMs':
      return { ...base, kind: 'throttle', ms: milliseconds('throttleMs', spec.throttleMs, MAX_THROTTLE_MS) };
    case 'drop':
      if (!(FAULT_DROP_POINTS as readonly string[]).includes(spec.drop!)) throw new FaultSpecError(`drop must be one of ${FAULT_DROP_POINTS.join(', ')} (got ${JSON.stringify(spec.drop)})`);
      return { ...base, kind: spec.drop === 'before' ? 'drop-before' : 'drop-after' };
    case 'partialFetch':
      if (spec.partialFetch !== true) throw new FaultSpecError('partialFetch must be true');
      if (apis !== null && (apis.size !== 1 || !apis.has(ApiKey.Fetch))) throw new FaultSpecError('partialFetch applies to Fetch only');
      return { ...base, kind: 'partial-fetch', apis: new Set([ApiKey.Fetch]) };
    case 'rebalance':
      if (spec.rebalance !== true) throw new FaultSpecError('rebalance must be true');
      if (spec.group === undefined) throw new FaultSpecError('rebalance needs group (the group to rebalance)');
      return { ...base, kind: 'rebalance' };
  }
}

function apiKeys(api: FaultSpec['api']): ReadonlySet<number> | null {
  if (api === undefined || api === '*') return null;
  const list = Array.isArray(api) ? api : [api];
  if (list.length === 0) throw new FaultSpecError('api must name at least one API');
  const keys = new Set<number>();
  for (const a of list as (string | number)[]) {
    const key = typeof a === 'number' ? (API_NAMES.has(a) ? a : undefined) : (ApiKey as Record<string, number>)[a];
    if (key === undefined) throw new FaultSpecError(`unknown API ${JSON.stringify(a)} (names as in Kafka's specs: Produce, Fetch, JoinGroup, …)`);
    keys.add(key);
  }
  return keys;
}

function errorCodeOf(e: string | number): number {
  if (typeof e === 'number') {
    if (!Number.isInteger(e) || e === ErrorCode.NONE || errorName(e).startsWith('UNKNOWN_ERROR_CODE_')) throw new FaultSpecError(`errorCode ${e} is not a Kafka error`);
    return e;
  }
  const code = (ErrorCode as Record<string, number>)[e];
  if (code === undefined || code === ErrorCode.NONE) throw new FaultSpecError(`unknown error ${JSON.stringify(e)} (Kafka's names: NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR, …)`);
  return code;
}

function milliseconds(key: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new FaultSpecError(`${key} must be an integer from 0 to ${max} (got ${JSON.stringify(v)})`);
  return v;
}

// ---- what a request names ------------------------------------------------------------------------
// Requests are matched by the shape every Kafka message shares — a topic entry carries its name (or
// id) and its partitions' indexes — so no per-API table is kept here. Depth is bounded; decoded
// requests are bounded by the element budget.

const MAX_DEPTH = 6;
const TOPIC_NAME_FIELDS = ['topic', 'name', 'topicName'] as const;
const PARTITION_FIELDS = ['partition', 'partitionIndex', 'index'] as const;

function topicOf(o: Record<string, unknown>, topicName: (id: string) => string | undefined): string | undefined {
  const id = o['topicId'];
  if (typeof id === 'string' && id !== ZERO_UUID) return topicName(id) ?? '';
  for (const f of TOPIC_NAME_FIELDS) {
    const v = o[f];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

function partitionIndexOf(o: unknown): number | undefined {
  if (o === null || typeof o !== 'object') return undefined;
  for (const f of PARTITION_FIELDS) {
    const v = (o as Record<string, unknown>)[f];
    if (typeof v === 'number') return v;
  }
  return undefined;
}

/** Whether a topic entry lists the partition: as an index array, or as entries with an index. */
function listsPartition(o: Record<string, unknown>, partition: number): boolean {
  for (const v of Object.values(o)) {
    if (!Array.isArray(v)) continue;
    for (const e of v) if (e === partition || partitionIndexOf(e) === partition) return true;
  }
  return false;
}

/**
 * Whether a decoded request names the topic, and the partition when one is given. An object with a
 * topic name (or a known topic id) is a topic entry: it decides; anything else is searched within.
 */
export function namesTopic(value: unknown, topic: string, partition: number | undefined, topicName: (id: string) => string | undefined, depth: number): boolean {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some((v) => namesTopic(v, topic, partition, topicName, depth + 1));
  const o = value as Record<string, unknown>;
  const name = topicOf(o, topicName);
  if (name !== undefined) return name === topic && (partition === undefined || listsPartition(o, partition));
  // DeleteTopics v1–5 names its topics as a list of strings.
  if (partition === undefined && Array.isArray(o['topicNames']) && o['topicNames'].includes(topic)) return true;
  for (const v of Object.values(o)) if (namesTopic(v, topic, partition, topicName, depth + 1)) return true;
  return false;
}

function namesGroup(value: unknown, group: string, depth: number): boolean {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some((v) => namesGroup(v, group, depth + 1));
  const o = value as Record<string, unknown>;
  if (o['groupId'] === group) return true;
  // DescribeGroups and DeleteGroups list group ids as strings.
  if (Array.isArray(o['groups']) && o['groups'].includes(group)) return true;
  for (const v of Object.values(o)) if (typeof v === 'object' && namesGroup(v, group, depth + 1)) return true;
  return false;
}

// ---- partial fetch -------------------------------------------------------------------------------

/** Record batch header: baseOffset int64, then batchLength int32 (the bytes after these 12). */
const BATCH_LENGTH_OFFSET = 8;
const BATCH_LOG_OVERHEAD = 12;

/**
 * Cut the last record batch of each served partition (the rule's topic/partition, if it has one)
 * in half: complete batches before it stay. A partition serving one batch then serves only part of
 * one, and the consumer fetches the same offset again.
 */
function cutFetchBatches(body: unknown, rule: Rule, topicName: (id: string) => string | undefined): void {
  const topics = (body as { responses?: unknown }).responses;
  if (!Array.isArray(topics)) return;
  for (const t of topics as Record<string, unknown>[]) {
    if (rule.topic !== undefined && topicOf(t, topicName) !== rule.topic) continue;
    for (const p of (t['partitions'] ?? []) as Record<string, unknown>[]) {
      if (rule.partition !== undefined && p['partitionIndex'] !== rule.partition) continue;
      const records = p['records'];
      const bytes = Buffer.isBuffer(records) ? records : Array.isArray(records) ? Buffer.concat(records as Buffer[]) : null;
      if (bytes === null || bytes.length < BATCH_LOG_OVERHEAD) continue;
      let last = 0;
      for (let at = 0; at + BATCH_LOG_OVERHEAD <= bytes.length; ) {
        last = at;
        at += BATCH_LOG_OVERHEAD + bytes.readInt32BE(at + BATCH_LENGTH_OFFSET);
      }
      const lastLength = Math.min(bytes.length - last, BATCH_LOG_OVERHEAD + bytes.readInt32BE(last + BATCH_LENGTH_OFFSET));
      p['records'] = bytes.subarray(0, last + Math.floor(lastLength / 2));
    }
  }
}
