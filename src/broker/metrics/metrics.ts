/**
 * The broker's Prometheus metrics (issue 21), with prom-client. One BrokerMetrics per broker, created
 * only when `http.listener` is set (src/broker/index.ts), so a broker without it loads no prom-client
 * and every hot-path hook below is a null check.
 *
 * Two kinds of figures:
 * - Counted where they happen, because only the moment knows them: requests, their error codes and
 *   latency per API and version (connection.ts through Broker.requestObserver), bytes and records in
 *   per topic (append.ts), bytes out per topic (01-fetch.ts), fsync latency (the storage engine's
 *   StorageObserver), hook calls (the hook chain's HookCallObserver). The per-request and per-batch
 *   counts and the request latency histogram are kept in plain numbers, handed to prom-client at
 *   scrape time: prom-client's label hashing then runs once per scrape, not per request, and the
 *   request path allocates nothing (issue 21's 3 % limit; bench/README.md, "Metrics overhead").
 * - Read at scrape time from the state the broker keeps anyway, because reading it once per scrape is
 *   cheaper than updating a gauge on every append: partition offsets, sizes and segments, consumer
 *   group lag and state, connections, queued bytes, purgatories.
 *
 * Labels carry names an operator already sees in Kafka's own metrics (API, topic, partition, group,
 * hook, error name) and nothing else: no client id, address, principal, record content or config
 * value, so a scrape can never leak a secret or grow without bound on client input.
 *
 * Callers: the broker's event loop only (the observers, and the HTTP endpoint's scrape).
 */
import { errorName } from '../../protocol/error-codes.js';
import { ApiKey } from '../../protocol/messages/index.js';
import { apiName } from '../request-observer.js';
import type { HookCallObserver, HookCallOutcome } from '../../contracts/observers.js';
import type { StorageObserver } from '../../storage/engine.js';
import type { Broker } from '../broker.js';
import { Counter, Gauge, Histogram, Registry } from './prom.js';

