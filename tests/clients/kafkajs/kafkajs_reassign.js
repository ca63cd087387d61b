// kafkajs for replica moves (AlterPartitionReassignments, ListPartitionReassignments; KIP-455).
// Each mode prints one JSON document:
//   node kafkajs_reassign.js BROKERS alter JSON
//       JSON is admin.alterPartitionReassignments' topics:
//       [{"topic": "t", "partitionAssignment": [{"partition": 0, "replicas": [2, 3, 4]}]}]
//       Prints {"ok": true}, or when the broker refused,
//       {"error": {name, type, message, partitions: [{topic, partition, type}]}}
//   node kafkajs_reassign.js BROKERS list [JSON]
//       JSON (optional; absent or "null" lists every move) is listPartitionReassignments' topics:
//       [{"topic": "t", "partitions": [0, 1]}]
//       Prints {"topics": [{name, partitions: [{partition, replicas, addingReplicas, removingReplicas}]}]}
//       or {"error": {...}}
// kafkajs 2.2.4 speaks v0 of both APIs. It cannot cancel a move: its alterPartitionReassignments
// refuses a partition without a replicas array before sending anything (a null list is Kafka's
// cancel), and it has no allowReplicationFactorChange (v1, KIP-860).
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, mode, json] = process.argv.slice(2);
if (!brokers || !['alter', 'list'].includes(mode) || (mode === 'alter' && !json)) {
  console.error('usage: kafkajs_reassign.js BROKERS alter JSON\n' +
                '       kafkajs_reassign.js BROKERS list [JSON]');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-reassign-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});

// What kafkajs made of a refusal: the protocol error's type, and each partition's for an aggregate.
function describeError(e) {
  const partitions = (e.errors || []).map((x) => ({ topic: x.topic, partition: x.partition, type: x.type }));
  return { name: e.name, type: e.type, message: e.message, partitions };
}

// kafkajs gives up at once when the Metadata it just fetched names a controller it has no broker
// for (a moment with no `__meta` leader: controller id -1). Nothing reached a broker then, so
// asking again is safe; a bounded number of times, each logged.
async function withController(what, call) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (attempt < 10 && ['KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded'].includes(e.name)) {
        console.error(`${what} attempt ${attempt}: ${e.message}; again`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      throw e;
    }
  }
}

async function run() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (mode === 'alter') {
      const topics = JSON.parse(json);
      await withController('alterPartitionReassignments',
                           () => admin.alterPartitionReassignments({ topics, timeout: 15000 }));
      return { ok: true };
    }
    const topics = json && json !== 'null' ? JSON.parse(json) : null;
    const listed = await withController('listPartitionReassignments',
                                        () => admin.listPartitionReassignments({ topics, timeout: 15000 }));
    return {
      topics: listed.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      })),
    };
  } catch (e) {
    return { error: describeError(e) };
  } finally {
    await admin.disconnect();
  }
}

run().then(
  (out) => console.log(JSON.stringify(out)),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
