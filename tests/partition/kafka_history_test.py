#!/usr/bin/python3
"""The data, group and transactional workloads' history checks (kafka_workload.check_history,
group_workload.check_group_history, txn_workload.check_txn_history) on made-up histories, and the
security checks (checkers.rpc_tls_in_use, checkers.security_violations) on made-up /v1/cluster
answers: each anomaly the suite claims to catch must be caught, and a clean history must pass.
Needs no root."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checkers  # noqa: E402
from group_workload import check_group_history  # noqa: E402
from kafka_workload import Producer, check_history, duplicate_sources, resent_by_client  # noqa: E402
from txn_workload import check_txn_history  # noqa: E402

TAG = "t-1"


class FakeProducer:
    def __init__(self, acked=None, failed=None, indeterminate=None):
        self.acked = {v: (p, o, 0.0) for v, (p, o) in (acked or {}).items()}
        self.failed = failed or {}
        self.indeterminate = indeterminate or {}


def read_of(records, begin=None, end=None):
    """records: {partition: [(offset, value)]}; begin/end default to the offsets' range."""
    begin = begin or {p: (recs[0][0] if recs else 0) for p, recs in records.items()}
    end = end or {p: (recs[-1][0] + 1 if recs else begin[p]) for p, recs in records.items()}
    return {"begin": begin, "end": end, "records": records}


def v(n):
    return f"{TAG}/1/{n}"


class CheckHistoryTest(unittest.TestCase):
    def test_clean_history_passes(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 1)}, failed={v(3): 6}, indeterminate={v(4): "timeout"})
        read = read_of({0: [(0, v(1)), (1, v(2)), (2, v(4))]})
        self.assertEqual(check_history([p], read, TAG), [])

    def test_indeterminate_value_may_be_missing(self):
        p = FakeProducer(acked={v(1): (0, 0)}, indeterminate={v(2): "timeout"})
        self.assertEqual(check_history([p], read_of({0: [(0, v(1))]}), TAG), [])

    def test_lost_acknowledged_value(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 1)})
        f = check_history([p], read_of({0: [(0, v(1))]}), TAG)
        self.assertTrue(any("1 acknowledged values lost" in x for x in f), f)

    def test_value_at_another_offset_than_acknowledged(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 1)})
        f = check_history([p], read_of({0: [(0, v(2)), (1, v(1))]}), TAG)
        self.assertTrue(any("not at their acknowledged offset" in x for x in f), f)

    def test_one_offset_acknowledged_twice(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 0)})
        f = check_history([p], read_of({0: [(0, v(1)), (1, v(2))]}), TAG)
        self.assertTrue(any("acknowledged for both" in x for x in f), f)

    def test_gap_in_offsets(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 2)})
        f = check_history([p], read_of({0: [(0, v(1)), (2, v(2))]}), TAG)
        self.assertTrue(any("not dense" in x and "missing [1]" in x for x in f), f)

    def test_offsets_out_of_order(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, 1)})
        f = check_history([p], read_of({0: [(1, v(2)), (0, v(1))]}, begin={0: 0}, end={0: 2}), TAG)
        self.assertTrue(any("in order False" in x for x in f), f)

    def test_read_stopped_short_of_the_end(self):
        p = FakeProducer(acked={v(1): (0, 0)})
        f = check_history([p], read_of({0: [(0, v(1))]}, begin={0: 0}, end={0: 3}), TAG)
        self.assertTrue(any("not dense" in x for x in f), f)

    def test_failed_value_read_as_committed(self):
        p = FakeProducer(acked={v(1): (0, 0)}, failed={v(2): 6})
        f = check_history([p], read_of({0: [(0, v(1)), (1, v(2))]}), TAG)
        self.assertTrue(any("send failed were read" in x for x in f), f)

    def test_value_never_sent(self):
        p = FakeProducer(acked={v(1): (0, 0)})
        f = check_history([p], read_of({0: [(0, v(1)), (1, "someone-else/1/1"), (2, v(9))]}), TAG)
        self.assertTrue(any("never sent" in x for x in f), f)

    def test_probes_are_expected(self):
        p = FakeProducer(acked={v(1): (1, 1)})
        self.assertEqual(check_history([p], read_of({1: [(0, "probe/1/1"), (1, v(1))]}), TAG), [])

    def test_acknowledged_without_offset_must_be_read_somewhere(self):
        p = FakeProducer(acked={v(1): (0, 0), v(2): (0, None)})
        self.assertEqual(check_history([p], read_of({0: [(0, v(1)), (1, v(2))]}), TAG), [])
        f = check_history([p], read_of({0: [(0, v(1))]}), TAG)
        self.assertTrue(any("1 acknowledged values lost" in x for x in f), f)

    def test_duplicate_fails(self):
        # Idempotent producers: a value read twice is a retry the partition appended again.
        p = FakeProducer(acked={v(1): (0, 0)})
        f = check_history([p], read_of({0: [(0, v(1)), (1, v(1))]}), TAG)
        self.assertTrue(any("1 values read more than once" in x for x in f), f)

    def test_duplicate_of_an_indeterminate_value_fails(self):
        # A timed-out send may be in the log once, never twice.
        p = FakeProducer(acked={v(1): (0, 0)}, indeterminate={v(2): "_MSG_TIMED_OUT"})
        f = check_history([p], read_of({0: [(0, v(1)), (1, v(2))], 1: [(0, v(2))]}), TAG)
        self.assertTrue(any("read more than once" in x and "(1, 0)" in x for x in f), f)

    def test_duplicate_probe_fails(self):
        p = FakeProducer(acked={v(1): (1, 2)})
        f = check_history([p], read_of({1: [(0, "probe/1/1"), (1, "probe/1/1"), (2, v(1))]}), TAG)
        self.assertTrue(any("read more than once" in x for x in f), f)



