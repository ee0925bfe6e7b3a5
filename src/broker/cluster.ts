/**
 * Many brokers in one process (rafka/testing's `startCluster`, docs/testing.md): N node ids, each
 * with a listener of its own, over the one Broker's state (storage, topics, groups, coordinators).
 * Nothing is replicated — there is one log — so what differs between the nodes is only who answers
 * for a partition: each partition has a leader among the live nodes and a leader epoch, and the
 * requests a client must send to the leader (Produce, Fetch, ListOffsets, DeleteRecords) are answered
 * NOT_LEADER_OR_FOLLOWER by the other nodes, with KIP-951's hint of the current leader where the
 * version carries it. That is what a client's failover, metadata refresh and NOT_LEADER handling
 * need to be tested against.
 *
 * - Partition p of a topic is first led by node ids[p mod N] (the first live one from there on).
 * - A node stopped: its listener closes (its port refuses connections), its connections end, and
 *   the partitions it led move to a live node (the preferred one, else the next live one), each at
 *   leader epoch + 1. With no live node left a partition has no leader (-1) until a node starts.
 * - A node started again: it listens on the same port; leaderless partitions go to it (epoch + 1).
 *   Partitions that moved away stay where they are, as in Kafka until a preferred-leader election.
 * - `moveLeader`: a partition to another live node, epoch + 1.
 * - Coordinators: FindCoordinator names node ids[hash(key) mod N], else the next live one. Group and
 *   transaction requests are served by every node (the state is shared), so a client that kept its
 *   coordinator's connection open elsewhere is not refused.
 *
 * Outside a cluster `Broker.cluster` is null and every check below is one comparison: a single
 * broker leads every partition at epoch 0 (append.ts's LEADER_EPOCH).
 */
import { ErrorCode } from '../protocol/error-codes.js';
import type { Broker } from './broker.js';
import type { Topic } from './topics.js';
import { LEADER_EPOCH } from './append.js';

/** Nodes a cluster may have: every one is a listener with its connections in this process. */
export const CLUSTER_MAX_BROKERS = 64;

export interface ClusterNode {
  readonly id: number;
  /** Bound port (also while stopped: the node listens there again when started). */
  port: number;
  live: boolean;
  /** Advertised host; absent: the host of the listener the client came through (nodes in one process). */
  readonly host?: string;
  readonly rack?: string | null;
  /**
   * Every advertised listener (brokers sharing PostgreSQL, shared-cluster.ts): a client is given the
   * node's endpoint for the listener its request came in on. Absent: the node has the one address
   * above on every listener (nodes in one process, a broker registered by an older version).
   */
  readonly endpoints?: readonly ListenerEndpoint[];
}

/** One advertised listener of a node (Kafka's broker registration endpoints). */
export interface ListenerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: string;
}

/** What a request's listener tells about where it came in (BrokerListener has it). */
export interface ArrivalListener {
  readonly name: string;
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

/**
 * Where a client of `listener` reaches `node`: its endpoint of that name, as Kafka's
 * MetadataCache.getAliveBrokerNode answers; null when the node has no such listener (Kafka leaves
 * it out of Metadata for that listener, and a coordinator there is not available).
 */
export function nodeEndpoint(node: ClusterNode, listener: ArrivalListener): { host: string; port: number } | null {
  if (node.endpoints === undefined) return { host: node.host ?? listener.advertisedHost, port: node.port };
  const e = node.endpoints.find((x) => x.name === listener.name);
  return e === undefined ? null : { host: e.host, port: e.port };
}

/**
 * "Who leads what" as the request handlers ask it, whoever keeps the answer: `Cluster` below (nodes
 * of one process, rafka/testing) or SharedCluster (separate brokers over one PostgreSQL database,
 * shared-cluster.ts).
 */
export interface ClusterView {
  /** Node ids a partition's replicas are listed with (every node reads the one shared log). */
  readonly ids: number[];
  liveNodes(): ClusterNode[];
  /** A node by id; throws for an id the cluster does not know. */
  node(id: number): ClusterNode;
  leader(topic: Topic, partition: number): PartitionLeader;
  /** The node FindCoordinator names for a group or transactional id: -1 when none is live. */
  coordinator(key: string): number;
  /**
   * True when only the coordinator holds a group's or transaction's state in memory: requests that
   * reach another node are answered NOT_COORDINATOR. False for nodes of one process (shared state).
   */
  readonly exclusiveCoordinators: boolean;
  /** Forget leaders (broker.reset(): every topic is gone). */
  reset(): void;
  /** Look for topics other brokers created that this one does not know yet (an unknown topic was asked for). */
  refreshTopics?(): Promise<void>;
  /** Whether this broker leads the partition (retention and compaction run on the leader only). */
  leadsLocally?(topic: string, partition: number): boolean;
  /** This broker coordinates these groups: load the state of those it did not coordinate before. */
  ownGroups?(groupIds: readonly string[], verify?: boolean): Promise<void>;
  /** Take the transactional ids as their coordinator (state reloaded from shared storage) before serving a request naming them. */
  ownTransactions?(ids: readonly string[]): Promise<void>;
  /** Whether this broker still leads the partition, asked of the shared store (false: it gave it up). */
  confirmLeader?(topic: string, partition: number): Promise<boolean>;
}

/** Java's String.hashCode, as Kafka picks a key's __consumer_offsets partition (Utils.abs(hash) % n): non-negative. */
export function keyHash(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h & 0x7fffffff;
}

export interface PartitionLeader {
  /** -1: no live node. */
  leaderId: number;
  leaderEpoch: number;
}

export class Cluster implements ClusterView {
  readonly exclusiveCoordinators = false;
  private readonly nodes: ClusterNode[];
  private readonly byId = new Map<number, ClusterNode>();
  /** Leader and epoch per partition, by topic id: set on first use, so a recreated topic starts afresh. */
  private readonly leaders = new Map<string, PartitionLeader[]>();

