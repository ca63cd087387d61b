// kafkajs for the group admin suite (tests/cluster/kafka_group_admin_test.py). Each mode prints one
// JSON document:
//   node kafkajs_group_admin.js delete BROKERS GROUP...
//       admin.deleteGroups (DeleteGroups): {"deleted": [{groupId, errorCode}]} when every group was
//       deleted, else {"failed": [{groupId, errorCode, type}]} (kafkajs throws
//       KafkaJSDeleteGroupsError listing the groups that were not)
//   node kafkajs_group_admin.js fetch BROKERS GROUP TOPIC
//       admin.fetchOffsets (OffsetFetch): {"offsets": [{partition, offset}]}, -1 where none
// kafkajs 2.2.4 has no OffsetDelete (admin has no call for it, and its protocol has no request for
// key 47), so offsets are deleted by the other clients of the suite.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, ...rest] = process.argv.slice(2);
const usage = 'usage: kafkajs_group_admin.js delete BROKERS GROUP... | fetch BROKERS GROUP TOPIC';
if (!['delete', 'fetch'].includes(mode) || !brokers || rest.length === 0 || (mode === 'fetch' && rest.length !== 2)) {
  console.error(usage);
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-group-admin-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 3000,
  requestTimeout: 10000,
});

async function remove(admin) {
  try {
    const deleted = await admin.deleteGroups(rest);
    return { deleted: deleted.map(({ groupId, errorCode }) => ({ groupId, errorCode })) };
  } catch (e) {
    if (e.name !== 'KafkaJSDeleteGroupsError') throw e;
    return { failed: e.groups.map(({ groupId, errorCode, error }) => ({ groupId, errorCode, type: error && error.type })) };
  }
}

async function fetch(admin) {
  const [group, topic] = rest;
  const [got] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const offsets = got.partitions
    .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
    .sort((a, b) => a.partition - b.partition);
  return { offsets };
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    console.log(JSON.stringify(await (mode === 'delete' ? remove(admin) : fetch(admin))));
  } finally {
    await admin.disconnect();
  }
}

main().catch((e) => {
  console.error(`kafkajs ${mode}: ${e && e.message}`);
  process.exit(1);
});
