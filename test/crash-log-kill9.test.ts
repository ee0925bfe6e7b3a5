/**
 * Crash test with real processes: the broker runs as `rafka start --storage log` (fsync=always, the
 * strictest policy) in a child process; several producers send acks=-1 batches with unique values,
 * pipelined; the broker is killed with SIGKILL at a random moment, restarted on the same data
 * directory, and the log is checked through the Kafka protocol:
 *  - every acknowledged record is present exactly once, at the offset its acknowledgement gave;
 *  - no value appears twice, every offset from 0 to the high watermark holds exactly one record
 *    (no gaps, no reuse), and every batch served passes its CRC check;
 *  - producing after the restart continues at the high watermark.
 * Five kills, then a clean stop and a last check. Unacknowledged records may be present or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { fetchAll } from './helpers/fetch-all.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { tempDir } from './helpers/log-engine.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { encodeBatch } from '../src/protocol/records/record.js';

const TOPIC = 'crash';
const PARTITIONS = 2;
const PRODUCERS = 4;
const PIPELINE = 4;
const KILLS = 5;

interface Acked {
  partition: number;
  offset: number;
}

/** One producer connection: pipelined acks=-1 produce requests until `stopAt()` says stop. */
async function produceUntil(port: number, producer: number, round: number, acked: Map<string, Acked>, stopped: () => boolean): Promise<void> {
  let client: RawClient;
  try {
    client = await RawClient.connect(port);
  } catch {
    return;
  }
  const inFlight: { values: string[]; partition: number; correlationId: number }[] = [];
  let seq = 0;
  const send = async () => {
    const partition = (producer + seq) % PARTITIONS;
    const n = 1 + (seq % 5);
    const values = Array.from({ length: n }, (_, i) => `r${round}-p${producer}-s${seq}-${i}`);
    seq++;
    const records = await encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v), key: Buffer.from(`k${producer}`) })) });
    const frame = client.frame(ApiKey.Produce, 9, ProduceRequest, {
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
    });
    inFlight.push({ values, partition, correlationId: frame.readInt32BE(8) }); // size, api key, version, correlation id
    client.write(frame);
  };
  try {
    while (!stopped() && inFlight.length < PIPELINE) await send();
    while (inFlight.length > 0) {
      const frame = await client.readFrame(10_000);
      if (!frame) return; // the broker died: what is still in flight was never acknowledged
      const sent = inFlight.shift()!;
      const res = decodeResponse(frame, ApiKey.Produce, 9, ProduceResponse, sent.correlationId);
      const p = res.responses[0]!.partitionResponses[0]!;
      if (p.errorCode === 0) {
        sent.values.forEach((v, i) => acked.set(v, { partition: sent.partition, offset: Number(p.baseOffset) + i }));
      }
      if (!stopped()) await send();
    }
  } catch (err) {
    if (!client.closed) throw err; // only a connection cut by the kill is expected here
  } finally {
    client.close();
  }
}

/** Check the whole log against everything acknowledged so far; returns each partition's high watermark. */
async function verify(port: number, acked: Map<string, Acked>, label: string): Promise<number[]> {
  const hws: number[] = [];
  const seen = new Map<string, Acked>();
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await fetchAll(port, TOPIC, p); // decodeBatches checks every batch's CRC
    records.forEach((r, i) => {
      assert.equal(r.offset, i, `${label}: partition ${p} offsets run 0, 1, 2, … without gaps (at ${i})`);
      const v = r.value!.toString();
      assert.ok(!seen.has(v), `${label}: ${v} appears twice`);
      seen.set(v, { partition: p, offset: r.offset });
    });
    hws.push(records.length);
  }
  for (const [v, where] of acked) {
    assert.deepEqual(seen.get(v), where, `${label}: acknowledged ${v} at ${where.partition}/${where.offset}`);
  }
  return hws;
}

test('kill -9 at random moments never loses or duplicates an acknowledged record (log engine, fsync=always)', { timeout: 90_000 }, async (t) => {
  const data = tempDir('rafka-crash-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  const env = { RAFKA_STORAGE_FSYNC: 'always' };
  const acked = new Map<string, Acked>();
  let broker: BrokerProcess = await startBrokerProcess(args, { env });
  try {
    const admin = await RawClient.connect(broker.port);
    const created = await admin.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, configs: [{ name: 'internal.segment.bytes', value: '65536' }] }],
    });
    admin.close();
    assert.equal(created.topics[0]!.errorCode, 0);
    const clusterId = /cluster (\S+)\)/.exec(broker.line)![1];
    let hws = [0, 0];
    for (let round = 0; round < KILLS; round++) {
      let stopFlag = false;
      const producing = Array.from({ length: PRODUCERS }, (_, i) => produceUntil(broker.port, i, round, acked, () => stopFlag));
      const ackedBefore = acked.size;
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
      await kill9(broker);
      stopFlag = true;
      await Promise.all(producing);
      assert.ok(acked.size > ackedBefore, `round ${round}: some produces were acknowledged before the kill`);
      t.diagnostic(`round ${round}: ${acked.size - ackedBefore} records acknowledged before the kill`);
      broker = await startBrokerProcess(args, { env });
      assert.equal(/cluster (\S+)\)/.exec(broker.line)![1], clusterId, 'the cluster id survives');
      const now = await verify(broker.port, acked, `after kill ${round + 1}`);
      now.forEach((hw, p) => assert.ok(hw >= hws[p]!, `partition ${p} never shrinks below what was there`));
      hws = now;
    }
    // A last round after the restarts, then a clean stop: everything is still there, once.
    let stopFlag = false;
    const producing = Array.from({ length: PRODUCERS }, (_, i) => produceUntil(broker.port, i, KILLS, acked, () => stopFlag));
    await new Promise((r) => setTimeout(r, 300));
    stopFlag = true;
    await Promise.all(producing);
    const firstAfter = [...acked.entries()].filter(([v]) => v.startsWith(`r${KILLS}-`)).map(([, a]) => a);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = firstAfter.filter((a) => a.partition === p).map((a) => a.offset);
      if (offsets.length > 0) assert.equal(Math.min(...offsets), hws[p], `partition ${p}: offsets continue at the high watermark`);
    }
    assert.equal(await stop(broker), 0);
    broker = await startBrokerProcess(args, { env });
    await verify(broker.port, acked, 'after a clean restart');
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
});
