/*
 * Rafka benchmark: end-to-end latency at a fixed rate, with the stock Apache Kafka Java client.
 *
 * Kafka's own EndToEndLatency tool sends one record at a time and waits for it (a round trip, not a
 * load), and prints whole milliseconds. This program produces at a fixed rate and consumes at the same
 * time, and measures every record from the moment it was due to be sent until the consumer has it, in
 * microseconds. Timing from the due time (not the actual send) keeps a stalled sender from hiding the
 * stall (coordinated omission). The first 10% of records are a warm-up and are not counted.
 *
 * Compiled at run time by bench/kafka/perf-tools.ts with javac against the kafka-clients jar that
 * Maven resolved into the cache; it is the same client for every broker.
 *
 * Usage: FixedRateLatency BOOTSTRAP TOPIC RECORDS_PER_SEC SECONDS RECORD_BYTES ACKS
 * Prints one line: records=N p50_us=.. p99_us=.. p999_us=.. max_us=.. rate=..
 */
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class FixedRateLatency {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: FixedRateLatency BOOTSTRAP TOPIC RECORDS_PER_SEC SECONDS RECORD_BYTES ACKS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        int rate = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        int recordBytes = Math.max(8, Integer.parseInt(args[4]));
        String acks = args[5];
        int total = rate * seconds;

        Properties cp = new Properties();
        cp.put("bootstrap.servers", bootstrap);
        cp.put("enable.auto.commit", "false");
        cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
        cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo p : consumer.partitionsFor(topic)) partitions.add(new TopicPartition(topic, p.partition()));
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        for (TopicPartition tp : partitions) consumer.position(tp);

        Properties pp = new Properties();
        pp.put("bootstrap.servers", bootstrap);
        pp.put("acks", acks);
        pp.put("linger.ms", "0");
        pp.put("key.serializer", ByteArraySerializer.class.getName());
        pp.put("value.serializer", ByteArraySerializer.class.getName());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp);

        AtomicReference<Throwable> sendError = new AtomicReference<>();
        long intervalNs = 1_000_000_000L / rate;
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        Thread sender = new Thread(() -> {
            try {
                // Every ~1 ms, send all records that are due by now; each carries its due time.
                for (int i = 0; i < total; ) {
                    long now = System.nanoTime();
                    while (i < total && start + i * intervalNs <= now) {
                        byte[] value = new byte[recordBytes];
                        ByteBuffer.wrap(value).putLong(start + i * intervalNs);
                        producer.send(new ProducerRecord<>(topic, value), (md, e) -> {
                            if (e != null) sendError.compareAndSet(null, e);
                        });
                        i++;
                    }
                    LockSupport.parkNanos(1_000_000L);
                }
                producer.flush();
            } catch (Throwable t) {
                sendError.compareAndSet(null, t);
            }
        }, "fixed-rate-sender");
        sender.start();

        long[] latencyNs = new long[total];
        int received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 60L);
        while (received < total && System.nanoTime() < deadline && sendError.get() == null) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
            long now = System.nanoTime();
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (received < total) latencyNs[received++] = now - ByteBuffer.wrap(r.value()).getLong();
            }
        }
        long end = System.nanoTime();
        sender.join(TimeUnit.SECONDS.toMillis(10));
        producer.close(Duration.ofSeconds(5));
        consumer.close(Duration.ofSeconds(5));
        if (sendError.get() != null) throw new RuntimeException("send failed", sendError.get());
        if (received < total) throw new RuntimeException("received " + received + " of " + total + " records before the deadline");

        int skip = total / 10;
        long[] counted = Arrays.copyOfRange(latencyNs, skip, total);
        Arrays.sort(counted);
        double achieved = total / ((end - start) / 1e9);
        System.out.printf("records=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d rate=%.0f%n",
            counted.length, pct(counted, 0.50), pct(counted, 0.99), pct(counted, 0.999), counted[counted.length - 1] / 1000, achieved);
    }

    private static long pct(long[] sorted, double q) {
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1000;
    }
}
