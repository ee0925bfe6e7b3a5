/**
 * Client quota enforcement, as Kafka's ClientQuotaManager (with its DefaultQuotaCallback),
 * ClientRequestQuotaManager and ControllerMutationQuotaManager do it:
 * - producer_byte_rate: the bytes of each Produce request; consumer_byte_rate: the bytes of each
 *   Fetch response (a throttled Fetch answers empty, and its bytes are taken back, as Kafka does);
 *   request_percentage: the time spent handling each request, as a percentage of one second per
 *   second. Each is a rate over `quota.window.num` windows of `quota.window.size.seconds`; over the
 *   quota, the throttle time is (rate - quota) / quota × window (request_percentage: at most the
 *   whole window).
 * - controller_mutation_rate: partitions created (CreateTopics, CreatePartitions) or deleted
 *   (DeleteTopics), in a token bucket; with strict versions (CreateTopics v6+, DeleteTopics v5+,
 *   CreatePartitions v3+) a topic asked for while the bucket is empty is refused with
 *   THROTTLING_QUOTA_EXCEEDED, older versions are only throttled.
 *
 * Which quota applies, and which clients share one rate, follows Kafka's resolution order: the
 * first entity that has a quota of that type among
 *   user+client-id, user+<default client-id>, user, <default user>+client-id,
 *   <default user>+<default client-id>, <default user>, client-id, <default client-id>.
 * A quota on a user alone is shared by all of that user's clients; one on a client id alone by all
 * connections with that client id. The user is the connection's principal name (ANONYMOUS before
 * authentication, as in Kafka), the client id the request header's (null counts as "").
 *
 * The connection (src/broker/connection.ts) records and applies the byte and request throttles and
 * mutes itself for the throttle time after answering (KIP-219); the three topic APIs ask for a
 * `MutationQuota` and put its throttle in their response.
 *
 * Callers: the broker's event loop only.
 */
import { MAX_QUOTA_SENSORS } from '../../base/limits.js';
import { SYSTEM_CLOCK, type Clock } from '../../base/clock.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { RequestContext, RequestQuota } from '../handler.js';
import { ClientQuotaStore, type QuotaEntity, type QuotaKey } from './entities.js';
import { SampledRate, TokenBucket, bucketThrottleMs, rateThrottleMs } from '../../base/rates.js';

export interface QuotaWindows {
  quotaWindowNum: number;
  quotaWindowSizeSeconds: number;
  controllerQuotaWindowNum: number;
  controllerQuotaWindowSizeSeconds: number;
}

/** The longest throttle one response may carry (throttle_time_ms is an int32). */
const MAX_THROTTLE_INT32 = 2_147_483_647;

/** Throttle time handed out per quota type, for metrics: total ms and how many responses. */
export interface ThrottleTally {
  ms: number;
  count: number;
}

/** One quota type's sensors: a rate or a bucket per (user, client-id) metric tags. */
class QuotaType<S> {
  /** Whether any entity has this quota at all; off, nothing is recorded (Kafka's quotasEnabled). */
  enabled = false;
  private readonly sensors = new Map<string, S>();
  readonly throttled: ThrottleTally = { ms: 0, count: 0 };

  constructor(
    readonly key: QuotaKey,
    private readonly store: ClientQuotaStore,
    private readonly make: () => S,
  ) {}

  private has(e: QuotaEntity): boolean {
    return this.store.get(e, this.key) !== undefined;
  }

  /**
   * Kafka's DefaultQuotaCallback.quotaMetricTags: the (user, client-id) whose rate this client's
   * usage counts in — "" where the applying quota does not distinguish.
   */
  tags(user: string, clientId: string): [string, string] {
    if (this.has({ user, clientId })) return [user, clientId];
    if (this.has({ user, clientId: null })) return [user, clientId];
    if (this.has({ user })) return [user, ''];
    if (this.has({ user: null, clientId })) return [user, clientId];
    if (this.has({ user: null, clientId: null })) return [user, clientId];
    if (this.has({ user: null })) return [user, ''];
    return ['', clientId];
  }

  /** Kafka's DefaultQuotaCallback.quotaLimit for the tags; undefined: no quota applies. */
  limit(user: string, clientId: string): number | undefined {
    const q = (e: QuotaEntity) => this.store.get(e, this.key);
    if (user !== '' && clientId !== '') return q({ user, clientId }) ?? q({ user, clientId: null }) ?? q({ user: null, clientId }) ?? q({ user: null, clientId: null });
    if (user !== '') return q({ user }) ?? q({ user: null });
    if (clientId !== '') return q({ clientId }) ?? q({ clientId: null });
    return undefined;
  }

