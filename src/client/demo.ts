/**
 * The end-to-end demo (what the seed project's `cargo run` did): start a broker, a producer and a
 * consumer in one process, send messages, receive them, print what happened. `npm run demo` runs it
 * through examples/demo.mjs; it takes well under a second and needs no setup.
 */
import { startBroker } from '../broker/index.js';
import { createLogger } from '../broker/logger.js';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import { Producer } from './producer.js';

export interface DemoOptions {
  messages?: number;
  /** Where the lines go (default console.log). */
  print?: (line: string) => void;
}

export async function runDemo(opts: DemoOptions = {}): Promise<{ sent: number; received: number; ms: number }> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const count = opts.messages ?? 10;
  const started = performance.now();
  const ms = () => `${(performance.now() - started).toFixed(0).padStart(4)} ms`;

  // An in-memory broker on a free port; no initial rebalance delay so the group forms at once.
  const broker = await startBroker({ port: 0, host: '127.0.0.1', groupInitialRebalanceDelayMs: 0, logger: createLogger('error') });
  print(`${ms()}  broker listening on ${broker.bootstrap}`);
  const admin = new Admin({ bootstrap: broker.bootstrap });
  const producer = new Producer({ bootstrap: broker.bootstrap });
  const consumer = new Consumer({ bootstrap: broker.bootstrap, groupId: 'demo-group', autoOffsetReset: 'earliest', heartbeatIntervalMs: 500 });
  try {
    await admin.createTopics([{ topic: 'demo', numPartitions: 3 }]);
    print(`${ms()}  created topic "demo" with 3 partitions`);

    const sent = await producer.send(
      'demo',
      Array.from({ length: count }, (_, i) => ({ key: `user-${i % 4}`, value: `hello #${i}`, headers: { source: 'demo' } })),
    );
    for (const r of sent) print(`${ms()}  sent     partition ${r.partition} offset ${r.offset}`);

    consumer.subscribe('demo');
    let received = 0;
    for await (const m of consumer) {
      print(`${ms()}  received partition ${m.partition} offset ${m.offset}  ${m.key?.toString()} => ${m.value?.toString()}`);
      if (++received === count) break;
    }
    await consumer.commit();
    const committed = await admin.listGroupOffsets('demo-group');
    print(`${ms()}  group "demo-group" committed ${committed.map((o) => `p${o.partition}@${o.offset}`).join(' ')}`);
    const elapsed = performance.now() - started;
    print(`${ms()}  done: ${sent.length} sent, ${received} received`);
    return { sent: sent.length, received, ms: elapsed };
  } finally {
    await consumer.close();
    await producer.close();
    await admin.close();
    await broker.close();
  }
}