class DuplicateSourcesTest(unittest.TestCase):
    def test_copies_in_one_epoch_are_the_brokers(self):
        lines = duplicate_sources({0: [(0, 7, 0, 0, [v(1), v(2)]), (2, 7, 0, 0, [v(1), v(2)])]})
        self.assertEqual(len(lines), 1)
        self.assertIn("2 duplicates with every copy under one producer id and epoch", lines[0])

    def test_copies_in_two_epochs_are_the_clients(self):
        lines = duplicate_sources({0: [(0, 7, 0, 5, [v(1)]), (1, 7, 1, 0, [v(1)])], 1: "RuntimeError: x"})
        self.assertEqual(len(lines), 1)
        self.assertIn("1 duplicates with copies under different epochs", lines[0])

    def test_no_duplicate_no_line(self):
        self.assertEqual(duplicate_sources({0: [(0, 7, 0, 0, [v(1)]), (1, 7, 0, 1, [v(2)])]}), [])


class ResentByClientTest(unittest.TestCase):
    """Only duplicates the client made by resending under a newer epoch of its id are excused."""

    def test_one_producer_a_copy_per_epoch(self):
        # delay-200ms, clean clone of 104acaf: seq 222 written at 707 in epoch 0, the same 31
        # values again at 1146 as epoch 1's sequence 0.
        self.assertTrue(resent_by_client({0: [(707, 0, 0, 222, [v(1), v(2)]), (1146, 0, 1, 0, [v(1), v(2)])],
                                          1: [(0, 0, 0, 0, [v(3)])]}))

    def test_two_copies_in_one_epoch_are_the_brokers(self):
        self.assertFalse(resent_by_client({0: [(0, 7, 0, 0, [v(1)]), (1, 7, 1, 0, [v(2)]), (2, 7, 1, 0, [v(2)])]}))

    def test_copies_under_two_producer_ids_are_not_excused(self):
        self.assertFalse(resent_by_client({0: [(0, 7, 0, 0, [v(1)]), (1, 8, 1, 0, [v(1)])]}))

    def test_unknown_batches_or_no_duplicate_excuse_nothing(self):
        self.assertFalse(resent_by_client({0: [(0, 7, 0, 0, [v(1)]), (1, 7, 1, 0, [v(1)])], 1: "RuntimeError: x"}))
        self.assertFalse(resent_by_client({0: [(0, 7, 0, 0, [v(1)])]}))


