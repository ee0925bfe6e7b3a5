/**
 * Brokers sharing one PostgreSQL database (docs/cluster.md): their registrations with leases, and
 * the leadership of partitions, as rows changed by compare-and-set. Nothing here is a lock: a lease
 * is a timestamp the owner pushes forward (by the database's clock, never a broker's), and a
 * partition's leader epoch is the fencing token every append checks (postgres-engine.ts).
 *
 * Callers: src/broker/shared-cluster.ts, through PostgresEngine.membership().
 */
import type pg from 'pg';

/** One advertised listener of a broker, as its clients reach it (Kafka's registration endpoints). */
export interface RegisteredListener {
  name: string;
  host: string;
  port: number;
  securityProtocol: string;
}

export interface BrokerRegistration {
  nodeId: number;
  /** Random per process start: tells this process's row from a previous one's with the same node id. */
  incarnation: string;
  /** Every advertised listener, the first one first (its host and port also fill the row's host and port). */
  listeners: readonly RegisteredListener[];
  rack: string | null;
}

export interface LiveBroker {
  nodeId: number;
  /** The first listener's address. */
  host: string;
  port: number;
  /** null: a row an older broker wrote, with its first listener only. */
  listeners: RegisteredListener[] | null;
  rack: string | null;
}

/** Listeners a registration row may hold: Kafka brokers have a handful; a row is read on every look. */
export const REGISTERED_LISTENERS_MAX = 16;

/** The jsonb column as read back: only well-formed entries are kept (a row is shared data, checked after reading). */
function readListeners(value: unknown): RegisteredListener[] | null {
  if (!Array.isArray(value)) return null;
  const out: RegisteredListener[] = [];
  for (const e of value.slice(0, REGISTERED_LISTENERS_MAX)) {
    const l = e as Partial<RegisteredListener> | null;
    if (l === null || typeof l !== 'object') continue;
    if (typeof l.name !== 'string' || typeof l.host !== 'string' || typeof l.securityProtocol !== 'string') continue;
    if (typeof l.port !== 'number' || !Number.isInteger(l.port) || l.port < 1 || l.port > 65535) continue;
    out.push({ name: l.name, host: l.host, port: l.port, securityProtocol: l.securityProtocol });
  }
  return out;
}

export interface PartitionLeadership {
  topicId: string;
  partition: number;
  /** null: nobody has claimed it yet. */
  leaderNodeId: number | null;
  leaderEpoch: number;
}

export interface LeadershipClaim {
  topicId: string;
  partition: number;
  /** The epoch read with the row: the claim succeeds only if nobody moved it since. */
  seenEpoch: number;
}

type Query = <R extends pg.QueryResultRow>(q: pg.QueryConfig) => Promise<pg.QueryResult<R>>;

export class PostgresMembership {
  constructor(private readonly query: Query) {}

  /**
   * Register, or renew, this broker's lease for `leaseMs`. The row is taken only if it is free, ours
   * (same incarnation), or its lease ran out: false when another live process holds the node id.
   */
  async register(r: BrokerRegistration, leaseMs: number): Promise<boolean> {
    const first = r.listeners[0];
    if (first === undefined || r.listeners.length > REGISTERED_LISTENERS_MAX) throw new RangeError(`a broker registers 1 to ${REGISTERED_LISTENERS_MAX} listeners, not ${r.listeners.length}`);
    const { rows } = await this.query<{ node_id: number }>({
      name: 'rafka-register-broker',
      text: `INSERT INTO rafka_brokers (node_id, incarnation, host, port, rack, lease_expires_at, listeners)
             VALUES ($1, $2, $3, $4, $5, now() + $6::bigint * interval '1 millisecond', $7::jsonb)
             ON CONFLICT (node_id) DO UPDATE SET incarnation = EXCLUDED.incarnation, host = EXCLUDED.host, port = EXCLUDED.port,
               rack = EXCLUDED.rack, registered_at = now(), lease_expires_at = EXCLUDED.lease_expires_at, listeners = EXCLUDED.listeners
             WHERE rafka_brokers.incarnation = EXCLUDED.incarnation OR rafka_brokers.lease_expires_at < now()
             RETURNING node_id`,
      values: [r.nodeId, r.incarnation, first.host, first.port, r.rack, leaseMs, JSON.stringify(r.listeners)],
    });
    return rows.length === 1;
  }

  /** Push the lease forward; false when the row is no longer this incarnation's (taken over after it expired). */
  async renew(nodeId: number, incarnation: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.query({
      name: 'rafka-renew-lease',
      text: `UPDATE rafka_brokers SET lease_expires_at = now() + $3::bigint * interval '1 millisecond' WHERE node_id = $1 AND incarnation = $2`,
      values: [nodeId, incarnation, leaseMs],
    });
    return rowCount === 1;
  }

  /** Leave at a clean shutdown: the others take this broker's partitions at their next look, not after the lease. */
  async deregister(nodeId: number, incarnation: string): Promise<void> {
    await this.query({ name: 'rafka-deregister-broker', text: 'DELETE FROM rafka_brokers WHERE node_id = $1 AND incarnation = $2', values: [nodeId, incarnation] });
  }

  /** Brokers whose lease is ahead of the database's clock, by node id. */
  async liveBrokers(): Promise<LiveBroker[]> {
    const { rows } = await this.query<{ node_id: number; host: string; port: number; rack: string | null; listeners: unknown }>({
      name: 'rafka-live-brokers',
      text: 'SELECT node_id, host, port, rack, listeners FROM rafka_brokers WHERE lease_expires_at > now() ORDER BY node_id',
    });
    return rows.map((r) => ({ nodeId: r.node_id, host: r.host, port: r.port, listeners: readListeners(r.listeners), rack: r.rack }));
  }

  /** Every partition's leader and epoch. */
  async leadership(): Promise<PartitionLeadership[]> {
    const { rows } = await this.query<{ topic_id: string; partition: number; leader_node_id: number | null; leader_epoch: number }>({
      name: 'rafka-leadership',
      text: 'SELECT topic_id, partition, leader_node_id, leader_epoch FROM rafka_partitions',
    });
    return rows.map((r) => ({ topicId: r.topic_id, partition: r.partition, leaderNodeId: r.leader_node_id, leaderEpoch: r.leader_epoch }));
  }

  /**
   * Make `nodeId` the leader of each partition whose epoch is still the one seen, at epoch + 1: the
   * bump is what fences the previous leader's appends. Returns the partitions taken with their new epoch.
   */
  async claim(nodeId: number, claims: readonly LeadershipClaim[]): Promise<PartitionLeadership[]> {
    if (claims.length === 0) return [];
    const { rows } = await this.query<{ topic_id: string; partition: number; leader_epoch: number }>({
      name: 'rafka-claim-partitions',
      text: `UPDATE rafka_partitions p SET leader_epoch = p.leader_epoch + 1, leader_node_id = $4
             FROM unnest($1::text[], $2::int[], $3::int[]) AS u (topic_id, partition, epoch)
             WHERE p.topic_id = u.topic_id AND p.partition = u.partition AND p.leader_epoch = u.epoch
             RETURNING p.topic_id, p.partition, p.leader_epoch`,
      values: [claims.map((c) => c.topicId), claims.map((c) => c.partition), claims.map((c) => c.seenEpoch), nodeId],
    });
    return rows.map((r) => ({ topicId: r.topic_id, partition: r.partition, leaderNodeId: nodeId, leaderEpoch: r.leader_epoch }));
  }
}
