/**
 * kcat (librdkafka) with transactions: kcat's transactional producer (`-X transactional.id`, one
 * transaction committed when its input ends) beside a transaction that kafkajs aborts on the same
 * partition; kcat's consumer with `isolation.level=read_committed` sees only the committed records,
 * with read_uncommitted it sees all of them, markers never as records.
 *
 * Skipped when kcat is not on PATH, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findKcat, requireClient, run, skipUnless } from './helpers/external.js';

const kcat = findKcat();

describe('kcat (librdkafka) transactional producer and read_committed consumer', { skip: skipUnless(kcat), timeout: 90_000 }, () => {
  let b: RunningBroker;
  before(async () => {
    requireClient(kcat);
    b = await testBroker();
    await b.broker.topics.create('kc-txn', 1, 1, {});
  });
  after(() => b?.close());

  const consume = async (isolation: string): Promise<string[]> => {
    const r = await run(kcat.command, ['-C', '-b', b.bootstrap, '-t', 'kc-txn', '-p', '0', '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\n'], { timeoutMs: 20_000 });
    return r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
  };

  it('an aborted transaction is hidden from read_committed; kcat\'s committed one is seen', async () => {
    const first = await run(kcat.command, ['-P', '-b', b.bootstrap, '-t', 'kc-txn', '-p', '0', '-X', 'transactional.id=kcat-tx'], { input: 'c1\nc2\n', timeoutMs: 20_000 });
    assert.match(first.stderr, /Transaction successfully committed/);

    const kafka = new Kafka({ clientId: 'kcat-txn-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: 'kjs-aborts', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    try {
      const txn = await producer.transaction();
      await txn.send({ topic: 'kc-txn', messages: [{ value: 'aborted-1', partition: 0 }, { value: 'aborted-2', partition: 0 }] });
      await txn.abort();
    } finally {
      await producer.disconnect();
    }
    const second = await run(kcat.command, ['-P', '-b', b.bootstrap, '-t', 'kc-txn', '-p', '0', '-X', 'transactional.id=kcat-tx'], { input: 'c3\n', timeoutMs: 20_000 });
    assert.match(second.stderr, /Transaction successfully committed/);
    await b.broker.transactions.settle();

    assert.deepEqual(await consume('read_committed'), ['c1', 'c2', 'c3']);
    assert.deepEqual(await consume('read_uncommitted'), ['c1', 'c2', 'aborted-1', 'aborted-2', 'c3']);
    const t = b.broker.transactions.get('kcat-tx')!;
    assert.equal(t.state, 'CompleteCommit');
  });
});
