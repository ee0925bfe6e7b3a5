/**
 * The broker: configuration, storage, topics, producer state and the listeners (plain TCP or TLS,
 * src/broker/security/). All state is
 * owned by this one object on Node's single event loop; handlers in src/broker/api/ reach it through
 * their RequestContext.
 */
import net from 'node:net';
import tls from 'node:tls';
import { BrokerSecurity, type BrokerListener } from './security/broker-security.js';
import { ClientQuotas } from './quotas/client-quotas.js';
import { randomUuid } from '../protocol/codec/uuid.js';
import type { BrokerConfig } from '../config/types.js';
import type { StorageEngine } from '../storage/engine.js';
import { Connection } from './connection.js';
import { TopicManager } from './topics.js';
import { ProducerStateManager, PRODUCER_ID_BLOCK } from './producer-state.js';
import { ProducerSnapshots, type RecoverySummary } from './producer-state-snapshots.js';
import { ConnectionLimits } from './connection-limits.js';
import { ByteBudget } from './byte-budget.js';
import { PartitionWaiters } from './waiters.js';
import { FetchSessionCache } from './fetch-sessions.js';
import type { Logger } from './logger.js';
import { NO_HOOKS, type HookStages } from '../contracts/stages.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { LogMaintenance } from './maintenance.js';
import { EngineFaults } from './engine-faults.js';
import type { TxnMarkerWriter, TxnProduceVerifier } from '../contracts/transactions.js';
import { TransactionCoordinator } from './transactions/coordinator.js';
import { PartitionTxnMarkers, lastStableOffset } from './txn-log.js';
import { FaultInjector, FaultSpecError } from './faults.js';
import type { BrokerMetrics } from './metrics/metrics.js';
import { requestObserver, type RequestObserver } from './request-observer.js';
import type { ClusterView } from './cluster.js';
import { SharedCluster } from './shared-cluster.js';
import { RoutedTxnMarkers, type PeerConnector } from './txn-markers-remote.js';
import type { PostgresEngine } from '../storage/postgres/postgres-engine.js';
import { SYSTEM_CLOCK, type Clock } from '../base/clock.js';

/** Something the broker closes last, after its storage (the HTTP endpoint: src/broker/http/). */
export interface Closeable {
  close(): Promise<void>;
}

