/**
 * `node --test --import rafka/testing/node-test`: one test broker per test process — `node --test`
 * runs each test file in a process of its own, and passes `--import` on to it — with its address in
 * KAFKA_BOOTSTRAP before any test file loads. The broker does not keep the process alive (the
 * process ends when its tests are done, as without it), and test files reach it as
 * `import { broker } from 'rafka/testing/node-test'` (the same module instance), e.g. for
 * `beforeEach(() => broker.reset())` or `broker.faults.inject(…)`.
 */
import { BOOTSTRAP_ENV, startTestBroker, type TestBroker } from './index.js';

export const broker: TestBroker = await startTestBroker();
process.env[BOOTSTRAP_ENV] = broker.bootstrap;
broker.broker.unref();