  /** The sensor of these tags, most recently used last (the least recently used goes past the bound). */
  sensor(tags: [string, string]): S {
    const id = `${tags[0]}\u0000${tags[1]}`;
    let s = this.sensors.get(id);
    if (s !== undefined) this.sensors.delete(id);
    else s = this.make();
    this.sensors.set(id, s);
    if (this.sensors.size > MAX_QUOTA_SENSORS) this.sensors.delete(this.sensors.keys().next().value as string);
    return s;
  }

  /** Quotas changed: sensors start over (their tags may now resolve differently). */
  reset(): void {
    this.enabled = this.store.has(this.key);
    this.sensors.clear();
  }

  count(ms: number): void {
    if (ms <= 0) return;
    this.throttled.ms += ms;
    this.throttled.count++;
  }
}

/** A rate quota (bytes or request time) for one client, as recorded by one request. */
class RateQuota {
  constructor(
    private readonly type: QuotaType<SampledRate>,
    private readonly maxThrottleMs: number,
  ) {}

  /** Record `value` for this client; the throttle time its rate now calls for (0 when within quota). */
  record(user: string, clientId: string, value: number, now: number): number {
    if (!this.type.enabled) return 0;
    const tags = this.type.tags(user, clientId);
    const quota = this.type.limit(tags[0], tags[1]);
    if (quota === undefined) return 0;
    const rate = this.type.sensor(tags);
    rate.record(value, now);
    return Math.min(rateThrottleMs(rate.rate(now), quota, rate.windowSize(now)), this.maxThrottleMs);
  }

  /** Take back what a throttled Fetch recorded (it answers empty instead). */
  unrecord(user: string, clientId: string, value: number, now: number): void {
    if (!this.type.enabled) return;
    const tags = this.type.tags(user, clientId);
    if (this.type.limit(tags[0], tags[1]) === undefined) return;
    this.type.sensor(tags).record(-value, now);
  }

  /** Kafka's getMaxValueInQuotaWindow: the most one request may record without certain throttling. */
  maxValueInWindow(user: string, clientId: string, windowNum: number, windowSeconds: number): number {
    if (!this.type.enabled) return Number.POSITIVE_INFINITY;
    const tags = this.type.tags(user, clientId);
    const quota = this.type.limit(tags[0], tags[1]);
    return quota === undefined ? Number.POSITIVE_INFINITY : quota * (windowNum - 1) * windowSeconds;
  }
}

/**
 * The controller mutation quota of one request (Kafka's Strict/PermissiveControllerMutationQuota):
 * `admit(partitions)` before creating or deleting a topic's partitions; false (strict only) means
 * the topic is refused with THROTTLING_QUOTA_EXCEEDED. `throttleTimeMs` goes in the response.
 */
export class MutationQuota {
  private throttleMs = 0;
  private recordedAt = 0;

  constructor(
    private readonly bucket: TokenBucket | null,
    private readonly quota: number,
    private readonly strict: boolean,
    private readonly type: QuotaType<TokenBucket> | null,
    private readonly request: RequestQuota | null,
    private readonly clock: Clock,
  ) {}

  admit(partitions: number): boolean {
    const now = this.clock.now();
    if (this.bucket === null) return true;
    if (this.strict) {
      const tokens = this.bucket.measure(this.quota, now);
      if (tokens < 0) {
        this.throttleMs = bucketThrottleMs(tokens, this.quota);
        this.recordedAt = now;
        return false;
      }
      this.bucket.record(this.quota, partitions, now);
      return true;
    }
    this.bucket.record(this.quota, partitions, now);
    const t = bucketThrottleMs(this.bucket.measure(this.quota, now), this.quota);
    if (t > 0) {
      this.throttleMs = t;
      this.recordedAt = now;
    }
    return true;
  }

  /** Give back what `admit` took for partitions that were not created or deleted after all. */
  refund(partitions: number): void {
    if (this.bucket !== null) this.bucket.record(this.quota, -partitions, this.clock.now());
  }

