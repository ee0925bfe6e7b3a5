/**
 * One client connection: frame reassembly, the in-flight queue, strictly ordered answers and
 * backpressure.
 *
 * - Frames are `int32 size` + body. The size is checked against `socket.request.max.bytes` before
 *   any buffer for the body exists; a bad size closes the connection (Kafka's InvalidReceiveException).
 * - Requests are read ahead (pipelining) up to `maxInFlightRequestsPerConnection`; at that limit the
 *   socket stops being read. Bytes read and not yet handled are counted broker-wide
 *   (`queued.max.request.bytes`, byte-budget.ts); at that cap a connection that already has a
 *   request waiting stops reading too. Requests are handled one at a time in arrival order, as Kafka
 *   does (it mutes a channel while one of its requests is in progress), so responses go out strictly
 *   in order and side effects happen in order. One exception, for durability's sake: a Produce
 *   request lets the next Produce of the connection start once its own appends have their offsets
 *   (`RequestContext.sequenced`), instead of after its fsync. Appends still happen in request order
 *   and answers still go out in request order, each as soon as it and every earlier one is ready;
 *   but the requests a producer keeps in flight share one fsync instead of taking one each (the
 *   Produce requests of one read all reach the engine before its writer takes a group, so the first
 *   does not go alone). Any other request waits until every earlier one is answered (and hooks or
 *   injected faults turn this off: they may depend on one request at a time).
 * - When the kernel send buffer is full (`write` returns false) reading pauses until `drain`, and
 *   the next request is not handled before it either (Kafka mutes a channel until its response is
 *   sent): a consumer that stops reading holds at most one unwritten response, and the broker stops
 *   reading its requests instead of buffering without bound. Unwritten response bytes are counted
 *   broker-wide (`queued.max.response.bytes`, byte-budget.ts); at that cap a Fetch waits for room
 *   before it is handled. A connection that has not read its response for `connections.max.idle.ms`
 *   is closed like an idle one.
 * - A request may decode into at most requestElementBudget(its size) array elements (src/base/limits.ts),
 *   checked on each array count before the array exists; past it the connection is closed as for a
 *   corrupt request, with one log line naming the client. While a request is held, its decoded
 *   elements count in `queued.max.request.bytes` too (DECODED_ELEMENT_BYTES each).
 * - A response is encoded up to RESPONSE_MAX_BYTES (Fetch: bounded by fetch.max.bytes instead); one
 *   that would be larger is dropped half-built and the connection closed, with one log line.
 * - Client quotas (src/broker/quotas/): each request's time, a Produce's bytes and a Fetch's response
 *   bytes count against the client's quotas; over one, the response carries `throttle_time_ms` and
 *   the connection is muted for that long after answering — nothing is read or handled (KIP-219;
 *   Kafka mutes the channel). A version whose clients do not throttle themselves gets its answer
 *   held back for the throttle time instead. A throttled Fetch answers empty, as Kafka's does.
 */
