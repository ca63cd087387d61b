// kafkajs's transactional producer for tests/cluster/kafka_exactly_once_test.py:
//   node kafkajs_transactions.js BROKERS TOPIC TRANSACTIONAL_ID PLAN
// PLAN is a comma-separated list of transactions, each "commit:N" or "abort:N": transaction k
// sends the N values "<TOPIC>-<k>-0" .. "<TOPIC>-<k>-(N-1)", spread over partitions 0..2, then
// commits or aborts. Ends with one JSON line {"done": true, "outcomes": ["commit" | "abort", ...]};
// any error exits non-zero with its message on stderr.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, transactionalId, planArg] = process.argv.slice(2);
const plan = (planArg || '').split(',').filter(Boolean).map((t) => {
  const [how, n] = t.split(':');
  return { commit: how === 'commit', count: Number(n) };
});
if (!brokers || !topic || !transactionalId || plan.length === 0
    || plan.some((t) => !(t.count > 0))) {
  console.error('usage: kafkajs_transactions.js BROKERS TOPIC TRANSACTIONAL_ID commit:N,abort:N,...');
  process.exit(2);
}
const kafka = new Kafka({
  clientId: 'chronik-transactions-test',
  brokers: brokers.split(','),
  logLevel: logLevel.ERROR,
  connectionTimeout: 3000,
  requestTimeout: 10000,
});

async function main() {
  // kafkajs requires idempotence and one request in flight for a transactional producer.
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1,
                                    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
  await producer.connect();
  const outcomes = [];
  for (let k = 0; k < plan.length; k += 1) {
    const txn = await producer.transaction();
    const messages = [];
    for (let i = 0; i < plan[k].count; i += 1) messages.push({ partition: i % 3, value: `${topic}-${k}-${i}` });
    await txn.send({ topic, acks: -1, messages });
    if (plan[k].commit) {
      await txn.commit();
      outcomes.push('commit');
    } else {
      await txn.abort();
      outcomes.push('abort');
    }
  }
  await producer.disconnect();
  console.log(JSON.stringify({ done: true, outcomes }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
