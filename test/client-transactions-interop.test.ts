/**
 * Rafka's transactional client with librdkafka: records a Rafka transactional producer wrote in an
 * aborted and a committed transaction, read by kcat and by Python's confluent-kafka with
 * read_committed (only the committed ones) and read_uncommitted (all, markers never); and kcat's own
 * transactional producer read by Rafka's read_committed consumer.
 *
 * Each client's tests are skipped when it is missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which
 * makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../src/broker/index.js';
import { Producer } from '../src/client/index.js';
import { testBroker } from './helpers/broker.js';
import { readToEnd, values } from './helpers/client-read.js';
import { findConfluentKafka, findKcat, requireClient, run, skipUnless } from './helpers/external.js';

const kcat = findKcat();
const python = findConfluentKafka();
/** The script lives in the source tree: dist/test/x.js -> ../../test/clients/python_client.py. */
const SCRIPT = fileURLToPath(new URL('../../test/clients/python_client.py', import.meta.url));

const ABORTED = ['rafka-aborted-1', 'rafka-aborted-2'];
const COMMITTED = ['rafka-committed-1', 'rafka-committed-2'];

describe('Rafka transactional producer and read_committed consumer with librdkafka', { timeout: 90_000 }, () => {
  let b: RunningBroker;
  before(async () => {
    b = await testBroker();
    await b.broker.topics.create('ix-rafka-txn', 1, 1, {});
    await b.broker.topics.create('ix-kcat-txn', 1, 1, {});
    const p = new Producer({ bootstrap: b.bootstrap, transactionalId: 'ix-rafka' });
    try {
      await p.initTransactions();
      p.beginTransaction();
      await p.send('ix-rafka-txn', ABORTED.map((value) => ({ value })));
      await p.abortTransaction();
      p.beginTransaction();
      await p.send('ix-rafka-txn', COMMITTED.map((value) => ({ value })));
      await p.commitTransaction();
    } finally {
      await p.close();
    }
    await b.broker.transactions.settle();
  });
  after(() => b?.close());

  const kcatRead = async (topic: string, isolation: string): Promise<string[]> => {
    const r = await run(kcat.command, ['-C', '-b', b.bootstrap, '-t', topic, '-p', '0', '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\n'], { timeoutMs: 20_000 });
    return r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
  };

  it('kcat with read_committed sees only what the Rafka producer committed', { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    assert.deepEqual(await kcatRead('ix-rafka-txn', 'read_committed'), COMMITTED);
    assert.deepEqual(await kcatRead('ix-rafka-txn', 'read_uncommitted'), [...ABORTED, ...COMMITTED]);
  });

  it('confluent-kafka with read_committed sees only what the Rafka producer committed', { skip: skipUnless(python) }, async () => {
    requireClient(python);
    const read = async (isolation: string) => {
      const job = { mode: 'read', bootstrap: b.bootstrap, topic: 'ix-rafka-txn', group: 'ix-py', isolation };
      const out = await run(python.command, [SCRIPT], { input: JSON.stringify(job), timeoutMs: 60_000 });
      const r = JSON.parse(out.stdout.toString('utf8')) as { values: unknown[]; errors: unknown[] };
      assert.deepEqual(r.errors, []);
      return r.values;
    };
    assert.deepEqual(await read('read_committed'), COMMITTED);
    assert.deepEqual(await read('read_uncommitted'), [...ABORTED, ...COMMITTED]);
  });

  it("kcat's transactional producer, read by Rafka's read_committed consumer beside an aborted Rafka transaction", { skip: skipUnless(kcat) }, async () => {
    requireClient(kcat);
    const p = new Producer({ bootstrap: b.bootstrap, transactionalId: 'ix-rafka-2' });
    try {
      await p.initTransactions();
      p.beginTransaction();
      await p.send('ix-kcat-txn', { value: 'rafka-aborted' });
      await p.abortTransaction();
    } finally {
      await p.close();
    }
    const kc = await run(kcat.command, ['-P', '-b', b.bootstrap, '-t', 'ix-kcat-txn', '-p', '0', '-X', 'transactional.id=ix-kcat'], { input: 'k1\nk2\n', timeoutMs: 20_000 });
    assert.match(kc.stderr, /Transaction successfully committed/);
    await b.broker.transactions.settle();
    // rafka-aborted, its ABORT marker, k1, k2, kcat's COMMIT marker.
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'ix-kcat-txn', [5], 'read_committed')).messages), ['k1', 'k2']);
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'ix-kcat-txn', [5], 'read_uncommitted')).messages), ['rafka-aborted', 'k1', 'k2']);
  });
});