import type { Socket } from 'node:net';
import type { ClockTimer } from '../base/clock.js';
import { ConnectionSecurity } from './security/session.js';
import type { BrokerListener } from './security/broker-security.js';
import { Reader } from '../protocol/codec/reader.js';
import { Writer } from '../protocol/codec/writer.js';
import { DecodeError, DecodeLimitError, EncodeLimitError } from '../protocol/codec/errors.js';
import { DECODED_ELEMENT_BYTES, RESPONSE_MAX_BYTES, requestElementBudget } from '../base/limits.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ApiKey, RequestHeader, ResponseHeader, requestHeaderVersion, responseHeaderVersion } from '../protocol/messages/index.js';
import { ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import type { Broker } from './broker.js';
import { coordinatorKeys, type CoordinatorKeys } from './coordinator-check.js';
import type { ConnectionInfo, RequestContext, RequestQuota, ServedApi } from './handler.js';
import { HANDLERS, supportedApiVersions } from './api/index.js';

/** How long a connection closed after its response (failed login) may take to write that response. */
const END_AFTER_RESPONSE_GRACE_MS = 5000;

/** A request read from the socket, from when it is handled until it is answered. */
interface InFlightRequest {
  readonly frame: Buffer;
  /** What it decoded into, counted in queued.max.request.bytes until it is answered. */
  decodedBytes: number;
  /** A client quota throttle its answer calls for (KIP-219), and whether its client throttles itself. */
  throttle: { ms: number; clientSide: boolean } | null;
}

export interface ConnectionStats {
  remote: string;
  /** Requests read and not yet answered. */
  inFlight: number;
  /** Bytes read and not yet parsed into requests. */
  bufferedBytes: number;
  readingPaused: boolean;
  /** Response bytes handed to the socket and not yet written to the kernel. */
  queuedResponseBytes: number;
  /** Request bytes read and not yet handled (counted in queued.max.request.bytes). */
  queuedRequestBytes: number;
  /** The last response did not fit in the socket buffer: no further request is handled until it drains. */
  waitingDrain: boolean;
  /** The listener the connection came in on. */
  listener: string;
  /** Kafka principal name (ANONYMOUS until authenticated; the mapped certificate subject on SSL). */
  principal: string;
}

export class Connection implements ConnectionInfo {
  readonly remote: string;
  readonly remoteAddress: string;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly queue: Buffer[] = [];
  /** The pump runs (it handles the queue, one request or one Produce sequencing at a time). */
  private busy = false;
  /** Requests taken from the queue and not yet answered (more than one only for pipelined Produce). */
  private handling = 0;
  /** Resolves once every request taken from the queue so far is answered: answers go out in this chain's order. */
  private answered: Promise<void> = Promise.resolve();
  private closed = false;
  private readPaused = false;
  private waitingDrain = false;
  /** The socket is corked until the next tick (see send). */
  private corked = false;
  /** Resolves when the queue is empty and nothing is being handled (graceful shutdown waits on it). */
  private idleResolvers: (() => void)[] = [];
  /** Response bytes handed to the socket and not yet written to the kernel (also in broker.responseBudget). */
  private queuedBytes = 0;
  /** Request bytes read and not yet handled (also in broker.requestBudget). */
  private requestBytes = 0;
  /** Reading paused until the broker-wide request budget has room. */
  private readWait: { cancel(): void } | null = null;
  /** The pump, waiting for `drain` or for broker-wide response room before the next request. */
  private resumePump: (() => void) | null = null;
  private roomWait: { cancel(): void } | null = null;
  /** Graceful shutdown: answer what was read without waiting for drain or room. */
  private shuttingDown = false;
  /** The listener, principal and SASL state of this connection (security/session.ts). */
  readonly security: ConnectionSecurity;
  /** A client quota throttle (KIP-219): nothing is read or handled until it ends. */
  private muted = false;
  private muteTimer: ClockTimer | null = null;
  /** Settles when the current mute ends (or the connection closes or shuts down). */
  private unmuted: Promise<void> = Promise.resolve();
  private endMute: (() => void) | null = null;

  /** `socket` is the TLS socket on SSL and SASL_SSL listeners (its handshake may still be under way). */
  constructor(
    private readonly socket: Socket,
    private readonly broker: Broker,
    listener: BrokerListener,
    /** The node this connection came to: the broker's own, or one of a cluster's (cluster.ts). */
    readonly nodeId: number = broker.nodeId,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remote = `${this.remoteAddress}:${socket.remotePort ?? 0}`;
    this.security = new ConnectionSecurity(listener, broker.security, socket, broker.log, this.remote);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.updateReading();
      this.wakePump();
    });
    socket.on('error', (err) => this.broker.log.debug(`connection ${this.remote}: ${err.message}`));
    socket.on('close', () => this.onClosed());
    const idleMs = broker.config.connectionsMaxIdleMs;
    if (idleMs > 0) {
      socket.setTimeout(idleMs, () => {
        // No bytes in either direction for idleMs: idle, or a client that stopped reading its responses.
        if (this.waitingDrain) this.close(`response unread for more than connections.max.idle.ms=${idleMs}`);
        else if (this.idle) this.close(`idle for more than connections.max.idle.ms=${idleMs}`);
      });
    }
  }

  get inFlight(): number {
    return this.queue.length + this.handling;
  }

  /** Nothing read is waiting or being handled. */
  private get idle(): boolean {
    return !this.busy && this.handling === 0 && this.queue.length === 0;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.broker.log.debug(`closing connection ${this.remote}: ${reason}`);
    this.socket.destroy();
    this.onClosed();
  }

  /** Let the process exit while this connection is open (Broker.unref). */
  unref(): void {
    this.socket.unref();
  }

  /**
   * Close once what was sent is written (a failed login: the client reads its error first, as from
   * Kafka). Nothing more is read or handled.
   */
  private endAfterResponse(reason: string): void {
    this.broker.log.debug(`closing connection ${this.remote} after the response: ${reason}`);
    this.closed = true;
    this.queue.length = 0;
    this.socket.pause();
    this.socket.end(() => this.socket.destroy());
    // A client that does not read its answer does not keep the socket: it goes after a grace period.
    setTimeout(() => this.socket.destroy(), END_AFTER_RESPONSE_GRACE_MS).unref();
  }

  /** Stop reading new requests; resolve once the ones already read are answered (graceful shutdown). */
  drainAndEnd(): Promise<void> {
    this.readPaused = true;
    this.shuttingDown = true;
    // Answer what was read at once: a throttle's mute ends here.
    if (this.muteTimer !== null) this.broker.clock.clearTimeout(this.muteTimer);
    this.muteTimer = null;
    this.unmute();
    this.socket.pause();
    this.wakePump();
    return new Promise((resolve) => {
      const finish = () => {
        this.socket.end();
        resolve();
      };
      if (this.closed || this.idle) finish();
      else this.idleResolvers.push(finish);
    });
  }

  private onClosed(): void {
    this.closed = true;
    this.queue.length = 0;
    this.chunks.length = 0;
    this.buffered = 0;
    // Whatever the socket still held is dropped with it; later write callbacks see `closed`.
    this.broker.responseBudget.release(this.queuedBytes);
    this.queuedBytes = 0;
    this.broker.requestBudget.release(this.requestBytes);
    this.requestBytes = 0;
    this.readWait?.cancel();
    this.readWait = null;
    if (this.muteTimer !== null) this.broker.clock.clearTimeout(this.muteTimer);
    this.muteTimer = null;
    this.unmute();
    this.wakePump();
    this.broker.connectionClosed(this);
    this.resolveIdle();
  }

  private resolveIdle(): void {
    const resolvers = this.idleResolvers;
    this.idleResolvers = [];
    for (const r of resolvers) r();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.requestBytes += chunk.length;
    this.broker.requestBudget.add(chunk.length);
    this.parseFrames();
  }

  /**
   * Move complete frames from the byte buffer to the request queue, up to the in-flight limit; bytes
   * beyond it stay buffered (bounded: the socket is paused) until a request is answered.
   */
  private parseFrames(): void {
    const limit = this.broker.config.maxInFlightRequestsPerConnection;
    while (!this.closed && this.buffered >= 4 && this.inFlight < limit) {
      const size = this.peekSize();
      // Before SASL authentication completes, frames are limited to sasl.server.max.receive.size.
      const maxBytes = this.security.maxFrameBytes(this.broker.config.socketRequestMaxBytes);
      // An empty frame holds no request header (Kafka closes such a connection too); taking zero
      // bytes from an empty buffer would also throw out of the data handler.
      if (size < 1 || size > maxBytes) {
        this.broker.log.warn(
          `connection ${this.remote}: request size ${size} is outside 1..${maxBytes === this.broker.config.socketRequestMaxBytes ? 'socket.request.max.bytes' : 'sasl.server.max.receive.size'}=${maxBytes}; closing`,
        );
        this.close('invalid request size');
        return;
      }
      if (this.buffered < 4 + size) break;
      this.take(4);
      this.queue.push(this.take(size));
    }
    this.updateReading();
    void this.pump();
  }

  /** For tests and diagnostics: what this connection holds right now. */
  stats(): ConnectionStats {
    return {
      remote: this.remote,
      inFlight: this.inFlight,
      bufferedBytes: this.buffered,
      readingPaused: this.socket.isPaused(),
      queuedResponseBytes: this.queuedBytes,
      queuedRequestBytes: this.requestBytes,
      waitingDrain: this.waitingDrain,
      listener: this.security.listener.name,
      principal: this.security.principal,
    };
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 4 + first.length)).subarray(0, 4);
    return head.readInt32BE(0);
  }

  /** Remove n bytes from the front of the chunk list; a view when they lie in one chunk. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const use = Math.min(c.length, n - at);
      c.copy(out, at, 0, use);
      at += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    return out;
  }

  private updateReading(): void {
    if (this.closed || this.readPaused) return;
    // With a request already waiting (or, pipelining, a second one being handled), the broker-wide
    // request budget must have room for more reading; without one, the next frame may always come in
    // (progress for every connection).
    const noRoom = (this.queue.length > 0 || this.handling > 1) && this.broker.requestBudget.full;
    if (noRoom && this.readWait === null) {
      this.readWait = this.broker.requestBudget.waitForRoom(() => {
        this.readWait = null;
        this.updateReading();
      });
    }
    const shouldPause = noRoom || this.waitingDrain || this.muted || this.inFlight >= this.broker.config.maxInFlightRequestsPerConnection;
    if (shouldPause && !this.socket.isPaused()) this.socket.pause();
    else if (!shouldPause && this.socket.isPaused()) this.socket.resume();
  }

  /**
   * Handles queued requests in arrival order; never rejects (a failure closes this connection only).
   * A request is started once every earlier one is answered, except a pipelined Produce, started
   * once the request before it has sequenced its appends (see the header).
   */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        if (this.mustWait()) {
          await new Promise<void>((resolve) => this.waitUntilReady(resolve));
          continue;
        }
        const pipelined = this.pipelines(this.queue[0]!);
        // Anything else waits for the answers before it (and re-checks: one may have closed us).
        if (!pipelined && this.handling > 0) {
          await this.answered;
          continue;
        }
        const frame = this.queue.shift()!;
        let sequenced!: () => void;
        let sequencedAtOnce = false;
        const ordered = pipelined ? new Promise<void>((resolve) => (sequenced = resolve)) : null;
        const request: InFlightRequest = { frame, decodedBytes: 0, throttle: null };
        this.handling++;
        // A handler that throws is a bug: the connection closes at once (earlier answers not yet sent are lost with it).
        const done = this.handleFrame(request, ordered === null ? undefined : () => ((sequencedAtOnce = true), sequenced())).catch((err: unknown) => (this.failed(err), null));
        this.answered = this.answered
          .then(() => done)
          .then((response) => this.answer(request, response))
          .catch((err: unknown) => this.failed(err));
        // A Produce whose appends got their offsets before handleFrame returned (no await on the way:
        // the usual case) lets the next Produce already read start in the same synchronous run, so
        // the log engine's writer — started a microtask after the first append — takes the
        // requests of one read as one write group and one fsync instead of the first alone.
        if (sequencedAtOnce) {
          if (this.security.closeAfterResponse !== null) break;
          this.parseFrames();
          continue;
        }
        // A Produce goes on once its appends have their offsets (or it is answered: an error, acks=0).
        await (ordered === null ? this.answered : Promise.race([ordered, done]));
        if (this.security.closeAfterResponse !== null) break;
        this.parseFrames();
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.busy = false;
      if (this.idle) this.resolveIdle();
      this.updateReading();
    }
  }

  /** Whether `frame` may start before the requests ahead of it are answered: Produce, when nothing wraps handlers. */
  private pipelines(frame: Buffer): boolean {
    return (
      frame.length >= 2 &&
      frame.readInt16BE(0) === ApiKey.Produce &&
      !this.security.expectsBareToken &&
      this.broker.hooks.handle === null &&
      !this.broker.faults.active
    );
  }

  /** Send one answer (in request order: called through `answered`) and release what its request held. */
  private async answer(request: InFlightRequest, response: Buffer[] | null): Promise<void> {
    const throttle = request.throttle;
    if (throttle !== null && !this.closed) {
      this.mute(throttle.ms);
      // A client that does not throttle itself gets its answer at the end of the throttle.
      if (!throttle.clientSide) await this.unmuted;
    }
    this.handling--;
    if (response && !this.closed) this.send(response);
    if (!this.closed) {
      const held = request.frame.length + 4 + request.decodedBytes; // + its size prefix, + what it decoded into
      this.requestBytes -= held;
      this.broker.requestBudget.release(held);
    }
    if (this.security.closeAfterResponse !== null && !this.closed) {
      this.endAfterResponse(this.security.closeAfterResponse);
      return;
    }
    this.parseFrames();
    if (this.idle) this.resolveIdle();
  }

  private failed(err: unknown): void {
    this.broker.log.error(`connection ${this.remote}: ${(err as Error).stack ?? String(err)}`);
    this.close('internal error');
  }

  /**
   * Whether the next request must wait: this connection's last response is not yet written (the
   * client is not reading), or it is a Fetch and the broker's unwritten responses are at
   * `queued.max.response.bytes`.
   */
  private mustWait(): boolean {
    if (this.shuttingDown) return false;
    if (this.waitingDrain || this.muted) return true;
    const next = this.queue[0]!;
    return next.length >= 2 && next.readInt16BE(0) === ApiKey.Fetch && this.broker.responseBudget.full;
  }

  /** Call `resume` once the reason of mustWait() is gone, or the connection closes or shuts down. */
  private waitUntilReady(resume: () => void): void {
    this.resumePump = resume;
    if (this.muted) return; // the end of the mute wakes the pump
    if (!this.waitingDrain) {
      this.roomWait = this.broker.responseBudget.waitForRoom(() => {
        this.roomWait = null;
        this.wakePump();
      });
    }
  }

  /** Stop reading and handling for `ms` (a quota throttle, KIP-219). */
  private mute(ms: number): void {
    if (this.shuttingDown) return;
    this.muted = true;
    if (this.endMute === null) this.unmuted = new Promise<void>((resolve) => (this.endMute = resolve));
    // On the broker's clock, as every throttle (virtual time in tests: src/base/clock.ts).
    if (this.muteTimer !== null) this.broker.clock.clearTimeout(this.muteTimer);
    this.muteTimer = this.broker.clock.setTimeout(() => {
      this.muteTimer = null;
      this.unmute();
      this.updateReading();
      this.wakePump();
    }, ms);
    this.updateReading();
  }

  /** The mute is over (its time is up, or the connection closes or shuts down). */
  private unmute(): void {
    this.muted = false;
    const end = this.endMute;
    this.endMute = null;
    end?.();
  }

  private wakePump(): void {
    this.roomWait?.cancel();
    this.roomWait = null;
    const resume = this.resumePump;
    this.resumePump = null;
    resume?.();
  }

  private responseWritten(bytes: number): void {
    if (this.closed) return; // released in onClosed
    this.queuedBytes -= bytes;
    this.broker.responseBudget.release(bytes);
  }

  /**
   * Queue one response (its size prefix is already in place, see encodeResponse). The socket stays
   * corked until the current tick's work is done, so responses to pipelined requests handled in one
   * go leave in one writev instead of one syscall each; a handler that waits for real I/O (an fsync)
   * lets the tick end, which flushes what is queued, so no response waits for a later request.
   */
  private send(parts: Buffer[]): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    this.queuedBytes += bytes;
    this.broker.responseBudget.add(bytes);
    // Write callbacks run in order, so the last part's callback means the whole response is written.
    const last = parts.length - 1;
    let ok = true;
    for (let i = 0; i <= last; i++) ok = this.socket.write(parts[i]!, i === last ? () => this.responseWritten(bytes) : undefined);
    if (!ok) {
      this.waitingDrain = true;
      this.updateReading();
    }
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /**
   * Decode, dispatch and encode one request; null means no response (or the connection closed).
   * `sequenced`, for a pipelined Produce, is handed to the handler (RequestContext.sequenced).
   */
  private async handleFrame(request: InFlightRequest, sequenced?: () => void): Promise<Buffer[] | null> {
    const frame = request.frame;
    if (this.security.expectsBareToken) return this.handleBareToken(frame);
    const r = new Reader(frame).limitElements(requestElementBudget(frame.length));
    let apiKey: number;
    let apiVersion: number;
    let correlationId: number;
    try {
      apiKey = r.int16();
      apiVersion = r.int16();
      correlationId = r.int32();
    } catch {
      this.close('truncated request header');
      return null;
    }
    const refused = this.security.admit(apiKey, Date.now());
    if (refused !== null) {
      this.broker.log.info(`connection ${this.remote}: ${refused}; closing`);
      this.close(refused);
      return null;
    }
    const handler = this.servedApi(apiKey, apiVersion, correlationId);
    if (handler === null || Array.isArray(handler)) return handler;
    r.offset = 0;
    const decoded = this.decodeRequest(r, handler, apiVersion);
    if (decoded === null) return null;
    // What the request decoded into counts in queued.max.request.bytes until it is answered (pump).
    request.decodedBytes = r.elementsDecoded * DECODED_ELEMENT_BYTES;
    this.requestBytes += request.decodedBytes;
    this.broker.requestBudget.add(request.decodedBytes);
    // Client quotas: off (no quota set), this is one property read.
    const quota: RequestQuota | undefined = this.broker.quotas.active ? { parkedMs: 0, throttleMs: 0 } : undefined;
    const ctx: RequestContext = { broker: this.broker, apiKey, apiVersion, correlationId, clientId: decoded.clientId, connection: this, nodeId: this.nodeId, security: this.security, principal: `User:${this.security.principal}`, sequenced, quota };
    const handleStart = quota === undefined ? 0 : performance.now();
    // Metrics and the debug request log (request-observer.ts); null when neither is on: no clock read.
    const observer = this.broker.requestObserver;
    const started = observer === null ? 0 : performance.now();
    let body;
    try {
      // Injected faults (faults.ts) come first, where a network or a cluster in trouble would act;
      // without a rule installed this is one property read.
      if (this.broker.faults.active) body = await this.broker.faults.around(handler, decoded.request, ctx, (request) => this.dispatch(handler, request, ctx));
      else body = await this.dispatch(handler, decoded.request, ctx);
    } catch (err) {
      this.broker.log.error(`${handler.request.name} v${apiVersion} from ${this.remote} failed: ${(err as Error).stack ?? String(err)}`);
      this.close('internal error');
      observer?.requestDone(ctx, null, (performance.now() - started) / 1000, true);
      return null;
    }
    const sendable = body !== null && !this.closed;
    let frames = sendable ? this.encodeOrClose(handler, ctx, body) : null;
    if (quota !== undefined && !this.closed) {
      const throttled = this.enforceQuotas(handler, ctx, quota, request, handleStart, body, frames);
      if (throttled !== null) ({ body, frames } = throttled);
    }
    // encodeOrClose gives null only when the response could not be encoded (and closed the connection).
    if (observer !== null) observer.requestDone(ctx, frames === null ? null : body, (performance.now() - started) / 1000, sendable && frames === null);
    return frames;
  }

  /**
   * Record this request against the client's quotas (request time; a Produce's bytes; a Fetch's
   * response bytes) and set `request.throttle` when one is exceeded. The answer then carries the
   * throttle; a throttled Fetch answers empty instead, its bytes taken back (Kafka's
   * unrecordQuotaSensor). Returns the new body and frames, or null when they stay as they are.
   */
  private enforceQuotas(handler: ServedApi, ctx: RequestContext, quota: RequestQuota, request: InFlightRequest, handleStart: number, body: unknown, frames: Buffer[] | null): { body: unknown; frames: Buffer[] | null } | null {
    const quotas = this.broker.quotas;
    const user = this.security.principal;
    const clientId = ctx.clientId ?? '';
    const now = this.broker.clock.now();
    // Kafka records request handler time as a percentage of one second (nanosToPercentage).
    const requestMs = Math.max(0, performance.now() - handleStart - quota.parkedMs);
    const requestThrottle = quotas.request.record(user, clientId, requestMs / 10, now);
    let bandwidthThrottle = 0;
    let kind: 'producer_byte_rate' | 'consumer_byte_rate' = 'producer_byte_rate';
    let responseBytes = 0;
    if (ctx.apiKey === ApiKey.Produce) bandwidthThrottle = quotas.produce.record(user, clientId, request.frame.length, now);
    else if (ctx.apiKey === ApiKey.Fetch && frames !== null) {
      kind = 'consumer_byte_rate';
      for (const f of frames) responseBytes += f.length;
      bandwidthThrottle = quotas.fetch.record(user, clientId, responseBytes, now);
    }
    const ms = Math.max(requestThrottle, bandwidthThrottle, quota.throttleMs);
    if (ms <= 0) return null;
    if (bandwidthThrottle >= requestThrottle && bandwidthThrottle >= quota.throttleMs) quotas.counted(kind, bandwidthThrottle);
    else if (requestThrottle >= quota.throttleMs) quotas.counted('request_percentage', requestThrottle);
    const from = handler.clientThrottlesFromVersion;
    request.throttle = { ms, clientSide: from !== null && ctx.apiVersion >= from };
    if (body === null || frames === null) return null; // no answer (Produce acks=0): the mute alone
    const b = body as { throttleTimeMs?: number; errorCode?: number; sessionId?: number };
    if (ctx.apiKey === ApiKey.Fetch && (b.errorCode ?? ErrorCode.NONE) === ErrorCode.NONE) {
      quotas.fetch.unrecord(user, clientId, responseBytes, now);
      body = { throttleTimeMs: ms, errorCode: ErrorCode.NONE, sessionId: b.sessionId ?? 0, responses: [] };
    } else b.throttleTimeMs = Math.max(b.throttleTimeMs ?? 0, ms);
    return { body, frames: this.encodeOrClose(handler, ctx, body) };
  }

  /** onRequest/onResponse hooks (src/hooks/) wrap the handler; without them this is the handler alone. */
  private dispatch(handler: ServedApi, request: unknown, ctx: RequestContext): unknown {
    // Brokers sharing a database: group and transaction requests only at their coordinator (coordinator-check.ts).
    if (this.broker.cluster?.exclusiveCoordinators) {
      const keys = coordinatorKeys(ctx.apiKey, request);
      if (keys !== null) return this.atCoordinator(handler, request, ctx, keys);
    }
    return this.broker.hooks.handle === null ? handler.handle(request, ctx) : this.broker.hooks.handle(handler, request, ctx);
  }

  private async atCoordinator(handler: ServedApi, request: unknown, ctx: RequestContext, keys: CoordinatorKeys): Promise<unknown> {
    const cluster = this.broker.cluster!;
    const elsewhere = keys.keys.find((k) => cluster.coordinator(k) !== this.nodeId);
    if (elsewhere !== undefined) {
      return handler.errorResponse(request, ctx.apiVersion, ErrorCode.NOT_COORDINATOR, `This is not the coordinator of ${keys.kind} ${elsewhere}.`);
    }
    // Coordinated here from now on: its state is (re)loaded from the database first.
    try {
      // Offsets read, or transactional offsets stored: the group's holder is checked in the database
      // first (the transaction's coordinator may have taken the group to apply committed offsets).
      if (keys.kind === 'group') await cluster.ownGroups?.(keys.keys, ctx.apiKey === ApiKey.OffsetFetch || ctx.apiKey === ApiKey.TxnOffsetCommit);
      else await cluster.ownTransactions?.(keys.keys);
    } catch (err) {
      this.broker.log.warn(`taking over ${keys.kind} ${keys.keys.join(', ')} failed: ${(err as Error).message}`);
      return handler.errorResponse(request, ctx.apiVersion, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is loading its state.');
    }
    return this.broker.hooks.handle === null ? handler.handle(request, ctx) : this.broker.hooks.handle(handler, request, ctx);
  }

  /**
   * A SASL token after SaslHandshake v0: the whole frame is the token, the answer the bare challenge
   * (empty when the mechanism has none, as Kafka sends it). A failed login closes the connection
   * without an answer: v0 has no way to carry an error.
   */
  private async handleBareToken(frame: Buffer): Promise<Buffer[] | null> {
    const outcome = await this.security.authenticate(frame, Date.now);
    if (outcome.errorCode !== ErrorCode.NONE) {
      this.close('failed authentication');
      return null;
    }
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(outcome.authBytes.length, 0);
    return [size, outcome.authBytes];
  }

  /**
   * The API's handler when this broker serves `apiVersion` of it. Otherwise the connection closes
   * (null), except for ApiVersions, answered UNSUPPORTED_VERSION with our ranges (the frames returned).
   */
  private servedApi(apiKey: number, apiVersion: number, correlationId: number): ServedApi | Buffer[] | null {
    const handler = HANDLERS.get(apiKey);
    if (!handler) {
      this.broker.log.warn(`connection ${this.remote}: unknown API key ${apiKey}; closing`);
      this.close(`unknown api key ${apiKey}`);
      return null;
    }
    if (apiVersion >= handler.minVersion && apiVersion <= handler.maxVersion) return handler;
    if (apiKey === ApiKey.ApiVersions) {
      // KIP-511: answer with v0 and our ranges so the client can pick a version it shares with us.
      return this.encodeResponse(apiKey, 0, correlationId, ApiVersionsResponse, {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: supportedApiVersions(),
      });
    }
    this.broker.log.warn(`connection ${this.remote}: unsupported version ${apiVersion} of API ${apiKey}; closing`);
    this.close(`unsupported version ${apiVersion} of api ${apiKey}`);
    return null;
  }

  /** The request header's client id and the decoded body; null after closing on a malformed request. */
  private decodeRequest(r: Reader, handler: ServedApi, apiVersion: number): { clientId: string | null; request: unknown } | null {
    let clientId: string | null = null;
    try {
      clientId = RequestHeader.decode(r, requestHeaderVersion(handler.apiKey, apiVersion)).clientId;
      const request = handler.request.decode(r, apiVersion);
      // Bytes after the body are ignored, as Apache Kafka ignores them: librdkafka ≤ 2.16 sends
      // Metadata v12 with a 4-byte placeholder where a 1-byte null belongs (librdkafka #5049).
      if (r.remaining !== 0) this.broker.log.debug(`connection ${this.remote}: ${r.remaining} bytes after ${handler.request.name} v${apiVersion} ignored`);
      return { clientId, request };
    } catch (err) {
      if (err instanceof DecodeLimitError) {
        this.broker.log.warn(`connection ${this.remote} (client id ${JSON.stringify(clientId)}): ${handler.request.name} v${apiVersion} of ${r.end} bytes: ${err.message}; closing`);
        this.close('request decodes to too many elements');
        return null;
      }
      const what = err instanceof DecodeError ? err.message : String(err);
      this.broker.log.warn(`connection ${this.remote}: malformed ${handler.request.name} v${apiVersion}: ${what}; closing`);
      this.close('malformed request');
      return null;
    }
  }

  /** The response frame; null after closing when it cannot be encoded (a handler bug). */
  private encodeOrClose(handler: ServedApi, ctx: RequestContext, body: unknown): Buffer[] | null {
    try {
      return this.encodeResponse(ctx.apiKey, ctx.apiVersion, ctx.correlationId, handler.response, body);
    } catch (err) {
      if (err instanceof EncodeLimitError) {
        this.broker.log.warn(`connection ${this.remote} (client id ${JSON.stringify(ctx.clientId)}): ${handler.response.name} v${ctx.apiVersion}: ${err.message}; closing`);
        this.close('response too large');
        return null;
      }
      // A response we cannot encode is a handler bug: log it, close only this connection.
      this.broker.log.error(`${handler.response.name} v${ctx.apiVersion} to ${this.remote} could not be encoded: ${(err as Error).stack ?? String(err)}`);
      this.close('internal error');
      return null;
    }
  }

  private encodeResponse(apiKey: number, apiVersion: number, correlationId: number, codec: { encode(w: Writer, v: any, version: number): void }, body: unknown): Buffer[] {
    const w = new Writer();
    // Fetch responses are bounded by fetch.max.bytes (and carry stored batches by reference).
    if (apiKey !== ApiKey.Fetch) w.limitBytes(RESPONSE_MAX_BYTES);
    // The frame's size prefix goes first in the writer's own buffer and is patched once the size is
    // known: no separate 4-byte buffer and one iovec less per response.
    w.int32(0);
    ResponseHeader.encode(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
    codec.encode(w, body, apiVersion);
    const parts = w.toBuffers();
    parts[0]!.writeInt32BE(w.length - 4, 0);
    return parts;
  }
}
