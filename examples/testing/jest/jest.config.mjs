// Test files are ES modules: run Jest with NODE_OPTIONS=--experimental-vm-modules (package.json's "test").
export default {
  // One Rafka broker per worker, started before the workers: KAFKA_BOOTSTRAP_<n> / workerBootstrap().
  globalSetup: 'rafka/testing/jest-setup',
  globalTeardown: 'rafka/testing/jest-teardown',
  testMatch: ['<rootDir>/*.test.mjs'],
  transform: {},
  testTimeout: 20_000,
};