export class Broker {
  readonly topics: TopicManager;
  readonly producers: ProducerStateManager;
  /** Producer-state snapshots: taken after appends and at shutdown, loaded at start (producer-state-snapshots.ts). */
  readonly producerSnapshots: ProducerSnapshots;
  /** What start-up's producer-state recovery found and cost (logs, bench, tests). */
  producerRecovery: RecoverySummary | null = null;
  /** Request bytes read and not yet handled, broker-wide (`queued.max.request.bytes`; byte-budget.ts). */
  readonly requestBudget: ByteBudget;
  /** Response bytes not yet written to the kernel, broker-wide (`queued.max.response.bytes`; byte-budget.ts). */
  readonly responseBudget: ByteBudget;
  /** `max.connections`, `max.connections.per.ip` and its overrides (connection-limits.ts). */
  readonly connectionLimits: ConnectionLimits;
  readonly waiters = new PartitionWaiters();
  /** Incremental fetch sessions (KIP-227), broker-wide (fetch-sessions.ts). */
  readonly fetchSessions: FetchSessionCache;
  /** Consumer groups and committed offsets (the group coordinator; src/broker/groups/). */
  readonly groups: GroupCoordinator;
  /** Transactional ids and their transactions (the transaction coordinator; src/broker/transactions/). */
  readonly transactions: TransactionCoordinator;
  /**
   * What the produce path asks before appending a transactional batch (KIP-890 part 1): the
   * transaction coordinator. Assignable so that tests can put a verifier of their own in front.
   */
  txnVerifier: TxnProduceVerifier;
  /**
   * Writes the COMMIT/ABORT markers that end a transaction in a partition (txn-log.ts), for the
   * transaction coordinator. Assignable so that tests can record or fail marker writes.
   */
  txnMarkers: TxnMarkerWriter;
  /** Brokers sharing a database: the coordinator's markers, sent to each partition's leader (txn-markers-remote.ts). */
  private routedTxnMarkers: RoutedTxnMarkers | null = null;
  /** Opens connections to other brokers (set by startBroker from its options; txn-markers-remote.ts). */
  peerConnector: PeerConnector | null = null;
  /** Retention and compaction every log.retention.check.interval.ms (maintenance.ts). */
  readonly maintenance: LogMaintenance;
  /** How engine failures are answered, and their counts (I/O faults vs internal errors; engine-faults.ts). */
  readonly engineFaults: EngineFaults;
  /** Injected faults: rules that answer requests as a cluster in trouble would (faults.ts, docs/testing.md). */
  readonly faults: FaultInjector;
  /** Hooks on the request path (src/hooks/); set before start(). NO_HOOKS: every stage costs nothing. */
  hooks: HookStages = NO_HOOKS;
  /** Prometheus metrics (src/broker/metrics/); set before start() when `http.listener` is set, else null. */
  metrics: BrokerMetrics | null = null;
  /** Watches every request (metrics, debug request log); null when nothing does (request-observer.ts). Set by start(). */
  requestObserver: RequestObserver | null = null;
  /** The HTTP endpoint, closed after storage so /health answers until the end (set by startBroker). */
  http: Closeable | null = null;
  clusterId = '';
  /** Storage opened and every piece of state recovered from it (logs, groups, producers, transactions). */
  private recovered = false;
  /**
   * Set by startCluster (rafka/testing): this broker's state served as several nodes, each on a
   * listener of its own, with partition leaders among them (cluster.ts). Null: one broker.
   */
  cluster: ClusterView | null = null;
  /** Brokers sharing a PostgreSQL database (shared-cluster.ts): this one's registration and leadership; null otherwise. */
  private shared: SharedCluster | null = null;
  /** Listeners, TLS material and SASL credentials (src/broker/security/). */
  readonly security: BrokerSecurity;
  /** Client quotas: stored by AlterClientQuotas, enforced by connections and the topic APIs (src/broker/quotas/). */
  readonly quotas: ClientQuotas;
  /** TCP servers by node id: this broker's own (one per configured listener), and in a cluster one per other live node. */
  private readonly servers = new Map<number, net.Server[]>();
  /** Sockets of TLS listeners from accept until they close (shutdown ends those still in their handshake). */
  private readonly tlsSockets = new Set<net.Socket>();
  private readonly connections = new Set<Connection>();
  private nextProducerId = 0;
  private producerIdLimit = 0;
  /** Brokers sharing a database: the block of producer ids being reserved there, if any. */
  private reservingProducerIds: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** unref() was called: the listener and every connection leave the process free to exit. */
  private unrefd = false;

