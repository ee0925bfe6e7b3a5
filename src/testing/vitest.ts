/**
 * Vitest: `test: { globalSetup: ['rafka/testing/vitest'] }`. Starts one test broker per worker (the
 * project's `maxWorkers`, or RAFKA_TEST_BROKERS) before the workers start, sets KAFKA_BOOTSTRAP (the
 * first) and KAFKA_BOOTSTRAP_<n> (worker n's: `workerBootstrap()` reads VITEST_POOL_ID), provides
 * the list as `inject('kafkaBootstrap')`, and closes them after the run. Vitest is not a dependency:
 * only the shape of what it passes is assumed (`config.maxWorkers`, `provide`).
 */
import { brokerCount, startWorkerBrokers, type TestBroker } from './index.js';

/** What Vitest hands a global setup (a TestProject in Vitest 3, a GlobalSetupContext in 2): the parts used. */
export interface VitestSetupContext {
  readonly config?: { readonly maxWorkers?: unknown };
  provide?(key: string, value: unknown): void;
}

let brokers: TestBroker[] = [];

export async function setup(context?: VitestSetupContext): Promise<void> {
  brokers = await startWorkerBrokers(brokerCount(context?.config?.maxWorkers));
  context?.provide?.('kafkaBootstrap', brokers.map((b) => b.bootstrap));
}

export async function teardown(): Promise<void> {
  const running = brokers;
  brokers = [];
  await Promise.all(running.map((b) => b.close()));
}
