// kafkajs for the durable consumer-group suite (tests/cluster/kafka_groups_durable_test.py). Each
// mode prints one JSON document:
//   node kafkajs_groups.js commit BROKERS GROUP TOPIC OFFSETS METADATA
//       joins GROUP subscribed to TOPIC, reads at least one record, then commits OFFSETS (a JSON
//       object {"partition": offset}) with the METADATA string through consumer.commitOffsets, and
//       leaves: {"read": n}
//   node kafkajs_groups.js resume BROKERS GROUP TOPIC COUNT TIMEOUT_MS
//       joins GROUP subscribed to TOPIC (from the beginning when the group has no offset) and reads
//       until COUNT records or the timeout, committing nothing: {"records": [[partition, offset]]}
//   node kafkajs_groups.js fetch BROKERS GROUP TOPIC
//       admin.fetchOffsets (OffsetFetch): {"offsets": [{partition, offset, metadata}]}
// kafkajs finds the coordinator and retries NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS by
// itself; the retry settings only make its waits fit the suite's deadlines.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, group, topic, arg1, arg2] = process.argv.slice(2);
const usage = 'usage: kafkajs_groups.js commit BROKERS GROUP TOPIC OFFSETS METADATA | '
  + 'resume BROKERS GROUP TOPIC COUNT TIMEOUT_MS | fetch BROKERS GROUP TOPIC';
if (!['commit', 'resume', 'fetch'].includes(mode) || !brokers || !group || !topic) {
  console.error(usage);
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-groups-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 3000,
  requestTimeout: 10000,
});
const DEADLINE_MS = 60000;

// Runs `consumer` on TOPIC; `onRecord(partition, offset)` returns true when enough was read.
// Resolves when it did or at `deadline`; a crash of the consumer rejects.
function consumeUntil(consumer, deadline, onRecord) {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (Date.now() > deadline) {
        clearInterval(timer);
        resolve(false);
      }
    }, 100);
    consumer.on(consumer.events.CRASH, (e) => {
      clearInterval(timer);
      reject(e.payload.error || new Error('consumer crashed'));
    });
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (onRecord(partition, Number(message.offset))) {
          clearInterval(timer);
          resolve(true);
        }
      },
    }).catch(reject);
  });
}

async function commit() {
  const offsets = JSON.parse(arg1);
  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let read = 0;
    if (!(await consumeUntil(consumer, Date.now() + DEADLINE_MS, () => ++read >= 1))) {
      throw new Error(`read nothing from ${topic} in ${DEADLINE_MS} ms`);
    }
    await consumer.commitOffsets(Object.entries(offsets).map(([partition, offset]) => (
      { topic, partition: Number(partition), offset: String(offset), metadata: arg2 })));
    console.log(JSON.stringify({ read }));
  } finally {
    await consumer.disconnect();
  }
}

async function resume() {
  const count = Number(arg1);
  const consumer = kafka.consumer({ groupId: group });
  const records = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumeUntil(consumer, Date.now() + Number(arg2), (partition, offset) => {
      records.push([partition, offset]);
      return records.length >= count;
    });
    console.log(JSON.stringify({ records }));
  } finally {
    await consumer.disconnect();
  }
}

async function fetch() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [got] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const offsets = got.partitions
      .map((p) => ({ partition: p.partition, offset: Number(p.offset), metadata: p.metadata }))
      .sort((a, b) => a.partition - b.partition);
    console.log(JSON.stringify({ offsets }));
  } finally {
    await admin.disconnect();
  }
}

({ commit, resume, fetch })[mode]().catch((e) => {
  console.error(`kafkajs ${mode}: ${e && e.message}`);
  process.exit(1);
});
