package chronik.compat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the Java producer puts in a batch beyond key and value: each compression codec, headers and
 *  the producer's timestamps; and transactions (commit and abort, seen by read_committed). */
@Timeout(180)
class ProducerFeaturesTest {
    static final int N = 500;

    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Chronik.bootstrap());
        p.putAll(extra);
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gzip", "snappy", "lz4", "zstd"})
    void compressedBatchesKeepHeadersAndTimestamps(String codec) throws Exception {
        String topic = Chronik.unique("producer-" + codec);
        try (Admin admin = Chronik.admin()) {
            Chronik.createTopic(admin, topic, 1);
        }
        long base = System.currentTimeMillis() - 3_600_000; // an hour back: not the broker's clock
        List<RecordMetadata> acked = new ArrayList<>();
        // linger lets many records share a batch, so the codec really compresses a batch of them.
        try (var producer = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, 20))) {
            List<java.util.concurrent.Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                List<Header> headers = List.of(new RecordHeader("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
                                               new RecordHeader("codec", codec.getBytes(StandardCharsets.UTF_8)));
                futures.add(producer.send(new ProducerRecord<>(topic, 0, base + i, "k" + i, "value-" + i + "-" + "x".repeat(i % 50), headers)));
            }
            producer.flush();
            for (var f : futures) acked.add(f.get(30, TimeUnit.SECONDS));
        }
        for (int i = 0; i < N; i++) assertEquals(i, acked.get(i).offset(), "offset of record " + i);
        List<ConsumerRecord<String, String>> read = Chronik.readAll(topic, 1, N);
        assertEquals(N, read.size(), "records read back");
        for (int i = 0; i < N; i++) {
            ConsumerRecord<String, String> r = read.get(i);
            assertEquals(i, r.offset());
            assertEquals("k" + i, r.key());
            assertEquals("value-" + i + "-" + "x".repeat(i % 50), r.value());
            assertEquals(base + i, r.timestamp(), "CreateTime of record " + i);
            assertEquals(org.apache.kafka.common.record.TimestampType.CREATE_TIME, r.timestampType());
            Header[] h = r.headers().toArray();
            assertEquals(2, h.length, "headers of record " + i);
            assertEquals("i", h[0].key());
            assertArrayEquals(Integer.toString(i).getBytes(StandardCharsets.UTF_8), h[0].value());
            assertEquals("codec", h[1].key());
            assertArrayEquals(codec.getBytes(StandardCharsets.UTF_8), h[1].value());
        }
    }

    @Test
    void transactionsCommitAndAbortAsReadCommittedSeesThem() throws Exception {
        String topic = Chronik.unique("producer-txn");
        try (Admin admin = Chronik.admin()) {
            Chronik.createTopic(admin, topic, 2);
        }
        try (var producer = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, Chronik.unique("java-compat-txn")))) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, i % 2, null, "committed-" + i));
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, i % 2, null, "aborted-" + i));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 4; i++) producer.send(new ProducerRecord<>(topic, i % 2, null, "second-" + i));
            producer.commitTransaction();
        }
        List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));

        // read_committed: the committed records only, in order, and then nothing more.
        List<String> committed = new ArrayList<>();
        try (var c = Chronik.consumer(null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            for (var r : Chronik.pollCount(c, 14)) committed.add(r.partition() + ":" + r.value());
            assertTrue(c.poll(Duration.ofMillis(500)).isEmpty(), "nothing beyond the committed records");
            // The end offset counts every record and the 3 markers per partition.
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            assertEquals(5 + 5 + 2 + 3, end.get(tps.get(0)), "end offset of partition 0 under read_committed");
        }
        List<String> expect = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
            for (int i = p; i < 10; i += 2) expect.add(p + ":committed-" + i);
            for (int i = p; i < 4; i += 2) expect.add(p + ":second-" + i);
        }
        List<String> sorted = new ArrayList<>(committed);
        sorted.sort((a, b) -> Character.compare(a.charAt(0), b.charAt(0))); // stable: keeps order within a partition
        assertEquals(expect, sorted, "read_committed records, per partition in order");

        // read_uncommitted also sees the aborted records (but never the markers).
        try (var c = Chronik.consumer(null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            List<ConsumerRecord<String, String>> all = Chronik.pollCount(c, 24);
            assertEquals(24, all.size(), "records under read_uncommitted");
            assertEquals(10, all.stream().filter(r -> r.value().startsWith("aborted-")).count());
        }
    }
}
