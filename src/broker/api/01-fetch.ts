/**
 * Fetch (key 1), versions 4–18 (v0–3 were removed in Kafka 4.0, KIP-896).
 * - Long polling: when less than `min_bytes` is available the request waits up to `max_wait_ms`, woken
 *   by any produce to one of its partitions (broker/waiters.ts); errors answer at once.
 * - Limits: the response holds at most min(`max_bytes`, broker `fetch.max.bytes`) and each partition
 *   at most its `partition_max_bytes`, except that the first batch of the first partition with data is
 *   returned even if larger (KIP-74), so a consumer always makes progress.
 * - Topics by name up to v12, by id from v13 (unknown id: UNKNOWN_TOPIC_ID).
 * - ACLs: READ on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (authorizer.ts).
 * - v18 (KIP-1166) adds a partition's `high_watermark` (tagged) for fetches from replicas, which a
 *   single broker never gets; a consumer's fetch at v18 is a v17 fetch.
 * - Fetch sessions (KIP-227, v7+; broker/fetch-sessions.ts has the rules): a full fetch (epoch 0)
 *   is answered in full and opens a session when the cache has room (its id in the answer); an
 *   incremental fetch (epoch > 0) names only partitions to add or change and forgotten topics (by
 *   name up to v12, by id from v13), reads every partition of the session and lists only those with
 *   records, an error or a moved high watermark / LSO / log start offset. Epoch -1 (and v4–6) is
 *   sessionless. Long polling and the byte limits apply to the session's partitions as to a full
 *   fetch's. Session errors (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
 *   FETCH_SESSION_TOPIC_ID_ERROR) are top-level, with no partitions, as Kafka's.
 * - Stored batches are sent exactly as stored, without copying, control batches (transaction markers)
 *   included: consumers skip them.
 * - Transactions (KIP-98): every version returns the partition's `last_stable_offset` (txn-log.ts);
 *   `high_watermark` stays the high watermark at both isolation levels, as Kafka's. With
 *   `isolation_level` 1 (read_committed) only batches below the LSO are served — the first one too, so
 *   KIP-74's "at least one batch" never shows unstable data — only they count toward `min_bytes` (a
 *   long poll waits for the LSO to move: markers wake it), and `aborted_transactions` lists the
 *   aborted transactions overlapping the offsets served (last offset ≥ fetch offset, first offset
 *   below the end of what is returned); the consumer drops their records. With isolation 0 it is null.
 * - Leader epoch: every partition of a single broker is at leader epoch 0; a larger
 *   `current_leader_epoch` is UNKNOWN_LEADER_EPOCH. In a cluster (cluster.ts) the partition's epoch
 *   is checked (FENCED_LEADER_EPOCH below it) and a node that does not lead the partition answers
 *   NOT_LEADER_OR_FOLLOWER, with the current leader (v12+) and its endpoint (v16+, KIP-951).
 * - A partition named twice is read and answered once (see requestPartitions), as Kafka does.
 * - Hooks (src/hooks/): beforeFetch may refuse a partition (its error code); afterFetch may filter or
 *   rewrite the records sent, which are then re-encoded with their offsets kept.
 */
import { ApiKey, FetchRequest, FetchResponse, type FetchResponseFetchableTopicResponse, type FetchResponsePartitionData } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Init } from '../../protocol/codec/message.js';
import type { Records } from '../../protocol/codec/writer.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import type { Topic } from '../topics.js';
import { batchesBelow, endOfBatches, lastStableOffset } from '../txn-log.js';
import { ZERO_UUID } from '../../protocol/codec/uuid.js';
import { LeaderHints, leaderError, type ArrivalListener, type NodeEndpoint } from '../cluster.js';
import {
  CachedPartition,
  INVALID_SESSION_ID,
  nextEpoch,
  partitionKey,
  type FetchContext,
  type FetchPartitionParams,
  type PartitionAnswer,
} from '../fetch-sessions.js';

const EMPTY = Buffer.alloc(0);
const READ_COMMITTED = 1;

interface PlannedPartition {
  topic: string | null;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  /** Set when the partition cannot be read at all (unknown topic, bad epoch). */
  errorCode: number;
  /** What the fetch asked of it: the request's entry, or the session's. */
  params: FetchPartitionParams;
}

interface PlannedTopic {
  name: string;
  topicId: string;
  partitions: PlannedPartition[];
}

