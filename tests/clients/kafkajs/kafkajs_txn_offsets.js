// kafkajs's transactional offset commits for tests/cluster/kafka_txn_offsets_test.py:
//   node kafkajs_txn_offsets.js BROKERS TOPIC GROUP TRANSACTIONAL_ID
// One transaction sends offset 5 of TOPIC partition 0 for GROUP (transaction.sendOffsets:
// AddOffsetsToTxn, then TxnOffsetCommit v0/v1, the versions kafkajs 2.2.4 knows) and aborts; the
// next sends offset 7 and commits. After each, the group's committed offsets as the admin client
// fetches them (OffsetFetch). Ends with one JSON line {"after_abort": "<offset>", "after_commit":
// "<offset>"}; any error exits non-zero with its message on stderr.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, groupId, transactionalId] = process.argv.slice(2);
if (!brokers || !topic || !groupId || !transactionalId) {
  console.error('usage: kafkajs_txn_offsets.js BROKERS TOPIC GROUP TRANSACTIONAL_ID');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-txn-offsets-test',
  brokers: brokers.split(','),
  logLevel: logLevel.ERROR,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});

async function committed(admin) {
  const topics = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = topics[0].partitions.find((x) => x.partition === 0);
  return p ? p.offset : null;
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  // kafkajs requires idempotence and one request in flight for a transactional producer.
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const offsets = (offset) => ({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset }] }] });

  let txn = await producer.transaction();
  await txn.send({ topic, acks: -1, messages: [{ partition: 0, value: 'aborted' }] });
  await txn.sendOffsets(offsets('5'));
  await txn.abort();
  const afterAbort = await committed(admin);

  txn = await producer.transaction();
  await txn.send({ topic, acks: -1, messages: [{ partition: 0, value: 'committed' }] });
  await txn.sendOffsets(offsets('7'));
  await txn.commit();
  // The marker reaches the group's coordinator up to a tick after the commit: kafkajs's
  // fetchOffsets does not ask for stable offsets, so look again a few times.
  let afterCommit = await committed(admin);
  for (let i = 0; i < 50 && afterCommit !== '7'; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    afterCommit = await committed(admin);
  }
  await producer.disconnect();
  await admin.disconnect();
  console.log(JSON.stringify({ after_abort: afterAbort, after_commit: afterCommit }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
