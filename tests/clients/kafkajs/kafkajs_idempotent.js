// kafkajs's idempotent producer for tests/cluster/kafka_idempotence_test.py:
//   node kafkajs_idempotent.js BROKERS TOPIC COUNT PER_SEND [PAUSE_AT]
// produces the values "<prefix>-0" .. "<prefix>-(COUNT-1)" (prefix = TOPIC) to partition 0 of
// TOPIC with `idempotent: true` (acks=all, kafkajs's unlimited retries), PER_SEND values per
// producer.send, one send at a time: kafkajs assigns a batch's sequence numbers when it sends it and
// advances them only when it is acknowledged, so overlapping sends of one idempotent producer would
// reuse sequences. Prints one JSON line per acknowledged send, {"first": i, "count": n,
// "offset": base offset}, which the suite follows to kill the leader mid-stream, and at the end
// {"done": true, "sends": s, "produce_requests": r, "failed_attempts": f, "errors": [...]}: r counts
// Produce requests answered, f the attempts kafkajs logged as failed and retried (with the same
// sequence numbers), errors their first few messages. With PAUSE_AT, once that many values are
// acknowledged it prints {"paused": n} and waits for a line on stdin before the next send, so the
// suite kills the leader between two sends rather than racing a fast producer to its end.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, countArg, perSendArg, pauseAtArg] = process.argv.slice(2);
const count = Number(countArg);
const perSend = Number(perSendArg);
const pauseAt = pauseAtArg === undefined ? Infinity : Number(pauseAtArg);
if (!brokers || !topic || !(count > 0) || !(perSend > 0)) {
  console.error('usage: kafkajs_idempotent.js BROKERS TOPIC COUNT PER_SEND');
  process.exit(2);
}
// kafkajs logs each failed attempt of a send at error level before it retries it.
const failures = [];
const logCreator = () => ({ namespace, log }) => {
  if (namespace === 'Producer' && log.retryCount !== undefined) failures.push(log.message);
};
const kafka = new Kafka({
  clientId: 'chronik-idempotence-test',
  brokers: brokers.split(','),
  logLevel: logLevel.ERROR,
  logCreator,
  connectionTimeout: 3000,
  requestTimeout: 10000,
});
// Unlimited retries, as an idempotent producer needs (kafkajs warns at fewer); the short backoff
// only makes a leader change cost seconds, not half a minute.
const retry = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 };

// Resolves at the next line on stdin (or its end).
function nextLine() {
  return new Promise((resolve) => {
    const done = () => {
      process.stdin.off('data', done);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve();
    };
    process.stdin.on('data', done);
    process.stdin.on('end', done);
    process.stdin.resume();
  });
}

async function main() {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry });
  let produceRequests = 0;
  producer.on(producer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Produce') produceRequests += 1;
  });
  await producer.connect();
  let sends = 0;
  let paused = false;
  for (let first = 0; first < count; first += perSend) {
    if (!paused && first >= pauseAt) {
      paused = true;
      console.log(JSON.stringify({ paused: first }));
      await nextLine();
    }
    const n = Math.min(perSend, count - first);
    const messages = [];
    for (let i = 0; i < n; i += 1) messages.push({ partition: 0, value: `${topic}-${first + i}` });
    const [meta] = await producer.send({ topic, acks: -1, messages });
    sends += 1;
    console.log(JSON.stringify({ first, count: n, offset: Number(meta.baseOffset) }));
  }
  await producer.disconnect();
  console.log(JSON.stringify({ done: true, sends, produce_requests: produceRequests,
                               failed_attempts: failures.length, errors: failures.slice(0, 5) }));
}

main().catch((e) => {
  console.error(`kafkajs idempotent producer failed: ${e.name}: ${e.message}`);
  process.exit(1);
});
