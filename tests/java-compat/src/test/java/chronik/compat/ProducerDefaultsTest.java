package chronik.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A producer left at the client's defaults (in 4.x: acks=all, enable.idempotence=true, and so
 *  max.in.flight 5 with sequence numbers) writes to a 3-replica topic; a consumer reads it all back
 *  in order per partition, at the offsets the producer was told. */
@Timeout(180)
class ProducerDefaultsTest {
    static final int PARTITIONS = 3;
    static final int N = 3000;

    @Test
    void defaultProducerWritesAreReadBackInOrder() throws Exception {
        String topic = Chronik.unique("producer-defaults");
        List<String> keys = new ArrayList<>(), values = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            keys.add("k" + (i % 37));
            values.add("v" + i);
        }
        List<RecordMetadata> acked;
        try (Admin admin = Chronik.admin()) {
            Chronik.createTopic(admin, topic, PARTITIONS);
            try (var producer = Chronik.producer()) {
                acked = Chronik.send(producer, topic, null, keys, values);
            }

            // The producer was idempotent: each partition it wrote knows its producer id, with the
            // last sequence it used (DescribeProducers, KIP-664).
            Set<TopicPartition> written = new HashSet<>();
            for (var m : acked) written.add(new TopicPartition(m.topic(), m.partition()));
            assertEquals(PARTITIONS, written.size(), "37 keys spread over every partition");
            Map<TopicPartition, PartitionProducerState> states =
                admin.describeProducers(written).all().get(30, TimeUnit.SECONDS);
            for (var tp : written) {
                List<ProducerState> active = states.get(tp).activeProducers();
                assertEquals(1, active.size(), "one active producer on " + tp + ": " + active);
                ProducerState s = active.get(0);
                assertTrue(s.producerId() >= 0, "an idempotent producer id on " + tp + ": " + s);
                long count = acked.stream().filter(m -> m.partition() == tp.partition()).count();
                assertEquals(count - 1, s.lastSequence(), "the last sequence on " + tp + " is its record count - 1");
            }
        }

        // Per partition, the offsets the producer was given are 0, 1, 2, ... in send order.
        Map<Integer, List<Integer>> sentOrder = new HashMap<>(); // partition -> indexes of values
        for (int i = 0; i < N; i++) {
            RecordMetadata m = acked.get(i);
            List<Integer> order = sentOrder.computeIfAbsent(m.partition(), p -> new ArrayList<>());
            assertEquals(order.size(), m.offset(), "offset of record " + i + " in partition " + m.partition());
            order.add(i);
        }

        List<ConsumerRecord<String, String>> read = Chronik.readAll(topic, PARTITIONS, N);
        assertEquals(N, read.size(), "records read back");
        Map<Integer, List<ConsumerRecord<String, String>>> byPartition = new HashMap<>();
        for (var r : read) byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r);
        for (var e : sentOrder.entrySet()) {
            List<ConsumerRecord<String, String>> got = byPartition.get(e.getKey());
            assertEquals(e.getValue().size(), got.size(), "records of partition " + e.getKey());
            for (int j = 0; j < got.size(); j++) {
                int i = e.getValue().get(j);
                ConsumerRecord<String, String> r = got.get(j);
                assertEquals(j, r.offset(), "offset in partition " + e.getKey());
                assertEquals(values.get(i), r.value(), "value at offset " + j + " of partition " + e.getKey());
                assertEquals(keys.get(i), r.key(), "key at offset " + j + " of partition " + e.getKey());
            }
        }
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) tps.add(new TopicPartition(topic, p));
        long total = Chronik.endOffsets(tps).values().stream().mapToLong(Long::longValue).sum();
        assertEquals(N, total, "end offsets add up to the records written, no duplicates");
        assertFalse(read.stream().anyMatch(r -> r.value() == null), "no null values");
    }
}
