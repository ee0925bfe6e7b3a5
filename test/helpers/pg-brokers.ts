/**
 * Brokers sharing one PostgreSQL database, for the cluster tests (test/cluster-postgres*.test.ts):
 * each broker started in this process with its own engine and pool, as separate processes would
 * have, plus the waits and raw requests those tests share.
 */
import type { Kafka } from 'kafkajs';
import type { RunningBroker, StartBrokerOptions } from '../../src/broker/index.js';
import { ApiKey, MetadataRequest, MetadataResponse } from '../../src/protocol/messages/index.js';
import { ZERO_UUID } from '../../src/protocol/codec/uuid.js';
import { RawClient } from './raw-client.js';
import { testBroker } from './broker.js';

/** Short lease and heartbeat: the tests wait for moves, not for Kafka's 9 s. */
export const CLUSTER_TIMING = { brokerSessionTimeoutMs: 1500, brokerHeartbeatIntervalMs: 200 } as const;

/** Poll `fn` every 50 ms until it gives a value (not undefined or false); throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A request or two on a connection of its own to the (PLAINTEXT) listener at `port`. */
export async function withRaw<T>(port: number, fn: (raw: RawClient) => Promise<T>): Promise<T> {
  const raw = await RawClient.connect(port);
  try {
    return await fn(raw);
  } finally {
    raw.socket.destroy();
  }
}

/** Metadata v12 at `port`: every topic (null) or those named. */
export async function metadata(port: number, topics: string[] | null = null): Promise<MetadataResponse> {
  return withRaw(port, (raw) =>
    raw.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false,
    }),
  );
}

/** The port a broker bound for one of its listeners. */
export function listenerPort(b: RunningBroker, name: string): number {
  const l = b.broker.listeners.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no listener ${name}`);
  return l.boundPort;
}

/** Brokers by node id on the database at `url`, each started with `options` plus what start() adds. */
export class PgBrokers {
  readonly brokers = new Map<number, RunningBroker>();

  constructor(
    private readonly url: () => string,
    private readonly options: StartBrokerOptions = {},
  ) {}

  async start(id: number, more: StartBrokerOptions = {}): Promise<RunningBroker> {
    const b = await testBroker({ storage: { type: 'postgres', url: this.url() }, nodeId: id, groupInitialRebalanceDelayMs: 0, ...CLUSTER_TIMING, ...this.options, ...more });
    this.brokers.set(id, b);
    return b;
  }

  async stop(id: number): Promise<void> {
    await this.brokers.get(id)?.close();
    this.brokers.delete(id);
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.brokers.keys()]) await this.stop(id);
  }

  get(id: number): RunningBroker {
    const b = this.brokers.get(id);
    if (b === undefined) throw new Error(`broker ${id} is not running`);
    return b;
  }
}

/**
 * Every record value a read_committed consumer of a fresh group reads from the beginning of
 * `topic`, once `expected` arrived and half a second more passed (anything more, an aborted
 * record, would arrive then).
 */
export async function readCommitted(
  kafka: () => Kafka,
  topic: string,
  expected: number,
  explain: (seen: string[]) => Promise<string> = async (seen) => [...seen].sort().join(' '),
): Promise<string[]> {
  const consumer = kafka().consumer({ groupId: `reader-${Math.random()}`, maxWaitTimeInMs: 200, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // On a time-out, say what was read (or what the caller's `explain` finds: leaders, stored batches).
      const timer = setTimeout(() => void explain(seen).then((why) => reject(new Error(`read ${seen.length} of ${expected}: ${why}`)), reject), 30_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    // Also when reading failed: a consumer left connected keeps the test file from exiting.
    await consumer.disconnect();
  }
  return seen;
}