  constructor(
    ids: readonly number[],
    private readonly broker: Broker,
  ) {
    if (ids.length < 1 || ids.length > CLUSTER_MAX_BROKERS) throw new RangeError(`a cluster has 1 to ${CLUSTER_MAX_BROKERS} brokers, not ${ids.length}`);
    if (new Set(ids).size !== ids.length) throw new RangeError(`node ids must differ: ${ids.join(', ')}`);
    this.nodes = ids.map((id) => ({ id, port: 0, live: false }));
    for (const n of this.nodes) this.byId.set(n.id, n);
  }

  get ids(): number[] {
    return this.nodes.map((n) => n.id);
  }

  node(id: number): ClusterNode {
    const n = this.byId.get(id);
    if (n === undefined) throw new RangeError(`no broker ${id} in this cluster (brokers: ${this.ids.join(', ')})`);
    return n;
  }

  liveNodes(): ClusterNode[] {
    return this.nodes.filter((n) => n.live);
  }

  /** The live node at or after position `start` (mod N) of the node list; -1 when none is live. */
  private firstLiveFrom(start: number): number {
    const n = this.nodes.length;
    for (let i = 0; i < n; i++) {
      const node = this.nodes[(start + i) % n]!;
      if (node.live) return node.id;
    }
    return -1;
  }

  leader(topic: Topic, partition: number): PartitionLeader {
    let partitions = this.leaders.get(topic.id);
    if (partitions === undefined) this.leaders.set(topic.id, (partitions = []));
    let l = partitions[partition];
    if (l === undefined) partitions[partition] = l = { leaderId: this.firstLiveFrom(partition), leaderEpoch: LEADER_EPOCH };
    return l;
  }

  /** The node FindCoordinator names for a group or transactional id: -1 when none is live. */
  coordinator(key: string): number {
    return this.firstLiveFrom(keyHash(key) % this.nodes.length);
  }

  /** Mark a node stopped and move the partitions it led (the caller closes its listener). */
  stopped(id: number): void {
    this.node(id).live = false;
    this.forEachKnown((l, p) => {
      if (l.leaderId !== id) return;
      l.leaderId = this.firstLiveFrom(p);
      l.leaderEpoch++;
    });
  }

  /** Mark a node live again (its listener is open): leaderless partitions go to it. */
  started(id: number, port: number): void {
    const node = this.node(id);
    node.live = true;
    node.port = port;
    this.forEachKnown((l) => {
      if (l.leaderId !== -1) return;
      l.leaderId = id;
      l.leaderEpoch++;
    });
  }

  moveLeader(topic: Topic, partition: number, id: number): PartitionLeader {
    if (!this.node(id).live) throw new Error(`broker ${id} is stopped: a partition's leader must be a live broker`);
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) {
      throw new RangeError(`topic ${topic.name} has no partition ${partition} (it has ${topic.partitionCount})`);
    }
    const l = this.leader(topic, partition);
    if (l.leaderId !== id) {
      l.leaderId = id;
      l.leaderEpoch++;
    }
    return l;
  }

  /** Forget leaders (broker.reset(): every topic is gone). */
  reset(): void {
    this.leaders.clear();
  }

  /** Every partition whose leader was set, of topics that still exist (those gone are forgotten here). */
  private forEachKnown(fn: (l: PartitionLeader, partition: number) => void): void {
    for (const [topicId, partitions] of this.leaders) {
      if (this.broker.topics.getById(topicId) === undefined) {
        this.leaders.delete(topicId);
        continue;
      }
      partitions.forEach(fn);
    }
  }
}

