/**
 * The hook API: TypeScript logic that runs on the broker's request path (docs/hooks.md).
 *
 * A hook is a plain object with a name and any of the stage methods below. Every stage has a
 * documented trigger, what it may change, and how its decision reaches the wire:
 *
 * | stage          | trigger                                   | may                                   | wire                                      |
 * |----------------|-------------------------------------------|---------------------------------------|-------------------------------------------|
 * | onConnection   | a TCP connection is accepted              | accept / refuse                       | refused: the socket is closed unread      |
 * | onRequest      | a request is decoded, before its handler  | pass / rewrite / answer / throttle    | error code in every part of the response  |
 * | onResponse     | the handler answered, before encoding     | pass / rewrite / replace with error   | the response as returned                  |
 * | beforeProduce  | a produced batch of one partition passed  | allow / refuse / transform records    | partition error_code, error_message,      |
 * |                | Kafka's checks and idempotence            |                                       | record_errors (v8+)                       |
 * | afterProduce   | the batch is in the log                   | observe (offsets known)               | nothing                                   |
 * | beforeFetch    | a fetch asks for a partition              | allow / refuse                        | partition error_code                      |
 * | afterFetch     | batches were read for a partition         | filter / redact / transform records   | the records the consumer receives         |
 * | onTopicCreate  | CreateTopics or auto-creation             | allow / refuse / adjust partitions    | POLICY_VIOLATION (or the code returned)   |
 * |                |                                           | and configs                           |                                           |
 * | onTopicDelete  | DeleteTopics                              | allow / refuse                        | the topic's error code                    |
 * | onJoin         | JoinGroup, before the coordinator         | allow / refuse                        | JoinGroup error code                      |
 * | onRebalance    | a generation completed (leader's answer)  | observe                               | nothing                                   |
 * | onCommit       | OffsetCommit was applied                  | observe (per-partition results)       | nothing                                   |
 *
 * Hooks run in registration order; per-partition stages run only for the hook's `topics`, and
 * request stages only for its `apis`. Each call is bounded by `hook.timeout.ms`. A hook that throws
 * or times out never crashes the broker: the affected part of the request gets a defined error
 * code (HOOK_FAILED_ERROR / HOOK_TIMEOUT_ERROR below) and the broker logs one line; other
 * partitions of the same request are handled normally.
 */
import type { RecordHeader } from '../protocol/records/record.js';
import type { HookSpec, TopicSelector } from '../config/hook-entry.js';

// The configuration form of a hook and its topic selector are config's (the bottom layer reads them from rafka.yaml).
export type { HookSpec, TopicSelector };

export type Awaitable<T> = T | Promise<T>;

/** Error code given to the client when a hook throws (Kafka's UNKNOWN_SERVER_ERROR, not retriable). */
export const HOOK_FAILED_ERROR = -1;
/** Error code given to the client when a hook exceeds `hook.timeout.ms` (REQUEST_TIMED_OUT, retriable). */
export const HOOK_TIMEOUT_ERROR = 7;

/**
 * A decision to refuse: the error code (and message, where the API carries one) the client
 * receives. Without `errorCode` the refusal is POLICY_VIOLATION; `errorCode: 0` allows.
 */
export interface Refusal {
  readonly errorCode?: number;
  readonly message?: string;
  /**
   * Produce only (v8+, KIP-467): which records made the batch fail, by their index in the batch as
   * the producer sent it.
   */
  readonly recordErrors?: readonly RecordErrorInfo[];
}

export interface RecordErrorInfo {
  readonly index: number;
  readonly message?: string | null;
}

/** Lines a hook writes go to the broker's log, prefixed with the hook's name. */
export interface HookLogger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

// ---- connections and requests -------------------------------------------------------------------

