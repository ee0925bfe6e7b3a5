/**
 * Crash test with real processes: the broker runs as `rafka start --storage log` (fsync=always, the
 * strictest policy) in a child process; several producers send acks=-1 batches with unique values,
 * pipelined; the broker is killed with SIGKILL at a random moment, restarted on the same data
 * directory, and the log is checked through the Kafka protocol:
 *  - every acknowledged record is present exactly once, at the offset its acknowledgement gave;
 *  - no value appears twice, every offset from 0 to the high watermark holds exactly one record
 *    (no gaps, no reuse), and every batch served passes its CRC check;
 *  - producing after the restart continues at the high watermark;
 *  - the producers are idempotent and live across the kills as clients do: after each restart they
 *    send their unanswered batches again (each ends up in the log once) and retry their last
 *    acknowledged batch per partition, which is answered as a duplicate at its original offset —
 *    producer state recovered from the snapshots taken at segment rolls plus the log after them.
 * Five kills, then a clean stop and a last check. Unacknowledged records may be present or not.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { fetchAll } from './helpers/fetch-all.js';
import { kill9, startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { tempDir } from './helpers/log-engine.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { initProducerId } from './helpers/robust.js';

const TOPIC = 'crash';
const PRODUCERS = 4;
const PIPELINE = 4;
const KILLS = 5;

interface Acked {
  partition: number;
  offset: number;
}

interface SentBatch {
  values: string[];
  partition: number;
  sequence: number;
  records: Buffer;
}

/** An idempotent producer (KIP-98) that lives across the broker's restarts, as a client would. */
interface Producer {
  index: number;
  producerId: number;
  producerEpoch: number;
  nextSequence: number[];
  /** Sent and not answered when the broker died: a client sends these again, in order. */
  unanswered: SentBatch[];
  /** The last acknowledged batch per partition, and its base offset: retried after each restart. */
  lastAcked: Map<number, { batch: SentBatch; offset: number }>;
}

async function newProducer(port: number, index: number, partitions: number): Promise<Producer> {
  const client = await RawClient.connect(port);
  const { producerId, producerEpoch } = await initProducerId(client);
  client.close();
  return { index, producerId, producerEpoch, nextSequence: Array(partitions).fill(0), unanswered: [], lastAcked: new Map() };
}

function produceRequest(client: RawClient, b: SentBatch): Buffer {
  return client.frame(ApiKey.Produce, 9, ProduceRequest, {
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: b.partition, records: Buffer.from(b.records) }] }],
  });
}

/**
 * After a restart: the producer's unanswered batches are sent again (each is written now, or was
 * written before the kill and is answered as a duplicate — never both), then its last acknowledged
 * batch per partition, which must be a duplicate at its original offset. Returns the duplicates seen.
 */
async function resend(port: number, pr: Producer, acked: Map<string, Acked>): Promise<number> {
  const client = await RawClient.connect(port);
  try {
    let duplicates = 0;
    const ask = async (b: SentBatch) => {
      const frame = produceRequest(client, b);
      client.write(frame);
      const res = decodeResponse((await client.readFrame(10_000))!, ApiKey.Produce, 9, ProduceResponse, frame.readInt32BE(8));
      return res.responses[0]!.partitionResponses[0]!;
    };
    for (const b of pr.unanswered) {
      const p = await ask(b);
      assert.equal(p.errorCode, 0, `producer ${pr.index}: the unanswered batch ${b.partition}/${b.sequence} is accepted when sent again`);
      b.values.forEach((v, i) => acked.set(v, { partition: b.partition, offset: Number(p.baseOffset) + i }));
      pr.lastAcked.set(b.partition, { batch: b, offset: Number(p.baseOffset) });
    }
    pr.unanswered = [];
    for (const [partition, { batch, offset }] of pr.lastAcked) {
      const p = await ask(batch);
      assert.deepEqual([p.errorCode, Number(p.baseOffset)], [0, offset], `producer ${pr.index}: its last acknowledged batch on ${partition} is a duplicate at its original offset`);
      duplicates++;
    }
    return duplicates;
  } finally {
    client.close();
  }
}

/** One producer connection: pipelined acks=-1 idempotent produce requests until `stopped()` says stop. */
async function produceUntil(port: number, pr: Producer, round: number, acked: Map<string, Acked>, stopped: () => boolean): Promise<void> {
  let client: RawClient;
  try {
    client = await RawClient.connect(port);
  } catch {
    return;
  }
  const inFlight: { batch: SentBatch; correlationId: number }[] = [];
  let n = 0;
  const send = async () => {
    const partition = (pr.index + n) % pr.nextSequence.length;
    const count = 1 + (n % 5);
    const values = Array.from({ length: count }, (_, i) => `r${round}-p${pr.index}-s${n}-${i}`);
    n++;
    const sequence = pr.nextSequence[partition]!;
    pr.nextSequence[partition] = sequence + count;
    const records = await encodeBatch({
      records: values.map((v) => ({ value: Buffer.from(v), key: Buffer.from(`k${pr.index}`) })),
      producerId: pr.producerId, producerEpoch: pr.producerEpoch, baseSequence: sequence,
    });
    const batch = { values, partition, sequence, records };
    const frame = produceRequest(client, batch);
    inFlight.push({ batch, correlationId: frame.readInt32BE(8) }); // size, api key, version, correlation id
    pr.unanswered.push(batch);
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
      assert.equal(p.errorCode, 0, `producer ${pr.index}: batch ${sent.batch.partition}/${sent.batch.sequence} accepted`);
      sent.batch.values.forEach((v, i) => acked.set(v, { partition: sent.batch.partition, offset: Number(p.baseOffset) + i }));
      pr.unanswered.splice(pr.unanswered.indexOf(sent.batch), 1);
      pr.lastAcked.set(sent.batch.partition, { batch: sent.batch, offset: Number(p.baseOffset) });
      if (!stopped()) await send();
    }
  } catch (err) {
    if (!client.closed) throw err; // only a connection cut by the kill is expected here
  } finally {
    client.close();
  }
}

