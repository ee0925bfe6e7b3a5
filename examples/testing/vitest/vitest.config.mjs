import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One Rafka broker per worker, started before the workers: KAFKA_BOOTSTRAP_<n> / workerBootstrap().
    globalSetup: ['rafka/testing/vitest'],
    include: ['*.test.mjs'],
    testTimeout: 20_000,
  },
});