class FakeMessage:
    def __init__(self, value, partition=0, offset=-1):
        self._v, self._p, self._o = value.encode(), partition, offset

    def value(self):
        return self._v

    def partition(self):
        return self._p

    def offset(self):
        return self._o


class FakeWorkload:
    run = None

    def __init__(self):
        import threading
        self.stopping = threading.Event()


class FakeLog:
    def close(self):
        pass


class ClientRestartTest(unittest.TestCase):
    """Producer._loop: a new client instance after librdkafka 2.0.2's known fatal errors (at most
    MAX_CLIENT_RESTARTS), a scenario failure after any other fatal error."""

    def run_loop(self, fatals):
        p = Producer(FakeWorkload(), 1)
        p.log_file = FakeLog()
        firsts = []

        def instance(seq):
            firsts.append(seq + 1)
            if len(firsts) <= len(fatals):
                p.fatal = fatals[len(firsts) - 1]
            else:
                p.w.stopping.set()
            return seq + 10
        p._run_instance = instance
        p._loop()
        return p, firsts

    def test_known_fatal_makes_a_new_instance_that_goes_on_numbering(self):
        p, firsts = self.run_loop(["OUT_OF_ORDER_SEQUENCE_NUMBER: ... failed with rewound sequence number on broker 3"])
        self.assertEqual((firsts, p.error, len(p.restarts)), ([1, 11], None, 1))

    def test_other_fatal_fails(self):
        p, firsts = self.run_loop(["UNKNOWN_PRODUCER_ID: something else"])
        self.assertEqual(firsts, [1])
        self.assertIn("fatal client error: UNKNOWN_PRODUCER_ID", p.error)

    def test_restarts_are_bounded(self):
        p, firsts = self.run_loop(["sequence desynchronization"] * 10)
        self.assertEqual(len(firsts), 4)
        self.assertIn("fatal client error", p.error)


class DeliveryOutcomeTest(unittest.TestCase):
    """Producer._on_delivery: only a refusal of the batch's contents is a definite failure; after
    the client's retries every other error leaves the value undecided."""

    def deliver(self, err, msg=None):
        p = Producer(FakeWorkload(), 1)
        p.pending[v(1)] = 0.0
        p._on_delivery(err, msg or FakeMessage(v(1), 2, 17))
        self.assertEqual(p.pending, {})
        return p

    def test_no_error_is_acknowledged_at_its_place(self):
        p = self.deliver(None)
        self.assertEqual(p.acked[v(1)][:2], (2, 17))

    def test_no_error_without_offset_is_acknowledged_somewhere(self):
        for offset in (None, -1001):
            p = self.deliver(None, FakeMessage(v(1), 2, offset))
            self.assertEqual(p.acked[v(1)][:2], (2, None))

    def test_content_refusal_is_failed(self):
        from confluent_kafka import KafkaError
        for code in (KafkaError.INVALID_RECORD, KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG):
            self.assertEqual(self.deliver(KafkaError(code)).failed, {v(1): code})

    def test_errors_after_retries_are_indeterminate(self):
        from confluent_kafka import KafkaError
        # NOT_LEADER_FOR_PARTITION on the last attempt: an earlier attempt may have timed out and
        # committed. A retriable or fatal flag makes even a content code undecided.
        for err in (KafkaError(KafkaError._MSG_TIMED_OUT), KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION),
                    KafkaError(KafkaError.REQUEST_TIMED_OUT), KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER),
                    KafkaError(KafkaError.INVALID_RECORD, retriable=True),
                    KafkaError(KafkaError.INVALID_RECORD, fatal=True)):
            p = self.deliver(err)
            self.assertEqual((p.acked, p.failed, list(p.indeterminate)), ({}, {}, [v(1)]), err)


class FakeConsumer:
    def __init__(self, acked=(), delivered=()):
        self.acked = list(acked)        # (time, {partition: offset})
        self.delivered = set(delivered)


