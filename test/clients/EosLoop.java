import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An exactly-once read-process-write loop with the stock Java client, for test/transactions-java.test.ts:
 * a KafkaConsumer in a group (read_committed, no auto commit) and a KafkaProducer with a fixed
 * transactional.id; per poll: begin, send each record transformed ("out-" + value) to the same
 * partition of the output topic, sendOffsetsToTransaction with the group's metadata, sleep (so a
 * SIGKILL often lands inside a transaction), commit. Prints one line per committed transaction:
 * "committed <n> <records> <total>".
 *
 * Arguments: bootstrap input output group transactionalId sleepMs untilCaughtUp(true|false).
 * With untilCaughtUp it exits 0 once it owns every input partition and its position on each has
 * reached the (read_committed) end offset.
 */
public class EosLoop {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], input = args[1], output = args[2], group = args[3], txnId = args[4];
    long sleepMs = Long.parseLong(args[5]);
    boolean untilCaughtUp = Boolean.parseBoolean(args[6]);

    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "50");
    cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
    cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp);
         KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      producer.initTransactions();
      System.out.println("initialized");
      consumer.subscribe(List.of(input));
      long txns = 0, total = 0;
      while (true) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          if (untilCaughtUp && caughtUp(consumer, input)) {
            System.out.println("caught-up " + total);
            return;
          }
          continue;
        }
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
          producer.send(new ProducerRecord<>(output, r.partition(), r.key(), "out-" + r.value()));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        if (sleepMs > 0) Thread.sleep(sleepMs);
        producer.commitTransaction();
        txns++;
        total += records.count();
        System.out.println("committed " + txns + " " + records.count() + " " + total);
      }
    }
  }

  /** Every partition of the topic assigned here, and the position on each at its end offset. */
  private static boolean caughtUp(KafkaConsumer<String, String> consumer, String topic) {
    Set<TopicPartition> assigned = consumer.assignment();
    int partitions = consumer.partitionsFor(topic).size();
    if (assigned.size() != partitions) return false;
    Map<TopicPartition, Long> ends = consumer.endOffsets(assigned);
    for (TopicPartition tp : assigned) {
      if (consumer.position(tp) < ends.get(tp)) return false;
    }
    return true;
  }
}
