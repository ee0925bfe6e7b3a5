/**
 * @confluentinc/kafka-javascript (librdkafka underneath) for the tests that drive it: a native addon,
 * not a dependency of the project (its prebuilt binaries come from GitHub, which this network does not
 * reach), built by `sh bench/install-confluent-client.sh` into node_modules (--no-save), as .ci/run
 * does. Loaded with `require` (CommonJS with a .node addon); the types below are the part of its
 * KafkaJS-compatible API the tests use, so the build does not need the package.
 *
 * Missing, it is an ExternalClient like kcat: its tests skip saying how to install it, and fail under
 * RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { createRequire } from 'node:module';
import type { ExternalClient } from './external.js';

/** The version bench/install-confluent-client.sh builds. */
export const CONFLUENT_JS_VERSION = '1.10.1';

export interface CkjsRetry {
  retries?: number;
  initialRetryTime?: number;
  maxRetryTime?: number;
}

export interface CkjsProducer {
  connect(): Promise<void>;
  send(record: { topic: string; messages: { key?: string | Buffer | null; value: string | Buffer | null }[] }): Promise<{ partition: number; offset?: string; errorCode: number }[]>;
  disconnect(): Promise<void>;
}

export interface CkjsConsumer {
  connect(): Promise<void>;
  subscribe(o: { topics: string[] }): Promise<void>;
  run(o: { eachMessage: (p: { topic: string; partition: number; message: { key: Buffer | null; value: Buffer | null; offset: string } }) => Promise<void> }): Promise<void>;
  assignment(): { topic: string; partition: number }[];
  disconnect(): Promise<void>;
}

/** The `kafkaJS` block of a constructor's config; other keys are librdkafka properties (CONFIGURATION.md). */
export type CkjsConfig<K> = { kafkaJS?: K } & Record<string, unknown>;

export interface ConfluentJs {
  KafkaJS: {
    Kafka: new (config: CkjsConfig<{ brokers: string[]; clientId?: string; logLevel?: number; retry?: CkjsRetry }>) => {
      producer(config?: CkjsConfig<{ idempotent?: boolean; acks?: number; maxInFlightRequests?: number; retry?: CkjsRetry }>): CkjsProducer;
      consumer(
        config: CkjsConfig<{
          groupId: string;
          fromBeginning?: boolean;
          sessionTimeout?: number;
          heartbeatInterval?: number;
          rebalanceTimeout?: number;
          maxWaitTimeInMs?: number;
          autoCommitInterval?: number;
        }>,
      ): CkjsConsumer;
    };
    logLevel: { NOTHING: number; ERROR: number };
  };
  librdkafkaVersion: string;
}

export interface FoundConfluentJs extends ExternalClient {
  /** The loaded package, when `missing` is null. */
  readonly module: ConfluentJs | null;
}

let cache: FoundConfluentJs | undefined;

/** The package from the repository's node_modules, or why it cannot be loaded and how to build it. */
export function findConfluentJs(): FoundConfluentJs {
  if (cache) return cache;
  const name = '@confluentinc/kafka-javascript';
  const install = `build it with \`sh bench/install-confluent-client.sh\` (a few minutes of compiling the first time; needs build-essential, python3, libssl-dev, zlib1g-dev)`;
  let module: ConfluentJs | null = null;
  let missing: string | null = null;
  try {
    module = createRequire(import.meta.url)(name) as ConfluentJs;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const first = e.message.split('\n')[0] ?? '';
    // A nan addon is built for one Node ABI: a build for another Node fails to load with this message.
    missing = /NODE_MODULE_VERSION/.test(e.message)
      ? `${name} is built for another Node version (${first}); rebuild it with this Node: ${install}`
      : `${name} ${CONFLUENT_JS_VERSION} is not installed (${first}); ${install}`;
  }
  cache = {
    name,
    command: name,
    version: module === null ? null : `${name} with librdkafka ${module.librdkafkaVersion}`,
    missing,
    module,
  };
  return cache;
}
