/**
 * Incremental fetch sessions (KIP-227), as Kafka's FetchManager, FetchSession and FetchSessionCache
 * (server/src/main/java/org/apache/kafka/server/Fetch*.java) do them. A consumer fetching many
 * partitions names them all once, in a full fetch; the broker keeps them in a session and answers
 * with its id. Later (incremental) fetches name only partitions whose fetch position or limits
 * changed, and the answer lists only partitions with something new: records, an error, or a moved
 * high watermark, last stable offset or log start offset. Both sides save re-encoding and re-reading
 * every partition on every fetch.
 *
 * Request metadata (session id, epoch), as Kafka's FetchMetadata reads it:
 * - epoch 0 (full): close the session named, if any, then answer in full and try to create a session
 *   from the answer (its id in the response; 0 when the cache has no room: the client keeps sending
 *   full fetches).
 * - epoch -1 (final): close the session named, if any, and answer in full without a session.
 * - epoch > 0 (incremental): the session must exist (else FETCH_SESSION_ID_NOT_FOUND), expect this
 *   epoch (else INVALID_FETCH_SESSION_EPOCH) and name topics as the request does (by id from v13, by
 *   name before; else FETCH_SESSION_TOPIC_ID_ERROR). The request's partitions are added or updated,
 *   its forgotten topics removed; a session left empty is closed and the fetch answered sessionless.
 *   The epoch moves on (after 2^31 - 1 comes 1). Partitions that returned records move to the end of
 *   the session's order, so the next fetch reads the others first (fairness under max_bytes).
 * - When the answer is built, a session whose epoch moved meanwhile (a second fetch of the same
 *   session overtook this one, e.g. a client retry) gets INVALID_FETCH_SESSION_EPOCH with the session's id.
 *
 * The cache (broker-wide, keyed by session id, as Kafka's) holds at most
 * `max.incremental.fetch.session.cache.slots` sessions (0 disables sessions). With no free slot a
 * new session evicts, as Kafka's tryEvict, first the least recently used session if it is unused for
 * longer than FETCH_SESSION_EVICTION_MS, else the smallest session older than that if the new one has
 * more partitions; otherwise it is not created. Kafka also ranks follower ("privileged") sessions
 * above consumers'; Rafka has no followers and does not believe a fetch's replica id, so every
 * session is a consumer's. Kafka splits its cache into shards for lock contention and evicts within
 * a shard; one event loop needs no shards, so eviction looks at every session (Kafka's rule before
 * KAFKA-9401).
 *
 * Beyond Kafka: all sessions together cache at most FETCH_SESSION_CACHE_PARTITIONS_MAX partitions, so
 * that sessions cannot grow the broker's memory without bound. A full fetch that would pass it gets
 * no session (stale sessions are evicted first to make room); an incremental fetch that would pass it
 * closes its session and is answered FETCH_SESSION_ID_NOT_FOUND, which clients answer with a full fetch.
 *
 * Callers: the Fetch handler (api/01-fetch.ts), on the broker's event loop; tests and the bench.
 */
import { SYSTEM_CLOCK, type Clock } from '../base/clock.js';
import { randomInt } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.js';
import { FETCH_SESSION_CACHE_PARTITIONS_MAX, FETCH_SESSION_EVICTION_MS } from '../base/limits.js';
import { invariant } from '../base/assert.js';

/** The session id of "no session" (Kafka's FetchMetadata.INVALID_SESSION_ID). */
export const INVALID_SESSION_ID = 0;
/** A full fetch that asks for a new session. */
export const INITIAL_EPOCH = 0;
/** A full fetch that closes its session and wants none. */
export const FINAL_EPOCH = -1;

const INT32_MAX = 2147483647;

/** The epoch after `epoch` (Kafka's FetchMetadata.nextEpoch): it wraps to 1, never to 0 or -1. */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === INT32_MAX ? 1 : epoch + 1;
}

/** What a fetch asks of one partition; a session keeps it for the fetches that do not name it again. */
export interface FetchPartitionParams {
  /** `topicKey` and `partition` as one string: a partition's identity within its session. */
  readonly key: string;
  /** How the request names the topic: its id from v13, its name before. */
  readonly topicKey: string;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
  readonly currentLeaderEpoch: number;
}

/** The key of a partition of a session (`topicKey` is a topic name or a base64 topic id). */
export function partitionKey(topicKey: string, partition: number): string {
  return `${topicKey}\u0000${partition}`;
}

/** What an answer said of a partition, as far as deciding whether an incremental answer lists it. */
export interface PartitionAnswer {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  recordBytes: number;
}

/**
 * One partition of a session: the fetch parameters last asked for, and what the last answer that
 * listed it said (Kafka's CachedPartition). The last stable offset is compared too (Kafka compares
 * only the high watermark and log start offset): a transaction's marker moves both here, but a
 * read_committed consumer must hear of any move of the LSO.
 */
export class CachedPartition implements FetchPartitionParams {
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
  highWatermark = -1;
  lastStableOffset = -1;
  logStartOffset = -1;
  readonly key: string;
  readonly topicKey: string;
  readonly partition: number;

