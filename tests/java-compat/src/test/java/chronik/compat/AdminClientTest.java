package chronik.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The AdminClient's topic, partition, config, group, record and cluster calls. */
@Timeout(180)
class AdminClientTest {
    static final long T = 30; // seconds for one admin call
    static Admin admin;

    @BeforeAll
    static void open() {
        admin = Chronik.admin();
    }

    @AfterAll
    static void close() {
        if (admin != null) admin.close();
    }

    static Set<String> topicNames() {
        try {
            return admin.listTopics().names().get(T, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void describeClusterShowsTheThreeBrokersOfTheBootstrapList() throws Exception {
        DescribeClusterResult c = admin.describeCluster();
        Collection<Node> nodes = c.nodes().get(T, TimeUnit.SECONDS);
        Set<String> addrs = nodes.stream().map(n -> n.host() + ":" + n.port()).collect(Collectors.toSet());
        assertEquals(Set.of(Chronik.bootstrap().split(",")), addrs, "brokers DescribeCluster lists");
        assertEquals(3, nodes.stream().map(Node::id).distinct().count(), "distinct node ids: " + nodes);
        String clusterId = c.clusterId().get(T, TimeUnit.SECONDS);
        assertNotNull(clusterId);
        assertFalse(clusterId.isEmpty(), "cluster id");
        Node controller = c.controller().get(T, TimeUnit.SECONDS);
        assertTrue(nodes.stream().anyMatch(n -> n.id() == controller.id()), "controller " + controller + " among " + nodes);
    }

    @Test
    void topicsAreCreatedDescribedGrownAndDeleted() throws Exception {
        String topic = Chronik.unique("admin-topic");
        CreateTopicsResult created = admin.createTopics(List.of(new NewTopic(topic, 3, (short) 3)));
        created.all().get(T, TimeUnit.SECONDS);
        assertEquals(3, created.numPartitions(topic).get());
        assertEquals(3, created.replicationFactor(topic).get());
        Uuid id = created.topicId(topic).get();
        assertNotEquals(Uuid.ZERO_UUID, id, "CreateTopics returns the topic id");
        // Kafka answers CreateTopics once the controller committed the topic; a broker's Metadata, which
        // listTopics reads, learns it a moment later, so the name is waited for (the anchor run showed it).
        Chronik.waitFor("listTopics to name " + topic, () -> topicNames().contains(topic));

        // Every partition: a leader among 3 distinct replicas on distinct brokers, all 3 in sync.
        Chronik.waitFor("3 partitions of " + topic + " with a leader and an ISR of 3", () -> {
            TopicDescription d = Chronik.describe(admin, topic);
            return d != null && d.partitions().size() == 3
                && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
        });
        TopicDescription d = Chronik.describe(admin, topic);
        assertEquals(id, d.topicId(), "DescribeTopics' id is CreateTopics'");
        assertFalse(d.isInternal());
        for (TopicPartitionInfo p : d.partitions()) {
            Set<Integer> replicas = p.replicas().stream().map(Node::id).collect(Collectors.toSet());
            assertEquals(3, replicas.size(), "replicas of partition " + p.partition() + ": " + p.replicas());
            assertTrue(replicas.contains(p.leader().id()), "leader among the replicas: " + p);
            assertEquals(replicas, p.isr().stream().map(Node::id).collect(Collectors.toSet()), "ISR of " + p);
        }

        // createPartitions: 3 -> 5, and the new partitions take writes.
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get(T, TimeUnit.SECONDS);
        Chronik.waitFor("5 partitions of " + topic + " with leaders", () -> {
            TopicDescription g = Chronik.describe(admin, topic);
            return g != null && g.partitions().size() == 5
                && g.partitions().stream().allMatch(p -> p.leader() != null && p.replicas().size() == 3);
        });
        try (var producer = Chronik.producer()) {
            List<RecordMetadata> m = Chronik.send(producer, topic, 4, null, List.of("in-partition-4"));
            assertEquals(4, m.get(0).partition());
            assertEquals(0, m.get(0).offset());
        }
        ExecutionException shrink = assertThrows(ExecutionException.class,
            () -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all().get(T, TimeUnit.SECONDS));
        assertInstanceOf(org.apache.kafka.common.errors.InvalidPartitionsException.class, shrink.getCause(),
                         "fewer partitions are refused");

        admin.deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS);
        Chronik.waitFor("listTopics without " + topic, () -> !topicNames().contains(topic));
        // Each broker learns the deletion when it applies it, as in Kafka: listTopics may have asked a
        // broker that has while describeTopics asks one that has not yet, so the refusal is waited for
        // too (a CI run saw the description 0.4 s after the deletion was answered).
        AtomicReference<Throwable> refusal = new AtomicReference<>();
        Chronik.waitFor("describeTopics to refuse " + topic, () -> {
            try {
                admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS);
                return false;
            } catch (ExecutionException e) {
                refusal.set(e.getCause());
                return true;
            } catch (InterruptedException | TimeoutException e) {
                throw new AssertionError("describeTopics after the deletion", e);
            }
        });
        assertInstanceOf(UnknownTopicOrPartitionException.class, refusal.get(), "describing a deleted topic");
    }

    static ConfigEntry topicConfig(String topic, String name) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = admin.describeConfigs(List.of(r)).all().get(T, TimeUnit.SECONDS).get(r);
        return c.get(name);
    }

