/** The broker under benchmark, in its own process; reports its port to the parent over IPC. */
import { startBroker } from '../src/broker/index.js';

const broker = await startBroker({ port: 0, logLevel: 'warn' });
process.send?.({ port: broker.port });
process.on('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