  constructor(
    readonly config: BrokerConfig,
    readonly storage: StorageEngine,
    readonly log: Logger,
    /** What the broker reads as now and waits on (src/base/clock.ts): the system clock, or virtual time in tests. */
    readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.security = new BrokerSecurity(config, storage, log);
    this.quotas = new ClientQuotas(storage, config, clock);
    this.topics = new TopicManager(storage, config);
    this.producers = new ProducerStateManager(config.producerStateMaxEntries);
    this.producerSnapshots = new ProducerSnapshots(this.producers, storage, log);
    this.requestBudget = new ByteBudget('queued.max.request.bytes', config.queuedMaxRequestBytes);
    this.responseBudget = new ByteBudget('queued.max.response.bytes', config.queuedMaxResponseBytes);
    this.connectionLimits = new ConnectionLimits(config, log);
    this.fetchSessions = new FetchSessionCache(config.maxIncrementalFetchSessionCacheSlots, () => clock.now());
    this.groups = new GroupCoordinator({ config, storage, log, topics: this.topics, clock });
    this.engineFaults = new EngineFaults(log);
    this.txnMarkers = new PartitionTxnMarkers(this);
    const shared = isSharedStorage(storage) ? storage : null;
    this.transactions = new TransactionCoordinator({
      config,
      storage,
      log,
      engineFaults: this.engineFaults,
      allocateProducerId: () => this.allocateProducerId(),
      markers: () => this.routedTxnMarkers ?? this.txnMarkers,
      applyTxnOffsets: async (groupId, offsets) => {
        // Brokers sharing a database: the group is taken first (claimed at epoch + 1, reloaded), so
        // the offsets are written fenced like any group write; when another broker coordinates it,
        // that broker's next group write is refused, it forgets the group and its next request
        // reloads it, offsets included (docs/cluster.md, "Transactions").
        if (this.shared !== null) await this.shared.ownGroups([groupId], true);
        return this.groups.applyTransactionalOffsets(groupId, offsets);
      },
      clock,
      // Brokers sharing a database: the epoch of the claim on each transactional id, and the stored
      // state of ids another broker coordinates (verifying a transactional produce led here).
      ...(shared === null
        ? {}
        : {
            coordinatorEpoch: (id: string) => shared.transactionEpoch(id),
            storedState: (id: string) => shared.readTransactionState(id),
            // Transactional offsets pending in the database at the group's coordinator (docs/cluster.md).
            txnOffsets: {
              put: (id, groupId, check, offsets) => shared.putTxnOffsets(id, groupId, check, offsets),
              read: (id) => shared.txnOffsets(id),
              drop: (id) => shared.dropTxnOffsets(id),
              pending: (groupId) => shared.pendingTxnOffsets(groupId),
            },
          }),
    });
    this.txnVerifier = this.transactions;
    this.faults = new FaultInjector({
      log,
      topicName: (id) => this.topics.getById(id)?.name,
      forceRebalance: (groupId, reason) => this.groups.forceRebalance(groupId, reason),
      clock,
    });
    // Faults from rafka.yaml / --fault; a bad one stops the start with its place in the list.
    config.faults.forEach((f, i) => {
      try {
        this.faults.inject(f);
      } catch (err) {
        throw new FaultSpecError(`faults[${i}]: ${(err as Error).message}`);
      }
    });
    this.maintenance = new LogMaintenance(this.topics, storage, log, config.logRetentionCheckIntervalMs, clock, {
      lastStableOffset: (topic, partition) => lastStableOffset(this, topic, partition, storage.offsets(topic, partition)),
      abortedTransactions: (topic, partition) => this.producers.partitionAborted(topic, partition),
      logStartMoved: (topic, partition, logStartOffset) => this.txnLogStartMoved(topic, partition, logStartOffset),
      abortedTransactionsEmptied: async (topic, partition, emptied) => {
        this.producers.dropAborted(topic, partition, emptied);
        // Stored at once: a restart must not bring an entry back after its marker is gone.
        await this.producerSnapshots.rewrite(topic, partition);
      },
    });
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  /** The first listener's bound port. */
  get port(): number {
    return this.security.listeners[0]!.boundPort;
  }

  /** Host the first listener's clients are told to connect to (each connection gets its own listener's). */
  get advertisedHost(): string {
    return this.security.listeners[0]!.advertisedHost;
  }

  get advertisedPort(): number {
    return this.security.listeners[0]!.advertisedPort;
  }

  /** Every listener (name, protocol, bound and advertised address). */
  get listeners(): readonly BrokerListener[] {
    return this.security.listeners;
  }

  get isClosing(): boolean {
    return this.closing !== null;
  }

  /** Storage recovered, the Kafka listener accepting, and not shutting down: what GET /ready reports. */
  get isReady(): boolean {
    return this.recovered && this.listening && this.closing === null;
  }

  /** The parts of isReady, for GET /ready's body. */
  readiness(): { storageRecovered: boolean; listening: boolean; closing: boolean } {
    return { storageRecovered: this.recovered, listening: this.listening, closing: this.closing !== null };
  }

  /** Every listener of this broker's own node bound and accepting. */
  private get listening(): boolean {
    const own = this.servers.get(this.nodeId) ?? [];
    return own.length === this.security.listeners.length && own.every((s) => s.listening);
  }

  async start(): Promise<void> {
    const meta = await this.storage.open();
    this.clusterId = this.config.clusterId ?? meta.clusterId ?? randomUuid();
    if (meta.clusterId !== this.clusterId) {
      await this.storage.setClusterId(this.clusterId);
      // Shared with other brokers: one that started at the same moment may have set it first; its id
      // is the cluster's (the engine kept it; reopening an open engine only reads its memory).
      if (isSharedStorage(this.storage)) this.clusterId = (await this.storage.open()).clusterId ?? this.clusterId;
    }
    this.topics.load(meta.topics);
    this.topics.policy = this.hooks.topicPolicy;
    await this.groups.load();
    this.nextProducerId = meta.nextProducerId;
    this.producerIdLimit = meta.nextProducerId;
    // Idempotent producers' state from each partition's newest snapshot and the batches after it, so
    // that a batch retried across the restart is answered as a duplicate (producer-state-snapshots.ts).
    this.producerRecovery = await this.producerSnapshots.recover(this.topics.list());
    // After the logs: loading completes transactions a crash left in PrepareCommit/PrepareAbort.
    // Shared with other brokers: transactional ids are loaded as this broker takes them (shared-cluster.ts).
    await this.transactions.load({ shared: isSharedStorage(this.storage) });
    this.recovered = true;
    this.metrics?.attach(this);
    this.requestObserver = requestObserver(this.metrics, this.log);
    // TLS material loads (or the start fails) and configured users exist before anyone can connect.
    await this.security.start();
    this.quotas.load();
    const own: net.Server[] = [];
    this.servers.set(this.nodeId, own);
    for (const listener of this.security.listeners) own.push(await this.listenOn(listener, this.nodeId, listener.config.port));
    // A storage shared with other brokers: register with the advertised address (known once
    // listening), take this broker's share of the partitions, then serve as one of them.
    if (isSharedStorage(this.storage)) {
      const shared = new SharedCluster(this, this.storage, this.config.brokerSessionTimeoutMs, this.config.brokerHeartbeatIntervalMs);
      this.cluster = shared;
      this.shared = shared;
      this.maintenance.leads = (topic, partition) => shared.leadsLocally(topic, partition);
      this.routedTxnMarkers = new RoutedTxnMarkers(this, { writeTxnMarker: (...a) => this.txnMarkers.writeTxnMarker(...a) }, () => void shared.lookNow(), this.peerConnector);
      await shared.start();
    }
    this.maintenance.start();
  }

  /**
   * Listen for cluster node `nodeId` on `port` (0: any free one) of the first listener's host; the
   * bound port. Connections accepted there serve requests as that node (cluster.ts). Test clusters
   * speak PLAINTEXT only.
   */
  async listen(nodeId: number, port: number): Promise<number> {
    if (this.servers.has(nodeId)) throw new Error(`node ${nodeId} is listening already`);
    const listener = this.security.listeners[0]!;
    if (listener.config.protocol !== 'PLAINTEXT') throw new Error('a cluster of nodes in one process needs a PLAINTEXT first listener');
    const server = await this.listenOn(listener, nodeId, port);
    this.servers.set(nodeId, [server]);
    return (server.address() as net.AddressInfo).port;
  }

  /** Stop listening for node `nodeId` and close its connections (a cluster's node stopping). */
  async unlisten(nodeId: number): Promise<void> {
    const servers = this.servers.get(nodeId);
    if (servers === undefined) return;
    this.servers.delete(nodeId);
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const c of [...this.connections]) if (c.nodeId === nodeId) c.close(`broker ${nodeId} stopped`);
    await closed;
  }

