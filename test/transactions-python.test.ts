/**
 * Python's confluent-kafka (librdkafka) transactional producer against the transaction coordinator,
 * through test/clients/python_client.py (mode txn-offsets): init_transactions, an aborted and a
 * committed transaction with send_offsets_to_transaction (the committed offset moves only with the
 * commit), and a second producer with the same transactional.id fencing the first (mode txn-offsets);
 * and records in an aborted then a committed transaction, of which a read_committed consumer sees only
 * the committed ones and a read_uncommitted consumer all (mode txn-records).
 *
 * Skipped when python3 cannot import confluent_kafka, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which
 * makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findConfluentKafka, requireClient, run, skipUnless } from './helpers/external.js';

const python = findConfluentKafka();
/** The script lives in the source tree: dist/test/x.js -> ../../test/clients/python_client.py. */
const SCRIPT = fileURLToPath(new URL('../../test/clients/python_client.py', import.meta.url));

type Outcome = { ok: true; value: unknown } | { ok: false; error: { code: number | null; name: string; str: string } };
type Committed = { partition: number; offset: number; error: string | null }[];

describe('confluent-kafka (Python, librdkafka) transactional producer: offsets, commit, abort, fencing', { skip: skipUnless(python), timeout: 90_000 }, () => {
  let b: RunningBroker;
  before(async () => {
    requireClient(python);
    b = await testBroker({ groupInitialRebalanceDelayMs: 0 });
    await b.broker.topics.create('py-txn', 1, 1, {});
    await b.broker.topics.create('py-txn-records', 1, 1, {});
  });
  after(() => b?.close());

  it('offsets commit only with the transaction; a second producer fences the first', async () => {
    const job = { mode: 'txn-offsets', bootstrap: b.bootstrap, topic: 'py-txn', group: 'py-txn-group', txn_id: 'py-tx' };
    const out = await run(python.command, [SCRIPT], { input: JSON.stringify(job), timeoutMs: 60_000 });
    const r = JSON.parse(out.stdout.toString('utf8')) as Record<string, Outcome>;
    const ok = (step: string) => assert.ok(r[step]!.ok, `${step}: ${JSON.stringify(r[step])}`);
    const offset = (step: string) => {
      ok(step);
      return ((r[step] as { value: Committed }).value)[0]!.offset;
    };
    for (const step of ['init', 'begin1', 'send1', 'abort', 'begin2', 'send2', 'commit', 'begin3', 'send3', 'second_init']) ok(step);
    assert.equal(offset('after_abort'), -1001, 'nothing committed by the aborted transaction (librdkafka: OFFSET_INVALID)');
    assert.equal(offset('after_commit'), 5);
    const zombie = r.zombie_commit!;
    assert.equal(zombie.ok, false, 'the fenced producer cannot commit');
    assert.match((zombie as { error: { name: string } }).error.name, /FENCED|EPOCH/);
    assert.equal(offset('after_fence'), 5, 'the zombie’s offset was dropped');
  });
  it('an aborted then a committed transaction: read_committed sees only the committed records', async () => {
    const job = { mode: 'txn-records', bootstrap: b.bootstrap, topic: 'py-txn-records', group: 'py-txn-records', txn_id: 'py-tx-records' };
    const out = await run(python.command, [SCRIPT], { input: JSON.stringify(job), timeoutMs: 60_000 });
    const r = JSON.parse(out.stdout.toString('utf8')) as Record<string, unknown>;
    for (const step of ['init', 'begin1', 'abort', 'begin2', 'commit']) assert.ok((r[step] as Outcome).ok, `${step}: ${JSON.stringify(r[step])}`);
    assert.equal(r.flush1, 0, 'the aborted records were written before the abort');
    assert.deepEqual(r.read_committed, ['committed-1', 'committed-2']);
    assert.deepEqual(r.read_uncommitted, ['aborted-1', 'aborted-2', 'committed-1', 'committed-2']);
    assert.deepEqual(r.errors, []);
  });
});