  constructor(p: FetchPartitionParams) {
    this.key = p.key;
    this.topicKey = p.topicKey;
    this.partition = p.partition;
    this.fetchOffset = p.fetchOffset;
    this.maxBytes = p.maxBytes;
    this.currentLeaderEpoch = p.currentLeaderEpoch;
  }

  updateRequest(p: FetchPartitionParams): void {
    this.fetchOffset = p.fetchOffset;
    this.maxBytes = p.maxBytes;
    this.currentLeaderEpoch = p.currentLeaderEpoch;
  }

  /**
   * Whether an incremental answer must list this partition (Kafka's maybeUpdateResponseData), and
   * remember what it says: records, an error (the cached high watermark becomes -1, so the
   * partition is listed again once the error is gone), or a moved offset.
   */
  mustRespond(a: PartitionAnswer): boolean {
    let must = a.recordBytes > 0;
    if (this.highWatermark !== a.highWatermark) {
      must = true;
      this.highWatermark = a.highWatermark;
    }
    if (this.lastStableOffset !== a.lastStableOffset) {
      must = true;
      this.lastStableOffset = a.lastStableOffset;
    }
    if (this.logStartOffset !== a.logStartOffset) {
      must = true;
      this.logStartOffset = a.logStartOffset;
    }
    if (a.errorCode !== ErrorCode.NONE) {
      must = true;
      this.highWatermark = -1;
    }
    return must;
  }
}

export class FetchSession {
  /** The expected epoch of the next incremental fetch. */
  epoch = nextEpoch(INITIAL_EPOCH);
  lastUsedMs: number;
  /** The partition count at the last touch (the size eviction ranks by, as Kafka's EvictableKey), -1 before. */
  cachedSize = -1;
  /** Whether eviction may take it for a larger session: older than the eviction age at its last touch. */
  evictable = false;

  constructor(
    readonly id: number,
    /** Insertion order is fetch order; partitions that returned records move to the end. */
    readonly partitions: Map<string, CachedPartition>,
    /** Topics named by id (v13+) rather than by name. */
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
  ) {
    this.lastUsedMs = creationMs;
  }

  /**
   * Which partitions of an answer an incremental response lists (updating what the session
   * remembers of each); those with records move to the end of the fetch order.
   */
  select(answered: readonly { key: string; answer: PartitionAnswer }[]): boolean[] {
    const out: boolean[] = [];
    const moved: CachedPartition[] = [];
    for (const { key, answer } of answered) {
      const cached = this.partitions.get(key);
      const must = cached !== undefined && cached.mustRespond(answer);
      out.push(must);
      if (must && answer.recordBytes > 0) moved.push(cached!);
    }
    for (const c of moved) {
      this.partitions.delete(c.key);
      this.partitions.set(c.key, c);
    }
    return out;
  }
}

/** How one fetch is served (Kafka's FetchContext). */
export type FetchContext =
  /** Refused as a whole: the error in the response, no partitions, session id 0. */
  | { readonly kind: 'error'; readonly errorCode: number }
  /** Answered in full with session id 0. */
  | { readonly kind: 'sessionless'; readonly partitions: Iterable<FetchPartitionParams> }
  /** Answered in full; a session is created from the answer if the cache has room. */
  | { readonly kind: 'full'; readonly partitions: Iterable<FetchPartitionParams>; readonly usesTopicIds: boolean }
  /** Every partition of the session is read; the answer lists those with news. */
  | { readonly kind: 'incremental'; readonly partitions: Iterable<FetchPartitionParams>; readonly session: FetchSession; readonly requestEpoch: number };

export interface FetchSessionRequest {
  sessionId: number;
  epoch: number;
  usesTopicIds: boolean;
  /** The request's partitions, each once (the last parameters of a partition named twice), in request order. */
  fetchData: ReadonlyMap<string, FetchPartitionParams>;
  /** Keys of the partitions the request's forgotten topics name. */
  toForget: readonly string[];
}

export interface FetchSessionStats {
  /** Sessions in the cache now, and the partitions they hold. */
  sessions: number;
  partitionsCached: number;
  /** Since start: sessions created, sessions evicted, incremental fetches served. */
  created: number;
  evictions: number;
  incrementalFetches: number;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private partitionsCached = 0;
  private created = 0;
  private evictions = 0;
  private incrementalFetches = 0;

  constructor(
    /** `max.incremental.fetch.session.cache.slots`. */
    private readonly maxSessions: number,
    private readonly now: () => number = SYSTEM_CLOCK.now,
    private readonly evictionMs = FETCH_SESSION_EVICTION_MS,
    private readonly partitionsMax = FETCH_SESSION_CACHE_PARTITIONS_MAX,
  ) {}

  get(sessionId: number): FetchSession | undefined {
    return this.sessions.get(sessionId);
  }

  stats(): FetchSessionStats {
    return {
      sessions: this.sessions.size,
      partitionsCached: this.partitionsCached,
      created: this.created,
      evictions: this.evictions,
      incrementalFetches: this.incrementalFetches,
    };
  }