/** Request latency buckets (seconds): from a cached Metadata answer to a long poll's max.wait. */
const REQUEST_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** fsync latency buckets (seconds): a page-cache-only device to a struggling disk. */
const FSYNC_SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Hook call buckets (seconds): a synchronous check to `hook.timeout.ms` (default 1 s). */
const HOOK_SECONDS_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** The states of a classic consumer group (Kafka's GroupState), each a series of `rafka_group_state`. */
const GROUP_STATES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'] as const;

/** The one listener a broker has today; the label is there so a second (TLS, SASL) adds series, not names. */
const KAFKA_LISTENER = 'kafka';

/**
 * Calls `found` for every non-zero `errorCode` in a response body (Kafka's errorCounts: each
 * partition, topic or group answered with an error counts once). Record bytes are not walked.
 */
export function forEachErrorCode<A>(body: object, found: (code: number, arg: A) => void, arg: A): void {
  if (Array.isArray(body)) {
    for (let i = 0; i < body.length; i++) {
      const item: unknown = body[i];
      if (item !== null && typeof item === 'object') forEachErrorCode(item, found, arg);
    }
    return;
  }
  if (ArrayBuffer.isView(body)) return;
  const o = body as Record<string, unknown>;
  for (const key in o) {
    const value = o[key];
    if (key === 'errorCode') {
      if (typeof value === 'number' && value !== 0) found(value, arg);
    } else if (value !== null && typeof value === 'object' && key !== 'records') {
      forEachErrorCode(value, found, arg);
    }
  }
}

/** Where a response's error codes are found, for a callback and its argument. */
type ErrorCodeWalk = <A>(body: any, found: (code: number, arg: A) => void, arg: A) => void;

/**
 * forEachErrorCode for the data path's two APIs, written for their schema (Produce: each partition's
 * `errorCode`; Fetch: the top-level one and each partition's), which has no other `errorCode`. The
 * generic walk visits every key of every object of the response with `for…in`: about 100 ns per
 * Produce answer in isolation, against 9 for this (bench/README.md, "Session 11"; the metrics row
 * cannot tell the two apart, but it runs on every answer of the data path). A body not shaped as the
 * schema says (a hook's doing) goes to the generic walk.
 */
const SCHEMA_ERROR_WALKS = new Map<number, ErrorCodeWalk>([
  [ApiKey.Produce, (body, found, arg) => (Array.isArray(body.responses) ? forEachPartitionErrorCode(body.responses, 'partitionResponses', found, arg) : forEachErrorCode(body, found, arg))],
  [
    ApiKey.Fetch,
    (body, found, arg) => {
      if (!Array.isArray(body.responses)) return forEachErrorCode(body, found, arg);
      if (typeof body.errorCode === 'number' && body.errorCode !== 0) found(body.errorCode, arg);
      forEachPartitionErrorCode(body.responses, 'partitions', found, arg);
    },
  ],
]);

/** The `errorCode` of each partition under each topic's `partitionsKey`; a topic without that array goes to the generic walk. */
function forEachPartitionErrorCode<A>(topics: any[], partitionsKey: string, found: (code: number, arg: A) => void, arg: A): void {
  for (let t = 0; t < topics.length; t++) {
    const partitions: unknown = topics[t]?.[partitionsKey];
    if (!Array.isArray(partitions)) {
      if (topics[t] !== null && typeof topics[t] === 'object') forEachErrorCode(topics[t], found, arg);
      continue;
    }
    for (let p = 0; p < partitions.length; p++) {
      const code: unknown = partitions[p]?.errorCode;
      if (typeof code === 'number' && code !== 0) found(code, arg);
    }
  }
}

/** forEachErrorCode, by the schema's shortcut where API `apiKey` has one (SCHEMA_ERROR_WALKS). */
export function forEachResponseErrorCode<A>(apiKey: number, body: object, found: (code: number, arg: A) => void, arg: A): void {
  const walk = SCHEMA_ERROR_WALKS.get(apiKey);
  if (walk === undefined || Array.isArray(body)) forEachErrorCode(body, found, arg);
  else walk(body, found, arg);
}

/**
 * Counts kept as plain numbers on the hot path and copied into prom-client at scrape time, into
 * series made afresh (`reset()`, then one `inc()` per series: prom-client then builds each series
 * object with its total and never adds to it).
 *
 * Why never add: prom-client keeps a counter's series as `{ value, labels }` and `inc()` on an
 * existing series does `value += n`. An object literal whose first property is `value` shares its
 * hidden class with V8's iterator results (`{ value, done }`, every `for…of` and spread), whose
 * `value` field V8 treats as constant until some object of that class has it written again; the
 * first such write deoptimizes every optimized function that relied on it — in the broker the
 * produce path's `for…of` loops (Produce's request collapsing, the response encoders, the
 * connection's send) — and they are compiled again without the assumption. One scrape or one repeated
 * error code was enough (bench/README.md, "Session 10: the scrape that deoptimized the produce path";
 * test/metrics-constness.test.ts).
 */
class Tally<K> {
  readonly counts = new Map<K, number>();
  add(key: K, n: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
}

/** One series of a LabelTally: a class, so that its count field is its own (see Tally). */
class LabelCount<L extends string> {
  constructor(
    readonly labels: Record<L, string>,
    public n: number,
  ) {}
}

/** A Tally keyed by several label values (joined with a character no label value here contains). */
class LabelTally<L extends string> {
  private readonly entries = new Map<string, LabelCount<L>>();
  constructor(private readonly labelNames: readonly L[]) {}

  add(labels: Record<L, string>, n = 1): void {
    let key = '';
    for (const name of this.labelNames) key += labels[name] + '\u0000';
    const e = this.entries.get(key);
    if (e === undefined) this.entries.set(key, new LabelCount({ ...labels }, n));
    else e.n += n;
  }

  /** Every series into `counter`, made afresh (see Tally). */
  writeTo(counter: Counter<L>): void {
    counter.reset();
    for (const { labels, n } of this.entries.values()) counter.inc(labels as Partial<Record<L, string>>, n);
  }
}

/**
 * Requests of one API version, as plain numbers: their count and their latency histogram (observations
 * per bucket, not cumulative: index i counts latencies above bound i−1 up to bound i, the last index
 * those above every bound). RequestSecondsHistogram hands them to prom-client at scrape time.
 */
class RequestTally {
  count = 0;
  sum = 0;
  readonly buckets = new Float64Array(REQUEST_SECONDS_BUCKETS.length + 1);
  constructor(
    readonly api: string,
    readonly version: string,
  ) {}

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < REQUEST_SECONDS_BUCKETS.length && seconds > REQUEST_SECONDS_BUCKETS[i]!) i++;
    this.buckets[i]!++;
  }
}

