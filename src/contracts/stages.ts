/**
 * The hook stages as the broker calls them, and the shapes they exchange. A stage no hook implements
 * is null, so the broker pays one property read for it (src/hooks/runner.ts builds the real ones).
 */
import type { Socket } from 'node:net';
import type { ValidatedBatch } from '../protocol/records/batch.js';
import type { RequestScope, ServedApiFacts } from './request.js';

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

/** The outcome of appending one produced batch to one partition (src/broker/append.ts). */
export interface PartitionAppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Which records made the batch fail (INVALID_RECORD, INVALID_TIMESTAMP), as Kafka reports them. */
  recordErrors?: RecordError[];
}

/** The plan of one fetched partition, as 01-fetch.ts builds it; beforeFetch may set its error. */
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

/** A fetched partition's response data, as 01-fetch.ts builds it; afterFetch may replace its records. */
export interface FetchedPartitionData {
  errorCode?: number;
  highWatermark?: bigint;
  records?: unknown;
}

export interface FetchedTopicData {
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

/** The JoinGroup request (as decoded) onJoin sees. */
export interface JoinArgsLike {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: readonly { name: string }[];
}

/** The coordinator's JoinGroup answer, from which onRebalance learns a completed generation. */
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

/** A stage's refusal with its code and message settled. */
export interface StageRefusal {
  readonly errorCode: number;
  readonly message: string;
}

export interface HookStages {
  /** Registered hooks in order (names, for diagnostics). */
  readonly names: readonly string[];
  readonly onConnection: ((socket: Socket, admit: () => void) => void) | null;
  /** onRequest / onResponse around the API's handler. */
  readonly handle: ((api: ServedApiFacts, request: unknown, ctx: RequestScope) => Promise<unknown>) | null;
  /** The batch to write (possibly re-encoded), or the partition's refusal. */
  readonly beforeProduce: ((ctx: RequestScope, topic: string, partition: number, h: ValidatedBatch) => Promise<ValidatedBatch | PartitionAppendResult>) | null;
  readonly afterProduce:
    | ((ctx: RequestScope, topic: string, partition: number, h: ValidatedBatch, baseOffset: number, logAppendTimeMs: number) => Promise<void>)
    | null;
  readonly beforeFetch: ((ctx: RequestScope, plan: readonly FetchPlanTopic[]) => Promise<void>) | null;
  readonly afterFetch: ((ctx: RequestScope, plan: readonly FetchPlanTopic[], responses: readonly FetchedTopicData[]) => Promise<void>) | null;
  readonly topicPolicy: TopicPolicy | null;
  /** JoinGroup, before the coordinator: null to go on, else the refusal (the handler answers it with its error response). */
  readonly onJoin: ((ctx: RequestScope, req: JoinArgsLike) => Promise<StageRefusal | null>) | null;
  readonly onJoined: ((ctx: RequestScope, args: JoinArgsLike, out: JoinOutcomeLike) => void) | null;
  readonly onCommit: ((ctx: RequestScope, args: CommitArgsLike, results: readonly CommitResultLike[]) => void) | null;
  /** Shutdown: every hook's close(). */
  close(): Promise<void>;
}

/** The stages of a broker without hooks: every one null. */
export const NO_HOOKS: HookStages = Object.freeze({
  names: [],
  onConnection: null,
  handle: null,
  beforeProduce: null,
  afterProduce: null,
  beforeFetch: null,
  afterFetch: null,
  topicPolicy: null,
  onJoin: null,
  onJoined: null,
  onCommit: null,
  close: async () => {},
});