export interface ConnectionHookContext {
  /** `address:port` of the client. */
  readonly remote: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Listener name (Kafka's term); Rafka has one plaintext listener. */
  readonly listener: 'PLAINTEXT';
  readonly log: HookLogger;
}

/** `false`, or a refusal with a reason, closes the connection; anything else accepts it. */
export type ConnectionDecision = void | undefined | boolean | { readonly refuse: string };

/** What every request-path stage knows about the request it runs for. */
export interface RequestInfo {
  readonly apiKey: number;
  /** Kafka's name of the API, e.g. `Produce`. */
  readonly apiName: string;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: { readonly remote: string; readonly remoteAddress: string };
  /** The authenticated principal, `User:alice` (`User:ANONYMOUS` without authentication), as ACLs see it. */
  readonly principal: string;
  /** When the broker started handling the request (ms since the epoch). */
  readonly receivedAtMs: number;
  /** Aborted when this stage is abandoned because a hook exceeded `hook.timeout.ms`. */
  readonly signal: AbortSignal;
  readonly log: HookLogger;
}

export interface RequestHookContext<Req = any> extends RequestInfo {
  /** The decoded request (the generated message type of the API, e.g. ProduceRequest). */
  readonly request: Req;
}

export interface ResponseHookContext<Req = any, Res = any> extends RequestHookContext<Req> {
  /** The response body about to be encoded; null for a request without a response (Produce acks=0). */
  readonly response: Res | null;
}

/**
 * onRequest's answer. Fields are checked in this order: `errorCode` answers the request at once with
 * that error in every part of the response (the handler does not run); `response` answers with that
 * body; `request` replaces the request the handler (and later hooks) see. `throttleTimeMs` may
 * accompany any of them: Kafka quota semantics (KIP-219) — the response carries it and the
 * connection is muted that long after answering.
 */
export interface RequestVerdict<Req = any, Res = any> {
  readonly errorCode?: number;
  readonly message?: string;
  readonly response?: Res;
  readonly request?: Req;
  readonly throttleTimeMs?: number;
}

/** onResponse's answer: a replacement body, or an error that replaces the response. */
export interface ResponseVerdict<Res = any> {
  readonly errorCode?: number;
  readonly message?: string;
  readonly response?: Res;
  readonly throttleTimeMs?: number;
}

// ---- records ------------------------------------------------------------------------------------

/**
 * One record of a batch, decoded on demand. Setters and the header methods mark the batch changed;
 * only a changed batch is re-encoded (with its own compression, base offset, offset deltas and
 * producer fields).
 */
export interface HookRecord {
  /** Position in the batch as stored or produced (the `batch_index` of produce record errors). */
  readonly index: number;
  /** Offset relative to the batch's first record. */
  readonly offsetDelta: number;
  /** Absolute offset: known on fetch and afterProduce; on beforeProduce it equals offsetDelta. */
  readonly offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** CreateTime of the record (for LogAppendTime batches, the broker's append time). */
  timestamp: number;
  readonly headers: readonly RecordHeader[];
  /** The last value of a header, undefined when absent. */
  header(key: string): Buffer | null | undefined;
  /** Replace every header of this key with one (strings are written as UTF-8). */
  setHeader(key: string, value: Buffer | string | null): void;
  addHeader(key: string, value: Buffer | string | null): void;
  removeHeader(key: string): void;
  /** The key / value as UTF-8 text (null stays null). */
  keyText(): string | null;
  valueText(): string | null;
  /** The value parsed as JSON (throws SyntaxError when it is not JSON; null value → null). */
  valueJson<T = unknown>(): T;
  /** Set the value to `JSON.stringify(v)`. */
  setValueJson(v: unknown): void;
  /** Remove the record (see docs/hooks.md for how offsets and idempotent batches are kept). */
  drop(): void;
  readonly dropped: boolean;
}

/** A record batch as a hook sees it: header fields at once, records only when asked for. */
export interface HookBatch {
  readonly topic: string;
  readonly partition: number;
  /** Stored base offset on fetch and afterProduce; 0 on beforeProduce (not yet assigned). */
  readonly baseOffset: number;
  readonly lastOffsetDelta: number;
  /** Records in the batch as it arrived (or was stored). */
  readonly recordCount: number;
  readonly compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** producerId >= 0: the producer is idempotent (dropped records keep their offsets, see docs). */
  readonly idempotent: boolean;
  /**
   * Part of a transaction (KIP-98; always idempotent too). On fetch its records may belong to an
   * aborted transaction: read_committed consumers drop those themselves (docs/hooks.md).
   */
  readonly transactional: boolean;
  /** Size of the batch as it arrived (or was stored). */
  readonly sizeBytes: number;
  /** The batch bytes as they arrived (or were stored). Do not modify. */
  readonly bytes: Buffer;
  /** Decode (once; decompressing as needed) and return the records. */
  records(): Promise<HookRecord[]>;
  /** Whether a hook changed, added headers to or dropped any record. */
  readonly changed: boolean;
}

// ---- produce and fetch --------------------------------------------------------------------------

export interface PartitionHookContext extends RequestInfo {
  readonly topic: string;
  readonly partition: number;
}

export interface BeforeProduceContext extends PartitionHookContext {
  readonly batch: HookBatch;
}

export interface AfterProduceContext extends PartitionHookContext {
  /** The batch as written (after every beforeProduce transform), with its assigned offsets. */
  readonly batch: HookBatch;
  readonly baseOffset: number;
  /** baseOffset + lastOffsetDelta. */
  readonly lastOffset: number;
  /** Broker append time for LogAppendTime topics, else -1. */
  readonly logAppendTimeMs: number;
}

export interface BeforeFetchContext extends PartitionHookContext {
  readonly fetchOffset: number;
  readonly maxBytes: number;
}

export interface AfterFetchContext extends PartitionHookContext {
  readonly fetchOffset: number;
  readonly highWatermark: number;
  /** The batches read for the consumer (control batches are not shown and pass unchanged). */
  readonly batches: readonly HookBatch[];
}

// ---- topics and groups --------------------------------------------------------------------------

export interface TopicCreateContext {
  readonly topic: string;
  /** Adjustable: assign a new count to change it. */
  partitions: number;
  readonly replicationFactor: number;
  /** Adjustable: add, change or delete entries (Kafka topic config names; validated afterwards). */
  configs: Record<string, string>;
  /** `create-topics` (CreateTopics API) or `auto-create` (Metadata / produce to an unknown topic). */
  readonly origin: 'create-topics' | 'auto-create';
  readonly log: HookLogger;
}

export interface TopicDeleteContext {
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly log: HookLogger;
}

export interface JoinContext extends RequestInfo {
  readonly groupId: string;
  /** Empty for a member's first join. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly string[];
}

export interface RebalanceEvent {
  readonly groupId: string;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocol: string | null;
  readonly leaderId: string;
  readonly memberIds: readonly string[];
  readonly log: HookLogger;
}

export interface CommitEvent extends RequestInfo {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  readonly offsets: readonly { topic: string; partition: number; offset: number; metadata: string | null; errorCode: number }[];
}

// ---- the hook -----------------------------------------------------------------------------------

export interface Hook {
  /** Shown in log lines and error messages. */
  readonly name: string;
  /** Per-partition and topic stages run only for these topics (default: every topic). */
  readonly topics?: TopicSelector;
  /** onRequest / onResponse run only for these APIs, by key or Kafka name (default: every API). */
  readonly apis?: readonly (number | string)[];

