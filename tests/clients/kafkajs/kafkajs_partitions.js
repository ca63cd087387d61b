// kafkajs for the CreatePartitions suite (tests/cluster/kafka_admin_partitions_test.py). Each mode
// prints one JSON document:
//   node kafkajs_partitions.js grow BROKERS TOPIC COUNT [ASSIGNMENTS|-] [validate]
//       admin.createPartitions with COUNT (ASSIGNMENTS: JSON rows of broker ids, "-" for none), then
//       the topic's partitions from fetchTopicMetadata: {"partitions": [{partition, leader, replicas}]}
//       or, when the broker refused, {"error": {name, type, types}}
//   node kafkajs_partitions.js produce BROKERS TOPIC PARTITION COUNT
//       COUNT messages to PARTITION with acks=-1: {"offsets": [...]}
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, topic, third, fourth, fifth] = process.argv.slice(2);
if (!['grow', 'produce'].includes(mode) || !brokers || !topic || !(Number(third) >= 0)) {
  console.error('usage: kafkajs_partitions.js grow BROKERS TOPIC COUNT [ASSIGNMENTS|-] [validate]\n' +
                '       kafkajs_partitions.js produce BROKERS TOPIC PARTITION COUNT');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-partitions-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});

// What kafkajs made of a refusal: the protocol error's type, or those of an aggregate.
function describeError(e) {
  const types = (e.errors || []).map((x) => x.type);
  return { name: e.name, type: e.type, types, message: e.message };
}

async function grow() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const entry = { topic, count: Number(third) };
    if (fourth && fourth !== '-') entry.assignments = JSON.parse(fourth);
    // kafkajs gives up at once when the Metadata it just fetched names a controller it has no
    // broker for: a moment when the answering broker knows no `__meta` leader (controller id -1,
    // as Kafka answers without a controller). Nothing reached a broker then, so asking again is
    // safe; a bounded number of times, each logged.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createPartitions({ validateOnly: fifth === 'validate', timeout: 15000, topicPartitions: [entry] });
        break;
      } catch (e) {
        if (attempt < 10 && ['KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded'].includes(e.name)) {
          console.error(`createPartitions attempt ${attempt}: ${e.message}; again`);
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        console.log(JSON.stringify({ error: describeError(e) }));
        return;
      }
    }
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = meta.topics[0].partitions
      .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas }))
      .sort((a, b) => a.partition - b.partition);
    console.log(JSON.stringify({ partitions }));
  } finally {
    await admin.disconnect();
  }
}

async function produce() {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const offsets = [];
  try {
    for (let i = 0; i < Number(fourth); i++) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ partition: Number(third), value: `js-${i}` }] });
      offsets.push({ partition: meta.partition, offset: Number(meta.baseOffset) });
    }
  } finally {
    await producer.disconnect();
  }
  console.log(JSON.stringify({ offsets }));
}

(mode === 'grow' ? grow() : produce()).catch((e) => {
  console.error(`kafkajs ${mode}: ${e.message}`);
  process.exit(1);
});