export default defineHandler({
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 18,
  request: FetchRequest,
  response: FetchResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const broker = ctx.broker;
    // Before v7 the session fields are absent and decode as id 0, epoch -1: sessionless.
    const context = broker.fetchSessions.newContext({
      sessionId: req.sessionId,
      epoch: req.sessionEpoch,
      usesTopicIds: v >= 13,
      fetchData: requestPartitions(req, v),
      toForget: forgottenPartitions(req, v),
    });
    if (context.kind === 'error') return { throttleTimeMs: 0, errorCode: context.errorCode, sessionId: INVALID_SESSION_ID, responses: [] };
    const plan = planFetch(broker, ctx.nodeId, context.partitions, v, (name) => allowed(ctx, AclOperation.READ, ResourceType.TOPIC, name));
    if (broker.hooks.beforeFetch !== null) await broker.hooks.beforeFetch(ctx, plan); // may refuse partitions
    // A consumer_byte_rate quota bounds one answer to what the quota window allows (Kafka's
    // getMaxValueInQuotaWindow), so one Fetch cannot earn an unbounded throttle.
    const quotaMaxBytes = ctx.quota === undefined ? Infinity : Math.floor(broker.quotas.fetchMaxBytes(ctx.security.principal, ctx.clientId ?? ''));
    const maxBytes = Math.min(req.maxBytes, broker.config.fetchMaxBytes, quotaMaxBytes);
    const readCommitted = req.isolationLevel === READ_COMMITTED;
    const deadline = broker.clock.now() + Math.max(0, req.maxWaitMs);
    for (;;) {
      const result = await readPlan(broker, plan, maxBytes, v, readCommitted);
      const remainingMs = deadline - broker.clock.now();
      if (result.bytes >= req.minBytes || result.hasError || remainingMs <= 0 || broker.isClosing) {
        // afterFetch hooks filter or rewrite what the consumer receives (offsets kept; the log unchanged).
        if (broker.hooks.afterFetch !== null) await broker.hooks.afterFetch(ctx, plan, result.responses);
        const metrics = broker.metrics;
        if (metrics !== null) for (let i = 0; i < plan.length; i++) if (result.topicBytes[i]! > 0) metrics.fetched(plan[i]!.name, result.topicBytes[i]!);
        if (broker.cluster === null) return { throttleTimeMs: 0, ...answer(broker, context, plan, result.responses) };
        const nodeEndpoints = leaderHints(broker, ctx.security.listener, plan, result.responses);
        return { throttleTimeMs: 0, ...answer(broker, context, plan, result.responses), nodeEndpoints };
      }
      const parkedAt = ctx.quota === undefined ? 0 : performance.now();
      await waitForData(broker, plan, remainingMs);
      // Waiting is not request time (Kafka's request thread is free while a fetch sits in purgatory).
      if (ctx.quota !== undefined) ctx.quota.parkedMs += performance.now() - parkedAt;
    }
  },
  clientThrottlesFromVersion: 8,
  errorResponse(req, v, errorCode) {
    return {
      errorCode: v >= 7 ? errorCode : 0,
      sessionId: 0,
      responses: req.topics.map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partition,
          errorCode,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          records: Buffer.alloc(0),
        })),
      })),
    };
  },
});

/**
 * The request's partitions, each once: a partition named twice keeps the last occurrence's
 * parameters at the place of the first (Kafka collects fetch partitions in a LinkedHashMap).
 */
function requestPartitions(req: FetchRequest, v: number): Map<string, FetchPartitionParams> {
  const out = new Map<string, FetchPartitionParams>();
  for (const t of req.topics) {
    const topicKey = v >= 13 ? t.topicId : t.topic;
    for (const p of t.partitions) {
      const key = partitionKey(topicKey, p.partition);
      out.set(key, { key, topicKey, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch });
    }
  }
  return out;
}

/** The session keys of the partitions a request's forgotten topics name (by name up to v12, by id from v13). */
function forgottenPartitions(req: FetchRequest, v: number): string[] {
  const out: string[] = [];
  for (const t of req.forgottenTopicsData) for (const p of t.partitions) out.push(partitionKey(v >= 13 ? t.topicId : t.topic, p));
  return out;
}

/**
 * What to read, per topic and partition, in fetch order; a topic whose partitions are not adjacent
 * (a session's order moves partitions) is one topic, at the place of its first partition.
 */
function planFetch(broker: Broker, nodeId: number | undefined, wanted: Iterable<FetchPartitionParams>, v: number, readable: (name: string) => boolean): PlannedTopic[] {
  const plan: PlannedTopic[] = [];
  const byTopic = new Map<string, { planned: PlannedTopic; topic: Topic | undefined; readable: boolean }>();
  const unknownTopic = v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  for (const w of wanted) {
    let entry = byTopic.get(w.topicKey);
    if (entry === undefined) {
      const topic = v >= 13 ? broker.topics.getById(w.topicKey) : broker.topics.get(w.topicKey);
      const planned = v >= 13 ? { name: topic?.name ?? '', topicId: w.topicKey, partitions: [] } : { name: w.topicKey, topicId: topic?.id ?? ZERO_UUID, partitions: [] };
      // ACLs: READ on the topic, asked by name before whether it exists (Kafka's handleFetchRequest).
      const name = v >= 13 ? topic?.name : w.topicKey;
      entry = { planned, topic, readable: name === undefined || readable(name) };
      byTopic.set(w.topicKey, entry);
      plan.push(planned);
    }
    const topic = entry.topic;
    let errorCode: number = ErrorCode.NONE;
    if (!entry.readable) errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    else if (!topic) errorCode = unknownTopic;
    else if (w.partition < 0 || w.partition >= topic.partitionCount) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    else errorCode = leaderError(broker, nodeId, topic, w.partition, w.currentLeaderEpoch);
    entry.planned.partitions.push({
      topic: topic?.name ?? null,
      partition: w.partition,
      fetchOffset: Number(w.fetchOffset),
      maxBytes: w.maxBytes,
      errorCode,
      params: w,
    });
  }
  return plan;
}

