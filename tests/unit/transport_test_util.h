// Helpers shared by the transport tests: Raft messages with every field set, a field-by-field
// comparison, and a test node (a raft_transport plus what it received) driven by one Asio
// io_context that the test thread runs in bounded slices.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "consensus/transport/raft_transport.h"

namespace chronik::consensus::testing {

inline std::shared_ptr<spdlog::logger> test_logger() {
  static auto log = [] {
    auto l = std::make_shared<spdlog::logger>(
        "transport", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return log;
}

// A message of `type` from `from` to `to` with every field the type could carry set to a
// distinctive value, so a dropped or swapped field shows up in expect_same.
inline message full_message(message_type type, std::uint64_t from, std::uint64_t to,
                            std::uint64_t salt) {
  message m;
  m.type = type;
  m.from = node_id{static_cast<std::uint32_t>(from)};
  m.to = node_id{static_cast<std::uint32_t>(to)};
  m.term = term_id{7 + salt};
  m.index = log_index{100 + salt};
  m.log_term = term_id{6 + salt};
  m.commit = log_index{90 + salt};
  m.reject = (salt % 2) == 1;
  m.reject_hint = log_index{80 + salt};
  m.hint_term = term_id{5 + salt};
  m.entries = {entry{term_id{7}, log_index{101}, entry_type::normal, std::string("a\0b", 3)},
               entry{term_id{7}, log_index{102}, entry_type::conf_change, "conf"},
               entry{term_id{7}, log_index{103}, entry_type::normal, ""}};
  m.snap_meta = snapshot_meta{log_index{50}, term_id{4},
                              conf_state{{node_id{1}, node_id{2}}, {node_id{3}}}};
  m.snap_offset = 4096 + salt;
  m.snap_data = std::string(1000, static_cast<char>(salt));
  m.snap_done = true;
  m.context = "ctx-" + std::to_string(salt);
  return m;
}

inline void expect_same(const message& a, const message& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.term, b.term);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.log_term, b.log_term);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.commit, b.commit);
  EXPECT_EQ(a.reject, b.reject);
  EXPECT_EQ(a.reject_hint, b.reject_hint);
  EXPECT_EQ(a.hint_term, b.hint_term);
  EXPECT_EQ(a.snap_meta, b.snap_meta);
  EXPECT_EQ(a.snap_offset, b.snap_offset);
  EXPECT_EQ(a.snap_data, b.snap_data);
  EXPECT_EQ(a.snap_done, b.snap_done);
  EXPECT_EQ(a.context, b.context);
}

inline transport_config test_config(std::uint64_t self, std::string cluster_id = "c1") {
  transport_config cfg = transport_config::local();
  cfg.self = node_id{static_cast<std::uint32_t>(self)};
  cfg.node_uuid = "uuid-" + std::to_string(self);
  cfg.cluster_id = std::move(cluster_id);
  cfg.listen_address = "127.0.0.1:0";
  cfg.call_timeout_ms = 500;
  cfg.reconnect_backoff_max_ms = 400;
  return cfg;
}

struct test_node {
  test_node(asio::io_context& io, transport_config cfg)
      : self(cfg.self), transport(std::make_unique<raft_transport>(io, cfg, test_logger())) {
    transport->on_receive([this](inbound_batch&& b) {
      received_messages += b.messages.size();
      batches.push_back(std::move(b));
    });
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(transport->bound_port()); }
  void connect_to(const test_node& other) { transport->set_peer(other.self, other.address()); }

  node_id self;
  std::unique_ptr<raft_transport> transport;
  std::vector<inbound_batch> batches;
  std::size_t received_messages = 0;
};

// One line of counters for failure messages.
inline std::string describe(const transport_counters& c) {
  return "batches_sent=" + std::to_string(c.batches_sent) +
         " messages_sent=" + std::to_string(c.messages_sent) +
         " batches_received=" + std::to_string(c.batches_received) +
         " messages_received=" + std::to_string(c.messages_received) +
         " refusals_sent=" + std::to_string(c.refusals_sent) +
         " refusals_received=" + std::to_string(c.refusals_received) +
         " connects=" + std::to_string(c.connects) + " reconnects=" + std::to_string(c.reconnects) +
         " connect_failures=" + std::to_string(c.connect_failures) +
         " call_failures=" + std::to_string(c.call_failures) +
         " drops_outbox_full=" + std::to_string(c.drops_outbox_full) +
         " drops_no_route=" + std::to_string(c.drops_no_route) +
         " drops_oversized=" + std::to_string(c.drops_oversized) +
         " drops_failed=" + std::to_string(c.drops_failed);
}

// Runs the io_context in 5 ms slices until `done` or the deadline; returns whether `done` held.
// Slices, not sleeps: the handlers that make `done` true run inside them.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  // A previous run that ran out of work leaves the io_context stopped; run_for would then
  // return at once without running the posted batches.
  if (io.stopped()) io.restart();
  auto guard = asio::make_work_guard(io);
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline std::vector<group_message> appends(std::uint64_t group, std::uint64_t from, std::uint64_t to,
                                          std::uint64_t first_index, std::size_t count,
                                          std::size_t payload_bytes = 64) {
  std::vector<group_message> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    message m;
    m.type = message_type::append;
    m.from = node_id{static_cast<std::uint32_t>(from)};
    m.to = node_id{static_cast<std::uint32_t>(to)};
    m.term = term_id{1};
    m.index = log_index{first_index + i};
    m.entries = {entry{term_id{1}, log_index{first_index + i + 1}, entry_type::normal,
                       std::string(payload_bytes, 'x')}};
    out.push_back(group_message{group_id{group}, std::move(m)});
  }
  return out;
}

inline group_message heartbeat(std::uint64_t group, std::uint64_t from, std::uint64_t to) {
  message m;
  m.type = message_type::heartbeat;
  m.from = node_id{static_cast<std::uint32_t>(from)};
  m.to = node_id{static_cast<std::uint32_t>(to)};
  m.term = term_id{3};
  m.commit = log_index{group};
  return group_message{group_id{group}, std::move(m)};
}

}  // namespace chronik::consensus::testing
