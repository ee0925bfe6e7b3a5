/**
 * Jest: `globalSetup: 'rafka/testing/jest-setup'` with `globalTeardown: 'rafka/testing/jest-teardown'`.
 * Starts one test broker per worker (`maxWorkers`, or RAFKA_TEST_BROKERS) before the workers start
 * and sets KAFKA_BOOTSTRAP (the first) and KAFKA_BOOTSTRAP_<n> (worker n's: `workerBootstrap()` reads
 * JEST_WORKER_ID). Jest loads both modules with import() in its own process and they share
 * `globalThis` there, which is how the teardown finds the brokers. Jest is not a dependency.
 */
import { brokerCount, startWorkerBrokers } from './index.js';
import { JEST_BROKERS } from './jest-teardown.js';

/** What Jest passes a global setup: the part used. */
export interface JestGlobalConfigLike {
  readonly maxWorkers?: unknown;
}

export default async function globalSetup(globalConfig?: JestGlobalConfigLike): Promise<void> {
  (globalThis as Record<symbol, unknown>)[JEST_BROKERS] = await startWorkerBrokers(brokerCount(globalConfig?.maxWorkers));
}