    @Test
    void topicConfigsAreDescribedAlteredAndReset() throws Exception {
        String topic = Chronik.unique("admin-configs");
        Chronik.createTopic(admin, topic, 1);
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);

        ConfigEntry retention = topicConfig(topic, "retention.ms");
        assertNotNull(retention, "retention.ms described");
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source(), "not set on the topic yet");
        String defaultRetention = retention.value();
        ConfigEntry cleanup = topicConfig(topic, "cleanup.policy");
        assertNotNull(cleanup, "cleanup.policy described");
        assertEquals("delete", cleanup.value());

        admin.incrementalAlterConfigs(Map.of(r, List.of(
            new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("max.message.bytes", "500000"), AlterConfigOp.OpType.SET))))
            .all().get(T, TimeUnit.SECONDS);
        Chronik.waitFor("retention.ms=3600000 on " + topic, () -> {
            try {
                ConfigEntry e = topicConfig(topic, "retention.ms");
                return "3600000".equals(e.value());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, topicConfig(topic, "retention.ms").source());
        assertEquals("500000", topicConfig(topic, "max.message.bytes").value());

        admin.incrementalAlterConfigs(Map.of(r, List.of(
            new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE))))
            .all().get(T, TimeUnit.SECONDS);
        Chronik.waitFor("retention.ms back to its default on " + topic, () -> {
            try {
                ConfigEntry e = topicConfig(topic, "retention.ms");
                return e.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertEquals(defaultRetention, topicConfig(topic, "retention.ms").value(), "retention.ms after DELETE");
        assertEquals("500000", topicConfig(topic, "max.message.bytes").value(), "the other override stays");
    }

    @Test
    void unknownTopicConfigIsRefused() throws Exception {
        String topic = Chronik.unique("admin-badconfig");
        Chronik.createTopic(admin, topic, 1);
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        ExecutionException e = assertThrows(ExecutionException.class, () -> admin.incrementalAlterConfigs(Map.of(r, List.of(
            new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET))))
            .all().get(T, TimeUnit.SECONDS));
        assertInstanceOf(InvalidConfigurationException.class, e.getCause(), "error for an unknown config name");
    }

    @Test
    @SuppressWarnings("deprecation") // listConsumerGroups: the call issue 20 names; listGroups is its successor
    void consumerGroupsAreListedDescribedAndTheirOffsetsRead() throws Exception {
        String topic = Chronik.unique("admin-groups"), group = Chronik.unique("admin-group");
        Chronik.createTopic(admin, topic, 2);
        try (var producer = Chronik.producer()) {
            Chronik.send(producer, topic, 0, null, List.of("a", "b", "c"));
            Chronik.send(producer, topic, 1, null, List.of("d", "e"));
        }
        try (var c = Chronik.consumer(group, Map.of(ConsumerConfig.CLIENT_ID_CONFIG, "admin-test-member"))) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> read = Chronik.pollCount(c, 5);
            assertEquals(5, read.size(), "records read by the group's member");
            c.commitSync();

            Chronik.waitFor("listConsumerGroups naming " + group, () -> {
                try {
                    return admin.listConsumerGroups().all().get(T, TimeUnit.SECONDS).stream()
                        .anyMatch(g -> g.groupId().equals(group));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            ConsumerGroupListing listing = listed(group);
            assertFalse(listing.isSimpleConsumerGroup(), "a group with members is not a simple one: " + listing);
            assertEquals(GroupState.STABLE, listing.groupState().orElse(null), "state listed: " + listing);

            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS).get(group);
            assertEquals(GroupState.STABLE, d.groupState());
            assertEquals(1, d.members().size(), "members: " + d.members());
            assertEquals("admin-test-member", d.members().iterator().next().clientId());
            assertEquals(Set.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1)),
                         d.members().iterator().next().assignment().topicPartitions());
            assertNotNull(d.coordinator(), "the group's coordinator");
        }
        ConsumerGroupDescription after = admin.describeConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS).get(group);
        assertEquals(GroupState.EMPTY, after.groupState(), "state after its only member left");
        assertTrue(after.members().isEmpty(), "members after close: " + after.members());
        Map<TopicPartition, OffsetAndMetadata> offsets =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertEquals(Map.of(new TopicPartition(topic, 0), 3L, new TopicPartition(topic, 1), 2L),
                     offsets.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset())));
    }

    @SuppressWarnings("deprecation")
    static ConsumerGroupListing listed(String group) throws Exception {
        return admin.listConsumerGroups().all().get(T, TimeUnit.SECONDS).stream()
            .filter(g -> g.groupId().equals(group)).findFirst().orElseThrow();
    }

    /** Kafka 4.x lists every group with its type (ListGroups v5, KIP-848); kafka-consumer-groups
     *  --list --type and Admin.listGroups filter on it. */
    @Test
    void listedGroupsCarryTheirType() throws Exception {
        String topic = Chronik.unique("admin-group-type"), group = Chronik.unique("admin-group-type");
        Chronik.createTopic(admin, topic, 1);
        try (var c = Chronik.consumer(group, Map.of())) {
            c.subscribe(List.of(topic));
            Chronik.waitFor("an assignment in " + group, () -> {
                c.poll(Duration.ofMillis(100));
                return !c.assignment().isEmpty();
            });
            ConsumerGroupListing listing = listed(group);
            assertEquals(GroupType.CLASSIC, listing.type().orElse(null), "group type listed: " + listing);
        }
    }

    @Test
    void deleteRecordsMovesTheLogStartOffset() throws Exception {
        String topic = Chronik.unique("admin-delete-records");
        Chronik.createTopic(admin, topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 100; i++) values.add("r" + i);
        try (var producer = Chronik.producer()) {
            Chronik.send(producer, topic, 0, null, values);
        }
        long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(40))).lowWatermarks().get(tp)
            .get(T, TimeUnit.SECONDS).lowWatermark();
        assertEquals(40, low, "low watermark after deleteRecords");
        Map<TopicPartition, ListOffsetsResultInfo> earliest =
            admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get(T, TimeUnit.SECONDS);
        Map<TopicPartition, ListOffsetsResultInfo> latest =
            admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get(T, TimeUnit.SECONDS);
        assertEquals(40, earliest.get(tp).offset(), "earliest offset");
        assertEquals(100, latest.get(tp).offset(), "latest offset");

        List<ConsumerRecord<String, String>> read = Chronik.readAll(topic, 1, 60);
        assertEquals(60, read.size(), "records left");
        assertEquals(40, read.get(0).offset(), "the first record a consumer from the beginning gets");
        assertEquals("r40", read.get(0).value());
        Set<Long> seen = new HashSet<>();
        for (var r : read) assertTrue(seen.add(r.offset()), "offset read twice: " + r.offset());
    }
    @Test
    void topicsAreDescribedByTheirIds() throws Exception {
        String topic = Chronik.unique("admin-by-id");
        Chronik.createTopic(admin, topic, 2);
        Uuid id = Chronik.describe(admin, topic).topicId();
        Map<Uuid, TopicDescription> byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id)))
            .allTopicIds().get(T, TimeUnit.SECONDS);
        assertEquals(topic, byId.get(id).name(), "the name of topic id " + id);
        assertEquals(2, byId.get(id).partitions().size());
        Uuid unknown = Uuid.randomUuid();
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> admin.describeTopics(TopicCollection.ofTopicIds(List.of(unknown))).allTopicIds().get(T, TimeUnit.SECONDS));
        assertInstanceOf(org.apache.kafka.common.errors.UnknownTopicIdException.class, e.getCause(), "an unknown topic id");
    }

    @Test
    void listOffsetsFindsTimestamps() throws Exception {
        String topic = Chronik.unique("admin-offsets-by-time");
        Chronik.createTopic(admin, topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 600_000;
        // Timestamps base+0, +10, ..., +90 except record 5, the largest (KIP-734's max timestamp).
        try (var producer = Chronik.producer()) {
            for (int i = 0; i < 10; i++)
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 0, base + (i == 5 ? 1000 : i * 10), null, "t" + i))
                    .get(T, TimeUnit.SECONDS);
        }
        assertEquals(3, admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 25))).all().get(T, TimeUnit.SECONDS)
            .get(tp).offset(), "first offset with a timestamp >= base+25");
        ListOffsetsResultInfo max = admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all().get(T, TimeUnit.SECONDS).get(tp);
        assertEquals(5, max.offset(), "offset of the largest timestamp");
        assertEquals(base + 1000, max.timestamp(), "the largest timestamp");
        assertEquals(-1, admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 5000))).all().get(T, TimeUnit.SECONDS)
            .get(tp).offset(), "no record at or after base+5000");
    }

    @Test
    @SuppressWarnings("deprecation")
    void groupOffsetsAreAlteredDeletedAndTheGroupDeleted() throws Exception {
        String topic = Chronik.unique("admin-group-offsets"), group = Chronik.unique("admin-offsets-group");
        Chronik.createTopic(admin, topic, 2);
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        try (var producer = Chronik.producer()) {
            Chronik.send(producer, topic, 0, null, List.of("a", "b", "c", "d"));
            Chronik.send(producer, topic, 1, null, List.of("e", "f"));
        }
        // An empty group's offsets are set from the admin client (kafka-consumer-groups --reset-offsets).
        admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(3, "set by admin"), p1, new OffsetAndMetadata(1)))
            .all().get(T, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetAndMetadata> got =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertEquals(3, got.get(p0).offset());
        assertEquals("set by admin", got.get(p0).metadata());
        assertEquals(1, got.get(p1).offset());
        // A consumer of the group starts there.
        try (var c = Chronik.consumer(group, Map.of())) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> read = Chronik.pollCount(c, 2);
            assertEquals(List.of("d", "f"), read.stream().map(ConsumerRecord::value).sorted().collect(Collectors.toList()),
                         "records at and after the altered offsets (p0 from 3, p1 from 1)");
            assertTrue(c.poll(Duration.ofMillis(500)).isEmpty(), "nothing before the altered offsets is read");
        }

        admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get(T, TimeUnit.SECONDS);
        got = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertEquals(Set.of(p0), got.keySet(), "offsets left after deleting p1's");

        admin.deleteConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS);
        Chronik.waitFor("listConsumerGroups without " + group, () -> {
            try {
                return admin.listConsumerGroups().all().get(T, TimeUnit.SECONDS).stream().noneMatch(g -> g.groupId().equals(group));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        got = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertTrue(got.isEmpty(), "offsets of a deleted group: " + got);
    }

    @Test
    void describeMetadataQuorumShowsThreeVoters() throws Exception {
        QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get(T, TimeUnit.SECONDS);
        Set<Integer> nodes = admin.describeCluster().nodes().get(T, TimeUnit.SECONDS).stream().map(Node::id).collect(Collectors.toSet());
        Set<Integer> voters = q.voters().stream().map(QuorumInfo.ReplicaState::replicaId).collect(Collectors.toSet());
        assertEquals(nodes, voters, "the metadata quorum's voters are the brokers: " + q);
        assertTrue(voters.contains(q.leaderId()), "the quorum leader among its voters: " + q);
        assertTrue(q.leaderEpoch() > 0, "a leader epoch: " + q);
        assertTrue(q.highWatermark() > 0, "a high watermark: " + q);
    }
}
