/*
 * The Java side of scripts/capture-golden.ts: drives the stock Apache Kafka Java client
 * (kafka-clients, the version the capture tool resolves) through the everyday calls of an admin, a
 * producer, a transactional producer and two consumers in groups (the classic protocol and the
 * KIP-848 "consumer" protocol), so that the recording proxy in front of the broker sees the requests
 * this client really sends and the broker's answers.
 *
 * Ours (not Kafka's). Compiled at capture time with javac against the resolved kafka-clients jar;
 * never run by CI. Every client has its own client.id starting with "golden-java-", which the
 * capture tool uses to tell the client's requests from anything else on the wire.
 *
 * Usage: GoldenClients BOOTSTRAP
 * Exits non-zero (with the exception) when any step fails, so a capture can never be half a run.
 */
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class GoldenClients {
    static final String TOPIC = "golden-java";
    static final String TX_TOPIC = "golden-java-tx";
    static final String DOOMED_TOPIC = "golden-java-doomed";
    static final String CLASSIC_GROUP = "golden-java-classic";
    static final String CONSUMER_GROUP = "golden-java-consumer";
    static final String TX_GROUP = "golden-java-txn-group";
    static final String TX_ID = "golden-java-tx";
    /** Fixed record timestamps keep the produced batches (and so the fetched ones) the same each run. */
    static final long TIMESTAMP_MS = 1_700_000_000_000L;
    static final int RECORDS = 3;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: GoldenClients BOOTSTRAP");
            System.exit(2);
        }
        String bootstrap = args[0];
        TopicPartition p0 = new TopicPartition(TOPIC, 0);

        try (Admin admin = Admin.create(props(bootstrap, "golden-java-admin"))) {
            step("create topics");
            admin.createTopics(List.of(
                new NewTopic(TOPIC, 2, (short) 1),
                new NewTopic(TX_TOPIC, 1, (short) 1),
                new NewTopic(DOOMED_TOPIC, 1, (short) 1))).all().get();
            step("describe topics, cluster, configs");
            admin.describeTopics(List.of(TOPIC)).allTopicNames().get();
            admin.listTopics().names().get();
            admin.describeCluster().clusterId().get();
            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, TOPIC);
            admin.describeConfigs(List.of(topicResource)).all().get();
            admin.incrementalAlterConfigs(Map.of(topicResource, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "86400000"), AlterConfigOp.OpType.SET)))).all().get();
            admin.createPartitions(Map.of(TOPIC, NewPartitions.increaseTo(3))).all().get();
            admin.deleteTopics(List.of(DOOMED_TOPIC)).all().get();
        }

        step("produce (idempotent, acks=all)");
        Properties pp = props(bootstrap, "golden-java-producer");
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        pp.put("acks", "all");
        pp.put("linger.ms", "0");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            for (int i = 0; i < RECORDS; i++) {
                ProducerRecord<String, String> rec = new ProducerRecord<>(TOPIC, 0, TIMESTAMP_MS + i, "k" + i, "value-" + i);
                rec.headers().add(new RecordHeader("h", ("v" + i).getBytes(StandardCharsets.UTF_8)));
                producer.send(rec).get();
            }
        }

        step("transactional produce with sendOffsetsToTransaction");
        Properties tp = props(bootstrap, "golden-java-txn");
        tp.put("key.serializer", StringSerializer.class.getName());
        tp.put("value.serializer", StringSerializer.class.getName());
        tp.put("transactional.id", TX_ID);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(tp)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TX_TOPIC, 0, TIMESTAMP_MS, "tk", "in-a-transaction")).get();
            producer.sendOffsetsToTransaction(Map.of(new TopicPartition(TX_TOPIC, 0), new OffsetAndMetadata(1)), new ConsumerGroupMetadata(TX_GROUP));
            producer.commitTransaction();
        }

        step("consume in a classic group, commit");
        consume(bootstrap, "golden-java-classic", CLASSIC_GROUP, "classic");
        step("consume in a KIP-848 consumer group, commit");
        consume(bootstrap, "golden-java-consumer", CONSUMER_GROUP, "consumer");

        try (Admin admin = Admin.create(props(bootstrap, "golden-java-admin2"))) {
            step("describe and list groups, offsets, producers, transactions");
            admin.listGroups().all().get();
            admin.describeConsumerGroups(List.of(CLASSIC_GROUP, CONSUMER_GROUP)).all().get();
            admin.listConsumerGroupOffsets(CLASSIC_GROUP).partitionsToOffsetAndMetadata().get();
            admin.listOffsets(Map.of(p0, OffsetSpec.latest())).all().get();
            admin.describeProducers(List.of(p0)).all().get();
            admin.listTransactions().all().get();
            admin.describeTransactions(List.of(TX_ID)).all().get();
            step("delete records, group offsets, groups");
            admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(1))).all().get();
            admin.deleteConsumerGroupOffsets(CLASSIC_GROUP, Set.of(p0)).all().get();
            admin.deleteConsumerGroups(List.of(CLASSIC_GROUP)).all().get();
        }
        step("done");
    }

    static void consume(String bootstrap, String clientId, String group, String protocol) {
        Properties cp = props(bootstrap, clientId);
        cp.put("key.deserializer", StringDeserializer.class.getName());
        cp.put("value.deserializer", StringDeserializer.class.getName());
        cp.put("group.id", group);
        cp.put("group.protocol", protocol);
        cp.put("auto.offset.reset", "earliest");
        cp.put("enable.auto.commit", "false");
        // Short enough that the classic consumer heartbeats while it lingers below (the consumer
        // protocol takes its interval from the broker and refuses the setting).
        if (protocol.equals("classic")) cp.put("heartbeat.interval.ms", "100");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            consumer.subscribe(List.of(TOPIC));
            List<ConsumerRecord<String, String>> seen = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 60_000;
            while (seen.size() < RECORDS) {
                if (System.currentTimeMillis() > deadline) throw new IllegalStateException(clientId + ": saw " + seen.size() + " of " + RECORDS + " records in 60 s");
                consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
            }
            consumer.commitSync();
            consumer.committed(Set.of(new TopicPartition(TOPIC, 0)));
            // Stay in the group a little, so that a heartbeat of each protocol is on the wire too.
            long lingerUntil = System.currentTimeMillis() + 500;
            while (System.currentTimeMillis() < lingerUntil) consumer.poll(Duration.ofMillis(100));
        }
    }

    static Properties props(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", clientId);
        return p;
    }

    static void step(String what) {
        System.out.println("golden-java: " + what);
    }
}