  private async listenOn(listener: BrokerListener, nodeId: number, port: number): Promise<net.Server> {
    // Connection limits are counted in accept() (not net.Server.maxConnections) so that the per-IP
    // limit applies too and refusals are counted. TLS listeners are TCP servers too: limits apply
    // before a TLS handshake costs anything.
    const secure = listener.tls ? this.tlsServer(listener, nodeId) : null;
    const server = net.createServer((socket) => this.accept(socket, listener, nodeId, secure));
    const { host } = listener.config;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(host === '' ? { port } : { host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error(`listener ${listener.name}: ${err.message}`));
    if (this.unrefd) server.unref();
    if (nodeId !== this.nodeId) return server;
    listener.boundPort = (server.address() as net.AddressInfo).port;
    if (this.security.listeners.length > 1 || listener.config.protocol !== 'PLAINTEXT') {
      this.log.info(`listener ${listener.name} (${listener.config.protocol}) on ${host || '*'}:${listener.boundPort}`);
    }
    return server;
  }

  private accept(socket: net.Socket, listener: BrokerListener, nodeId: number, secure: tls.Server | null, admitted = false): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (!admitted && !this.connectionLimits.admit(socket)) return;
    if (!admitted && this.hooks.onConnection !== null) return this.hooks.onConnection(socket, () => this.accept(socket, listener, nodeId, secure, true));
    if (this.unrefd) socket.unref();
    // TLS: the connection starts once the handshake is done (tlsServer).
    if (secure !== null) {
      this.tlsSockets.add(socket);
      socket.once('close', () => this.tlsSockets.delete(socket));
      secure.emit('connection', socket);
    }
    else this.connections.add(new Connection(socket, this, listener, nodeId));
  }

