// kafkajs's config admin calls for the configs suite (tests/cluster/kafka_admin_configs_test.py).
// Each mode prints one JSON document with what kafkajs made of the broker's answers:
//   node kafkajs_configs.js alter BROKERS TOPIC KEY VALUE     alterConfigs on the topic
//   node kafkajs_configs.js describe BROKERS TOPIC            describeConfigs of the topic and of the
//                                                             controller broker (kafkajs asks the controller)
//   node kafkajs_configs.js create BROKERS TOPIC KEY VALUE    createTopics with that config
// A refused call prints {"error": {name, type, errors: [{type, message}]}} and exits 0.
'use strict';
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');

const [mode, brokers, topic, key, value] = process.argv.slice(2);
const modes = { alter: 5, describe: 3, create: 5 };
if (!(mode in modes) || process.argv.length - 2 < modes[mode]) {
  console.error('usage: kafkajs_configs.js alter|create BROKERS TOPIC KEY VALUE | describe BROKERS TOPIC');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-configs-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
});

function refusal(e) {
  const errors = (e.errors || []).map((x) => ({ type: x.type, message: x.message }));
  return { error: { name: e.name, type: e.type, message: e.message, errors } };
}

async function run(admin) {
  if (mode === 'alter') {
    return admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: key, value }] }],
    });
  }
  if (mode === 'create') {
    const created = await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: key, value }] }],
    });
    return { created };
  }
  const cluster = await admin.describeCluster();
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic },
      { type: ConfigResourceTypes.BROKER, name: String(cluster.controller) }],
  });
  return { controller: cluster.controller, ...described };
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let out;
    try {
      out = await run(admin);
    } catch (e) {
      out = refusal(e);
    }
    console.log(JSON.stringify(out));
  } finally {
    await admin.disconnect();
  }
}

main().catch((e) => {
  console.error(`kafkajs configs ${mode}: ${e.message}`);
  process.exit(1);
});
