/**
 * kill -9 of a broker process (`rafka start`, log engine, its default fsync=always) in the middle of
 * transactions, at random points, round after round on the same data directory. Transactions are
 * driven at the wire (InitProducerId, AddPartitionsToTxn, Produce, EndTxn) so the kill point is exact:
 * after InitProducerId, after AddPartitionsToTxn, after some acknowledged Produce, right after sending
 * a Produce, right after sending EndTxn (before its answer), right after EndTxn's answer. After every
 * restart, read_committed must show:
 *   - no record of an aborted transaction (aborted by EndTxn, by its timeout, or by the next
 *     InitProducerId of its transactional id), neither at once nor later;
 *   - every record of a transaction whose EndTxn(commit) was acknowledged;
 *   - for a commit whose EndTxn was sent but not answered: all of its records or none (and the same
 *     answer at every later restart);
 *   - no record twice, none that no transaction wrote;
 * and once the coordinator has completed or aborted what was open (the next InitProducerId of the same
 * transactional id, or the transaction timeout), the last stable offset reaches the high watermark.
 *
 * Seeded: the seed is printed (and named in every failure); RAFKA_TXN_KILL_SEED=<seed> replays a run's
 * choices (the broker's progress at the instant of a kill is the machine's, not the seed's).
 * RAFKA_TXN_KILL_ROUNDS sets the number of rounds (50 by default: about 25-35 s on 2 idle cores).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './helpers/log-engine.js';
import { RawClient } from './helpers/raw-client.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { committedValues, fetchPartition, txnBatch } from './helpers/txn.js';
import { createTopic, sleep } from './helpers/robust.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  EndTxnRequest,
  EndTxnResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ProduceRequest,
  ProduceResponse,
} from '../src/protocol/messages/index.js';

const ROUNDS = Number(process.env.RAFKA_TXN_KILL_ROUNDS ?? 50);
const SEED = Number(process.env.RAFKA_TXN_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TOPIC = 'tk';
const PARTITIONS = [0, 1];
const IDS = ['tx-a', 'tx-b', 'tx-c'];
/** The timeout of a transaction left to time out (the broker scans every 100 ms here). */
const SHORT_TIMEOUT_MS = 1500;
const LONG_TIMEOUT_MS = 60_000;

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
}

type Outcome = 'committed' | 'aborted' | 'either';
interface Txn {
  name: string;
  id: string;
  /** Every value sent in a Produce of this transaction (acknowledged or not). */
  values: string[];
  outcome: Outcome;
}

/** The kill points of the last transaction of a round. */
const STAGES = ['afterInit', 'afterAdd', 'afterProduce', 'produceSent', 'endSent', 'endAcked'] as const;
type Stage = (typeof STAGES)[number];

class Wire {
  constructor(readonly c: RawClient, readonly where: string) {}

  /** InitProducerId, retried while the coordinator answers CONCURRENT_TRANSACTIONS (it is aborting or completing). */
  async init(id: string, timeoutMs: number): Promise<{ pid: bigint; epoch: number }> {
    for (let tries = 0; ; tries++) {
      const r = await this.c.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, {
        transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1,
      });
      if (r.errorCode === ErrorCode.NONE) return { pid: r.producerId, epoch: r.producerEpoch };
      assert.equal(r.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, `${this.where}: InitProducerId ${id}: error ${r.errorCode}`);
      assert.ok(tries < 200, `${this.where}: InitProducerId ${id}: still CONCURRENT_TRANSACTIONS after ${tries} tries`);
      await sleep(20);
    }
  }

  async add(id: string, pid: bigint, epoch: number, partitions: number[]): Promise<void> {
    const r = await this.c.request(ApiKey.AddPartitionsToTxn, 3, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
      v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: TOPIC, partitions }],
    });
    const codes = r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
    assert.deepEqual(codes, partitions.map(() => ErrorCode.NONE), `${this.where}: AddPartitionsToTxn ${id}`);
  }

  produce(id: string, partition: number, records: Buffer): Promise<number> {
    return this.c
      .request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
        transactionalId: id, acks: -1, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
      })
      .then((r) => r.responses[0]!.partitionResponses[0]!.errorCode);
  }

  end(id: string, pid: bigint, epoch: number, committed: boolean): Promise<number> {
    return this.c
      .request(ApiKey.EndTxn, 3, EndTxnRequest, EndTxnResponse, { transactionalId: id, producerId: pid, producerEpoch: epoch, committed })
      .then((r) => r.errorCode);
  }
}

