// kafkajs's side of the fuzz corpus capture (tests/fuzz/capture_corpus.py): every request kafkajs
// 2.2.4 sends in ordinary use, through the recording proxy at BROKERS, so their bytes become
// golden seeds for the Kafka codecs.
//   node kafkajs_capture.js BROKERS TOPIC
'use strict';
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs');

const [brokers, topic] = process.argv.slice(2);
if (!brokers || !topic) {
  console.error('usage: kafkajs_capture.js BROKERS TOPIC');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'kafkajs-capture', brokers: [brokers], logLevel: logLevel.NOTHING,
                          retry: { retries: 5, initialRetryTime: 100 } });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const extra = 'kjs-extra';
  await admin.createTopics({ topics: [{ topic: extra, numPartitions: 1, replicationFactor: 1 }] });
  await admin.createPartitions({ topicPartitions: [{ topic: extra, count: 2 }] });
  await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: true });
  await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: extra,
                                           configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  await admin.describeCluster();
  await admin.fetchTopicMetadata({ topics: [topic] });

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    await producer.send({ topic, acks: -1, compression,
                          messages: [{ key: 'kjs', value: `kafkajs ${compression} 1`, headers: { h: 'v' } },
                                     { key: 'kjs', value: `kafkajs ${compression} 2` }] });
  }
  await producer.disconnect();

  const group = 'kjs-group';
  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 10000);
    consumer.run({ eachMessage: async () => { if (++seen >= 4) { clearTimeout(timer); resolve(); } } });
  });
  await consumer.disconnect();

  await admin.fetchTopicOffsets(topic);
  await admin.fetchTopicOffsetsByTimestamp(topic, 0);
  await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.listGroups();
  await admin.describeGroups([group]);
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] });
  await admin.deleteTopics({ topics: [extra] });
  await admin.disconnect();
}

main().catch((e) => {
  console.error(`kafkajs capture: ${e.message}`);
  process.exit(1);
});
