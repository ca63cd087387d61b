// kafkajs for the DeleteRecords suite (tests/cluster/kafka_admin_records_test.py). Prints one JSON
// document:
//   node kafkajs_records.js delete BROKERS TOPIC PARTITION OFFSET
//       admin.deleteTopicRecords of PARTITION up to OFFSET (-1: the high watermark), then the
//       topic's offsets from admin.fetchTopicOffsets: {"offsets": [{partition, low, high}]}
//       or, when the broker refused, {"error": {name, type, types, message}}
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, topic, partition, offset] = process.argv.slice(2);
if (mode !== 'delete' || !brokers || !topic || !(Number(partition) >= 0) || offset === undefined) {
  console.error('usage: kafkajs_records.js delete BROKERS TOPIC PARTITION OFFSET');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-records-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});

// What kafkajs made of a refusal: the protocol error's type, or those of the partitions it names.
// Its retrier wraps a refusal it does not retry in a KafkaJSNonRetriableError whose cause is the
// KafkaJSDeleteTopicRecordsError naming each partition's error.
function describeError(e) {
  const inner = e.cause && e.cause !== e ? e.cause : e;
  const nested = (inner.errors || inner.partitions || []).map((x) => (x.error ? x.error.type : x.type));
  return { name: e.name, cause: inner.name, type: inner.type, types: nested, message: e.message };
}

async function remove() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs 2.2.4 finds each partition's leader in the Metadata it already holds and does not
    // load a topic it has not seen (KafkaJSTopicMetadataNotLoaded): load it first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    try {
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: Number(partition), offset }] });
    } catch (e) {
      console.log(JSON.stringify({ error: describeError(e) }));
      return;
    }
    const offsets = (await admin.fetchTopicOffsets(topic))
      .map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }))
      .sort((a, b) => a.partition - b.partition);
    console.log(JSON.stringify({ offsets }));
  } finally {
    await admin.disconnect();
  }
}

remove().catch((e) => {
  console.error(`kafkajs ${mode}: ${e.message}`);
  process.exit(1);
});
