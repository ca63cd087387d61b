// Brokers' Kafka listeners in `__meta` (docs/kafka.md "Listeners"): a registration carries every
// advertised listener, a snapshot keeps them, a record without them (written before listeners
// existed) still applies, more than max_listeners_per_broker are refused, and the controller
// re-registers a broker whose gossiped listeners changed.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/meta_commands.h"
#include "metadata/meta_controller.h"
#include "metadata/meta_state.h"

namespace chronik::metadata {
namespace {

namespace cmd = commands;

cmd::broker_registration broker(std::uint32_t id, std::vector<listener_endpoint> listeners) {
  const std::string n = std::to_string(id);
  return {node_id{id}, "uuid-" + n, "127.0.0." + n + ":9092", "127.0.0." + n + ":7000", "", std::move(listeners)};
}

TEST(MetaListeners, RegistrationsCarryListenersAndSnapshotsKeepThem) {
  meta_state s;
  const std::vector<listener_endpoint> two{{"PLAINTEXT", "127.0.0.1:9092"}, {"SSL", "kafka-1.example.com:9094"}};
  ASSERT_TRUE(s.apply(log_index{1}, cmd::register_broker(broker(1, two))));
  ASSERT_TRUE(s.apply(log_index{2}, cmd::register_broker(broker(2, {}))));  // an older record
  EXPECT_EQ(s.brokers().at(node_id{1}).listeners, two);
  EXPECT_TRUE(s.brokers().at(node_id{2}).listeners.empty());

  meta_state restored;
  ASSERT_TRUE(restored.restore(s.snapshot()));
  EXPECT_EQ(restored.data(), s.data());
  EXPECT_EQ(restored.brokers().at(node_id{1}).listeners, two);

  // The same uuid with other listeners is a change; the same listeners again is not.
  const std::vector<listener_endpoint> one{{"PLAINTEXT", "127.0.0.1:9092"}};
  EXPECT_TRUE(s.apply(log_index{3}, cmd::register_broker(broker(1, one)))->changed);
  EXPECT_FALSE(s.apply(log_index{4}, cmd::register_broker(broker(1, one)))->changed);
}

TEST(MetaListeners, TooManyOrEmptyListenersAreRefused) {
  meta_state s;
  std::vector<listener_endpoint> many;
  for (std::size_t i = 0; i <= max_listeners_per_broker; ++i) many.push_back({"L" + std::to_string(i), "h:1"});
  EXPECT_EQ(s.apply(log_index{1}, cmd::register_broker(broker(1, many))).error(), meta_errc::invalid_broker);
  EXPECT_EQ(s.apply(log_index{2}, cmd::register_broker(broker(1, {{"", "h:1"}}))).error(), meta_errc::invalid_broker);
  EXPECT_EQ(s.apply(log_index{3}, cmd::register_broker(broker(1, {{"SSL", std::string(300, 'h')}}))).error(),
            meta_errc::invalid_broker);
  EXPECT_TRUE(s.brokers().empty());
}

TEST(MetaListeners, TheControllerReregistersABrokerWhoseListenersChanged) {
  meta_data registry;
  registry.brokers[node_id{1}] = {node_id{1}, "uuid-1", "127.0.0.1:9092", "127.0.0.1:7000", {}, broker_state::alive,
                                  log_index{1}};
  controller_input in;
  in.self = node_id{1};
  in.state = &registry;
  in.commit = log_index{5};
  in.conf.voters = {node_id{1}};
  in.match[node_id{1}] = log_index{5};
  node_view n{node_id{1}, "uuid-1", "127.0.0.1:9092", "127.0.0.1:7000"};
  in.nodes = {n};
  EXPECT_TRUE(plan_controller(in).registrations.empty());

  in.nodes[0].listeners = {{"PLAINTEXT", "127.0.0.1:9092"}, {"SSL", "127.0.0.1:9094"}};
  const auto plan = plan_controller(in);
  ASSERT_EQ(plan.registrations.size(), 1u);
  EXPECT_EQ(plan.registrations[0].listeners, in.nodes[0].listeners);
}

}  // namespace
}  // namespace chronik::metadata