  /**
   * The request is done: its throttle, still due (Kafka deducts the time since it was computed),
   * goes to the connection, which puts it in the response and mutes for it.
   */
  done(): void {
    const now = this.clock.now();
    const t = Math.min(Math.max(0, this.throttleMs - (now - this.recordedAt)), MAX_THROTTLE_INT32);
    if (t <= 0 || this.request === null) return;
    this.type?.count(t);
    this.request.throttleMs = Math.max(this.request.throttleMs, t);
  }
}

/** Kafka's message for THROTTLING_QUOTA_EXCEEDED. */
export const THROTTLING_QUOTA_EXCEEDED_MESSAGE = 'The throttling quota has been exceeded.';

const UNBOUNDED_MUTATIONS = new MutationQuota(null, 0, false, null, null, SYSTEM_CLOCK);

export class ClientQuotas {
  readonly store: ClientQuotaStore;
  readonly produce: RateQuota;
  readonly fetch: RateQuota;
  readonly request: RateQuota;
  private readonly produceType: QuotaType<SampledRate>;
  private readonly fetchType: QuotaType<SampledRate>;
  private readonly requestType: QuotaType<SampledRate>;
  private readonly mutationType: QuotaType<TokenBucket>;
  /** Whether any quota is set: off, a request costs the connection one property read. */
  active = false;

  constructor(
    storage: StorageEngine,
    private readonly windows: QuotaWindows,
    /** Quota windows and throttles run on the broker's clock (virtual time in tests). */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.store = new ClientQuotaStore(storage);
    const samples = windows.quotaWindowNum;
    const windowMs = windows.quotaWindowSizeSeconds * 1000;
    const rate = () => new SampledRate(samples, windowMs);
    this.produceType = new QuotaType('producer_byte_rate', this.store, rate);
    this.fetchType = new QuotaType('consumer_byte_rate', this.store, rate);
    this.requestType = new QuotaType('request_percentage', this.store, rate);
    this.mutationType = new QuotaType('controller_mutation_rate', this.store, () => new TokenBucket(windows.controllerQuotaWindowNum, windows.controllerQuotaWindowSizeSeconds * 1000));
    this.produce = new RateQuota(this.produceType, MAX_THROTTLE_INT32);
    this.fetch = new RateQuota(this.fetchType, MAX_THROTTLE_INT32);
    // Kafka's ClientRequestQuotaManager bounds its throttle by the whole quota window.
    this.request = new RateQuota(this.requestType, samples * windowMs);
    this.store.onChange = (keys) => {
      for (const t of this.types()) if (keys.has(t.key)) t.reset();
      this.active = this.types().some((t) => t.enabled);
    };
  }

  private types(): QuotaType<unknown>[] {
    return [this.produceType, this.fetchType, this.requestType, this.mutationType];
  }

  /** After storage is open: the stored quotas. */
  load(): void {
    this.store.load();
    this.store.onChange?.(new Set(['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate']));
  }

  /** The most bytes one Fetch may answer with before its consumer_byte_rate certainly throttles it. */
  fetchMaxBytes(user: string, clientId: string): number {
    return this.fetch.maxValueInWindow(user, clientId, this.windows.quotaWindowNum, this.windows.quotaWindowSizeSeconds);
  }

  /**
   * The controller mutation quota of one CreateTopics / CreatePartitions / DeleteTopics request,
   * strict from `strictFromVersion` on. Its throttle goes to the connection through `ctx.quota`
   * (call `done` once the request's partitions are counted).
   */
  mutations(ctx: RequestContext, strictFromVersion: number): MutationQuota {
    const t = this.mutationType;
    if (ctx.quota === undefined || !t.enabled) return UNBOUNDED_MUTATIONS;
    const user = ctx.security.principal;
    const clientId = ctx.clientId ?? '';
    const strict = ctx.apiVersion >= strictFromVersion;
    const tags = t.tags(user, clientId);
    const quota = t.limit(tags[0], tags[1]);
    if (quota === undefined) return UNBOUNDED_MUTATIONS;
    return new MutationQuota(t.sensor(tags), quota, strict, t, ctx.quota, this.clock);
  }

  /** Count a throttle handed out (metrics), by quota type. */
  counted(type: 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage', ms: number): void {
    ({ producer_byte_rate: this.produceType, consumer_byte_rate: this.fetchType, request_percentage: this.requestType })[type].count(ms);
  }

  /** Throttle time handed out so far, per quota type (metrics read it at scrape time). */
  throttleTallies(): ReadonlyMap<QuotaKey, ThrottleTally> {
    return new Map(this.types().map((t) => [t.key, t.throttled]));
  }
}
