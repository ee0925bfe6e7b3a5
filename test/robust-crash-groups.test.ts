/**
 * kill -9 during consumer-group rebalances and offset commits, on a real broker process (log engine,
 * fsync=always). Three members join, sync a range assignment of four partitions, commit increasing
 * offsets for their own partitions and leave and rejoin at random (so rebalances run all the time);
 * a monitor polls OffsetFetch. The broker is killed at a random moment, restarted, and checked:
 *  - every acknowledged commit survived: each partition's committed offset is at least the highest
 *    commit acknowledged before the kill (and at most the highest one sent);
 *  - committed offsets never went backwards, across the kills and in every poll in between;
 *  - the group recovers: after each restart new members join, get all four partitions, and commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupClient, assignment, subscription } from './helpers/group-client.js';
import { RawClient } from './helpers/raw-client.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { tempDir } from './helpers/log-engine.js';
import { createTopic, sleep } from './helpers/robust.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { ConsumerProtocolAssignment } from '../src/protocol/messages/consumer-protocol-assignment.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

const TOPIC = 'committed';
const PARTITIONS = 4;
const GROUP = 'crash-group';
const MEMBERS = 3;
const KILLS = 3;

/** What the clients know: per partition, the highest offset sent and the highest acknowledged. */
class Ledger {
  readonly sent = new Array<number>(PARTITIONS).fill(-1);
  readonly acked = new Array<number>(PARTITIONS).fill(-1);
  /** The last committed offsets observed through OffsetFetch. */
  readonly observed = new Array<number>(PARTITIONS).fill(-1);
  private counter = 0;
  commits = 0;
  rebalances = 0;
  backwards: string[] = [];

  nextOffset(): number {
    return ++this.counter;
  }

  observe(partition: number, offset: number, when: string): void {
    if (offset < this.observed[partition]!) this.backwards.push(`${when}: partition ${partition} went from ${this.observed[partition]} to ${offset}`);
    this.observed[partition] = Math.max(this.observed[partition]!, offset);
  }
}

function decodeAssignment(bytes: Buffer): number[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  return ConsumerProtocolAssignment.decode(r, version).assignedPartitions.flatMap((t) => t.partitions);
}

/** One member: join, sync (the leader assigns ranges), commit and heartbeat, sometimes leave; until stopped or cut off. */
async function member(port: number, ledger: Ledger, stopped: () => boolean, seed: number): Promise<number> {
  let rand = seed;
  const random = () => ((rand = (rand * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let commitsOk = 0;
  let c: GroupClient;
  try {
    c = await GroupClient.connect(port);
  } catch {
    return 0;
  }
  try {
    let memberId = '';
    while (!stopped()) {
      const join = await c.joinWithId(9, {
        groupId: GROUP,
        sessionTimeoutMs: 1500,
        rebalanceTimeoutMs: 2000,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription([TOPIC]) }],
        reason: null,
      });
      if (join.errorCode !== ErrorCode.NONE) {
        memberId = '';
        await sleep(20);
        continue;
      }
      memberId = join.memberId;
      const assignments = join.leader === memberId
        ? join.members.map((m, i) => ({ memberId: m.memberId, assignment: assignment({ [TOPIC]: Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % join.members.length === i) }) }))
        : [];
      const sync = await c.sync(5, { groupId: GROUP, generationId: join.generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
      if (sync.errorCode !== ErrorCode.NONE) continue;
      ledger.rebalances++;
      const mine = decodeAssignment(sync.assignment);
      const rounds = 3 + Math.floor(random() * 12);
      let fenced = false;
      for (let k = 0; k < rounds && !stopped() && !fenced; k++) {
        if (mine.length > 0) {
          const offsets = mine.map(() => ledger.nextOffset());
          mine.forEach((p, i) => (ledger.sent[p] = Math.max(ledger.sent[p]!, offsets[i]!)));
          const res = await c.commit(9, {
            groupId: GROUP,
            generationIdOrMemberEpoch: join.generationId,
            memberId,
            topics: [{ name: TOPIC, partitions: mine.map((p, i) => ({ partitionIndex: p, committedOffset: BigInt(offsets[i]!) })) }],
          });
          for (const p of res.topics[0]!.partitions) {
            if (p.errorCode === ErrorCode.NONE) {
              ledger.acked[p.partitionIndex] = Math.max(ledger.acked[p.partitionIndex]!, offsets[mine.indexOf(p.partitionIndex)]!);
              ledger.commits++;
              commitsOk++;
            } else fenced = true; // REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, …: rejoin
          }
        }
        const hb = await c.heartbeat(4, { groupId: GROUP, generationId: join.generationId, memberId, groupInstanceId: null });
        if (hb.errorCode !== ErrorCode.NONE) fenced = true;
        await sleep(5 + Math.floor(random() * 30));
      }
      if (!fenced && random() < 0.4) {
        await c.leave(5, { groupId: GROUP, members: [{ memberId, groupInstanceId: null, reason: 'churn' }] });
        memberId = '';
      }
    }
  } catch (err) {
    if (!c.raw.closed) throw err; // only a connection cut by the kill is expected
  } finally {
    c.close();
  }
  return commitsOk;
}

async function committedOffsets(port: number): Promise<number[]> {
  const c = await GroupClient.connect(port);
  try {
    const res = await c.fetchOffsets(8, { groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }] }] });
    const out = new Array<number>(PARTITIONS).fill(-1);
    for (const t of res.groups[0]!.topics) for (const p of t.partitions) out[p.partitionIndex] = Number(p.committedOffset);
    return out;
  } finally {
    c.close();
  }
}

