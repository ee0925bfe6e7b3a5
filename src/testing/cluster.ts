/**
 * `startCluster({ brokers: 3 })` (rafka/testing, docs/testing.md): N brokers in this process — N node
 * ids, each on a port of its own, over one broker's state (storage, topics, groups, coordinators;
 * src/broker/cluster.ts) — so a client's failover, metadata refresh and NOT_LEADER handling can be
 * tested without a real cluster: `stopBroker(id)` closes a node's port and moves its partitions'
 * leadership to live nodes, `startBroker(id)` opens it again, `moveLeader(topic, partition, id)`
 * moves one partition.
 */
import { Cluster, CLUSTER_MAX_BROKERS, type PartitionLeader } from '../broker/cluster.js';
import type { StartBrokerOptions } from '../broker/index.js';
import { consumeAll, createTopics, lag, startTestBroker, type TestBroker } from './index.js';

export { CLUSTER_MAX_BROKERS };
export type { PartitionLeader };

export interface StartClusterOptions extends StartBrokerOptions {
  /** How many brokers; default 3. Node ids run from `nodeId` (default 1) up. */
  readonly brokers?: number;
}

export interface ClusterBroker {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly bootstrap: string;
  readonly live: boolean;
}

/** A test cluster: a TestBroker whose `bootstrap` names every live broker, and the cluster's controls. */
export interface TestCluster extends TestBroker {
  /** Every live broker's `host:port`, comma-separated (clients' bootstrap.servers). */
  readonly bootstrap: string;
  /** Every live broker's `host:port`, as kafkajs's `brokers` takes them. */
  readonly bootstrapServers: string[];
  /** Node ids, live or not. */
  readonly brokerIds: readonly number[];
  /** Each broker with its port and whether it runs. */
  brokers(): ClusterBroker[];
  /**
   * Stop a broker: its port refuses connections, its connections close, and the partitions it led
   * move to live brokers, each at leader epoch + 1.
   */
  stopBroker(id: number): Promise<void>;
  /** Start a stopped broker again, on the same port; partitions left without a leader go to it. */
  startBroker(id: number): Promise<void>;
  /** Make a live broker the leader of a partition (leader epoch + 1 when it moves). */
  moveLeader(topic: string, partition: number, id: number): PartitionLeader;
  /** A partition's leader (-1: none live) and leader epoch. */
  leaderOf(topic: string, partition: number): PartitionLeader;
}

/** Start `brokers` brokers (default 3) over one state, with rafka/testing's presets (TEST_BROKER_OPTIONS). */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const { brokers: count = 3, ...rest } = options;
  if (!Number.isInteger(count) || count < 1 || count > CLUSTER_MAX_BROKERS) throw new RangeError(`brokers must be an integer from 1 to ${CLUSTER_MAX_BROKERS}, not ${count}`);
  if (rest.advertisedPort != null) throw new RangeError('advertisedPort names one port; a cluster advertises each broker at its own');
  const running = await startTestBroker(rest);
  const broker = running.broker;
  const first = broker.nodeId;
  const ids = Array.from({ length: count }, (_, i) => first + i);
  const cluster = new Cluster(ids, broker);
  cluster.started(first, running.port);
  try {
    for (const id of ids.slice(1)) cluster.started(id, await broker.listen(id, 0));
  } catch (err) {
    await running.close();
    throw err;
  }
  broker.cluster = cluster;
  broker.topics.registeredBrokers = count;

  const host = running.host;
  const live = () => cluster.liveNodes().map((n) => `${host}:${n.port}`);
  const topicOf = (name: string) => {
    const t = broker.topics.get(name);
    if (t === undefined) throw new Error(`no topic ${name}`);
    return t;
  };
  // Start and stop one at a time: a stop racing a start of the same node must not leave it half open.
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = turn.then(fn, fn);
    turn = next.catch(() => undefined);
    return next;
  };
  const self: TestCluster = {
    ...running,
    get bootstrap() {
      return live().join(',');
    },
    get bootstrapServers() {
      return live();
    },
    brokerIds: ids,
    brokers: () => ids.map((id) => {
      const n = cluster.node(id);
      return { id, host, port: n.port, bootstrap: `${host}:${n.port}`, live: n.live };
    }),
    stopBroker: (id) =>
      serially(async () => {
        if (!cluster.node(id).live) return;
        cluster.stopped(id); // leaders move first: a client reconnecting elsewhere finds them moved
        await broker.unlisten(id);
      }),
    startBroker: (id) =>
      serially(async () => {
        const node = cluster.node(id);
        if (node.live || broker.isClosing) return;
        cluster.started(id, await broker.listen(id, node.port));
      }),
    moveLeader: (topic, partition, id) => ({ ...cluster.moveLeader(topicOf(topic), partition, id) }),
    leaderOf: (topic, partition) => {
      const t = topicOf(topic);
      if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitionCount) throw new RangeError(`topic ${topic} has no partition ${partition}`);
      return { ...cluster.leader(t, partition) };
    },
    // The helpers reach whichever brokers are live, not only the first.
    createTopics: (topics) => createTopics(self, topics),
    consumeAll: (topic, opts) => consumeAll(self, topic, opts),
    lag: (groupId) => lag(self, groupId),
  };
  return self;
}
