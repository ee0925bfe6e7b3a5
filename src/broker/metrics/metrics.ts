/**
 * The broker's Prometheus metrics (issue 21). One BrokerMetrics per broker, created only when
 * `http.listener` is set (src/broker/index.ts), so a broker without it counts nothing and every
 * hot-path hook below is a null check.
 *
 * Two kinds of figures:
 * - Counted where they happen, because only the moment knows them: requests, their error codes and
 *   latency per API and version (connection.ts through Broker.requestObserver), bytes and records in
 *   per topic (append.ts), bytes out per topic (01-fetch.ts), fsync latency (the storage engine's
 *   StorageObserver), hook calls (the hook chain's HookCallObserver). All kept in plain numbers
 *   (Maps, typed arrays): the request path allocates nothing (issue 21's 3 % limit; bench/README.md,
 *   "Metrics overhead").
 * - Read at scrape time from the state the broker keeps anyway, because reading it once per scrape is
 *   cheaper than updating a gauge on every append: partition offsets, sizes and segments, consumer
 *   group lag and state, connections, queued bytes, purgatories.
 *
 * A scrape gathers both as plain data (families.ts, exposed()) and hands them to the HTTP endpoint's
 * worker (../http/front-worker.ts), which writes the text with prom-client on a thread of its own:
 * this isolate never loads prom-client, whose classes, registry and scrape-path code every mark-compact of a busy broker
 * would walk (bench/README.md, "Session 13").
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
import { family, HistogramTally, histogramFamily, type MetricFamily, type Sample } from './families.js';
import { processFamilies } from './process.js';

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

/** A count per key, as plain numbers on the hot path. */
class Tally<K> {
  readonly counts = new Map<K, number>();
  add(key: K, n: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
}

/**
 * One series of a LabelTally: a class, so that its count field is its own. An object literal whose
 * first property is `value` shares its hidden class with V8's iterator results (`{ value, done }`),
 * whose `value` V8 treats as constant until some object of that class has it written again; the
 * first such write deoptimized the broker's produce path (bench/README.md, "Session 10: the scrape
 * that deoptimized the produce path"; test/metrics-constness.test.ts). Nothing on this thread writes
 * to a literal's `value`: series sent to the endpoint's worker are made afresh each scrape, with
 * `labels` first.
 */
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

  /** A counter family of every series. */
  family(name: string, help: string): MetricFamily {
    const f = family('counter', name, help, this.labelNames);
    for (const { labels, n } of this.entries.values()) f.samples.push({ labels, value: n });
    return f;
  }
}

/**
 * Requests of one API version: their latency histogram (and so their count), as plain numbers. It
 * holds a HistogramTally rather than extending one, so that every tally observed on this thread is
 * of one class (the request path's observe() sees one shape).
 */
class RequestTally {
  readonly seconds = new HistogramTally(REQUEST_SECONDS_BUCKETS);
  constructor(
    readonly api: string,
    readonly version: string,
  ) {}
}

/** A hook and stage's call durations. */
class HookTally {
  readonly seconds = new HistogramTally(HOOK_SECONDS_BUCKETS);
  constructor(readonly labels: { hook: string; stage: string }) {}
}

/**
 * Help texts of the series, by name: the exposition's `# HELP` lines. The series themselves are
 * made at scrape time (families()).
 */