  onConnection?(ctx: ConnectionHookContext): Awaitable<ConnectionDecision>;
  onRequest?(ctx: RequestHookContext): Awaitable<void | undefined | RequestVerdict>;
  onResponse?(ctx: ResponseHookContext): Awaitable<void | undefined | ResponseVerdict>;
  beforeProduce?(ctx: BeforeProduceContext): Awaitable<void | undefined | Refusal>;
  afterProduce?(ctx: AfterProduceContext): Awaitable<void>;
  beforeFetch?(ctx: BeforeFetchContext): Awaitable<void | undefined | Refusal>;
  afterFetch?(ctx: AfterFetchContext): Awaitable<void | undefined | Refusal>;
  onTopicCreate?(ctx: TopicCreateContext): Awaitable<void | undefined | Refusal>;
  onTopicDelete?(ctx: TopicDeleteContext): Awaitable<void | undefined | Refusal>;
  onJoin?(ctx: JoinContext): Awaitable<void | undefined | Refusal>;
  onRebalance?(event: RebalanceEvent): Awaitable<void>;
  onCommit?(event: CommitEvent): Awaitable<void>;
  /** Called once when the broker shuts down (flush files, stop timers). */
  close?(): Awaitable<void>;
}

/** What a hook module's factory receives besides its options. */
export interface HookFactoryContext {
  /** Directory relative paths in options are resolved against (the config file's directory). */
  readonly baseDir: string;
  readonly log: HookLogger;
}

/** A hook module's export may be a Hook, or a factory of one taking the `options:` from config. */
export type HookFactory<Options = any> = (options: Options, ctx: HookFactoryContext) => Awaitable<Hook>;

/** An entry of `hooks:` in rafka.yaml or of `startBroker({ hooks })`: a hook object or a spec. */
export type HookEntry = Hook | HookSpec;

/** Identity helper that gives a hook object literal its type. */
export function defineHook<H extends Hook>(hook: H): H {
  return hook;
}
