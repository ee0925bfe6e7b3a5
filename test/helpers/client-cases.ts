/**
 * Issue 20's client cases, written once and run with each client (kafkajs in test/faults.test.ts and
 * test/testing-cluster.test.ts, @confluentinc/kafka-javascript in test/testing-ckjs.test.ts): the
 * client comes in as the functions that send and the records it consumed.
 */
import assert from 'node:assert/strict';
import { consumeAll, uniqueName, waitFor, type TestBroker, type TestCluster } from '../../src/testing/index.js';

/** A produce answered NOT_LEADER_OR_FOLLOWER twice: `send` (which retries) writes the record exactly once. */
export async function notLeaderTwiceWrittenOnce(b: TestBroker, send: (topic: string, value: string) => Promise<void>, label: string): Promise<void> {
  const topic = uniqueName('not-leader');
  await b.createTopics([{ topic, partitions: 2 }]);
  const rule = b.faults.inject({ api: 'Produce', topic, errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 });
  await send(topic, 'once');
  assert.equal(rule.fired, 2, label);
  assert.equal(rule.remaining, 0, label);
  assert.deepEqual((await consumeAll(b, topic)).map((r) => r.value?.toString()), ['once'], label);
  const fired = b.faults.history.filter((h) => h.rule === rule.id);
  assert.deepEqual(fired.map((h) => [h.kind, h.api, h.errorName]), [['error', 'Produce', 'NOT_LEADER_OR_FOLLOWER'], ['error', 'Produce', 'NOT_LEADER_OR_FOLLOWER']], label);
  assert.equal(b.faults.active, false, 'a spent rule is removed; nothing left to check');
}

/**
 * On a one-partition topic of a cluster: records `m0`, `m1`, … sent ten at a time while the partition's
 * leader is stopped, started again, and its leadership moved; each ten must be consumed (into `seen`)
 * before the next. Then every record is in the log once and was consumed in order. The caller has
 * the producer and the group consumer running, and disconnects them in `stop` (before the final checks).
 */
export async function carryOnThroughLeaderChanges(
  c: TestCluster,
  topic: string,
  o: { send(value: string): Promise<unknown>; seen: readonly string[]; stop(): Promise<void> },
): Promise<void> {
  let sent = 0;
  const sendSome = async (n: number) => {
    for (let i = 0; i < n; i++) await o.send(`m${sent++}`);
  };
  const allSeen = () => waitFor(() => new Set(o.seen).size === sent, { timeoutMs: 30_000, message: `consumed ${new Set(o.seen).size}/${sent}` });
  try {
    await sendSome(10);
    await allSeen();
    const first = c.leaderOf(topic, 0).leaderId;
    await c.stopBroker(first);
    assert.notEqual(c.leaderOf(topic, 0).leaderId, first);
    await sendSome(10);
    await allSeen();
    await c.startBroker(first);
    const other = c.brokerIds.find((id) => id !== c.leaderOf(topic, 0).leaderId)!;
    c.moveLeader(topic, 0, other);
    await sendSome(10);
    await allSeen();
  } finally {
    await o.stop();
  }
  const expected = Array.from({ length: sent }, (_, i) => `m${i}`);
  // Every record written once (the idempotent producer's retries were not written twice)…
  assert.deepEqual((await consumeAll(c, topic)).map((r) => r.value?.toString()), expected);
  // …and consumed, in order (a redelivery after a rebalance would repeat a suffix, never skip).
  assert.deepEqual([...new Set(o.seen)], expected);
}