  /** How to serve a fetch with this session id, epoch and partitions (Kafka's FetchManager.newContext). */
  newContext(r: FetchSessionRequest): FetchContext {
    if (r.epoch === INITIAL_EPOCH || r.epoch === FINAL_EPOCH) {
      // Any session a full fetch names is closed.
      if (r.sessionId !== INVALID_SESSION_ID) this.remove(r.sessionId);
      const partitions = r.fetchData.values();
      return r.epoch === FINAL_EPOCH ? { kind: 'sessionless', partitions } : { kind: 'full', partitions, usesTopicIds: r.usesTopicIds };
    }
    const session = this.sessions.get(r.sessionId);
    if (session === undefined) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== r.epoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== r.usesTopicIds) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    let added = 0;
    for (const key of r.fetchData.keys()) if (!session.partitions.has(key)) added++;
    if (added > this.partitionsMax - this.partitionsCached) {
      // Past the broker's partition budget: as if the session had been evicted.
      this.remove(session.id);
      return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    }
    for (const p of r.fetchData.values()) {
      const cached = session.partitions.get(p.key);
      if (cached === undefined) session.partitions.set(p.key, new CachedPartition(p));
      else cached.updateRequest(p);
    }
    for (const key of r.toForget) session.partitions.delete(key);
    if (session.partitions.size === 0) {
      this.remove(session.id);
      return { kind: 'sessionless', partitions: r.fetchData.values() };
    }
    this.touch(session, this.now());
    session.epoch = nextEpoch(session.epoch);
    this.incrementalFetches++;
    return { kind: 'incremental', partitions: session.partitions.values(), session, requestEpoch: r.epoch };
  }

  /**
   * Create a session of these partitions (a full fetch's answer), if there is room or room can be
   * made (Kafka's maybeCreateSession); its id, or INVALID_SESSION_ID.
   */
  maybeCreate(usesTopicIds: boolean, partitions: readonly CachedPartition[]): number {
    const now = this.now();
    const size = partitions.length;
    while (size > this.partitionsMax - this.partitionsCached) {
      const lru = this.leastRecentlyUsed();
      if (lru === null || now - lru.lastUsedMs <= this.evictionMs) return INVALID_SESSION_ID;
      this.evict(lru);
    }
    if (this.sessions.size >= this.maxSessions && !this.tryEvict(size, now)) return INVALID_SESSION_ID;
    const map = new Map<string, CachedPartition>();
    for (const p of partitions) map.set(p.key, p);
    const session = new FetchSession(this.newSessionId(), map, usesTopicIds, now);
    this.sessions.set(session.id, session);
    this.touch(session, now);
    this.created++;
    return session.id;
  }

  /** Close a session; whether it existed. */
  remove(sessionId: number): boolean {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return false;
    this.sessions.delete(sessionId);
    if (s.cachedSize !== -1) this.partitionsCached -= s.cachedSize;
    invariant(this.partitionsCached >= 0, 'fetch session cache: cached partitions below zero', this.partitionsCached);
    return true;
  }

  /** Close every session (broker.reset(), between tests): clients fall back to a full fetch. */
  removeAll(): void {
    for (const id of [...this.sessions.keys()]) this.remove(id);
  }

  /** Record a use: the session's last-used time, size and evictability (Kafka's touch). */
  private touch(s: FetchSession, now: number): void {
    s.lastUsedMs = now;
    if (s.cachedSize !== -1) this.partitionsCached -= s.cachedSize;
    s.cachedSize = s.partitions.size;
    this.partitionsCached += s.cachedSize;
    s.evictable = now - s.creationMs > this.evictionMs;
  }

  /**
   * Make one slot free for a new session of `size` partitions (Kafka's tryEvict): the least recently
   * used session if it is stale; else the smallest (then lowest id) evictable session, if the new
   * session is larger. A linear pass: it runs only when every slot is taken.
   */
  private tryEvict(size: number, now: number): boolean {
    const lru = this.leastRecentlyUsed();
    if (lru === null) return false;
    if (now - lru.lastUsedMs > this.evictionMs) {
      this.evict(lru);
      return true;
    }
    let smallest: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      if (s.evictable && (smallest === null || s.cachedSize < smallest.cachedSize || (s.cachedSize === smallest.cachedSize && s.id < smallest.id))) smallest = s;
    }
    // The new session ranks as (size, id 0): it must have more partitions to take the slot.
    if (smallest === null || size <= smallest.cachedSize) return false;
    this.evict(smallest);
    return true;
  }

  private leastRecentlyUsed(): FetchSession | null {
    let lru: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      if (lru === null || s.lastUsedMs < lru.lastUsedMs || (s.lastUsedMs === lru.lastUsedMs && s.id < lru.id)) lru = s;
    }
    return lru;
  }

  private evict(s: FetchSession): void {
    this.remove(s.id);
    this.evictions++;
  }

  /** A random positive id no session has (Kafka's newSessionId). */
  private newSessionId(): number {
    for (;;) {
      const id = randomInt(1, INT32_MAX);
      if (!this.sessions.has(id)) return id;
    }
  }
}