interface Seen {
  /** Values read_committed delivers, over both partitions, in order per partition. */
  visible: string[];
  lso: number[];
  hw: number[];
}

async function readCommitted(c: RawClient): Promise<Seen> {
  const seen: Seen = { visible: [], lso: [], hw: [] };
  for (const p of PARTITIONS) {
    const f = await fetchPartition(c, TOPIC, p, 0, { partitionMaxBytes: 16 << 20 });
    assert.equal(f.errorCode, ErrorCode.NONE);
    const last = f.batches.at(-1);
    const end = last ? last.header.baseOffset + last.header.lastOffsetDelta + 1 : 0;
    assert.equal(end, f.lastStableOffset, `one fetch reads partition ${p} up to its LSO`);
    seen.visible.push(...committedValues(f));
    seen.lso.push(f.lastStableOffset);
    seen.hw.push(f.highWatermark);
  }
  return seen;
}

test(`kill -9 at random points of transactions, ${ROUNDS} rounds (seed ${SEED}): read_committed never shows an aborted record, never loses an acknowledged commit, and the LSO reaches the high watermark`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (replay: RAFKA_TXN_KILL_SEED=${SEED} RAFKA_TXN_KILL_ROUNDS=${ROUNDS})`);
  console.log(`transactions-kill9: seed ${SEED}, ${ROUNDS} rounds`);
  const r = rng(SEED);
  const data = tempDir('rafka-txn-kill9-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  // The default fsync (always) is what is tested; only the timeout scan is made frequent.
  const env = { RAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS: '100' };
  let broker: BrokerProcess = await startBrokerProcess(args, { env });
  const txns: Txn[] = [];
  const owner = new Map<string, Txn>();
  const stages = new Map<Stage, number>();
  try {
    let c = await RawClient.connect(broker.port);
    await createTopic(c, TOPIC, PARTITIONS.length);

    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${SEED}, round ${round}`;
      const w = new Wire(c, where);
      // Transactions run to their end first, then the ones open at the kill: the last one stopped at
      // the kill point, and sometimes another left Ongoing beside it.
      const complete = r.int(3);
      const stage = r.pick(STAGES);
      stages.set(stage, (stages.get(stage) ?? 0) + 1);
      const alsoOpen = r.next() < 0.3;
      const byTimeout = r.next() < 0.2; // the open ones are aborted by their timeout, not by InitProducerId
      const ids = [...IDS].sort(() => r.next() - 0.5);
      const plan = [...Array(complete).fill('complete'), ...(alsoOpen ? ['open'] : []), 'kill'] as const;
      const open: string[] = [];
      let pendingEnd: Promise<unknown> | null = null;
      let killed = false;
      for (const [i, kind] of plan.entries()) {
        const id = kind === 'complete' ? r.pick(IDS) : ids.pop()!;
        if (kind !== 'complete') open.push(id);
        const txn: Txn = { name: `${round}.${i}`, id, values: [], outcome: 'aborted' };
        txns.push(txn);
        // A short timeout only where the transaction may be left open (an EndTxn sent but not read by
        // the killed broker leaves it Ongoing); never for one whose EndTxn answer is awaited.
        const short = byTimeout && (kind === 'open' || (kind === 'kill' && stage !== 'endAcked'));
        const { pid, epoch } = await w.init(id, short ? SHORT_TIMEOUT_MS : LONG_TIMEOUT_MS);
        if (kind === 'kill' && stage === 'afterInit') break;
        const parts = r.next() < 0.6 ? PARTITIONS : [r.pick(PARTITIONS)];
        await w.add(id, pid, epoch, parts);
        if (kind === 'kill' && stage === 'afterAdd') break;
        const seq = new Map<number, number>();
        const produces = 1 + r.int(4);
        for (let k = 0; k < produces; k++) {
          const p = r.pick(parts);
          const values = Array.from({ length: 1 + r.int(3) }, (_, j) => `${txn.name}.${k}.${j}`);
          for (const v of values) owner.set(v, txn);
          txn.values.push(...values);
          const sent = w.produce(id, p, await txnBatch(values, Number(pid), epoch, seq.get(p) ?? 0));
          seq.set(p, (seq.get(p) ?? 0) + values.length);
          if (kind === 'kill' && stage === 'produceSent' && k === produces - 1) {
            pendingEnd = sent.catch(() => {});
            break;
          }
          assert.equal(await sent, ErrorCode.NONE, `${where}: Produce ${txn.name}`);
        }
        if (kind === 'kill' && (stage === 'afterProduce' || stage === 'produceSent')) break;
        if (kind === 'open') continue;
        const commit = r.next() < 0.6;
        const ended = w.end(id, pid, epoch, commit);
        if (kind === 'kill' && stage === 'endSent') {
          txn.outcome = commit ? 'either' : 'aborted';
          pendingEnd = ended.catch(() => {});
          // Kill with the request on its way, at once or a few milliseconds later: the broker may not
          // have read it, may have stored PrepareCommit without answering, or may have written markers.
          const delayMs = r.int(4);
          if (delayMs > 0) await sleep(delayMs);
          await kill9(broker);
          killed = true;
          break;
        }
        assert.equal(await ended, ErrorCode.NONE, `${where}: EndTxn ${txn.name}`);
        txn.outcome = commit ? 'committed' : 'aborted';
        if (kind === 'kill') open.pop(); // ended and acknowledged: nothing left open by it
      }
      if (!killed) await kill9(broker);
      c.close();
      await pendingEnd;

      broker = await startBrokerProcess(args, { env });
      c = await RawClient.connect(broker.port);

      // At once, before anything open is completed: nothing aborted is visible.
      check(await readCommitted(c), txns, owner, `${where}, just after the restart`, false);

      // Complete what was open: by timeout (wait for it), or by the next InitProducerId of the id.
      const w2 = new Wire(c, `${where}, after the restart`);
      if (!byTimeout) for (const id of open) await w2.init(id, LONG_TIMEOUT_MS);
      let seen = await readCommitted(c);
      const deadline = Date.now() + (byTimeout ? SHORT_TIMEOUT_MS + 10_000 : 10_000);
      while (seen.lso.some((l, i) => l !== seen.hw[i]) && Date.now() < deadline) {
        await sleep(50);
        seen = await readCommitted(c);
      }
      assert.deepEqual(seen.lso, seen.hw, `${where}: the LSO reaches the high watermark once the open transactions (${open.join(', ') || 'none'}) are ${byTimeout ? 'timed out' : 'aborted by InitProducerId'}; stage ${stage}`);
      check(seen, txns, owner, `${where}, once completed (stage ${stage})`, true);
    }
    const unanswered = txns.filter((x) => x.name in eitherSeen);
    t.diagnostic(
      `kill points: ${[...stages].map(([s, n]) => `${s} ${n}`).join(', ')}; ${txns.filter((x) => x.outcome === 'committed').length} of ${txns.length} transactions committed; ` +
        `unanswered commits: ${unanswered.filter((x) => x.outcome === 'committed').length} visible, ${unanswered.filter((x) => x.outcome === 'aborted').length} not`,
    );
    c.close();
  } finally {
    await stop(broker);
    data.remove();
  }
});

