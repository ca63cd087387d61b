// kafka_service's part in durable consumer groups (docs/kafka.md "Durable groups"): where a group's
// coordinator is, and the internal topic `__consumer_offsets`, created on the first
// FindCoordinator as Kafka creates it. The coordinator core and its shell are kafka/groups and
// daemon/group_store.h.
#include <algorithm>

#include <asio/post.hpp>

#include "daemon/kafka_service.h"

namespace chronik::daemon {

namespace {

// A refused or lost creation is proposed again after this long, as FindCoordinator retries come.
constexpr std::chrono::seconds offsets_topic_retry{2};

}  // namespace

kafka::group_coordinator* kafka_service::groups() {
  if (!group_flush_posted_) {
    group_flush_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      group_flush_posted_ = false;
      const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
      group_store_.flush(manager(), wall_ms);
    });
  }
  return &groups_;
}

std::int32_t kafka_service::offsets_partitions() const {
  const auto* t = meta_.state().topic(kafka::offsets_topic_name);
  return t == nullptr ? 0 : static_cast<std::int32_t>(t->partitions.size());
}

std::optional<kafka::broker_info> kafka_service::coordinator_for(std::string_view group) {
  const auto* t = meta_.state().topic(kafka::offsets_topic_name);
  if (t == nullptr || t->partitions.empty()) {
    ensure_offsets_topic();
    return std::nullopt;
  }
  const auto p = kafka::offsets_partition_for(group, static_cast<std::int32_t>(t->partitions.size()));
  const auto leader = t->partitions[static_cast<std::size_t>(p)].leader;
  if (leader == chronik::no_node) return std::nullopt;
  for (auto& b : brokers()) {
    if (b.id == leader) return std::move(b);
  }
  return std::nullopt;  // its leader is not alive: a new one is being elected
}

void kafka_service::confirm_group_coordinator(std::string_view group, std::function<void(bool)> done) {
  // As long as an OffsetCommit may wait for its write (group_store.cc's write timeout).
  constexpr std::chrono::seconds confirm_timeout{5};
  const std::int32_t partitions = offsets_partitions();
  auto* m = manager();
  kafka::partition_replica* rep =
      partitions > 0 && m != nullptr
          ? m->find(std::string(kafka::offsets_topic_name), kafka::offsets_partition_for(group, partitions))
          : nullptr;
  if (rep == nullptr) return done(false);
  // Confirmed leadership is not enough: the core must have loaded the partition in that very
  // term. Between two ticks this node may lose and win it back, and the state loaded in the older
  // term lacks what the leader in between acknowledged.
  const std::int32_t p = kafka::offsets_partition_for(group, partitions);
  rep->confirm_leadership(m->now() + confirm_timeout,
                          [this, alive = alive_, p, done = std::move(done)](bool confirmed) {
                            if (!*alive || !confirmed) return done(false);
                            auto* mgr = manager();
                            const auto* now = mgr == nullptr ? nullptr : mgr->find(std::string(kafka::offsets_topic_name), p);
                            const auto loaded = group_store_.loaded_term(p);
                            done(now != nullptr && loaded && *loaded == now->leader_epoch());
                          });
}

void kafka_service::ensure_offsets_topic() {
  const auto now = last_tick_;  // the node loop's reading: a shell reads no clock of its own
  if (offsets_topic_proposed_ != std::chrono::steady_clock::time_point{} && now < offsets_topic_proposed_ + offsets_topic_retry) {
    return;
  }
  offsets_topic_proposed_ = now;
  kafka::topic_request t;
  t.name = std::string(kafka::offsets_topic_name);
  t.internal = true;
  t.partitions = static_cast<std::int32_t>(cfg_.offsets_topic_num_partitions);
  // Kafka refuses to create it with fewer live brokers than offsets.topic.replication.factor; a
  // self-forming cluster creates it with what it has, up to that factor.
  t.replication_factor = static_cast<std::int16_t>(
      std::clamp<std::size_t>(live_brokers(), 1, static_cast<std::size_t>(cfg_.offsets_topic_replication_factor)));
  // The coordinator trims the log itself at its checkpoints (the part compaction plays in Kafka);
  // time or size retention must never drop a live commit.
  t.configs = {{"retention.ms", "-1"}, {"retention.bytes", "-1"}};
  log_->info("kafka: creating {} ({} partitions, {} replicas)", t.name, t.partitions, t.replication_factor);
  create_topics({std::move(t)}, false, std::chrono::seconds(10), [log = log_](std::vector<kafka::topic_result> r) {
    if (!r.empty() && r[0].outcome != kafka::topic_outcome::done && r[0].outcome != kafka::topic_outcome::already_exists) {
      log->warn("kafka: cannot create {} yet: {}", kafka::offsets_topic_name, r[0].message);
    }
  });
}

}  // namespace chronik::daemon
