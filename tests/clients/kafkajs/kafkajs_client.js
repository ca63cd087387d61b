// A small kafkajs program for the cluster tests (tests/cluster/kafka_clients_test.py).
//   node kafkajs_client.js produce BROKERS TOPIC COUNT   prints one JSON line per acknowledged message
//   node kafkajs_client.js consume BROKERS TOPIC COUNT TIMEOUT_MS
//                                                       prints one JSON line per message read, from
//                                                       the earliest offset, until COUNT or the timeout
// BROKERS is a comma-separated bootstrap list. Messages are sent one at a time with acks=-1 and
// kafkajs's own retries, so a leader killed mid-run shows up as retried sends, and every line
// printed by `produce` is a record the cluster acknowledged.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, topic, countText, timeoutText] = process.argv.slice(2);
const count = Number(countText);
if (!['produce', 'consume'].includes(mode) || !brokers || !topic || !(count > 0)) {
  console.error('usage: kafkajs_client.js produce|consume BROKERS TOPIC COUNT [TIMEOUT_MS]');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 3000,
  requestTimeout: 10000,
});

async function produce() {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let i = 0; i < count; i++) {
    const value = `m-${i}`;
    const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: `k-${i % 8}`, value }] });
    process.stdout.write(JSON.stringify({ value, partition: meta.partition, offset: Number(meta.baseOffset) }) + '\n');
  }
  await producer.disconnect();
}

// kafkajs consumes only through a consumer group (FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, OffsetFetch/Commit), so this mode also exercises the group coordinator.
async function consume() {
  const consumer = kafka.consumer({ groupId: `chronik-test-${process.pid}` });
  let seen = 0;
  const deadline = Date.now() + Number(timeoutText || 30000);
  await consumer.connect();
  consumer.on(consumer.events.CRASH, (e) => {
    console.error(`kafkajs consumer crashed: ${e.payload.error && e.payload.error.message}`);
    process.exit(1);
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() > deadline) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        process.stdout.write(JSON.stringify({ value: message.value.toString(), partition, offset: Number(message.offset) }) + '\n');
        if (++seen >= count) {
          clearInterval(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
}

(mode === 'produce' ? produce() : consume()).catch((e) => {
  console.error(`kafkajs ${mode} failed: ${e && e.message}`);
  process.exit(1);
});
