import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The stock Java consumer reading a multi-partition topic over many small fetches, for
 * test/fetch-sessions-java.test.ts. The Java client keeps an incremental fetch session (KIP-227)
 * whenever the broker gives it a session id, so most of these fetches are incremental.
 *
 * Arguments: bootstrap topic expectedPerPartition. Assigns every partition, reads from the beginning
 * with max.partition.fetch.bytes and fetch.max.bytes kept small (many fetches), and checks that each
 * partition's values are p<partition>-0, -1, ... in order with no gap or repeat. Prints
 * "read <total> in <polls> polls" and exits 0 once every partition is complete; prints the problem and
 * exits 1 on a wrong record; exits 2 if 60 s pass first.
 */
public class SessionConsumer {
  public static void main(String[] args) {
    String bootstrap = args[0], topic = args[1];
    int perPartition = Integer.parseInt(args[2]);

    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "256");
    cp.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, "1024");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic)) parts.add(new TopicPartition(topic, p.partition()));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      int[] next = new int[parts.size()];
      long total = 0, polls = 0;
      long deadline = System.currentTimeMillis() + 60_000;
      while (total < (long) perPartition * parts.size()) {
        if (System.currentTimeMillis() > deadline) {
          System.out.println("timeout after " + total + " records, next " + Arrays.toString(next));
          System.exit(2);
        }
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        polls++;
        for (ConsumerRecord<String, String> r : records) {
          String expected = "p" + r.partition() + "-" + next[r.partition()];
          if (!expected.equals(r.value())) {
            System.out.println("wrong record at " + r.partition() + "/" + r.offset() + ": " + r.value() + ", expected " + expected);
            System.exit(1);
          }
          next[r.partition()]++;
          total++;
        }
      }
      System.out.println("read " + total + " in " + polls + " polls");
    }
  }
}
