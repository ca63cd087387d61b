package chronik.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Kafka Streams with processing.guarantee=exactly_once_v2 (KIP-447) across a kill -9 of the broker
 *  that coordinates the application's transactions or group: a stateless copy (every input record
 *  in the read_committed output exactly once), and word count. With the record cache off, every input
 *  word makes one update of its count, so under exactly-once a read_committed reader of the output
 *  sees each word's counts as exactly 1, 2, ..., n: a word processed twice (a replay whose first
 *  attempt was not aborted) or lost shows as a repeated, skipped or missing count.
 *
 *  They kill a broker, so run.py runs each on a fresh cluster of its own after the other tests (tag
 *  kills-broker), with the brokers' PIDs in -Dchronik.pids=host:port=pid,... */
@Tag("kills-broker")
@Timeout(300)
class StreamsExactlyOnceTest {
    static final String[] VOCABULARY = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
                                        + "kilo lima mike november oscar papa quebec romeo sierra tango").split(" ");
    static final int LINES = 600;

    static String line(int i) {
        StringBuilder b = new StringBuilder();
        for (int j = 0; j < 5; j++) b.append(j == 0 ? "" : " ").append(VOCABULARY[(i * 7 + j * j * 3 + j) % VOCABULARY.length]);
        return b.toString();
    }

    static Map<String, Long> expectedCounts(int lines) {
        Map<String, Long> m = new TreeMap<>();
        for (int i = 0; i < lines; i++)
            for (String w : line(i).split(" ")) m.merge(w, 1L, Long::sum);
        return m;
    }

    /** host:port -> PID of each broker, from -Dchronik.pids. */
    static Map<String, Long> brokerPids() {
        String s = System.getProperty("chronik.pids", "");
        Assumptions.assumeTrue(!s.isBlank(), "needs the brokers' PIDs in -Dchronik.pids=host:port=pid,... (run.py sets it)");
        Map<String, Long> m = new HashMap<>();
        for (String e : s.split(",")) {
            String[] kv = e.split("=");
            m.put(kv[0], Long.parseLong(kv[1]));
        }
        return m;
    }

    /** Reads the output topic with read_committed and keeps every count seen per word, in order. */
    static final class Output implements AutoCloseable {
        final KafkaConsumer<String, Long> consumer;
        final Map<String, List<Long>> history = new TreeMap<>();

        Output(String topic, int partitions) {
            Map<String, Object> p = new HashMap<>();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, Chronik.bootstrap());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumer = new KafkaConsumer<>(p, new StringDeserializer(), new LongDeserializer());
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
        }

        Map<String, Long> latest() {
            Map<String, Long> m = new TreeMap<>();
            history.forEach((w, h) -> m.put(w, h.get(h.size() - 1)));
            return m;
        }

        /** Polls until the latest counts are `expect`, or the deadline; returns the latest counts. */
        Map<String, Long> pollUntil(Map<String, Long> expect, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!latest().equals(expect) && System.nanoTime() < deadline)
                for (var r : consumer.poll(Duration.ofMillis(200)))
                    history.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
            return latest();
        }

        @Override public void close() { consumer.close(); }
    }

    static Properties config(String app) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, Chronik.bootstrap());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
        p.put(StreamsConfig.STATE_DIR_CONFIG, Path.of(System.getProperty("chronik.streams.state", "target/streams-state"), app).toAbsolutePath().toString());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0); // one output update per input record
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        return p;
    }

    /** Starts the application and waits until it is RUNNING; fails at once, with the application's
     *  own exception, if it stops instead. */
    static KafkaStreams start(StreamsBuilder builder, Properties p) {
        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        streams.setUncaughtExceptionHandler(e -> {
            failure.compareAndSet(null, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.start();
        Chronik.waitFor("the Streams application RUNNING", () -> {
            KafkaStreams.State st = streams.state();
            if (failure.get() != null || st == KafkaStreams.State.ERROR || st == KafkaStreams.State.PENDING_ERROR)
                throw new AssertionError("the Streams application stopped in state " + st, failure.get());
            return st == KafkaStreams.State.RUNNING;
        });
        return streams;
    }

    /** kill -9 of the broker that coordinates group `app`; returns its node id. */
    static int killCoordinator(Admin admin, String app, Map<String, Long> pids) throws Exception {
        Node coordinator = admin.describeConsumerGroups(List.of(app)).all().get(30, TimeUnit.SECONDS).get(app).coordinator();
        assertNotNull(coordinator, "the group's coordinator");
        kill(coordinator, pids);
        return coordinator.id();
    }

    /** The node coordinating the transactions of application `app`'s producer (exactly_once_v2:
     *  one transactional id per stream thread, named after the application id). */
    static Node transactionCoordinator(Admin admin, String app) throws Exception {
        List<String> ids = admin.listTransactions().all().get(30, TimeUnit.SECONDS).stream()
            .map(TransactionListing::transactionalId).filter(id -> id.startsWith(app + "-")).toList();
        assertEquals(1, ids.size(), "transactional ids of " + app + ": " + ids);
        int id = admin.describeTransactions(ids).all().get(30, TimeUnit.SECONDS).get(ids.get(0)).coordinatorId();
        return admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream().filter(n -> n.id() == id)
            .findFirst().orElseThrow(() -> new AssertionError("coordinator " + id + " not among the brokers"));
    }

    static void kill(Node broker, Map<String, Long> pids) {
        Long pid = pids.get(broker.host() + ":" + broker.port());
        assertNotNull(pid, "a PID for broker " + broker + " in " + pids);
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow();
        assertTrue(process.destroyForcibly(), "SIGKILL sent to broker " + broker.id() + " (pid " + pid + ")");
        // The process stays a zombie until run.py reaps it, so "gone" is its Kafka port refusing.
        Chronik.waitFor("broker " + broker.id() + " refusing connections", () -> {
            try (java.net.Socket sock = new java.net.Socket()) {
                sock.connect(new java.net.InetSocketAddress(broker.host(), broker.port()), 500);
                return false;
            } catch (java.io.IOException e) {
                return true;
            }
        });
    }

    /** The stateless half of exactly-once (consume, transform, produce and commit the input offsets
     *  in one transaction), which needs no compacted topic. Records keep arriving while the broker
     *  coordinating the application's transactions is killed, so transactions are open then: every
     *  input record must be in the read_committed output exactly once. */
    @Test
    void exactlyOnceCopySurvivesKillOfTheTransactionCoordinator() throws Exception {
        Map<String, Long> pids = brokerPids();
        String app = Chronik.unique("eos-copy"), input = app + "-in", output = app + "-out";
        final int n = 3000;
        try (Admin admin = Chronik.admin()) {
            Chronik.createTopic(admin, input, 3);
            Chronik.createTopic(admin, output, 3);
            StreamsBuilder builder = new StreamsBuilder();
            builder.<String, String>stream(input).mapValues(v -> v.toUpperCase()).to(output);
            try (KafkaStreams streams = start(builder, config(app)); var producer = Chronik.producer();
                 var out = Chronik.consumer(null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
                List<TopicPartition> tps = new ArrayList<>();
                for (int i = 0; i < 3; i++) tps.add(new TopicPartition(output, i));
                out.assign(tps);
                out.seekToBeginning(tps);

                // The input arrives over a few seconds (a pause every 20 records shapes the load; no
                // check depends on it), so the kill lands while the application is copying.
                AtomicReference<Throwable> sendFailure = new AtomicReference<>();
                List<java.util.concurrent.Future<?>> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
                Thread feeder = new Thread(() -> {
                    try {
                        for (int i = 0; i < n; i++) {
                            sent.add(producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(input, "k" + (i % 31), "record-" + i)));
                            if (i % 20 == 19) Thread.sleep(20);
                        }
                        producer.flush();
                    } catch (Throwable t) {
                        sendFailure.set(t);
                    }
                }, "feeder");
                feeder.start();

                Map<String, Integer> seen = new TreeMap<>();
                int[] total = {0};
                Chronik.waitFor(n / 5 + " records copied", () -> {
                    for (var r : out.poll(Duration.ofMillis(100))) {
                        seen.merge(r.value(), 1, Integer::sum);
                        total[0]++;
                    }
                    return total[0] >= n / 5;
                });
                Node txnCoordinator = transactionCoordinator(admin, app);
                Node groupCoordinator = admin.describeConsumerGroups(List.of(app)).all().get(30, TimeUnit.SECONDS).get(app).coordinator();
                kill(txnCoordinator, pids);
                int copiedAtKill = total[0];
                feeder.join(Chronik.WAIT.toMillis());
                assertFalse(feeder.isAlive(), "the feeder finished");
                if (sendFailure.get() != null) throw new AssertionError("sending the input failed", sendFailure.get());
                for (var f : sent) f.get(30, TimeUnit.SECONDS);

                for (var r : Chronik.pollCount(out, n - total[0])) {
                    seen.merge(r.value(), 1, Integer::sum);
                    total[0]++;
                }
                // Anything more (a duplicate) would arrive within the next commit intervals.
                for (int i = 0; i < 10; i++)
                    for (var r : out.poll(Duration.ofMillis(100))) {
                        seen.merge(r.value(), 1, Integer::sum);
                        total[0]++;
                    }
                System.out.printf("exactly_once_v2 copy: killed broker %d (transaction coordinator; group coordinator %d) "
                                  + "after %d of %d records were copied; %d records read back%n",
                                  txnCoordinator.id(), groupCoordinator.id(), copiedAtKill, n, total[0]);
                assertTrue(copiedAtKill < n, "the kill came while records were still being copied");
                Map<String, Integer> expect = new TreeMap<>();
                for (int i = 0; i < n; i++) expect.put("RECORD-" + i, 1);
                Map<String, Integer> wrong = new TreeMap<>();
                for (var e : expect.keySet()) if (!Integer.valueOf(1).equals(seen.get(e))) wrong.put(e, seen.getOrDefault(e, 0));
                assertTrue(wrong.isEmpty(), "records not copied exactly once across the kill (value=times): " + wrong);
                assertEquals(n, total[0], "records read back");
                assertNotEquals(KafkaStreams.State.ERROR, streams.state(), "the application's state");
                streams.close(Duration.ofSeconds(30));
            }
        }
    }

    /** The stateful half: the counts live in a state store whose changelog is a compacted topic. */
    @Test
    void exactlyOnceWordCountSurvivesKillOfTheGroupCoordinator() throws Exception {
        Map<String, Long> pids = brokerPids();
        String app = Chronik.unique("wordcount"), input = app + "-lines", output = app + "-counts";
        try (Admin admin = Chronik.admin()) {
            Chronik.createTopic(admin, input, 3);
            Chronik.createTopic(admin, output, 3);

            StreamsBuilder builder = new StreamsBuilder();
            builder.<String, String>stream(input)
                .flatMapValues(v -> Arrays.asList(v.split(" ")))
                .groupBy((k, w) -> w)
                .count(Materialized.as("counts"))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < LINES; i++) lines.add(line(i));
            int half = LINES / 2;
            try (KafkaStreams streams = start(builder, config(app)); Output out = new Output(output, 3);
                 var producer = Chronik.producer()) {
                Chronik.send(producer, input, null, null, lines.subList(0, half));
                Map<String, Long> first = expectedCounts(half);
                assertEquals(first, out.pollUntil(first, Duration.ofSeconds(90)), "counts of the first half of the lines");

                killCoordinator(admin, app, pids);
                Chronik.send(producer, input, null, null, lines.subList(half, LINES));
                Map<String, Long> all = expectedCounts(LINES);
                assertEquals(all, out.pollUntil(all, Duration.ofSeconds(180)), "counts of every line after the kill");
                assertNotEquals(KafkaStreams.State.ERROR, streams.state(), "the application's state");

                // Exactly once: each word's committed counts went up by one at a time from 1.
                for (var e : out.history.entrySet()) {
                    List<Long> steps = new ArrayList<>();
                    for (long c = 1; c <= all.get(e.getKey()); c++) steps.add(c);
                    assertEquals(steps, e.getValue(), "the committed counts of '" + e.getKey() + "'");
                }
                streams.close(Duration.ofSeconds(30));
            }
        }
    }
}
