/**
 * Separate broker processes over one PostgreSQL database (storage.type postgres; docs/cluster.md):
 * each one registers with a lease, and the partitions' leadership is spread over the live ones. The
 * handlers ask it "who leads what" through the same ClusterView as the test kit's in-process cluster
 * (cluster.ts), so Metadata, the NOT_LEADER_OR_FOLLOWER answers and KIP-951's hints are the same code.
 *
 * Every `broker.heartbeat.interval.ms` (and at once when asked: an unknown topic, a fenced append)
 * a broker, one look at a time:
 * 1. renews its lease (a row with an expiry by the database's clock; `broker.session.timeout.ms`);
 * 2. brings its topics in line with the database (created, changed, deleted by other brokers);
 * 3. reads the live brokers and every partition's leader and epoch;
 * 4. computes the assignment from the live set — partition p of a topic goes to
 *    live[(hash(topic id) + p) mod n], the same answer on every broker — and claims the partitions
 *    assigned to it with compare-and-set on the epoch (epoch + 1: the previous leader's appends fail
 *    from then on, in the same statement that would give them offsets);
 * 5. gives up the partitions the database says another broker leads now (drops their index and
 *    producer state) and loads the index and producer state of those it took.
 * A broker that joins takes its share from live brokers; a broker whose lease runs out (killed, cut
 * off) has its partitions taken by the others at their next look. Exactly one broker can append to a
 * partition: the one holding the epoch in the row.
 *
 * Coordinators: FindCoordinator names live[hash(key) mod n] (exclusiveCoordinators: group and
 * transaction requests reaching another broker are answered NOT_COORDINATOR, coordinator-check.ts).
 * A group is taken on its first request here; a transactional id on its first request too, and at
 * every look for the stored ids assigned here, so that a transaction left by a coordinator that
 * died is completed (Prepare*) or timed out (Ongoing) without waiting for its producer.
 */
import { randomUuid } from '../protocol/codec/uuid.js';
import type { Broker } from './broker.js';
import type { ClusterNode, ClusterView, ListenerEndpoint, PartitionLeader } from './cluster.js';
import { keyHash } from './cluster.js';
import type { Topic } from './topics.js';
import type { PostgresEngine } from '../storage/postgres/postgres-engine.js';
import type { LiveBroker, LeadershipClaim, PartitionLeadership, PostgresMembership } from '../storage/postgres/membership.js';

/** What a look found wrong, logged once per kind until it is right again (a database away logs once, not every second). */
type Trouble = 'lease' | 'look';

export class SharedCluster implements ClusterView {
  readonly exclusiveCoordinators = true;
  private readonly membership: PostgresMembership;
  private readonly incarnation = randomUuid();
  private live: ClusterNode[] = [];
  /** Leader and epoch per partition, by topic id, as of the last look (this broker's own claims as soon as they are loaded). */
  private leaders = new Map<string, PartitionLeader[]>();
  private timer: NodeJS.Timeout | null = null;
  private looking: Promise<void> | null = null;
  private following: Promise<void> | null = null;
  private stopped = false;
  private readonly troubles = new Set<Trouble>();
  /** Groups this broker took as coordinator (their state loaded from the database), with the take in progress. */
  private readonly owned = new Map<string, Promise<void>>();
  /** Transactional ids this broker took as coordinator (their state loaded from the database), with the take in progress. */
  private readonly ownedTxns = new Map<string, Promise<void>>();
  /** Transactional ids assigned here that the last look found held by another live broker, with the epoch of that hold. */
  private foreignTxnEpochs = new Map<string, number>();
  /** Looks done (tests wait for a number of them). */
  looks = 0;

  constructor(
    private readonly broker: Broker,
    private readonly engine: PostgresEngine,
    private readonly sessionTimeoutMs: number,
    private readonly heartbeatIntervalMs: number,
  ) {
    this.membership = engine.membership();
    engine.onFenced = () => void this.lookNow();
    engine.onGroupFenced = (groupId) => {
      if (this.owned.has(groupId)) this.forgetGroup(groupId);
    };
    engine.onTransactionFenced = (id) => {
      if (this.ownedTxns.has(id)) this.forgetTransaction(id);
    };
    // A topic this broker created or grew: its partitions get leaders now, not at the next heartbeat.
    broker.topics.onStored = () => void this.lookNow();
  }

  private get me(): number {
    return this.broker.nodeId;
  }