/** Check the whole log against everything acknowledged so far; returns each partition's high watermark. */
async function verify(port: number, partitions: number, acked: Map<string, Acked>, label: string): Promise<number[]> {
  const hws: number[] = [];
  const seen = new Map<string, Acked>();
  for (let p = 0; p < partitions; p++) {
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

/** Five kills while producers produce, then a clean stop; the log is checked after every restart. */
async function killRounds(t: TestContext, partitions: number, env: Record<string, string>): Promise<void> {
  const data = tempDir('rafka-crash-');
  const args = ['--storage', 'log', '--data-dir', data.dir, '--log-level', 'error'];
  const acked = new Map<string, Acked>();
  let broker: BrokerProcess = await startBrokerProcess(args, { env });
  try {
    const admin = await RawClient.connect(broker.port);
    const created = await admin.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: TOPIC, numPartitions: partitions, replicationFactor: 1, configs: [{ name: 'internal.segment.bytes', value: '65536' }] }],
    });
    admin.close();
    assert.equal(created.topics[0]!.errorCode, 0);
    const clusterId = /cluster (\S+)\)/.exec(broker.line)![1];
    let hws: number[] = Array(partitions).fill(0);
    const producers: Producer[] = [];
    for (let i = 0; i < PRODUCERS; i++) producers.push(await newProducer(broker.port, i, partitions));
    let duplicates = 0;
    for (let round = 0; round < KILLS; round++) {
      let stopFlag = false;
      const producing = producers.map((pr) => produceUntil(broker.port, pr, round, acked, () => stopFlag));
      const ackedBefore = acked.size;
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
      await kill9(broker);
      stopFlag = true;
      await Promise.all(producing);
      assert.ok(acked.size > ackedBefore, `round ${round}: some produces were acknowledged before the kill`);
      t.diagnostic(`round ${round}: ${acked.size - ackedBefore} records acknowledged before the kill`);
      broker = await startBrokerProcess(args, { env });
      assert.equal(/cluster (\S+)\)/.exec(broker.line)![1], clusterId, 'the cluster id survives');
      const now = await verify(broker.port, partitions, acked, `after kill ${round + 1}`);
      now.forEach((hw, p) => assert.ok(hw >= hws[p]!, `partition ${p} never shrinks below what was there`));
      // The producers carry on as clients do: what was unanswered is sent again, and a retry of what
      // was acknowledged is a duplicate (producer state recovered from snapshots and the log).
      for (const pr of producers) duplicates += await resend(broker.port, pr, acked);
      hws = await verify(broker.port, partitions, acked, `after kill ${round + 1} and the producers' retries`);
    }
    t.diagnostic(`retries of acknowledged batches answered as duplicates at their original offsets: ${duplicates}`);
    // A last round after the restarts, then a clean stop: everything is still there, once.
    let stopFlag = false;
    const producing = producers.map((pr) => produceUntil(broker.port, pr, KILLS, acked, () => stopFlag));
    await new Promise((r) => setTimeout(r, 300));
    stopFlag = true;
    await Promise.all(producing);
    const firstAfter = [...acked.entries()].filter(([v]) => v.startsWith(`r${KILLS}-`)).map(([, a]) => a);
    for (let p = 0; p < partitions; p++) {
      const offsets = firstAfter.filter((a) => a.partition === p).map((a) => a.offset);
      if (offsets.length > 0) assert.equal(Math.min(...offsets), hws[p], `partition ${p}: offsets continue at the high watermark`);
    }
    assert.equal(await stop(broker), 0);
    broker = await startBrokerProcess(args, { env });
    await verify(broker.port, partitions, acked, 'after a clean restart');
    for (const pr of producers) await resend(broker.port, pr, acked);
    await verify(broker.port, partitions, acked, "after a clean restart and the producers' retries");
  } finally {
    await stop(broker).catch(() => {});
    data.remove();
  }
}

test('kill -9 at random moments never loses or duplicates an acknowledged record (log engine, fsync=always)', { timeout: 90_000 }, async (t) => {
  await killRounds(t, 2, { RAFKA_STORAGE_FSYNC: 'always' });
});

// The shared journal (storage.journal): the segments of 8 partitions are written without their own
// syncs and made durable by the journal's; each restart replays it. (A kill keeps the page cache, so
// this checks the journal's acknowledgements, replay and reset; test/storage-log-journal.test.ts
// drops the unsynced segment bytes as a power loss would.)
test('kill -9 mid-produce across 8 partitions with the shared journal never loses or duplicates an acknowledged record', { timeout: 90_000 }, async (t) => {
  await killRounds(t, 8, { RAFKA_STORAGE_FSYNC: 'always', RAFKA_STORAGE_JOURNAL: 'true' });
});
