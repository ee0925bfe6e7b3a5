import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactions across brokers with the stock Java client, for test/slow/cluster-postgres-java.test.ts:
 * a KafkaProducer with a transactional.id writes two records to every partition of the topic and
 * commits ("c1-<i>"), again and aborts ("a2-<i>"), again and commits ("c3-<i>"); then a KafkaConsumer
 * with read_committed, assigned every partition from the beginning, reads until its position on each
 * reaches the end offset (the last stable offset, for read_committed) and then one more second.
 * Prints "value <v>" per record read and "done <n>" at the end.
 *
 * Arguments: bootstrap topic transactionalId.
 */
public class TxnSpread {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1], txnId = args[2];

    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    int partitions;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      producer.initTransactions();
      partitions = producer.partitionsFor(topic).size();
      String[] tags = { "c1", "a2", "c3" };
      for (String tag : tags) {
        producer.beginTransaction();
        for (int i = 0; i < 2 * partitions; i++) producer.send(new ProducerRecord<>(topic, i % partitions, null, tag + "-" + i));
        if (tag.startsWith("c")) producer.commitTransaction();
        else producer.abortTransaction();
        System.out.println("transaction " + tag);
      }
    }

    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    int n = 0;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      long deadline = System.currentTimeMillis() + 60_000;
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          System.out.println("value " + r.value());
          n++;
        }
        if (quietUntil == Long.MAX_VALUE) {
          Map<TopicPartition, Long> end = consumer.endOffsets(tps);
          boolean caughtUp = true;
          for (TopicPartition tp : tps) if (consumer.position(tp) < end.get(tp)) caughtUp = false;
          // Markers still being written keep the end (the LSO) back: read on until it moves past them.
          if (caughtUp && n >= 4 * partitions) quietUntil = System.currentTimeMillis() + 1000;
        }
      }
    }
    System.out.println("done " + n);
  }
}