/** What a prom-client histogram hands its registry: the series' names, labels and values. */
type HistogramData = Awaited<ReturnType<Histogram<string>['get']>>;

/**
 * `rafka_request_duration_seconds`, observed into RequestTally on the request path and written out by
 * prom-client from them. prom-client's own observe() builds a label object, a hash string and a
 * bucket key string per call and goes through dictionary-mode objects; on the produce path that
 * per-request code, inlined into the connection's hot functions, made the broker's JIT compile and
 * GC work measurably more (bench/README.md, "Metrics overhead"). The exposition is the same: cumulative
 * `_bucket` series with `le`, then `_sum` and `_count`, per API and version.
 */
class RequestSecondsHistogram extends Histogram<'api' | 'version'> {
  static readonly NAME = 'rafka_request_duration_seconds';

  constructor(
    registry: Registry,
    private readonly helpText: string,
    private readonly tallies: () => Iterable<RequestTally>,
  ) {
    super({ name: RequestSecondsHistogram.NAME, help: helpText, labelNames: ['api', 'version'], buckets: REQUEST_SECONDS_BUCKETS, registers: [registry] });
  }

  override async get(): Promise<HistogramData> {
    const name = RequestSecondsHistogram.NAME;
    const values: HistogramData['values'] = [];
    for (const t of this.tallies()) {
      let cumulative = 0;
      for (let i = 0; i < REQUEST_SECONDS_BUCKETS.length; i++) {
        cumulative += t.buckets[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { le: REQUEST_SECONDS_BUCKETS[i]!, api: t.api, version: t.version }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', api: t.api, version: t.version }, value: t.count });
      values.push({ metricName: `${name}_sum`, labels: { api: t.api, version: t.version }, value: t.sum });
      values.push({ metricName: `${name}_count`, labels: { api: t.api, version: t.version }, value: t.count });
    }
    // The registry reads `type` as the exposition's word ('histogram', what prom-client's own classes
    // hold); its typings declare a numeric enum that its JavaScript does not have, hence the cast.
    return { name, help: this.helpText, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramData;
  }

  /** What the registry reads for the text format (prom-client prefers it to get()). */
  getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

export class BrokerMetrics implements StorageObserver, HookCallObserver {
  readonly registry = new Registry();
  private broker: Broker | null = null;
  /** Requests and their latency by API key, then version (see RequestTally): two array indexes per request. */
  private readonly requestTallies: ((RequestTally | undefined)[] | undefined)[] = [];
  /** Per topic bytes in, records in and bytes out (see Tally). */
  private readonly topicBytesIn = new Tally<string>();
  private readonly topicRecordsIn = new Tally<string>();
  private readonly topicBytesOut = new Tally<string>();
  /** Error codes answered, request failures, hook calls and hook failures (see Tally for why not prom-client's inc()). */
  private readonly errorTally = new LabelTally<'api' | 'error'>(['api', 'error']);
  private readonly failureTally = new LabelTally<'api'>(['api']);
  private readonly hookCallTally = new LabelTally<'hook' | 'stage'>(['hook', 'stage']);
  private readonly hookFailureTally = new LabelTally<'hook' | 'stage' | 'reason'>(['hook', 'stage', 'reason']);

  private readonly requests = this.counter('rafka_requests_total', 'Requests handled, by API and version.', ['api', 'version']);
  private readonly requestErrors = this.counter(
    'rafka_request_errors_total',
    "Error codes in responses, by API and error: each partition, topic or group answered with an error counts once (Kafka's ErrorsPerSec).",
    ['api', 'error'],
  );
  private readonly requestFailures = this.counter('rafka_request_failures_total', 'Requests whose handling failed (a broker bug: logged, and the connection closed), by API.', ['api']);
  private readonly requestSeconds = new RequestSecondsHistogram(
    this.registry,
    'Time from a request being taken off its connection queue to its response being handed to the socket, by API and version.',
    () => this.allRequestTallies(),
  );
  private readonly bytesIn = this.counter('rafka_topic_bytes_in_total', 'Record batch bytes appended by producers, by topic.', ['topic']);
  private readonly recordsIn = this.counter('rafka_topic_records_in_total', 'Records appended by producers, by topic.', ['topic']);
  private readonly bytesOut = this.counter('rafka_topic_bytes_out_total', 'Record batch bytes read for Fetch responses, by topic.', ['topic']);
  private readonly fsyncSeconds = this.histogram(
    'rafka_storage_fsync_duration_seconds',
    'Duration of each fsync of appended data (log engine segments, memory engine write-ahead log).',
    [],
    FSYNC_SECONDS_BUCKETS,
  );
  private readonly hookCalls = this.counter('rafka_hook_calls_total', 'Hook calls, by hook and stage.', ['hook', 'stage']);
  private readonly hookFailures = this.counter(
    'rafka_hook_failures_total',
    'Hook calls that threw (reason="error") or ran past hook.timeout.ms (reason="timeout"), by hook and stage.',
    ['hook', 'stage', 'reason'],
  );
  private readonly hookSeconds = this.histogram('rafka_hook_call_duration_seconds', 'Duration of hook calls, by hook and stage.', ['hook', 'stage'], HOOK_SECONDS_BUCKETS);

  // ---- read at scrape time ------------------------------------------------------------------------
  private readonly brokerInfo = this.gauge('rafka_broker_info', 'Always 1; the labels say which broker this is.', ['node_id', 'cluster_id', 'storage']);
  private readonly ready = this.gauge('rafka_broker_ready', '1 once storage is recovered and the Kafka listener is accepting; 0 before, and while shutting down.');
  private readonly logStart = this.gauge('rafka_partition_log_start_offset', 'First offset still readable, by partition.', ['topic', 'partition']);
  private readonly logEnd = this.gauge('rafka_partition_log_end_offset', 'Offset the next record gets (the high watermark), by partition.', ['topic', 'partition']);
  private readonly logSize = this.gauge('rafka_partition_size_bytes', 'Bytes stored for the partition (what retention.bytes is measured against).', ['topic', 'partition']);
  private readonly segments = this.gauge('rafka_partition_segments', 'Segment files of the partition (log engine only).', ['topic', 'partition']);
  private readonly groupLag = this.gauge('rafka_group_lag', 'Consumer lag: log end offset minus the committed offset, by group and partition.', ['group', 'topic', 'partition']);
  private readonly groupCommitted = this.gauge('rafka_group_committed_offset', 'Committed offset, by group and partition.', ['group', 'topic', 'partition']);
  private readonly groupState = this.gauge('rafka_group_state', '1 for the state the group is in, 0 for the others.', ['group', 'state']);
  private readonly groupMembers = this.gauge('rafka_group_members', 'Members of the group.', ['group']);
  private readonly connections = this.gauge('rafka_connections', 'Open client connections, by listener.', ['listener']);
  private readonly connectionsAccepted = this.counter('rafka_connections_accepted_total', 'Client connections accepted since start, by listener.', ['listener']);
  private readonly connectionsRefused = this.counter('rafka_connections_refused_total', 'Client connections refused since start, by the limit that refused them.', ['limit']);
  private readonly requestQueueBytes = this.gauge('rafka_request_queue_bytes', 'Request bytes read and not yet handled, broker-wide (capped by queued.max.request.bytes).');
  private readonly responseQueueBytes = this.gauge('rafka_response_queue_bytes', 'Response bytes not yet written to sockets, broker-wide (capped by queued.max.response.bytes).');
  private readonly inFlight = this.gauge('rafka_requests_in_flight', 'Requests read and not yet answered, over all connections.');
  private readonly fetchPurgatory = this.gauge('rafka_fetch_purgatory_size', 'Fetch requests long-polling for data (waiting for min.bytes or max.wait.ms).');
  private readonly joinPurgatory = this.gauge('rafka_group_join_purgatory_size', 'JoinGroup requests parked until their group rebalances.');
  private readonly syncPurgatory = this.gauge('rafka_group_sync_purgatory_size', 'SyncGroup requests parked until the leader sends the assignment.');
  private readonly throttleSeconds = this.counter(
    'rafka_quota_throttle_seconds_total',
    'Throttle time handed to clients over their client quotas (src/broker/quotas/), by quota type (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate).',
    ['quota'],
  );
  private readonly throttled = this.counter('rafka_quota_throttled_responses_total', 'Responses throttled by a client quota, by quota type.', ['quota']);
  private readonly storageFaults = this.counter('rafka_storage_faults_total', 'Storage engine failures answered since start: kind="io" (KAFKA_STORAGE_ERROR) or kind="internal" (a bug).', ['kind']);

  /** Every hot-path method below may be called before attach (recovery fsyncs, hooks at start). */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  // ---- counted where they happen --------------------------------------------------------------------

  /** One request of API `apiKey` answered (`response` null: none sent) or failed, after `seconds`. */
  request(apiKey: number, apiVersion: number, response: unknown, seconds: number, failed: boolean): void {
    // No allocation here once an API version has been seen: see RequestSecondsHistogram for why.
    let byVersion = this.requestTallies[apiKey];
    if (byVersion === undefined) this.requestTallies[apiKey] = byVersion = [];
    let tally = byVersion[apiVersion];
    if (tally === undefined) byVersion[apiVersion] = tally = new RequestTally(apiName(apiKey), String(apiVersion));
    tally.observe(seconds);
    if (failed) this.failureTally.add({ api: tally.api });
    else if (response !== null && typeof response === 'object') forEachResponseErrorCode(apiKey, response, this.countError, tally.api);
  }

  private readonly countError = (code: number, api: string): void => {
    this.errorTally.add({ api, error: errorName(code) });
  };

  private *allRequestTallies(): Iterable<RequestTally> {
    for (const byVersion of this.requestTallies) if (byVersion !== undefined) for (const t of byVersion) if (t !== undefined) yield t;
  }

  /** A produced batch appended to `topic`. */
  produced(topic: string, bytes: number, records: number): void {
    this.topicBytesIn.add(topic, bytes);
    this.topicRecordsIn.add(topic, records);
  }

  /** Record bytes of `topic` put in a Fetch response. */
  fetched(topic: string, bytes: number): void {
    this.topicBytesOut.add(topic, bytes);
  }

  fsync(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }

  hookCall(hook: string, stage: string, seconds: number, outcome: HookCallOutcome): void {
    this.hookCallTally.add({ hook, stage });
    this.hookSeconds.observe({ hook, stage }, seconds);
    if (outcome !== 'ok') this.hookFailureTally.add({ hook, stage, reason: outcome });
  }

  /** Bytes and records produced and bytes fetched since start, over every live topic (the web console's sparklines). */
  totals(): { bytesIn: number; recordsIn: number; bytesOut: number } {
    const sum = (t: Tally<string>) => {
      let n = 0;
      for (const v of t.counts.values()) n += v;
      return n;
    };
    return { bytesIn: sum(this.topicBytesIn), recordsIn: sum(this.topicRecordsIn), bytesOut: sum(this.topicBytesOut) };
  }

  // ---- scrape ---------------------------------------------------------------------------------------

  /** The Prometheus text exposition of this broker's metrics (the process's are added by the endpoint). */
  async text(): Promise<string> {
    this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Sets every scrape-time figure from the broker's state. */
  private refresh(): void {
    const b = this.broker;
    if (b === null) return;
    for (const g of [this.brokerInfo, this.logStart, this.logEnd, this.logSize, this.segments, this.groupLag, this.groupCommitted, this.groupState, this.groupMembers]) g.reset();
    this.brokerInfo.set({ node_id: String(b.nodeId), cluster_id: b.clusterId, storage: b.storage.kind }, 1);
    this.ready.set(b.isReady ? 1 : 0);
    this.requests.reset();
    for (const t of this.allRequestTallies()) this.requests.inc({ api: t.api, version: t.version }, t.count);
    this.errorTally.writeTo(this.requestErrors);
    this.failureTally.writeTo(this.requestFailures);
    this.hookCallTally.writeTo(this.hookCalls);
    this.hookFailureTally.writeTo(this.hookFailures);
    this.refreshPartitions(b);
    this.refreshGroups(b);
    this.refreshQuotas(b);
    this.refreshConnections(b);
    const faults = b.engineFaults;
    this.setCounter(this.storageFaults, { kind: 'io' }, faults.storageErrors);
    this.setCounter(this.storageFaults, { kind: 'internal' }, faults.internalErrors);
  }

  private refreshPartitions(b: Broker): void {
    const live = new Set<string>();
    const segments = b.storage.capabilities.segments;
    for (const t of b.topics.list()) {
      live.add(t.name);
      for (let p = 0; p < t.partitionCount; p++) {
        const labels = { topic: t.name, partition: String(p) };
        const { logStartOffset, highWatermark } = b.storage.offsets(t.name, p);
        this.logStart.set(labels, logStartOffset);
        this.logEnd.set(labels, highWatermark);
        this.logSize.set(labels, b.storage.sizeBytes(t.name, p));
        if (segments !== null) this.segments.set(labels, segments.segmentCount(t.name, p));
      }
    }
    // A deleted topic's counters go with it (as Kafka removes its per-topic metrics).
    for (const [tally, counter] of [
      [this.topicBytesIn, this.bytesIn],
      [this.topicRecordsIn, this.recordsIn],
      [this.topicBytesOut, this.bytesOut],
    ] as const) {
      counter.reset();
      for (const [topic, total] of tally.counts) {
        if (live.has(topic)) counter.inc({ topic }, total);
        else tally.counts.delete(topic);
      }
    }
  }

  private refreshGroups(b: Broker): void {
    let parkedJoins = 0;
    let parkedSyncs = 0;
    for (const listed of b.groups.listGroups([], []).groups) {
      const group = listed.groupId;
      for (const state of GROUP_STATES) this.groupState.set({ group, state }, listed.groupState === state ? 1 : 0);
      const g = b.groups.group(group);
      this.groupMembers.set({ group }, g?.members.size ?? 0);
      for (const m of g?.members.values() ?? []) {
        if (m.isAwaitingJoin) parkedJoins++;
        if (m.isAwaitingSync) parkedSyncs++;
      }
      for (const l of b.groups.lag(group)) {
        const labels = { group, topic: l.topic, partition: String(l.partition) };
        this.groupLag.set(labels, l.lag);
        this.groupCommitted.set(labels, l.committedOffset);
      }
    }
    this.joinPurgatory.set(parkedJoins);
    this.syncPurgatory.set(parkedSyncs);
  }

  private refreshQuotas(b: Broker): void {
    for (const [quota, t] of b.quotas.throttleTallies()) {
      this.setCounter(this.throttleSeconds, { quota }, t.ms / 1000);
      this.setCounter(this.throttled, { quota }, t.count);
    }
  }

  private refreshConnections(b: Broker): void {
    this.connections.set({ listener: KAFKA_LISTENER }, b.connectionCount);
    const limits = b.connectionLimits.stats();
    this.setCounter(this.connectionsAccepted, { listener: KAFKA_LISTENER }, limits.accepted);
    this.setCounter(this.connectionsRefused, { limit: 'max.connections' }, limits.refusedMaxConnections);
    this.setCounter(this.connectionsRefused, { limit: 'max.connections.per.ip' }, limits.refusedPerIp);
    this.requestQueueBytes.set(b.requestBudget.heldBytes);
    this.responseQueueBytes.set(b.responseBudget.heldBytes);
    let inFlight = 0;
    for (const c of b.connectionStats()) inFlight += c.inFlight;
    this.inFlight.set(inFlight);
    this.fetchPurgatory.set(b.waiters.waiting);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A counter whose total the broker already keeps, set at scrape time (the total only ever grows). */
  private setCounter<L extends string>(c: Counter<L>, labels: Partial<Record<L, string>>, total: number): void {
    c.remove(labels);
    c.inc(labels, total);
  }
}