  /**
   * Register (waiting out the lease of a previous process with this node id, killed without
   * leaving), take this broker's share of the partitions, then look again every heartbeat interval.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + 2 * this.sessionTimeoutMs;
    let warned = false;
    while (!(await this.membership.register(this.registration(), this.sessionTimeoutMs))) {
      if (Date.now() > deadline) throw new Error(`node id ${this.me} is held by another live broker on this database (its lease did not run out within ${2 * this.sessionTimeoutMs} ms): give each broker its own --node-id`);
      if (!warned) this.broker.log.warn(`node id ${this.me} is registered by another process whose lease has not run out yet; waiting for it (up to ${2 * this.sessionTimeoutMs} ms)`);
      warned = true;
      await new Promise((r) => setTimeout(r, Math.min(500, this.heartbeatIntervalMs)));
    }
    this.live = [this.selfNode()];
    // Groups are loaded when this broker is asked as their coordinator, not at start (another
    // broker may coordinate them now).
    for (const groupId of this.broker.groups.loadedGroupIds()) this.broker.groups.unload(groupId);
    for (const groupId of new Set([...this.engine.groupMetadata().keys(), ...this.engine.listOffsetGroups()])) this.engine.releaseGroup(groupId);
    for (const id of [...this.engine.transactionStates().keys()]) this.engine.releaseTransaction(id);
    await this.look();
    this.timer = setInterval(() => void this.lookNow().catch(() => {}), this.heartbeatIntervalMs);
    this.timer.unref();
    this.broker.log.info(`joined the cluster on the shared database as broker ${this.me}: ${this.live.length} live broker(s)`);
  }

  /** Leave: stop looking and delete the registration, so the others take the partitions at their next look. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.looking?.catch(() => {});
    await this.membership.deregister(this.me, this.incarnation).catch(() => {});
  }

  /** Every listener as its clients reach it (Kafka registers each advertised listener): Metadata picks by the request's listener. */
  private endpoints(): ListenerEndpoint[] {
    return this.broker.listeners.map((l) => ({ name: l.name, host: l.advertisedHost, port: l.advertisedPort, securityProtocol: l.config.protocol }));
  }

  private registration() {
    return { nodeId: this.me, incarnation: this.incarnation, listeners: this.endpoints(), rack: null };
  }

  private selfNode(): ClusterNode {
    return { id: this.me, host: this.broker.advertisedHost, port: this.broker.advertisedPort, endpoints: this.endpoints(), rack: null, live: true };
  }

  // ---- ClusterView -------------------------------------------------------------------------------------

  get ids(): number[] {
    return this.live.map((n) => n.id);
  }

  liveNodes(): ClusterNode[] {
    return this.live;
  }

  node(id: number): ClusterNode {
    const n = this.live.find((x) => x.id === id);
    if (n === undefined) throw new RangeError(`no live broker ${id} (live: ${this.ids.join(', ')})`);
    return n;
  }

  leader(topic: Topic, partition: number): PartitionLeader {
    return this.leaders.get(topic.id)?.[partition] ?? { leaderId: -1, leaderEpoch: 0 };
  }

  coordinator(key: string): number {
    return this.live.length === 0 ? -1 : this.live[keyHash(key) % this.live.length]!.id;
  }

  reset(): void {
    this.leaders.clear();
  }

  async refreshTopics(): Promise<void> {
    await this.lookNow();
  }

  async ownGroups(groupIds: readonly string[], verify = false): Promise<void> {
    // Reads of committed offsets must not come from a group another broker took meanwhile (its
    // offsets may have moved on): the holder is checked in the database first.
    if (verify) for (const groupId of await this.engine.lostGroups(groupIds.filter((g) => this.owned.has(g)))) this.forgetGroup(groupId);
    for (const groupId of groupIds) {
      let taking = this.owned.get(groupId);
      if (taking === undefined) {
        taking = this.engine.claimGroup(groupId).then(() => this.broker.groups.reload(groupId));
        this.owned.set(groupId, taking);
        // Not taken (the database away): the next request tries again.
        taking.catch(() => this.owned.delete(groupId));
      }
      await taking;
    }
  }

  /**
   * Take the transactional ids as their coordinator: claimed in the database (epoch + 1), their state
   * reloaded. The holder of the ids held is checked in the database first (one read): a broker whose
   * view of the live brokers differed for a moment may have taken one, and the state held here is
   * then stale.
   */
  async ownTransactions(ids: readonly string[]): Promise<void> {
    for (const id of await this.engine.lostTransactions(ids.filter((i) => this.ownedTxns.has(i)))) this.forgetTransaction(id);
    for (const id of ids) {
      let taking = this.ownedTxns.get(id);
      if (taking === undefined) {
        taking = this.engine.claimTransaction(id).then(() => this.broker.transactions.adopt(id));
        this.ownedTxns.set(id, taking);
        taking.catch(() => this.ownedTxns.get(id) === taking && this.ownedTxns.delete(id));
      }
      await taking;
    }
  }

