/**
 * A topic of `partitions` partitions with `perPartition` records each (values `p<partition>-<i>`),
 * created and written with kafkajs — the setup of the group tests that drive outside clients. With
 * `perBatch`, written in sends of that many records per partition (smaller batches: more fetches).
 */
import { Kafka, logLevel } from 'kafkajs';

export async function seedTopic(bootstrap: string, topic: string, partitions: number, perPartition: number, clientId = 'seed-topic', perBatch = perPartition): Promise<void> {
  const kafka = new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let from = 0; from < perPartition; from += perBatch) {
      const messages = [];
      const to = Math.min(perPartition, from + perBatch);
      for (let p = 0; p < partitions; p++) for (let i = from; i < to; i++) messages.push({ partition: p, value: `p${p}-${i}` });
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}