/** Where a client reaches a node: Metadata's brokers, KIP-951's node endpoints. */
export interface NodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** The live brokers with an endpoint on `listener`, as Metadata lists them: this broker alone outside a cluster. */
export function liveBrokers(broker: Broker, listener: ArrivalListener): NodeEndpoint[] {
  const c = broker.cluster;
  if (c === null) return [{ nodeId: broker.nodeId, host: listener.advertisedHost, port: listener.advertisedPort, rack: null }];
  const out: NodeEndpoint[] = [];
  for (const n of c.liveNodes()) {
    const e = nodeEndpoint(n, listener);
    if (e !== null) out.push({ nodeId: n.id, host: e.host, port: e.port, rack: n.rack ?? null });
  }
  return out;
}

/** A partition's leader and epoch, for Metadata and the leader hints. */
export function partitionLeader(broker: Broker, topic: Topic, partition: number): PartitionLeader {
  return broker.cluster === null ? { leaderId: broker.nodeId, leaderEpoch: LEADER_EPOCH } : broker.cluster.leader(topic, partition);
}

/**
 * Whether the node a request came to (`nodeId`, absent: the broker's own) may serve a request to
 * the partition's leader, given the leader epoch the client believes current (-1: none), as Kafka's
 * Partition.localLogWithEpochOrThrow: FENCED_LEADER_EPOCH for an older epoch, UNKNOWN_LEADER_EPOCH
 * for a newer one, then NOT_LEADER_OR_FOLLOWER when the node does not lead it. NONE otherwise.
 */
export function leaderError(broker: Broker, nodeId: number | undefined, topic: Topic, partition: number, currentLeaderEpoch: number): number {
  const c = broker.cluster;
  if (c === null) return currentLeaderEpoch > LEADER_EPOCH ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NONE;
  const l = c.leader(topic, partition);
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < l.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > l.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return l.leaderId === (nodeId ?? broker.nodeId) ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * KIP-951's hints for partitions answered with `errorCode`: the current leader for NOT_LEADER_OR_FOLLOWER
 * (and, for Fetch, FENCED_LEADER_EPOCH), so a client can go there without a Metadata round trip, and
 * the endpoints of the leaders named. Collects nothing outside a cluster.
 */
export class LeaderHints {
  /** Leaders named; made on the first hint, so a request without one allocates nothing more. */
  private named: Set<number> | null = null;

  /** `listener`: the one the request came in on (the endpoints named are that listener's). */
  constructor(
    private readonly broker: Broker,
    private readonly listener: ArrivalListener,
  ) {}

  /** The partition's current leader, to put in its response; undefined when no hint is due. */
  hint(topic: Topic | undefined, partition: number, errorCode: number): PartitionLeader | undefined {
    if (this.broker.cluster === null || topic === undefined) return undefined;
    if (errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return undefined;
    const l = this.broker.cluster.leader(topic, partition);
    if (l.leaderId >= 0) (this.named ??= new Set()).add(l.leaderId);
    return { leaderId: l.leaderId, leaderEpoch: l.leaderEpoch };
  }

  /** The named leaders' endpoints (the response's node_endpoints). */
  endpoints(): NodeEndpoint[] {
    const named = this.named;
    return named === null ? [] : liveBrokers(this.broker, this.listener).filter((b) => named.has(b.nodeId));
  }
}

/**
 * A partition as Metadata and DescribeTopicPartitions describe it. In a cluster every node holds the
 * one shared log, so every node is a replica, the live ones in sync and the stopped ones offline;
 * a partition without a live leader is LEADER_NOT_AVAILABLE.
 */
export function describePartition(
  broker: Broker,
  topic: Topic,
  partition: number,
): { errorCode: number; leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[]; offlineReplicas: number[] } {
  const c = broker.cluster;
  const node = broker.nodeId;
  if (c === null) return { errorCode: ErrorCode.NONE, leaderId: node, leaderEpoch: LEADER_EPOCH, replicaNodes: [node], isrNodes: [node], offlineReplicas: [] };
  const l = c.leader(topic, partition);
  const live = c.liveNodes().map((n) => n.id);
  return {
    errorCode: l.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    leaderId: l.leaderId,
    leaderEpoch: l.leaderEpoch,
    replicaNodes: c.ids,
    isrNodes: live,
    offlineReplicas: c.ids.filter((id) => !live.includes(id)),
  };
}

/** The controller Metadata and DescribeCluster name: this broker, or a cluster's first live node (-1: none). */
export function controllerId(broker: Broker): number {
  const c = broker.cluster;
  return c === null ? broker.nodeId : (c.liveNodes()[0]?.id ?? -1);
}