  private forgetTransaction(id: string): void {
    this.ownedTxns.delete(id);
    this.broker.transactions.forget(id);
    this.engine.releaseTransaction(id);
  }

  /** Groups and transactional ids whose coordinator is another broker now (the live set changed): forgotten here, their state stays in the database. */
  private giveUpGroups(): void {
    for (const groupId of [...this.owned.keys()]) if (this.coordinator(groupId) !== this.me) this.forgetGroup(groupId);
    for (const id of [...this.ownedTxns.keys()]) if (this.coordinator(id) !== this.me) this.forgetTransaction(id);
  }

  private forgetGroup(groupId: string): void {
    this.owned.delete(groupId);
    this.broker.groups.unload(groupId);
    this.engine.releaseGroup(groupId);
  }

  async confirmLeader(topic: string, partition: number): Promise<boolean> {
    let holds: boolean;
    try {
      holds = await this.engine.holdsInDatabase(topic, partition);
    } catch {
      return false; // the database away: a retriable answer, the partition kept
    }
    if (holds) return true;
    this.release(topic, partition);
    void this.lookNow();
    return false;
  }

  leadsLocally(topic: string, partition: number): boolean {
    return this.engine.heldEpoch(topic, partition) >= 0;
  }

  // ---- looking -----------------------------------------------------------------------------------------

