/**
 * Transaction markers when brokers share a PostgreSQL database (docs/cluster.md): the coordinator's
 * TxnMarkerWriter. A partition this broker leads gets its marker from the local writer (txn-log.ts);
 * one led by another broker gets it from that broker, asked with WriteTxnMarkers (api 27) as Kafka's
 * coordinator asks each partition leader. A refusal (NOT_LEADER_OR_FOLLOWER: leadership moved; a
 * connection that failed) is returned to the coordinator, which retries after its backoff; a
 * NOT_LEADER_OR_FOLLOWER also makes this broker look at the cluster at once, so the retry goes to
 * the new leader.
 *
 * Inter-broker connections go to the leader's endpoint on `inter.broker.listener.name` (default the
 * first listener; every broker registers all of its listeners), with TLS and this broker's own
 * SASL login as that listener needs (inter-broker.ts): one connection per broker, kept and reused,
 * replaced when it fails or the broker's address changes. A connection that cannot be made (the
 * leader away, a refused login or certificate) fails this attempt: logged, never with a secret, and
 * the coordinator retries after its backoff, as Kafka's marker channel reconnects after its own.
 *
 * The connections themselves are the client's (src/client/connection.ts), handed to the broker as a
 * PeerConnector by the layers above it (the package root's `startBroker`, `rafka start`, the test
 * kit): the broker layer does not import the client layer (CONTRIBUTING.md, "Layers"). A broker
 * started without one refuses markers for partitions led elsewhere (logged once).
 *
 * Callers: the transaction coordinator, on the broker's event loop.
 */
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../protocol/messages/index.js';
import type { TxnMarkerWriter } from '../contracts/transactions.js';
import type { Broker } from './broker.js';
import { nodeEndpoint, type ClusterNode } from './cluster.js';
import { InterBrokerClient, type PeerSecurity } from './inter-broker.js';

/** A marker request is a few dozen bytes and one append at the leader: a leader silent this long is treated as gone. */
export const INTER_BROKER_REQUEST_TIMEOUT_MS = 10_000;
const INTER_BROKER_CONNECT_TIMEOUT_MS = 5_000;

/** What the markers need of an outgoing Kafka connection (the client's Connection has this shape). */
export interface PeerConnection {
  request<Req, Res>(apiKey: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: Init<Req>, opts?: { timeoutMs?: number }): Promise<Res>;
  onClose(listener: () => void): void;
  close(): void;
}

/** Opens a connection to another broker (src/index.ts and the CLI hand the broker `Connection.connect`). */
export type PeerConnector = (options: { host: string; port: number; clientId: string; connectTimeoutMs: number; requestTimeoutMs: number; security: PeerSecurity }) => Promise<PeerConnection>;

type Marker = { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean };

export class RoutedTxnMarkers implements TxnMarkerWriter {
  private readonly connections = new Map<number, { address: string; connection: Promise<PeerConnection> }>();
  private closed = false;
  private refusedListenerLogged = false;
  /** Which listener of the other brokers, and how to log in there. */
  private readonly client: InterBrokerClient;

  constructor(
    private readonly broker: Broker,
    private readonly local: TxnMarkerWriter,
    /** Look at the cluster now (the leader named may be stale). */
    private readonly lookNow: () => void,
    /** Connections to the other brokers; null: none given to startBroker, markers elsewhere refused. */
    private readonly connect: PeerConnector | null,
  ) {
    this.client = new InterBrokerClient(broker.security);
  }

