/**
 * A broker process that writes transactions and then waits to be killed (test/transactions-crash.test.ts):
 *   node dist/test/helpers/txn-writer.js <engine> <data dir>
 * Without a coordinator, a test verifier lets producers 1–4 write to `tx-0` and markers are written
 * through `broker.txnMarkers`, as the coordinator writes them. Prints READY once every write was
 * acknowledged; the parent then kills it with SIGKILL, so no shutdown snapshot is ever taken.
 */
import { startBroker } from '../../src/broker/index.js';
import { createLogger } from '../../src/broker/logger.js';
import type { StorageConfig } from '../../src/config/types.js';
import { RawClient } from './raw-client.js';
import { createTopic, produce } from './robust.js';
import { allowTransactions, txnBatch } from './txn.js';
import { encodeBatch } from '../../src/protocol/records/record.js';

const [engine, dir] = process.argv.slice(2) as [StorageConfig['type'], string];
const b = await startBroker({ port: 0, host: '127.0.0.1', storage: { type: engine, path: dir }, logger: createLogger('error') });
const allowed = allowTransactions(b.broker);
for (const pid of [1, 2, 3, 4]) allowed.add(`${pid}/tx/0`);
const client = await RawClient.connect(b.port);
// 64 KiB segments: the log engine rolls (and the others snapshot) several times along the way.
await createTopic(client, 'tx', 1, [{ name: 'internal.segment.bytes', value: String(64 * 1024) }]);
const ok = async (what: string, p: Promise<{ errorCode: number }> | Promise<number>) => {
  const r = await p;
  const code = typeof r === 'number' ? r : r.errorCode;
  if (code !== 0) throw new Error(`${what}: error ${code}`);
};
let filler = 0;
const fill = async (n: number) => {
  for (let i = 0; i < n; i++) await ok('filler', produce(client, 'tx', 0, await encodeBatch({ records: [{ value: Buffer.from(`f${filler++}`.padEnd(4096, '.')) }] })));
};
const marker = (producerId: number, commit: boolean) => b.broker.txnMarkers.writeTxnMarker('tx', 0, { producerId, producerEpoch: 0, coordinatorEpoch: 0, commit });

await ok('p1-a', produce(client, 'tx', 0, await txnBatch(['p1-a'], 1, 0, 0)));
await fill(30);
await ok('p2-a', produce(client, 'tx', 0, await txnBatch(['p2-a'], 2, 0, 0)));
await ok('abort 1', marker(1, false));
await ok('p2-b', produce(client, 'tx', 0, await txnBatch(['p2-b'], 2, 0, 1)));
await fill(20);
await ok('commit 2', marker(2, true));
await ok('p3-a', produce(client, 'tx', 0, await txnBatch(['p3-a'], 3, 0, 0)));
await ok('p4-a', produce(client, 'tx', 0, await txnBatch(['p4-a'], 4, 0, 0)));
await fill(20);
await ok('abort 4', marker(4, false));
await fill(2);
process.stdout.write(`READY ${filler}\n`);
setInterval(() => {}, 1 << 30);
