/** Rafka's client against a broker with TLS or SASL: a round trip through every kind of connection, and how a client fails. */
import { Admin, Consumer, Producer, type ClusterOptions } from '../../src/client/index.js';

/** Admin creates the topic, a Producer writes three records, a group Consumer reads them back. */
export async function roundTrip(opts: ClusterOptions, topic: string): Promise<string[]> {
  const admin = new Admin(opts);
  const producer = new Producer({ ...opts, lingerMs: 0 });
  const consumer = new Consumer({ ...opts, groupId: `g-${topic}`, autoOffsetReset: 'earliest' });
  try {
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    await producer.send(topic, [{ value: 'one' }, { value: 'two' }, { value: 'three' }]);
    consumer.subscribe(topic);
    const seen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < deadline) {
      const m = await consumer.next(deadline - Date.now());
      if (m) seen.push(m.value!.toString());
    }
    await consumer.commit();
    return seen.sort();
  } finally {
    await Promise.all([consumer.close(), producer.close(), admin.close()]);
  }
}

/** How a client configured with `opts` fails its first request, and how long it took. */
export async function failure(opts: ClusterOptions): Promise<{ error: unknown; ms: number }> {
  const admin = new Admin({ ...opts, requestTimeoutMs: 8000 });
  const t0 = Date.now();
  try {
    await admin.listTopics();
    return { error: null, ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  } finally {
    await admin.close();
  }
}