  /** A look that starts now or, when one is running (it may have read before what the caller saw), right after it. */
  lookNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.looking === null) {
      this.looking = this.look()
        .catch((err) => this.trouble('look', `cluster: looking at the shared database failed: ${(err as Error).message}`))
        .finally(() => (this.looking = null));
      return this.looking;
    }
    this.following ??= this.looking.then(() => {
      this.following = null;
      return this.lookNow();
    });
    return this.following;
  }

  private trouble(kind: Trouble, message: string): void {
    if (!this.troubles.has(kind)) this.broker.log.warn(message);
    this.troubles.add(kind);
  }

  private fine(kind: Trouble): void {
    if (this.troubles.delete(kind)) this.broker.log.info(`cluster: ${kind === 'lease' ? 'lease renewed' : 'shared database reachable'} again`);
  }

  private async look(): Promise<void> {
    // 1. The lease; lost (it ran out and another process took the node id): register afresh.
    if (!(await this.membership.renew(this.me, this.incarnation, this.sessionTimeoutMs))) {
      if (!(await this.membership.register(this.registration(), this.sessionTimeoutMs))) {
        this.trouble('lease', `cluster: node id ${this.me} was taken by another process after this broker's lease ran out; this broker leads nothing until it can register again`);
        this.releaseAll();
        this.live = [];
        this.giveUpGroups();
        return;
      }
    }
    this.fine('lease');
    // 2. Topics.
    const changes = await this.engine.syncTopics();
    if (changes.created.length + changes.updated.length + changes.deleted.length > 0) {
      for (const t of changes.deleted) {
        this.broker.producers.dropTopic(t.name);
        this.leaders.delete(t.id);
        for (let p = 0; p < t.partitionCount; p++) this.broker.waiters.notify(t.name, p);
      }
      this.broker.topics.applyExternal(changes);
    }
    // 3. Who is live, who leads what.
    const [brokers, rows] = await Promise.all([this.membership.liveBrokers(), this.membership.leadership()]);
    this.fine('look');
    if (this.stopped) return;
    this.live = brokers.map((b: LiveBroker) => ({ id: b.nodeId, host: b.host, port: b.port, ...(b.listeners === null ? {} : { endpoints: b.listeners }), rack: b.rack, live: true }));
    if (!this.live.some((n) => n.id === this.me)) this.live = [...this.live, this.selfNode()].sort((a, b) => a.id - b.id);
    const liveIds = this.live.map((n) => n.id);
    this.giveUpGroups();
    // Groups another broker took (its view of the live set differed for a moment): forgotten within a heartbeat.
    for (const groupId of await this.engine.lostGroups([...this.owned.keys()])) this.forgetGroup(groupId);
    for (const id of await this.engine.lostTransactions([...this.ownedTxns.keys()])) this.forgetTransaction(id);
    // Stored transactional ids assigned here and not taken yet: taken now (Kafka's coordinator loads
    // its __transaction_state partitions when it becomes their leader), not awaited by the look. One
    // another live broker holds is taken only when its row did not change since the previous look:
    // that broker's view of the live brokers may differ from this one's for a heartbeat (it is
    // serving the id's client until it sees the change), but an id it left behind is not orphaned.
    const seen = new Map<string, number>();
    const untaken: string[] = [];
    for (const r of await this.engine.storedTransactionalIds()) {
      if (this.coordinator(r.id) !== this.me || this.ownedTxns.has(r.id)) continue;
      const heldElsewhere = r.holder !== null && r.holder !== this.me && liveIds.includes(r.holder);
      if (heldElsewhere && this.foreignTxnEpochs.get(r.id) !== r.epoch) seen.set(r.id, r.epoch!);
      else untaken.push(r.id);
    }
    this.foreignTxnEpochs = seen;
    if (untaken.length > 0) {
      void this.ownTransactions(untaken).catch((err) => this.trouble('look', `cluster: taking transactional ids failed: ${(err as Error).message}`));
    }
    // 4. Claim this broker's share.
    const claims: LeadershipClaim[] = [];
    const names = new Map<string, string>();
    for (const t of this.broker.topics.list()) names.set(t.id, t.name);
    for (const r of rows) {
      const name = names.get(r.topicId);
      if (name === undefined) continue; // a topic created after the sync: next look
      if (assignedLeader(r.topicId, r.partition, liveIds) !== this.me) continue;
      if (r.leaderNodeId === this.me && this.engine.heldEpoch(name, r.partition) === r.leaderEpoch) continue;
      claims.push({ topicId: r.topicId, partition: r.partition, seenEpoch: r.leaderEpoch });
    }
    const claimed = await this.membership.claim(this.me, claims);
    const taken = new Map(claimed.map((c) => [`${c.topicId}\u0000${c.partition}`, c]));
    // 5. Give up what others lead now; load what was taken.
    const next = new Map<string, PartitionLeader[]>();
    const adopt: PartitionLeadership[] = [];
    for (const r of rows) {
      const name = names.get(r.topicId);
      if (name === undefined) continue;
      const c = taken.get(`${r.topicId}\u0000${r.partition}`);
      const now = c ?? r;
      let list = next.get(r.topicId);
      if (!list) next.set(r.topicId, (list = []));
      const held = this.engine.heldEpoch(name, r.partition);
      if (now.leaderNodeId === this.me && held !== now.leaderEpoch) {
        // Ours in the database, not loaded yet: keep answering as before until it is.
        if (held >= 0) this.release(name, r.partition);
        adopt.push(now);
        list[r.partition] = this.leaders.get(r.topicId)?.[r.partition] ?? { leaderId: -1, leaderEpoch: now.leaderEpoch };
        continue;
      }
      if (now.leaderNodeId !== this.me && held >= 0) this.release(name, r.partition);
      list[r.partition] = { leaderId: now.leaderNodeId ?? -1, leaderEpoch: now.leaderEpoch };
    }
    this.leaders = next;
    for (const a of adopt) {
      const name = names.get(a.topicId)!;
      try {
        await this.engine.adoptPartition(name, a.partition, a.leaderEpoch);
        await this.broker.producerSnapshots.recoverOne(name, a.partition);
        const list = this.leaders.get(a.topicId);
        if (list) list[a.partition] = { leaderId: this.me, leaderEpoch: a.leaderEpoch };
        this.broker.waiters.notify(name, a.partition);
      } catch (err) {
        this.engine.releasePartition(name, a.partition);
        this.broker.log.warn(`cluster: could not take ${name}-${a.partition} at leader epoch ${a.leaderEpoch}: ${(err as Error).message}`);
      }
    }
    this.looks++;
  }

  private release(topic: string, partition: number): void {
    this.engine.releasePartition(topic, partition);
    this.broker.producers.dropPartition(topic, partition);
    // Long polls there answer now; the fetcher's next request is told NOT_LEADER_OR_FOLLOWER.
    this.broker.waiters.notify(topic, partition);
  }

  private releaseAll(): void {
    for (const t of this.broker.topics.list()) {
      for (let p = 0; p < t.partitionCount; p++) if (this.engine.heldEpoch(t.name, p) >= 0) this.release(t.name, p);
    }
    for (const list of this.leaders.values()) list.forEach((l) => l.leaderId === this.me && (l.leaderId = -1));
  }
}

/** The live broker a partition belongs to: spread by the topic id's hash, the same on every broker. */
export function assignedLeader(topicId: string, partition: number, liveIds: readonly number[]): number {
  if (liveIds.length === 0) return -1;
  return liveIds[(keyHash(topicId) + partition) % liveIds.length]!;
}
