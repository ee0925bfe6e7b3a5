// A small app to test: sign-ups are published to a topic, and a welcome mailer (a consumer group)
// sends one welcome mail per sign-up. Plain kafkajs; the bootstrap address and topic come from the caller.
import { Kafka, logLevel } from 'kafkajs';

export function connect(bootstrap) {
  return new Kafka({ clientId: 'signups-example', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 8 } });
}

/** Publish a sign-up; the idempotent producer writes it once even when it has to retry. */
export async function signUp(kafka, topic, user) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: user.email, value: JSON.stringify(user) }] });
  } finally {
    await producer.disconnect();
  }
}

/** Send a welcome mail (`send(user)`) for each sign-up; returns a stop function. */
export async function startMailer(kafka, topic, groupId, send) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => send(JSON.parse(message.value.toString())) });
  return () => consumer.disconnect();
}
