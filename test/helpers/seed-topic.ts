/**
 * A topic of `partitions` partitions with `perPartition` records each (values `p<partition>-<i>`),
 * created and written with kafkajs — the setup of the group tests that drive outside clients.
 */
import { Kafka, logLevel } from 'kafkajs';

export async function seedTopic(bootstrap: string, topic: string, partitions: number, perPartition: number, clientId = 'seed-topic'): Promise<void> {
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
    const messages = [];
    for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `p${p}-${i}` });
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}
