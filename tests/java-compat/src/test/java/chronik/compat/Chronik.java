package chronik.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** What every test class needs of the cluster under test: its bootstrap list, clients configured for
 *  it, uniquely named topics, and bounded waits for conditions the cluster reaches asynchronously. */
final class Chronik {
    /** How long a wait for the cluster may take before the test fails. */
    static final Duration WAIT = Duration.ofSeconds(60);

    private Chronik() {}

    /** The cluster's bootstrap list: -Dchronik.bootstrap, else $CHRONIK_BOOTSTRAP. A run without
     *  either fails rather than skips, so a misconfigured run cannot pass by testing nothing. */
    static String bootstrap() {
        String s = System.getProperty("chronik.bootstrap");
        if (s == null || s.isBlank()) s = System.getenv("CHRONIK_BOOTSTRAP");
        if (s == null || s.isBlank())
            throw new IllegalStateException("set -Dchronik.bootstrap=host:port,... or CHRONIK_BOOTSTRAP");
        return s;
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, "java-compat-admin");
        return Admin.create(p);
    }

    /** A producer with the client's defaults (acks=all, idempotence on) and string serializers. */
    static KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /** A consumer of `group` (null: none) with the classic group protocol, no auto-commit, reading
     *  from the earliest offset; `extra` overrides. */
    static KafkaConsumer<String, String> consumer(String group, Map<String, Object> extra) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        }
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    /** Creates `name` with `partitions` partitions on 3 replicas and waits until every partition has
     *  a leader, as the admin client's Metadata shows it. */
    static void createTopic(Admin admin, String name, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 3))).all().get(30, TimeUnit.SECONDS);
        waitFor("leaders for every partition of " + name, () -> {
            TopicDescription d = describe(admin, name);
            return d != null && d.partitions().size() == partitions
                && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
        });
    }

    /** The topic's description, or null while the cluster cannot give one (not yet known). */
    static TopicDescription describe(Admin admin, String name) {
        try {
            return admin.describeTopics(List.of(name)).allTopicNames().get(10, TimeUnit.SECONDS).get(name);
        } catch (ExecutionException e) {
            return null;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    /** Sends `values` (keyed by `key`, null: the partitioner's choice) and returns each record's
     *  metadata, in send order. */
    static List<RecordMetadata> send(KafkaProducer<String, String> producer, String topic, Integer partition,
                                     List<String> keys, List<String> values) throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> futures = new ArrayList<>();
        for (int i = 0; i < values.size(); i++)
            futures.add(producer.send(new ProducerRecord<>(topic, partition, keys == null ? null : keys.get(i), values.get(i))));
        producer.flush();
        List<RecordMetadata> out = new ArrayList<>();
        for (var f : futures) out.add(f.get(30, TimeUnit.SECONDS));
        return out;
    }

    /** Polls `consumer` until `count` records have arrived or the wait runs out; returns them. */
    static List<ConsumerRecord<String, String>> pollCount(KafkaConsumer<String, String> consumer, int count) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (out.size() < count && System.nanoTime() < deadline)
            for (var r : consumer.poll(Duration.ofMillis(200))) out.add(r);
        return out;
    }

    /** Reads every partition of `topic` from its beginning, without a group, until `count` records. */
    static List<ConsumerRecord<String, String>> readAll(String topic, int partitions, int count) {
        try (var c = consumer(null, Map.of())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
            c.assign(tps);
            c.seekToBeginning(tps);
            return pollCount(c, count);
        }
    }

    static Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> tps) {
        try (var c = consumer(null, Map.of())) {
            return c.endOffsets(tps, Duration.ofSeconds(30));
        }
    }

    /** Polls `condition` every 100 ms until it holds; fails the test after WAIT. */
    static void waitFor(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + WAIT + " waiting for " + what);
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
