import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.errors.StaleMemberEpochException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A consumer of the KIP-848 group protocol (group.protocol=consumer) for
 * test/groups-kip848-java.test.ts: it subscribes by topic names or by a server-side RE2 regex,
 * commits synchronously after each batch (and the positions of partitions it is asked to revoke),
 * and prints one line per event on stdout:
 *   A t:p,t:p     its assignment, whenever it changes
 *   R t p o value a record
 *   S             once subscribed, before its first poll (bench/rebalance.ts times from here)
 *   CLOSED        after "stop" on stdin: a last commit, then close() (leaving the group; a static
 *                 member leaves with epoch -2, keeping its partitions for its next incarnation)
 *
 * Usage: java Kip848Consumer bootstrap group names|regex topics-or-regex instance-id|- assignor|- [consumer|classic]
 */
public class Kip848Consumer {
    private static volatile boolean stop = false;

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String group = args[1];
        String mode = args[2];
        String spec = args[3];
        String instanceId = args[4];
        String assignor = args[5];

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, args.length > 6 ? args[6] : "consumer");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000");
        if (!instanceId.equals("-")) props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
        if (!assignor.equals("-")) props.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor);

        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.trim().equals("stop")) break;
                }
            } catch (Exception e) {
                // stdin closed: stop as well
            }
            stop = true;
        });
        stdin.setDaemon(true);
        stdin.start();

        // The next offset of what this member consumed, per partition: committed when a partition is
        // revoked. (consumer.position() there would wait for a partition assigned just before a close
        // that never had a position: nothing was consumed from it, so there is nothing to commit.)
        Map<TopicPartition, OffsetAndMetadata> consumed = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (TopicPartition tp : partitions) {
                        OffsetAndMetadata next = consumed.remove(tp);
                        if (next != null) offsets.put(tp, next);
                    }
                    if (!offsets.isEmpty()) consumer.commitSync(offsets);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                }
            };
            if (mode.equals("regex")) consumer.subscribe(new SubscriptionPattern(spec), listener);
            else consumer.subscribe(List.of(spec.split(",")), listener);
            System.out.println("S");
            System.out.flush();

            String shown = null;
            while (!stop) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                StringBuilder out = new StringBuilder();
                for (ConsumerRecord<String, String> rec : records) {
                    out.append("R ").append(rec.topic()).append(' ').append(rec.partition()).append(' ').append(rec.offset()).append(' ').append(rec.value()).append('\n');
                    consumed.put(new TopicPartition(rec.topic(), rec.partition()), new OffsetAndMetadata(rec.offset() + 1));
                }
                if (!records.isEmpty()) consumer.commitSync();
                Set<String> now = new TreeSet<>();
                for (TopicPartition tp : consumer.assignment()) now.add(tp.topic() + ":" + tp.partition());
                String line = "A " + String.join(",", now);
                if (!line.equals(shown)) {
                    out.append(line).append('\n');
                    shown = line;
                }
                if (out.length() > 0) {
                    System.out.print(out);
                    System.out.flush();
                }
            }
            // Everything read was committed after its batch; this last commit can meet a rebalance
            // that bumped the member's epoch after its last heartbeat (another member joining or
            // leaving): the coordinator answers STALE_MEMBER_EPOCH, as Kafka 4.1's does, and the
            // Java client does not retry a commitSync for it. Said on stderr; close() still leaves.
            try {
                consumer.commitSync();
            } catch (CommitFailedException | StaleMemberEpochException e) {
                System.err.println("last commit before close: " + e);
            }
        }
        System.out.println("CLOSED");
        System.out.flush();
    }
}