  /**
   * The TLS side of a TLS listener: a tls.Server that listens on nothing and is handed each socket
   * the TCP server accepted (and the limits admitted). A reload of the material applies to the next
   * handshake. A failed handshake (an untrusted or missing required client certificate, a plain-text
   * client) destroys the socket, and is logged as Kafka logs a failed SSL authentication.
   */
  private tlsServer(listener: BrokerListener, nodeId: number): tls.Server {
    const material = this.security.tls!;
    const server = tls.createServer(
      { ...material.options, requestCert: material.requestCert, rejectUnauthorized: material.rejectUnauthorized },
      (secure) => {
        if (this.closing) secure.destroy();
        else this.connections.add(new Connection(secure, this, listener, nodeId));
      },
    );
    server.on('tlsClientError', (err, secure) => {
      this.log.info(`Failed authentication with ${secure.remoteAddress ?? 'unknown'}:${secure.remotePort ?? 0} (SSL handshake failed: ${err.message})`);
      secure.destroy();
    });
    material.onReload((options) => server.setSecureContext(options));
    return server;
  }

  /**
   * Let the process exit while the broker runs (rafka/testing's node:test setup: a test process ends
   * when its tests are done). Its timers are unref'd already; this does the listener and connections.
   */
  unref(): void {
    this.unrefd = true;
    for (const servers of this.servers.values()) for (const server of servers) server.unref();
    for (const c of this.connections) c.unref();
  }

