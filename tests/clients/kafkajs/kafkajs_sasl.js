// kafkajs over a SASL_SSL listener, for tests/cluster/kafka_sasl_test.py:
//   node kafkajs_sasl.js BROKERS CA_FILE MECHANISM USER PASSWORD TOPIC COUNT
// MECHANISM is plain, scram-sha-256 or scram-sha-512 (kafkajs's names). Produces COUNT messages
// with acks=-1, then reads them back through a consumer group; prints one JSON line
// {"produced": N, "consumed": M}. Exits 1 with the error's message on stderr when the broker
// refuses the login (or anything else fails).
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [brokers, caFile, mechanism, username, password, topic, countText] = process.argv.slice(2);
const count = Number(countText);
if (!brokers || !caFile || !mechanism || !username || !topic || !(count > 0)) {
  console.error('usage: kafkajs_sasl.js BROKERS CA_FILE MECHANISM USER PASSWORD TOPIC COUNT');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-sasl-test',
  brokers: brokers.split(','),
  ssl: { ca: [fs.readFileSync(caFile, 'utf-8')] },
  sasl: { mechanism, username, password },
  logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 3000,
  requestTimeout: 10000,
});

async function main() {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < count; i++) {
    await producer.send({ topic, acks: -1, messages: [{ value: `js-${i}` }] });
  }
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `chronik-sasl-${process.pid}` });
  const seen = new Set();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value.toString());
        if (seen.size >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  process.stdout.write(JSON.stringify({ produced: count, consumed: seen.size }) + '\n');
}

main().then(() => process.exit(0), (e) => {
  console.error(`kafkajs: ${e && e.message}`);
  process.exit(1);
});
