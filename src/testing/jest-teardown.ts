/** Jest: `globalTeardown: 'rafka/testing/jest-teardown'` closes what `rafka/testing/jest-setup` started. */
import type { TestBroker } from './index.js';

/** Where jest-setup leaves its brokers for this module (a registered symbol: both modules see it). */
export const JEST_BROKERS = Symbol.for('rafka.testing.jestBrokers');

export default async function globalTeardown(): Promise<void> {
  const store = globalThis as Record<symbol, unknown>;
  const brokers = (store[JEST_BROKERS] ?? []) as TestBroker[];
  delete store[JEST_BROKERS];
  await Promise.all(brokers.map((b) => b.close()));
}