  connectionClosed(c: Connection): void {
    this.connections.delete(c);
    if (this.faults.active) this.faults.connectionClosed(c);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Per-connection queue figures (tests, diagnostics). */
  connectionStats(): ReturnType<Connection['stats']>[] {
    return [...this.connections].map((c) => c.stats());
  }

  /**
   * The log start moved (DeleteRecords, retention): aborted transactions wholly below it can never be
   * fetched again and are dropped, and read_committed long polls re-check — an open transaction that
   * began below the new log start now holds the LSO at the log start, so it may have moved.
   */
  txnLogStartMoved(topic: string, partition: number, logStartOffset: number): void {
    this.producers.truncateAbortedBelow(topic, partition, logStartOffset);
    this.waiters.notify(topic, partition);
  }

  /**
   * A producer id never handed out before, also across restarts on durable storage, and by any
   * other broker sharing the database (a block reserved there: two brokers handing out the same id
   * would make one producer's batches duplicates of another's at a partition).
   */
  async allocateProducerId(): Promise<number> {
    while (this.nextProducerId >= this.producerIdLimit) {
      if (isSharedStorage(this.storage)) {
        // One reservation at a time: callers arriving meanwhile take ids from the block it brings.
        this.reservingProducerIds ??= this.storage.reserveProducerIds(PRODUCER_ID_BLOCK).then(
          (first) => {
            this.nextProducerId = first;
            this.producerIdLimit = first + PRODUCER_ID_BLOCK;
          },
        ).finally(() => (this.reservingProducerIds = null));
        await this.reservingProducerIds;
        continue;
      }
      this.producerIdLimit = this.nextProducerId + PRODUCER_ID_BLOCK;
      await this.storage.setNextProducerId(this.producerIdLimit);
    }
    return this.nextProducerId++;
  }

  /**
   * Back to an empty broker, for the next test (rafka/testing, docs/testing.md): every topic with its
   * data, every group and committed offset, every transactional id, all producer state and every
   * fetch session are dropped, and fault rules and their history cleared. Topics go without asking
   * onTopicDelete hooks (a reset is not a client's deletion). Connections stay open; a client kept
   * across a reset finds its topics gone (UNKNOWN_TOPIC_OR_PARTITION, or auto-created afresh), its
   * groups empty and its fetch session unknown (it falls back to a full fetch).
   * Producer ids are never handed out twice, across resets too.
   */
  async reset(): Promise<void> {
    if (this.closing) return;
    this.faults.reset();
    await this.transactions.reset();
    await this.groups.reset();
    const dropped = await this.topics.deleteAll();
    this.producers.reset();
    // Sessions name partitions that are gone: their next incremental fetch is FETCH_SESSION_ID_NOT_FOUND.
    this.fetchSessions.removeAll();
    this.cluster?.reset();
    for (const t of dropped) for (let p = 0; p < t.partitionCount; p++) this.waiters.notify(t.name, p);
  }

  /**
   * Graceful shutdown: stop accepting, answer every request already read (long polls answer at once),
   * close connections, then close storage.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    try {
      await this.closeAll();
    } finally {
      await this.http?.close(); // last: /health answers, and /ready says 503, while the broker drains
    }
  }

  private async closeAll(): Promise<void> {
    const serverClosed = Promise.all([...this.servers.values()].flat().map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.servers.clear();
    this.security.close();
    this.waiters.wakeAll();
    this.faults.wakeAll(); // injected delays and throttles end now, so connections can drain
    this.responseBudget.open(); // Fetches waiting for room answer now, so connections can drain
    this.groups.shutdown(); // parked JoinGroup/SyncGroup answer now, so connections can drain
    await Promise.all([...this.connections].map((c) => c.drainAndEnd()));
    for (const c of [...this.connections]) c.close('broker shutting down');
    for (const s of [...this.tlsSockets]) s.destroy(); // still in their TLS handshake

    await serverClosed;
    await this.maintenance.stop();
    this.routedTxnMarkers?.close(); // markers in flight to other brokers fail; their Prepare* state is completed by the next coordinator
    await this.transactions.close(); // transaction state writes and markers in flight reach storage first
    await this.groups.close(); // queued group and offset writes reach storage first
    await this.hooks.close(); // hooks flush what they write (audit log) after the last request
    // After the last append: a snapshot at every high watermark, so the next start replays nothing.
    await this.producerSnapshots.snapshotAll(this.topics.list());
    await this.shared?.stop(); // leave the cluster: the others take the partitions at once
    await this.storage.close();
  }
}

/** A postgres engine run in `assigned` leadership: brokers share its database (shared-cluster.ts). */
function isSharedStorage(storage: StorageEngine): storage is PostgresEngine {
  return storage.kind === 'postgres' && (storage as PostgresEngine).leadership === 'assigned';
}