/**
 * The read_committed invariants over everything written so far. `settled`: the LSO is at the high
 * watermark, so every committed record must be visible; before that, only the safety half is checked.
 * An 'either' transaction seen whole becomes 'committed' (seen not at all, once settled, 'aborted'),
 * so every later restart must give the same answer.
 */
/** The transactions whose EndTxn(commit) was sent but not answered (for the run's summary). */
const eitherSeen: Record<string, true> = {};

function check(seen: Seen, txns: Txn[], owner: Map<string, Txn>, where: string, settled: boolean): void {
  const visible = new Set(seen.visible);
  assert.equal(visible.size, seen.visible.length, `${where}: a record delivered twice`);
  for (const v of visible) {
    const txn = owner.get(v);
    assert.ok(txn, `${where}: ${v} was written by no transaction`);
    assert.notEqual(txn.outcome, 'aborted', `${where}: ${v} of aborted transaction ${txn.name} (${txn.id}) is visible to read_committed`);
  }
  for (const txn of txns) {
    const shown = txn.values.filter((v) => visible.has(v));
    if (txn.outcome === 'committed' && settled) {
      assert.deepEqual(shown, txn.values, `${where}: acknowledged commit ${txn.name} (${txn.id}) lost records`);
    }
    if (txn.outcome === 'either') {
      // Before the coordinator has written every marker one partition may show the commit and the other not yet.
      if (settled) {
        assert.ok(shown.length === 0 || shown.length === txn.values.length, `${where}: unacknowledged commit ${txn.name} (${txn.id}) partly visible: ${shown.length} of ${txn.values.length}`);
      }
      eitherSeen[txn.name] = true;
      if (shown.length > 0 && shown.length === txn.values.length) txn.outcome = 'committed';
      else if (settled) txn.outcome = 'aborted';
    }
  }
}
