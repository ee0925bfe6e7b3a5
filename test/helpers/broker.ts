/** Start a broker for one test on an ephemeral port, quiet unless RAFKA_TEST_LOG is set. */
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../src/broker/index.js';
import { createLogger } from '../../src/broker/logger.js';
import { connectPeer } from '../../src/client/peer.js';

export async function testBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const level = (process.env.RAFKA_TEST_LOG as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'error';
  return startBroker({ port: 0, host: '127.0.0.1', logger: createLogger(level), peerConnector: connectPeer, ...options });
}

export async function withBroker<T>(fn: (b: RunningBroker) => Promise<T>, options: StartBrokerOptions = {}): Promise<T> {
  const b = await testBroker(options);
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}
