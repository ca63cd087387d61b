// Seeded simulation of log compaction's rules (kafka/partition/log_cleaner.h; docs/kafka.md "Log
// compaction"): random partition logs of plain, transactional (committed and aborted) and
// compressed batches, keyless records, tombstones and transaction markers at random ages, cleaned
// by the production clean_log. The checker requires:
//   - exactly the records a naive model of Kafka's rules keeps (each key's last record that is not
//     aborted, a tombstone only while young, markers only while young), at their offsets, with
//     their values;
//   - cleaning in passes, each over the previous pass's result and the next stretch (as a replica
//     cleans its prefix plus its due entries at every retention check), ends where one pass over
//     the whole log does;
//   - every kept batch parses with a valid CRC and spans the offsets its original did, and
//     cleaning the result again changes nothing.
// Every failure prints its seed; CHRONIK_SIM_SEED replays one, CHRONIK_SIM_SCALE scales the count
// (sim_seeds.h). 2,000 seeds take about a second.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/rng.h"
#include "kafka/partition/log_cleaner.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "tests/sim/sim_seeds.h"
#include "tests/unit/compression_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::sim {
namespace {

using namespace chronik::kafka;

constexpr std::int64_t now_ms = 1'800'000'000'000;
constexpr std::int64_t day = 86'400'000;

struct sim_record {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

struct sim_batch {
  std::int64_t base = 0;
  std::int64_t max_ts = 0;
  std::int64_t producer = -1;  // transactional when >= 0
  bool marker = false;         // a transaction marker of `producer`
  bool commit = false;
  std::vector<sim_record> records;
  std::string bytes;
};

std::string encode(const sim_record& r, std::int32_t delta) {
  std::string body;
  body.push_back(0);
  kafka::testing::put_varlong(body, 0);
  kafka::testing::put_varlong(body, delta);
  kafka::testing::put_varlong(body, r.key ? static_cast<std::int64_t>(r.key->size()) : -1);
  if (r.key) body += *r.key;
  kafka::testing::put_varlong(body, r.value ? static_cast<std::int64_t>(r.value->size()) : -1);
  if (r.value) body += *r.value;
  kafka::testing::put_varlong(body, 0);
  std::string out;
  kafka::testing::put_varlong(out, static_cast<std::int64_t>(body.size()));
  return out + body;
}

// A random log: 20-150 batches over 8 keys, offsets dense from 0.
struct sim_log {
  std::vector<sim_batch> batches;
  std::vector<aborted_txn> aborted;
};

sim_log make_log(rng& r) {
  sim_log log;
  std::map<std::int64_t, std::int64_t> open;  // producer -> first offset of its open transaction
  std::int64_t next = 0;
  const int count = 20 + static_cast<int>(r.below(131));
  const auto add_marker = [&](std::int64_t producer, bool commit) {
    sim_batch m;
    m.base = next;
    m.max_ts = now_ms - static_cast<std::int64_t>(r.below(2 * day));
    m.producer = producer;
    m.marker = true;
    m.commit = commit;
    m.bytes = build_txn_marker_batch(producer, 0, txn_marker{commit, 1}, m.max_ts);
    set_base_offset(m.bytes, 0, m.base);
    if (!commit) log.aborted.push_back(aborted_txn{producer, open.at(producer), m.base});
    open.erase(producer);
    ++next;
    log.batches.push_back(std::move(m));
  };
  for (int i = 0; i < count; ++i) {
    const std::int64_t producer = 100 + static_cast<std::int64_t>(r.below(3));
    if (open.contains(producer) && r.below(4) == 0) {
      add_marker(producer, r.below(2) == 0);
      continue;
    }
    sim_batch b;
    b.base = next;
    b.max_ts = now_ms - static_cast<std::int64_t>(r.below(2 * day));
    if (r.below(3) == 0) {
      b.producer = producer;
      open.emplace(producer, b.base);  // keeps the first offset when already open
    }
    const int n = 1 + static_cast<int>(r.below(5));
    std::string payload;
    for (int k = 0; k < n; ++k) {
      sim_record rec;
      if (r.below(20) != 0) rec.key = "k" + std::to_string(r.below(8));
      if (r.below(6) != 0) rec.value = "v" + std::to_string(b.base + k) + std::string(r.below(40), 'x');
      payload += encode(rec, k);
      b.records.push_back(std::move(rec));
    }
    const bool gzip = r.below(5) == 0;
    record_batch_header h;
    h.base_offset = b.base;
    h.partition_leader_epoch = 1 + static_cast<std::int32_t>(r.below(3));
    h.attributes = static_cast<std::int16_t>((gzip ? 1 : 0) | (b.producer >= 0 ? 0x10 : 0));
    h.last_offset_delta = n - 1;
    h.base_timestamp = b.max_ts;
    h.max_timestamp = b.max_ts;
    h.producer_id = b.producer;
    h.producer_epoch = b.producer >= 0 ? 0 : -1;
    h.base_sequence = b.producer >= 0 ? 0 : -1;
    h.records_count = n;
    b.bytes = build_record_batch(h, gzip ? kafka::testing::gzip(payload) : payload);
    next += n;
    log.batches.push_back(std::move(b));
  }
  // Compaction runs below the last stable offset only: every transaction is decided by the end.
  while (!open.empty()) add_marker(open.begin()->first, r.below(2) == 0);
  return log;
}

// What a record looks like to the checker: "offset:key=value", "offset:key=~" for a tombstone,
// "offset:marker".
using view = std::vector<std::string>;

std::string show(std::int64_t offset, const std::optional<std::string_view>& key,
                 const std::optional<std::string_view>& value) {
  return std::to_string(offset) + ":" + std::string(key.value_or("<null>")) + "=" + std::string(value.value_or("~"));
}

// The naive model of Kafka's rules over the whole log.
view model(const sim_log& log) {
  const auto aborted = [&](const sim_batch& b) {
    if (b.producer < 0 || b.marker) return false;
    for (const auto& a : log.aborted)
      if (a.producer_id == b.producer && a.first_offset <= b.base && b.base <= a.last_offset) return true;
    return false;
  };
  std::map<std::string, std::int64_t> last;
  for (const auto& b : log.batches) {
    if (b.marker || aborted(b)) continue;
    for (std::size_t i = 0; i < b.records.size(); ++i)
      if (b.records[i].key) last[*b.records[i].key] = b.base + static_cast<std::int64_t>(i);
  }
  view out;
  for (const auto& b : log.batches) {
    const bool young = b.max_ts >= now_ms - day;
    if (b.marker) {
      if (young) out.push_back(std::to_string(b.base) + ":marker");
      continue;
    }
    if (aborted(b)) continue;
    for (std::size_t i = 0; i < b.records.size(); ++i) {
      const sim_record& rec = b.records[i];
      const std::int64_t offset = b.base + static_cast<std::int64_t>(i);
      if (!rec.key || last.at(*rec.key) != offset || (!rec.value && !young)) continue;
      out.push_back(show(offset, rec.key, rec.value));
    }
  }
  return out;
}

// The records of cleaned batches, after checking each batch's CRC and that it spans the offsets of
// an original batch.
view records_of(const std::string& batches, const std::map<std::int64_t, std::int64_t>& original_last, bool& ok) {
  view out;
  auto split = split_record_batches(batches, crc_check::verify);
  if (!split) {
    ok = false;
    ADD_FAILURE() << "cleaned batches do not parse: " << split.error().text;
    return out;
  }
  for (const auto& b : *split) {
    const auto it = original_last.find(b.header.base_offset);
    if (it == original_last.end() || it->second != b.header.last_offset()) {
      ok = false;
      ADD_FAILURE() << "a batch at " << b.header.base_offset << " spans offsets no original batch did";
    }
    if (b.header.is_control()) {
      out.push_back(std::to_string(b.header.base_offset) + ":marker");
      continue;
    }
    auto r = for_each_keyed_record(b, [&](const keyed_record_view& v) { out.push_back(show(v.offset, v.key, v.value)); });
    if (!r) {
      ok = false;
      ADD_FAILURE() << "a cleaned batch's records do not read: " << r.error().text;
    }
  }
  return out;
}

std::string clean(const std::vector<std::string_view>& pieces, const sim_log& log, bool& ok) {
  auto r = clean_log(pieces, log.aborted, cleaner_rules{now_ms, day});
  if (!r) {
    ok = false;
    ADD_FAILURE() << "clean_log failed: " << r.error().text;
    return {};
  }
  return std::move(r->batches);
}

bool run_seed(std::uint64_t seed, std::uint64_t& passes) {
  rng r(seed);
  const sim_log log = make_log(r);
  std::map<std::int64_t, std::int64_t> original_last;
  for (const auto& b : log.batches) original_last[b.base] = parse_record_batch_header(b.bytes)->last_offset();
  bool ok = true;
  const view want = model(log);

  std::vector<std::string_view> all;
  for (const auto& b : log.batches) all.push_back(b.bytes);
  const std::string once = clean(all, log, ok);
  EXPECT_EQ(records_of(once, original_last, ok), want) << "one pass; " << replay(seed);

  // In passes: the previous result, then the next stretch of whole batches, as a replica cleans.
  std::string prefix;
  std::size_t from = 0;
  while (from < log.batches.size()) {
    const std::size_t to = std::min(log.batches.size(), from + 1 + r.below(log.batches.size()));
    std::vector<std::string_view> pieces{prefix};
    for (std::size_t i = from; i < to; ++i) pieces.push_back(log.batches[i].bytes);
    prefix = clean(pieces, log, ok);
    ++passes;
    from = to;
  }
  EXPECT_EQ(records_of(prefix, original_last, ok), want) << "in passes; " << replay(seed);

  EXPECT_EQ(clean({once}, log, ok), once) << "cleaning the result again; " << replay(seed);
  return ok && !::testing::Test::HasFailure();
}

TEST(compaction_sim, cleaning_keeps_what_kafkas_rules_keep_in_one_pass_or_many) {
  std::uint64_t failures = 0;
  std::uint64_t passes = 0;
  const auto all = seeds(2000, 61);
  for (const std::uint64_t seed : all) {
    if (!run_seed(seed, passes)) {
      std::fprintf(stderr, "compaction_sim: seed %llu failed; %s\n", static_cast<unsigned long long>(seed),
                   replay(seed).c_str());
      if (++failures >= 3) break;
    }
  }
  std::printf("compaction_sim: %zu seeds, %llu cleaning passes\n", all.size(), static_cast<unsigned long long>(passes));
  EXPECT_EQ(failures, 0u);
}

}  // namespace
}  // namespace chronik::sim