type TopicAnswer = Init<FetchResponseFetchableTopicResponse>;

/** In a cluster: the current leader in each partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH; the leaders' endpoints. */
function leaderHints(broker: Broker, listener: ArrivalListener, plan: readonly PlannedTopic[], responses: readonly TopicAnswer[]): NodeEndpoint[] {
  const hints = new LeaderHints(broker, listener);
  plan.forEach((t, ti) => {
    const datas = responses[ti]?.partitions ?? [];
    t.partitions.forEach((p, pi) => {
      const d = datas[pi]!;
      const hint = hints.hint(p.topic === null ? undefined : broker.topics.get(p.topic), p.partition, d.errorCode ?? ErrorCode.NONE);
      if (hint !== undefined) d.currentLeader = hint;
    });
  });
  return hints.endpoints();
}

/**
 * The answer's session part (Kafka's FetchContext.updateAndGenerateResponseData): sessionless and
 * full fetches list every partition (a full one opens a session from the answer if it can); an
 * incremental one lists only the partitions with news, unless another fetch of its session
 * overtook it (INVALID_FETCH_SESSION_EPOCH).
 */
function answer(
  broker: Broker,
  context: Exclude<FetchContext, { kind: 'error' }>,
  plan: readonly PlannedTopic[],
  responses: TopicAnswer[],
): { errorCode: number; sessionId: number; responses: TopicAnswer[] } {
  switch (context.kind) {
    case 'sessionless':
      return { errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, responses };
    case 'full': {
      const cached: CachedPartition[] = [];
      forEachAnswered(plan, responses, (p, a) => {
        const c = new CachedPartition(p.params);
        c.mustRespond(a); // remember what this answer said
        cached.push(c);
      });
      return { errorCode: ErrorCode.NONE, sessionId: broker.fetchSessions.maybeCreate(context.usesTopicIds, cached), responses };
    }
    case 'incremental': {
      const session = context.session;
      if (session.epoch !== nextEpoch(context.requestEpoch)) {
        return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: session.id, responses: [] };
      }
      const answered: { key: string; answer: PartitionAnswer }[] = [];
      forEachAnswered(plan, responses, (p, a) => answered.push({ key: p.params.key, answer: a }));
      const listed = session.select(answered);
      let i = 0;
      const kept: TopicAnswer[] = [];
      for (const t of responses) {
        const partitions = (t.partitions ?? []).filter(() => listed[i++]);
        if (partitions.length > 0) kept.push({ ...t, partitions });
      }
      return { errorCode: ErrorCode.NONE, sessionId: session.id, responses: kept };
    }
  }
}

/** Each planned partition with what its answer says (responses are aligned with the plan). */
function forEachAnswered(plan: readonly PlannedTopic[], responses: readonly TopicAnswer[], fn: (p: PlannedPartition, a: PartitionAnswer) => void): void {
  plan.forEach((t, ti) => {
    const datas = responses[ti]?.partitions ?? [];
    t.partitions.forEach((p, pi) => {
      const d = datas[pi]!;
      fn(p, {
        errorCode: d.errorCode ?? ErrorCode.NONE,
        highWatermark: Number(d.highWatermark ?? -1n),
        lastStableOffset: Number(d.lastStableOffset ?? -1n),
        logStartOffset: Number(d.logStartOffset ?? -1n),
        recordBytes: recordsBytes(d.records),
      });
    });
  });
}

function recordsBytes(records: Records | null | undefined): number {
  if (records == null) return 0;
  if (Buffer.isBuffer(records)) return records.length;
  let n = 0;
  for (const b of records) n += b.length;
  return n;
}

interface ReadOutcome {
  responses: Init<FetchResponseFetchableTopicResponse>[];
  bytes: number;
  /** Record bytes read per topic of the plan, in its order (the metrics' bytes out). */
  topicBytes: number[];
  hasError: boolean;
}

