/**
 * Connection limits, Kafka's names and defaults: `max.connections` (all client connections),
 * `max.connections.per.ip` and `max.connections.per.ip.overrides` (`ip:count,ip:count`).
 *
 * A connection past a limit is closed at once, before anything is read from it. For the per-IP limit
 * that is what Kafka does (ConnectionQuotas throws TooManyConnectionsException and the acceptor closes
 * the socket). For the total Kafka's acceptor instead stops accepting, leaving new connections in
 * the kernel's backlog until a slot frees; Node cannot pause accepting, so Rafka closes them, and
 * clients reconnect with their backoff either way. Sockets still waiting for onConnection hooks count.
 *
 * Callers: the broker's accept path, on the event loop.
 */
import net, { type Socket } from 'node:net';
import type { BrokerConfig } from '../config/types.js';
import type { Logger } from './logger.js';

/** At most one warning about refused connections per this interval (a flood must not flood the log). */
const REFUSAL_WARN_INTERVAL_MS = 10_000;

/** An IPv4 client of a dual-stack listener appears as `::ffff:1.2.3.4`; count it as `1.2.3.4`. */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** Parses Kafka's `ip:count,ip:count` (the count after the last colon, so IPv6 addresses work). */
export function parseConnectionOverrides(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  if (text === null || text.trim() === '') return out;
  for (const entry of text.split(',')) {
    const e = entry.trim();
    const colon = e.lastIndexOf(':');
    const host = e.slice(0, colon).trim();
    const count = Number(e.slice(colon + 1).trim());
    if (colon <= 0 || !Number.isSafeInteger(count) || count < 0) {
      throw new Error(`max.connections.per.ip.overrides: "${e}" is not ip:count`);
    }
    if (net.isIP(host) === 0) throw new Error(`max.connections.per.ip.overrides: "${host}" is not an IP address (host names are not resolved)`);
    out.set(normalizeIp(host), count);
  }
  return out;
}

export interface ConnectionLimitStats {
  open: number;
  /** Connections admitted since start. */
  accepted: number;
  refusedMaxConnections: number;
  refusedPerIp: number;
}

export class ConnectionLimits {
  private open = 0;
  /** Open connections by IP; an IP leaves the map with its last connection, so it is bounded by `open`. */
  private readonly perIp = new Map<string, number>();
  private readonly overrides: ReadonlyMap<string, number>;
  private accepted = 0;
  private refusedMaxConnections = 0;
  private refusedPerIp = 0;
  private lastWarnMs = 0;
  private refusedSinceWarn = 0;

  constructor(
    private readonly config: Pick<BrokerConfig, 'maxConnections' | 'maxConnectionsPerIp' | 'maxConnectionsPerIpOverrides'>,
    private readonly log: Logger,
  ) {
    this.overrides = parseConnectionOverrides(config.maxConnectionsPerIpOverrides);
  }

  /** The limit for one IP address. */
  limitFor(ip: string): number {
    return this.overrides.get(normalizeIp(ip)) ?? this.config.maxConnectionsPerIp;
  }

  /** Count the new socket, or close it and return false when a limit is reached. */
  admit(socket: Socket): boolean {
    const ip = normalizeIp(socket.remoteAddress);
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.open >= this.config.maxConnections) {
      this.refusedMaxConnections++;
      return this.refuse(socket, `max.connections=${this.config.maxConnections} reached`);
    }
    const ipLimit = this.limitFor(ip);
    if (fromIp >= ipLimit) {
      this.refusedPerIp++;
      return this.refuse(socket, `${ip} has ${fromIp} connections, max.connections.per.ip=${ipLimit}`);
    }
    this.open++;
    this.accepted++;
    this.perIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      this.open--;
      const left = this.perIp.get(ip)! - 1;
      if (left === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    return true;
  }

  stats(): ConnectionLimitStats {
    return { open: this.open, accepted: this.accepted, refusedMaxConnections: this.refusedMaxConnections, refusedPerIp: this.refusedPerIp };
  }

  private refuse(socket: Socket, why: string): false {
    socket.on('error', () => {}); // a reset racing the close must not become an unhandled error
    socket.destroy();
    this.refusedSinceWarn++;
    const now = Date.now();
    if (now - this.lastWarnMs >= REFUSAL_WARN_INTERVAL_MS) {
      this.log.warn(`refused ${this.refusedSinceWarn} connection(s): ${why}`);
      this.lastWarnMs = now;
      this.refusedSinceWarn = 0;
    } else {
      this.log.debug(`refused a connection: ${why}`);
    }
    return false;
  }
}