const HELP = {
  rafka_broker_info: 'Always 1; the labels say which broker this is.',
  rafka_broker_ready: '1 once storage is recovered and the Kafka listener is accepting; 0 before, and while shutting down.',
  rafka_requests_total: 'Requests handled, by API and version.',
  rafka_request_errors_total:
    "Error codes in responses, by API and error: each partition, topic or group answered with an error counts once (Kafka's ErrorsPerSec).",
  rafka_request_failures_total: 'Requests whose handling failed (a broker bug: logged, and the connection closed), by API.',
  rafka_request_duration_seconds: 'Time from a request being taken off its connection queue to its response being handed to the socket, by API and version.',
  rafka_topic_bytes_in_total: 'Record batch bytes appended by producers, by topic.',
  rafka_topic_records_in_total: 'Records appended by producers, by topic.',
  rafka_topic_bytes_out_total: 'Record batch bytes read for Fetch responses, by topic.',
  rafka_partition_log_start_offset: 'First offset still readable, by partition.',
  rafka_partition_log_end_offset: 'Offset the next record gets (the high watermark), by partition.',
  rafka_partition_size_bytes: 'Bytes stored for the partition (what retention.bytes is measured against).',
  rafka_partition_segments: 'Segment files of the partition (log engine only).',
  rafka_storage_fsync_duration_seconds: 'Duration of each fsync of appended data (log engine segments, memory engine write-ahead log).',
  rafka_storage_faults_total: 'Storage engine failures answered since start: kind="io" (KAFKA_STORAGE_ERROR) or kind="internal" (a bug).',
  rafka_group_lag: 'Consumer lag: log end offset minus the committed offset, by group and partition.',
  rafka_group_committed_offset: 'Committed offset, by group and partition.',
  rafka_group_state: '1 for the state the group is in, 0 for the others.',
  rafka_group_members: 'Members of the group.',
  rafka_connections: 'Open client connections, by listener.',
  rafka_connections_accepted_total: 'Client connections accepted since start, by listener.',
  rafka_connections_refused_total: 'Client connections refused since start, by the limit that refused them.',
  rafka_request_queue_bytes: 'Request bytes read and not yet handled, broker-wide (capped by queued.max.request.bytes).',
  rafka_response_queue_bytes: 'Response bytes not yet written to sockets, broker-wide (capped by queued.max.response.bytes).',
  rafka_requests_in_flight: 'Requests read and not yet answered, over all connections.',
  rafka_fetch_purgatory_size: 'Fetch requests long-polling for data (waiting for min.bytes or max.wait.ms).',
  rafka_group_join_purgatory_size: 'JoinGroup requests parked until their group rebalances.',
  rafka_group_sync_purgatory_size: 'SyncGroup requests parked until the leader sends the assignment.',
  rafka_quota_throttle_seconds_total:
    'Throttle time handed to clients over their client quotas (src/broker/quotas/), by quota type (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate).',
  rafka_quota_throttled_responses_total: 'Responses throttled by a client quota, by quota type.',
  rafka_hook_calls_total: 'Hook calls, by hook and stage.',
  rafka_hook_failures_total: 'Hook calls that threw (reason="error") or ran past hook.timeout.ms (reason="timeout"), by hook and stage.',
  rafka_hook_call_duration_seconds: 'Duration of hook calls, by hook and stage.',
} as const;

type SeriesName = keyof typeof HELP;

export class BrokerMetrics implements StorageObserver, HookCallObserver {
  private broker: Broker | null = null;
  /** Requests and their latency by API key, then version (see RequestTally): two array indexes per request. */
  private readonly requestTallies: ((RequestTally | undefined)[] | undefined)[] = [];
  /** Per topic bytes in, records in and bytes out. */
  private readonly topicBytesIn = new Tally<string>();
  private readonly topicRecordsIn = new Tally<string>();
  private readonly topicBytesOut = new Tally<string>();
  /** Error codes answered, request failures, hook calls and hook failures. */
  private readonly errorTally = new LabelTally<'api' | 'error'>(['api', 'error']);
  private readonly failureTally = new LabelTally<'api'>(['api']);
  private readonly hookCallTally = new LabelTally<'hook' | 'stage'>(['hook', 'stage']);
  private readonly hookFailureTally = new LabelTally<'hook' | 'stage' | 'reason'>(['hook', 'stage', 'reason']);
  private readonly hookSeconds = new Map<string, HookTally>();
  private readonly fsyncSeconds = new HistogramTally(FSYNC_SECONDS_BUCKETS);

  /** Every hot-path method below may be called before attach (recovery fsyncs, hooks at start). */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  // ---- counted where they happen --------------------------------------------------------------------

