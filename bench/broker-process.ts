/** The broker under benchmark, in its own process; reports its port to the parent over IPC. */
import { startBroker } from '../src/broker/index.js';

// A benchmark's consumer group has no other member to wait for (as for Kafka in bench/compare.ts):
// without this, a client timed from its subscribe() would carry Kafka's 3 s initial rebalance delay.
const broker = await startBroker({ port: 0, logLevel: 'warn', groupInitialRebalanceDelayMs: 0 });
process.send?.({ port: broker.port });
process.on('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