async function readPlan(broker: Broker, plan: PlannedTopic[], maxBytes: number, v: number, readCommitted: boolean): Promise<ReadOutcome> {
  let remaining = maxBytes;
  let bytes = 0;
  let hasError = false;
  let minOneBatch = true;
  const responses: Init<FetchResponseFetchableTopicResponse>[] = [];
  const topicBytes: number[] = [];
  for (const t of plan) {
    const partitions: Init<FetchResponsePartitionData>[] = [];
    const before = bytes;
    for (const p of t.partitions) {
      const out = await readPartition(broker, p, Math.min(p.maxBytes, remaining), minOneBatch, readCommitted);
      if (out.errorCode !== ErrorCode.NONE) hasError = true;
      if (out.bytes > 0) {
        minOneBatch = false;
        bytes += out.bytes;
        remaining = Math.max(0, remaining - out.bytes);
      }
      partitions.push(out.data);
    }
    responses.push(v >= 13 ? { topicId: t.topicId, partitions } : { topic: t.name, partitions });
    topicBytes.push(bytes - before);
  }
  return { responses, bytes, topicBytes, hasError };
}

async function readPartition(
  broker: Broker,
  p: PlannedPartition,
  maxBytes: number,
  minOneBatch: boolean,
  readCommitted: boolean,
): Promise<{ data: Init<FetchResponsePartitionData>; bytes: number; errorCode: number }> {
  const fail = (errorCode: number, hw = -1, logStart = -1) => ({
    data: { partitionIndex: p.partition, errorCode, highWatermark: BigInt(hw), lastStableOffset: BigInt(hw), logStartOffset: BigInt(logStart), records: EMPTY },
    bytes: 0,
    errorCode,
  });
  if (p.errorCode !== ErrorCode.NONE || p.topic === null) return fail(p.errorCode);
  let offsets;
  try {
    offsets = broker.storage.offsets(p.topic, p.partition);
  } catch {
    return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION); // deleted while we waited
  }
  const { logStartOffset, highWatermark } = offsets;
  const lso = lastStableOffset(broker, p.topic, p.partition, offsets);
  if (p.fetchOffset < logStartOffset || p.fetchOffset > highWatermark) {
    // Brokers sharing a database: out of range here may mean another broker took the partition and
    // appended (or retained) since; a consumer told OFFSET_OUT_OF_RANGE would reset its position.
    if (broker.cluster?.confirmLeader && !(await broker.cluster.confirmLeader(p.topic, p.partition))) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    return fail(ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark, logStartOffset);
  }
  // Kafka reads up to the LSO for read_committed (FetchIsolation.TXN_COMMITTED), up to the high watermark otherwise.
  const readLimit = readCommitted ? lso : highWatermark;
  let batches: Buffer[] = [];
  let bytes = 0;
  let abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null = readCommitted ? [] : null;
  if (p.fetchOffset < readLimit && (maxBytes > 0 || minOneBatch)) {
    try {
      const read = await broker.storage.read(p.topic, p.partition, p.fetchOffset, maxBytes, minOneBatch);
      batches = read.batches;
      bytes = read.bytes;
    } catch (err) {
      const answer = broker.engineFaults.answer(`fetch ${p.topic}-${p.partition} at ${p.fetchOffset}`, err);
      return fail(answer.errorCode, highWatermark, logStartOffset);
    }
    if (readCommitted) {
      let end = -1;
      if (readLimit < highWatermark) ({ batches, bytes, nextOffset: end } = batchesBelow(batches, readLimit));
      // A partition that never had an aborted transaction costs no walk over the batch headers.
      else if (broker.producers.partitionAborted(p.topic, p.partition).length > 0) end = endOfBatches(batches);
      if (end > p.fetchOffset) {
        abortedTransactions = broker.producers
          .abortedTransactions(p.topic, p.partition, p.fetchOffset, end)
          .map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }));
      }
    }
  }
  return {
    data: {
      partitionIndex: p.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: BigInt(highWatermark),
      lastStableOffset: BigInt(lso),
      logStartOffset: BigInt(logStartOffset),
      abortedTransactions,
      preferredReadReplica: -1,
      records: batches.length === 1 ? batches[0]! : batches,
    },
    bytes,
    errorCode: ErrorCode.NONE,
  };
}

function waitForData(broker: Broker, plan: PlannedTopic[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const keys: [string, number][] = [];
    for (const t of plan) for (const p of t.partitions) if (p.topic !== null) keys.push([p.topic, p.partition]);
    const waiter = {
      wake() {
        broker.clock.clearTimeout(timer);
        for (const [topic, partition] of keys) broker.waiters.remove(topic, partition, waiter);
        resolve();
      },
    };
    const timer = broker.clock.setTimeout(() => waiter.wake(), timeoutMs);
    for (const [topic, partition] of keys) broker.waiters.add(topic, partition, waiter);
  });
}