  /** One request of API `apiKey` answered (`response` null: none sent) or failed, after `seconds`. */
  request(apiKey: number, apiVersion: number, response: unknown, seconds: number, failed: boolean): void {
    // No allocation here once an API version has been seen.
    let byVersion = this.requestTallies[apiKey];
    if (byVersion === undefined) this.requestTallies[apiKey] = byVersion = [];
    let tally = byVersion[apiVersion];
    if (tally === undefined) byVersion[apiVersion] = tally = new RequestTally(apiName(apiKey), String(apiVersion));
    tally.seconds.observe(seconds);
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
    const key = hook + '\u0000' + stage;
    let t = this.hookSeconds.get(key);
    if (t === undefined) this.hookSeconds.set(key, (t = new HookTally({ hook, stage })));
    t.seconds.observe(seconds);
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

  /**
   * Everything a scrape exposes, as plain data: this broker's series, then its thread's (event loop,
   * heap, GC). The HTTP endpoint's worker writes them out with the process-wide series after them
   * (../http/front-worker.ts, exposition-text.ts).
   */
  exposed(): MetricFamily[] {
    return [...this.families(), ...processFamilies()];
  }

  /** This broker's series as they are now, as plain data (families.ts), in the exposition's order. */
  families(): MetricFamily[] {
    const out: MetricFamily[] = [];
    const add = (type: 'counter' | 'gauge', name: SeriesName, labelNames: readonly string[] = []) => {
      const f = family(type, name, HELP[name], labelNames);
      out.push(f);
      return f.samples;
    };
    const b = this.broker;

    const requests = add('counter', 'rafka_requests_total', ['api', 'version']);
    for (const t of this.allRequestTallies()) requests.push({ labels: { api: t.api, version: t.version }, value: t.seconds.count });
    out.push(this.errorTally.family('rafka_request_errors_total', HELP.rafka_request_errors_total));
    out.push(this.failureTally.family('rafka_request_failures_total', HELP.rafka_request_failures_total));
    const requestSeconds = [...this.allRequestTallies()].map((t) => t.seconds.sample({ api: t.api, version: t.version }));
    out.push(histogramFamily('rafka_request_duration_seconds', HELP.rafka_request_duration_seconds, ['api', 'version'], REQUEST_SECONDS_BUCKETS, requestSeconds));

    // Per topic counters, of live topics only: a deleted topic's counters go with it (as Kafka removes its per-topic metrics).
    const live = b === null ? null : new Set(b.topics.list().map((t) => t.name));
    for (const [name, tally] of [
      ['rafka_topic_bytes_in_total', this.topicBytesIn],
      ['rafka_topic_records_in_total', this.topicRecordsIn],
      ['rafka_topic_bytes_out_total', this.topicBytesOut],
    ] as const) {
      const samples = add('counter', name, ['topic']);
      for (const [topic, total] of tally.counts) {
        if (live === null || live.has(topic)) samples.push({ labels: { topic }, value: total });
        else tally.counts.delete(topic);
      }
    }
    out.push(histogramFamily('rafka_storage_fsync_duration_seconds', HELP.rafka_storage_fsync_duration_seconds, [], FSYNC_SECONDS_BUCKETS, [this.fsyncSeconds.sample({})]));
    out.push(this.hookCallTally.family('rafka_hook_calls_total', HELP.rafka_hook_calls_total));
    out.push(this.hookFailureTally.family('rafka_hook_failures_total', HELP.rafka_hook_failures_total));
    const hookSeconds = [...this.hookSeconds.values()].map((t) => t.seconds.sample(t.labels));
    out.push(histogramFamily('rafka_hook_call_duration_seconds', HELP.rafka_hook_call_duration_seconds, ['hook', 'stage'], HOOK_SECONDS_BUCKETS, hookSeconds));

    const info = add('gauge', 'rafka_broker_info', ['node_id', 'cluster_id', 'storage']);
    const ready = add('gauge', 'rafka_broker_ready');
    if (b === null) {
      ready.push({ labels: {}, value: 0 });
      return out;
    }
    info.push({ labels: { node_id: String(b.nodeId), cluster_id: b.clusterId, storage: b.storage.kind }, value: 1 });
    ready.push({ labels: {}, value: b.isReady ? 1 : 0 });
    this.partitionFamilies(b, add);
    this.groupFamilies(b, add);
    this.connectionFamilies(b, add);
    const throttleSeconds = add('counter', 'rafka_quota_throttle_seconds_total', ['quota']);
    const throttled = add('counter', 'rafka_quota_throttled_responses_total', ['quota']);
    for (const [quota, t] of b.quotas.throttleTallies()) {
      throttleSeconds.push({ labels: { quota }, value: t.ms / 1000 });
      throttled.push({ labels: { quota }, value: t.count });
    }
    const faults = b.engineFaults;
    add('counter', 'rafka_storage_faults_total', ['kind']).push({ labels: { kind: 'io' }, value: faults.storageErrors }, { labels: { kind: 'internal' }, value: faults.internalErrors });
    return out;
  }

  private partitionFamilies(b: Broker, add: FamilyAdder): void {
    const logStart = add('gauge', 'rafka_partition_log_start_offset', ['topic', 'partition']);
    const logEnd = add('gauge', 'rafka_partition_log_end_offset', ['topic', 'partition']);
    const logSize = add('gauge', 'rafka_partition_size_bytes', ['topic', 'partition']);
    const segmentCount = add('gauge', 'rafka_partition_segments', ['topic', 'partition']);
    const segments = b.storage.capabilities.segments;
    for (const t of b.topics.list()) {
      for (let p = 0; p < t.partitionCount; p++) {
        const labels = { topic: t.name, partition: String(p) };
        const { logStartOffset, highWatermark } = b.storage.offsets(t.name, p);
        logStart.push({ labels, value: logStartOffset });
        logEnd.push({ labels, value: highWatermark });
        logSize.push({ labels, value: b.storage.sizeBytes(t.name, p) });
        if (segments !== null) segmentCount.push({ labels, value: segments.segmentCount(t.name, p) });
      }
    }
  }

  private groupFamilies(b: Broker, add: FamilyAdder): void {
    const lag = add('gauge', 'rafka_group_lag', ['group', 'topic', 'partition']);
    const committed = add('gauge', 'rafka_group_committed_offset', ['group', 'topic', 'partition']);
    const states = add('gauge', 'rafka_group_state', ['group', 'state']);
    const members = add('gauge', 'rafka_group_members', ['group']);
    let parkedJoins = 0;
    let parkedSyncs = 0;
    for (const listed of b.groups.listGroups([], []).groups) {
      const group = listed.groupId;
      for (const state of GROUP_STATES) states.push({ labels: { group, state }, value: listed.groupState === state ? 1 : 0 });
      const g = b.groups.group(group);
      members.push({ labels: { group }, value: g?.members.size ?? 0 });
      for (const m of g?.members.values() ?? []) {
        if (m.isAwaitingJoin) parkedJoins++;
        if (m.isAwaitingSync) parkedSyncs++;
      }
      for (const l of b.groups.lag(group)) {
        const labels = { group, topic: l.topic, partition: String(l.partition) };
        lag.push({ labels, value: l.lag });
        committed.push({ labels, value: l.committedOffset });
      }
    }
    add('gauge', 'rafka_group_join_purgatory_size').push({ labels: {}, value: parkedJoins });
    add('gauge', 'rafka_group_sync_purgatory_size').push({ labels: {}, value: parkedSyncs });
  }

  private connectionFamilies(b: Broker, add: FamilyAdder): void {
    add('gauge', 'rafka_connections', ['listener']).push({ labels: { listener: KAFKA_LISTENER }, value: b.connectionCount });
    const limits = b.connectionLimits.stats();
    add('counter', 'rafka_connections_accepted_total', ['listener']).push({ labels: { listener: KAFKA_LISTENER }, value: limits.accepted });
    add('counter', 'rafka_connections_refused_total', ['limit']).push(
      { labels: { limit: 'max.connections' }, value: limits.refusedMaxConnections },
      { labels: { limit: 'max.connections.per.ip' }, value: limits.refusedPerIp },
    );
    add('gauge', 'rafka_request_queue_bytes').push({ labels: {}, value: b.requestBudget.heldBytes });
    add('gauge', 'rafka_response_queue_bytes').push({ labels: {}, value: b.responseBudget.heldBytes });
    let inFlight = 0;
    for (const c of b.connectionStats()) inFlight += c.inFlight;
    add('gauge', 'rafka_requests_in_flight').push({ labels: {}, value: inFlight });
    add('gauge', 'rafka_fetch_purgatory_size').push({ labels: {}, value: b.waiters.waiting });
  }
}

/** Adds a counter or gauge family to a scrape and returns its (empty) list of series. */
type FamilyAdder = (type: 'counter' | 'gauge', name: SeriesName, labelNames?: readonly string[]) => Sample[];