/** Poll OffsetFetch until stopped, recording every observation. */
async function monitor(port: number, ledger: Ledger, stopped: () => boolean): Promise<number> {
  let polls = 0;
  while (!stopped()) {
    try {
      const offsets = await committedOffsets(port);
      offsets.forEach((o, p) => ledger.observe(p, o, 'while running'));
      polls++;
    } catch {
      return polls; // the broker was killed
    }
    await sleep(50);
  }
  return polls;
}

test('kill -9 during rebalances and offset commits: acknowledged commits survive, never go backwards, the group recovers', { timeout: 120_000 }, async (t) => {
  const data = tempDir('rafka-crash-groups-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  const env = { RAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', RAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '100' };
  const ledger = new Ledger();
  let broker: BrokerProcess = await startBrokerProcess(args, { env });
  try {
    const admin = await RawClient.connect(broker.port);
    await createTopic(admin, TOPIC, PARTITIONS);
    admin.close();
    let seed = 1;
    for (let round = 0; round <= KILLS; round++) {
      let stopFlag = false;
      const commitsBefore = ledger.commits;
      const members = Array.from({ length: MEMBERS }, () => member(broker.port, ledger, () => stopFlag, seed++));
      const polling = monitor(broker.port, ledger, () => stopFlag);
      // Run until the group is committing again (the recovery check), then a random while longer.
      const deadline = Date.now() + 20_000;
      while (ledger.commits - commitsBefore < 20 && Date.now() < deadline) await sleep(20);
      assert.ok(ledger.commits - commitsBefore >= 20, `round ${round}: the group commits (${ledger.commits - commitsBefore} commits)`);
      await sleep(200 + Math.floor(Math.random() * 1000));
      const acked = [...ledger.acked];
      if (round < KILLS) await kill9(broker);
      stopFlag = true;
      await Promise.all([...members, polling]);
      if (round === KILLS) break;
      // Whatever was acknowledged before the kill is the least each partition may hold.
      for (let p = 0; p < PARTITIONS; p++) acked[p] = Math.max(acked[p]!, ledger.acked[p]!);
      broker = await startBrokerProcess(args, { env });
      const after = await committedOffsets(broker.port);
      after.forEach((o, p) => {
        assert.ok(o >= acked[p]!, `after kill ${round + 1}: partition ${p} holds ${o}, an acknowledged commit was ${acked[p]}`);
        assert.ok(o <= ledger.sent[p]!, `after kill ${round + 1}: partition ${p} holds ${o}, more than was ever sent (${ledger.sent[p]})`);
        ledger.observe(p, o, `after kill ${round + 1}`);
      });
      t.diagnostic(`kill ${round + 1}: committed ${after.join(',')} (acknowledged ${acked.join(',')}); ${ledger.commits} commits and ${ledger.rebalances} member syncs so far`);
    }
    assert.deepEqual(ledger.backwards, [], 'committed offsets never went backwards');
    assert.equal(await stop(broker), 0);
    broker = await startBrokerProcess(args, { env });
    const final = await committedOffsets(broker.port);
    final.forEach((o, p) => ledger.observe(p, o, 'after a clean restart'));
    assert.deepEqual(ledger.backwards, []);
    t.diagnostic(`${KILLS} kills: ${ledger.commits} acknowledged partition commits, ${ledger.rebalances} member syncs; final committed ${final.join(',')}`);
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
});