  async writeTxnMarker(topic: string, partition: number, m: Marker): Promise<number> {
    const broker = this.broker;
    const t = broker.topics.get(topic);
    const cluster = broker.cluster;
    if (t === undefined || cluster === null) return this.local.writeTxnMarker(topic, partition, m);
    const leaderId = cluster.leader(t, partition).leaderId;
    if (leaderId === broker.nodeId) return this.local.writeTxnMarker(topic, partition, m);
    const node = cluster.liveNodes().find((n) => n.id === leaderId);
    if (node === undefined) {
      this.lookNow();
      return ErrorCode.NOT_LEADER_OR_FOLLOWER; // no leader known now: the coordinator retries
    }
    const code = await this.send(node, topic, partition, m);
    if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) this.lookNow();
    // A topic the leader does not know yet may be one this broker has just learnt of: retried, not dropped.
    if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && broker.topics.hasPartition(topic, partition)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return code;
  }

  private async send(node: ClusterNode, topic: string, partition: number, m: Marker): Promise<number> {
    if (this.connect === null) {
      if (!this.refusedListenerLogged) this.broker.log.error('transaction markers to other brokers need a peer connector (start the broker with the package root\'s startBroker or `rafka start`); markers for partitions led elsewhere are not written');
      this.refusedListenerLogged = true;
      return ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    }
    let conn: PeerConnection;
    try {
      conn = await this.connection(node);
    } catch (err) {
      // The client's errors name the refusal (SASL_AUTHENTICATION_FAILED, a certificate not
      // trusted), never the password or key.
      this.broker.log.warn(`transaction marker for ${topic}-${partition}: cannot connect to broker ${node.id} on listener ${this.client.listener.name}: ${(err as Error).message}`);
      return ErrorCode.NETWORK_EXCEPTION;
    }
    try {
      const res = await conn.request(
        ApiKey.WriteTxnMarkers,
        WriteTxnMarkersRequest,
        WriteTxnMarkersResponse,
        {
          markers: [{ producerId: BigInt(m.producerId), producerEpoch: m.producerEpoch, transactionResult: m.commit, coordinatorEpoch: m.coordinatorEpoch, topics: [{ name: topic, partitionIndexes: [partition] }] }],
        },
        { timeoutMs: INTER_BROKER_REQUEST_TIMEOUT_MS },
      );
      const code = res.markers[0]?.topics[0]?.partitions.find((p) => p.partitionIndex === partition)?.errorCode;
      if (code === undefined) throw new Error(`broker ${node.id} answered WriteTxnMarkers without ${topic}-${partition}`);
      return code;
    } catch (err) {
      this.broker.log.warn(`transaction marker for ${topic}-${partition} at broker ${node.id}: ${(err as Error).message}`);
      this.drop(node.id, conn);
      return ErrorCode.NETWORK_EXCEPTION;
    }
  }

  private connection(node: ClusterNode): Promise<PeerConnection> {
    if (this.closed) return Promise.reject(new Error('the broker is shutting down'));
    const endpoint = nodeEndpoint(node, this.client.listener);
    // Kafka's marker channel waits for a broker without the inter-broker listener the same way.
    if (endpoint === null) return Promise.reject(new Error(`broker ${node.id} has no listener ${this.client.listener.name}`));
    const { host, port } = endpoint;
    const address = `${host}:${port}`;
    const held = this.connections.get(node.id);
    if (held !== undefined && held.address === address) return held.connection;
    if (held !== undefined) void held.connection.then((c) => c.close(), () => {});
    const connect = this.connect;
    if (connect === null) return Promise.reject(new Error('no peer connector'));
    const connection = connect({
      host,
      port,
      security: this.client.peerSecurity(),
      clientId: `rafka-broker-${this.broker.nodeId}`,
      connectTimeoutMs: INTER_BROKER_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: INTER_BROKER_REQUEST_TIMEOUT_MS,
    });
    const entry = { address, connection };
    this.connections.set(node.id, entry);
    connection.then(
      (c) => c.onClose(() => this.connections.get(node.id) === entry && this.connections.delete(node.id)),
      () => this.connections.get(node.id) === entry && this.connections.delete(node.id),
    );
    return connection;
  }

  private drop(nodeId: number, conn: PeerConnection): void {
    conn.close();
    const held = this.connections.get(nodeId);
    if (held !== undefined) void held.connection.then((c) => c === conn && this.connections.get(nodeId) === held && this.connections.delete(nodeId), () => {});
  }

  /** Close every inter-broker connection (requests in flight fail; the coordinator stops retrying as it closes). */
  close(): void {
    this.closed = true;
    for (const { connection } of this.connections.values()) void connection.then((c) => c.close(), () => {});
    this.connections.clear();
  }
}
