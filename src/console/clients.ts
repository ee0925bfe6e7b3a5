/**
 * The console's Kafka clients: one Admin and one Producer, made on first use and closed with the HTTP
 * endpoint, and a Consumer per browse (assigned one partition, closed after). They connect to this
 * broker's first PLAINTEXT listener as any client would, so what the console does passes the broker's
 * validation, hooks and authorization like a request from outside. The console has no credentials of
 * its own to give them (a TLS or SASL identity for the console is not configured anywhere yet):
 * without a PLAINTEXT listener the console's actions answer 503 saying so (its reads of the broker's
 * own state still work).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../broker/broker.js';
import { Admin } from '../client/admin.js';
import { Producer } from '../client/producer.js';
import { Consumer } from '../client/consumer.js';
import type { ClusterOptions } from '../client/cluster.js';
import { ApiError } from './http-json.js';

/** client.id of the console's connections, as the broker's request log and metrics show it. */
export const CONSOLE_CLIENT_ID = 'rafka-console';
/** A console action's Kafka requests give up after this (the HTTP request with them). */
const CONSOLE_REQUEST_TIMEOUT_MS = 10_000;

export class ConsoleClients {
  private adminClient: Promise<Admin> | null = null;
  private producerClient: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();
  private closed = false;
  /** Rafka's version, from package.json. */
  readonly version = packageVersion();

  constructor(private readonly broker: Broker) {}

  private options(): ClusterOptions {
    if (this.closed) throw new ApiError(503, 'the broker is shutting down');
    const l = this.broker.listeners.find((x) => x.config.protocol === 'PLAINTEXT');
    if (l === undefined) throw new ApiError(503, 'the console acts through a PLAINTEXT listener of this broker, and it has none (TLS and SASL listeners only)');
    return { bootstrap: `${l.advertisedHost}:${l.advertisedPort}`, clientId: CONSOLE_CLIENT_ID, requestTimeoutMs: CONSOLE_REQUEST_TIMEOUT_MS, allowAutoTopicCreation: false };
  }

  admin(): Promise<Admin> {
    this.adminClient ??= Promise.resolve().then(() => new Admin(this.options()));
    return this.adminClient.catch((err: unknown) => {
      this.adminClient = null;
      throw err;
    });
  }

  producer(): Promise<Producer> {
    this.producerClient ??= Promise.resolve().then(() => new Producer({ ...this.options(), acks: 'all', lingerMs: 0, deliveryTimeoutMs: CONSOLE_REQUEST_TIMEOUT_MS }));
    return this.producerClient.catch((err: unknown) => {
      this.producerClient = null;
      throw err;
    });
  }

  /** A consumer without a group and without committing; the caller closes it (it is also closed with the console). */
  consumer(): Consumer {
    const c = new Consumer({ ...this.options(), autoCommit: false, autoOffsetReset: 'earliest', maxWaitMs: 100 });
    this.consumers.add(c);
    const close = c.close.bind(c);
    c.close = async () => {
      this.consumers.delete(c);
      await close();
    };
    return c;
  }

  async close(): Promise<void> {
    this.closed = true;
    const admin = this.adminClient;
    const producer = this.producerClient;
    this.adminClient = this.producerClient = null;
    await Promise.allSettled([
      admin?.then((a) => a.close()),
      producer?.then((p) => p.close({ timeoutMs: 1000 })),
      ...[...this.consumers].map((c) => c.close()),
    ]);
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