class CheckGroupHistoryTest(unittest.TestCase):
    values = {v(1): (0, 0, 0.0), v(2): (0, 1, 0.0), v(3): (1, 0, 0.0)}

    def test_clean_history_passes(self):
        c = FakeConsumer(acked=[(1.0, {0: 1}), (2.0, {0: 2, 1: 1})], delivered=[v(1), v(2), v(3)])
        samples = [(0.5, {0: -1, 1: -1}), (1.5, {0: 1, 1: -1}), (2.5, {0: 2, 1: 1})]
        self.assertEqual(check_group_history([c], samples, {0: 2, 1: 1}, self.values, {0: 2, 1: 1}), [])

    def test_lost_acknowledged_commit(self):
        c = FakeConsumer(acked=[(1.0, {0: 2})], delivered=[v(1), v(2)])
        f = check_group_history([c], [], {0: 1, 1: -1}, self.values, None)
        self.assertTrue(any("acknowledged commits lost" in x for x in f), f)

    def test_sample_below_an_earlier_sample(self):
        c = FakeConsumer(delivered=[v(1), v(2)])
        f = check_group_history([c], [(1.0, {0: 2}), (2.0, {0: 1})], {0: 2}, self.values, None)
        self.assertTrue(any("went backwards" in x and "earlier sample" in x for x in f), f)

    def test_sample_below_a_commit_acknowledged_before_it(self):
        c = FakeConsumer(acked=[(1.0, {0: 2})], delivered=[v(1), v(2)])
        f = check_group_history([c], [(0.5, {0: -1}), (1.5, {0: 1})], {0: 2}, self.values, None)
        self.assertTrue(any("acknowledged commit" in x for x in f), f)
        # A sample asked before the commit returned may still show the older offset.
        self.assertEqual(check_group_history([c], [(0.9, {0: 1})], {0: 2}, self.values, None), [])

    def test_acknowledged_record_never_delivered(self):
        c = FakeConsumer(acked=[(1.0, {0: 2})], delivered=[v(1)])
        f = check_group_history([c], [], {0: 2}, self.values, None)
        self.assertTrue(any("never delivered" in x for x in f), f)

    def test_group_that_did_not_reach_the_end(self):
        c = FakeConsumer(acked=[(1.0, {0: 1})], delivered=[v(1)])
        f = check_group_history([c], [], {0: 1, 1: -1}, self.values, {0: 2, 1: 1})
        self.assertTrue(any("did not consume to the end" in x for x in f), f)

class FakeTxnProducer:
    """txns: [(number, outcome, records)] with records the indexes of its values, each on
    partition index % 2."""

    def __init__(self, node, txns):
        self.node = node
        self.txns = [(n, outcome, [(i % 2, tv(node, n, i)) for i in range(count)]) for n, outcome, count in txns]


def tv(node, n, i):
    return f"{TAG}/{node}/{n}/{i}"


def txn_read(*producers, skip=(), order=None):
    """What a read_committed consumer reads when every committed or indeterminate transaction of
    the producers is read whole (except values in `skip`), in transaction order."""
    out = {0: [], 1: []}
    for p in producers:
        for _, outcome, values in p.txns:
            if outcome != "aborted":
                for part, v in values:
                    if v not in skip:
                        out[part].append(v)
    return out


