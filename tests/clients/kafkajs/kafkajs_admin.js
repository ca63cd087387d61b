// kafkajs's admin client for the admin suite (tests/cluster/kafka_admin_test.py). Each mode prints
// one JSON document with what kafkajs made of the broker's answers:
//   node kafkajs_admin.js groups BROKERS GROUP   listGroups() and describeGroups([GROUP])
//   node kafkajs_admin.js cluster BROKERS        describeCluster()
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [mode, brokers, group] = process.argv.slice(2);
if (!['groups', 'cluster'].includes(mode) || !brokers || (mode === 'groups' && !group)) {
  console.error('usage: kafkajs_admin.js groups BROKERS GROUP | cluster BROKERS');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-admin-test',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (mode === 'groups') {
      const listed = await admin.listGroups();
      const described = await admin.describeGroups([group]);
      const members = described.groups[0].members.map((m) => ({
        memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost,
        metadataBytes: m.memberMetadata.length, assignmentBytes: m.memberAssignment.length,
      }));
      const g = described.groups[0];
      console.log(JSON.stringify({ listed: listed.groups, described: { ...g, members } }));
    } else {
      console.log(JSON.stringify(await admin.describeCluster()));
    }
  } finally {
    await admin.disconnect();
  }
}

main().catch((e) => {
  console.error(`kafkajs admin ${mode}: ${e.message}`);
  process.exit(1);
});