class CheckTxnHistoryTest(unittest.TestCase):
    def setUp(self):
        self.p = FakeTxnProducer(1, [(1, "committed", 4), (2, "aborted", 4), (3, "indeterminate", 4),
                                     (4, "committed", 2)])

    def test_clean_history_passes(self):
        self.assertEqual(check_txn_history([self.p], txn_read(self.p)), [])

    def test_undecided_transaction_may_be_missing_whole(self):
        read = txn_read(self.p, skip={tv(1, 3, i) for i in range(4)})
        self.assertEqual(check_txn_history([self.p], read), [])

    def test_aborted_read(self):
        read = txn_read(self.p)
        read[0].append(tv(1, 2, 0))
        f = check_txn_history([self.p], read)
        self.assertTrue(any("aborted transactions read" in x for x in f), f)

    def test_lost_committed_write(self):
        f = check_txn_history([self.p], txn_read(self.p, skip={tv(1, 4, 1)}))
        self.assertTrue(any("committed transactions not read whole" in x for x in f), f)

    def test_undecided_transaction_read_in_part(self):
        f = check_txn_history([self.p], txn_read(self.p, skip={tv(1, 3, 2)}))
        self.assertTrue(any("undecided transactions read in part" in x for x in f), f)

    def test_duplicate(self):
        read = txn_read(self.p)
        read[1].append(tv(1, 4, 1))
        f = check_txn_history([self.p], read)
        self.assertTrue(any("read more than once" in x for x in f), f)

    def test_order_contradicting_the_commits(self):
        read = txn_read(self.p)
        read[0].remove(tv(1, 1, 0))
        read[0].append(tv(1, 1, 0))  # transaction 1's value after transaction 4's
        f = check_txn_history([self.p], read)
        self.assertTrue(any("out of their commit order" in x for x in f), f)

    def test_two_producers_interleave_freely(self):
        q = FakeTxnProducer(2, [(1, "committed", 2), (2, "committed", 2)])
        read = {0: [tv(2, 1, 0), tv(1, 1, 0), tv(1, 1, 2), tv(2, 2, 0), tv(1, 3, 0), tv(1, 3, 2), tv(1, 4, 0)],
                1: [tv(1, 1, 1), tv(2, 1, 1), tv(1, 1, 3), tv(1, 3, 1), tv(2, 2, 1), tv(1, 3, 3), tv(1, 4, 1)]}
        self.assertEqual(check_txn_history([self.p, q], read), [])

    def test_value_never_sent(self):
        read = txn_read(self.p)
        read[0].append(tv(1, 9, 0))
        f = check_txn_history([self.p], read)
        self.assertTrue(any("never sent" in x for x in f), f)


def status(tls=2, plaintext=0, handshake_failures=0, identity_refusals=0, auth_failed=0, gossip_plaintext=0):
    """A /v1/cluster answer's `load` section as daemon/meta_service.cc writes it."""
    return {"load": {"rpc": {"tls_connections": tls, "plaintext_connections": plaintext,
                             "tls_handshake_failures": handshake_failures,
                             "tls_identity_refusals": identity_refusals, "refusals_sent": 0},
                     "gossip": {"auth_failed_dropped": auth_failed, "plaintext_dropped": gossip_plaintext}}}


class SecurityCheckTest(unittest.TestCase):
    def test_tls_in_use_on_every_node(self):
        self.assertTrue(checkers.rpc_tls_in_use([1, 2])({}, {1: status(), 2: status(tls=1)}))

    def test_a_node_without_a_tls_connection_is_not_in_use(self):
        self.assertFalse(checkers.rpc_tls_in_use([1, 2])({}, {1: status(), 2: status(tls=0)}))

    def test_a_plaintext_connection_is_not_in_use(self):
        self.assertFalse(checkers.rpc_tls_in_use([1, 2])({}, {1: status(), 2: status(plaintext=1)}))

    def test_a_node_without_counters_or_status_is_not_in_use(self):
        self.assertFalse(checkers.rpc_tls_in_use([1, 2])({}, {1: status(), 2: {"load": {}}}))
        self.assertFalse(checkers.rpc_tls_in_use([1, 2])({}, {1: status(), 2: None}))

    def test_faults_may_fail_handshakes_and_frames(self):
        views = {1: status(handshake_failures=3, auth_failed=2), 2: status()}
        self.assertEqual(checkers.security_violations(views), [])

    def test_plaintext_identity_refusals_and_plaintext_gossip_are_violations(self):
        views = {1: status(plaintext=1), 2: status(identity_refusals=1), 3: status(gossip_plaintext=4), 4: None}
        f = checkers.security_violations(views)
        self.assertEqual(f, ["node 1: plaintext = 1", "node 2: identity_refusals = 1", "node 3: gossip_plaintext = 4",
                             "node 4: no status"])


if __name__ == "__main__":
    unittest.main()
