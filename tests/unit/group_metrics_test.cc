#include "consensus/groups/group_metrics.h"

#include <gtest/gtest.h>

namespace chronik::consensus {
namespace {

using namespace std::chrono_literals;
const group_metrics::time_point t0{};

group_write hard(std::uint64_t group, std::uint64_t term, std::uint32_t vote) {
  group_write w;
  w.group = group_id{group};
  w.state = hard_state{term_id{term}, node_id{vote}, log_index{0}};
  return w;
}

TEST(GroupMetrics, CommitLatencyRunsFromProposalToApply) {
  group_metrics m(node_id{1});
  m.proposed(group_id{7}, log_index{10}, t0);
  m.proposed(group_id{7}, log_index{11}, t0 + 1ms);
  m.applied(group_id{7}, log_index{10}, t0 + 3ms);  // only index 10
  EXPECT_EQ(m.commit_latency().count, 1u);
  EXPECT_EQ(m.commit_latency().sum_us, 3000u);
  m.applied(group_id{7}, log_index{12}, t0 + 5ms);
  EXPECT_EQ(m.commit_latency().count, 2u);
  EXPECT_EQ(m.commit_latency().sum_us, 7000u);
  m.applied(group_id{7}, log_index{13}, t0 + 9ms);  // nothing left to time
  m.applied(group_id{8}, log_index{13}, t0 + 9ms);  // a group never proposed to
  EXPECT_EQ(m.commit_latency().count, 2u);
}

TEST(GroupMetrics, AReusedIndexReplacesTheStaleProposal) {
  group_metrics m(node_id{1});
  m.proposed(group_id{7}, log_index{10}, t0);
  m.proposed(group_id{7}, log_index{11}, t0);
  // Leadership was lost and won again; the log was cut back to 9 and 10 is proposed anew.
  m.proposed(group_id{7}, log_index{10}, t0 + 4ms);
  m.applied(group_id{7}, log_index{11}, t0 + 5ms);
  EXPECT_EQ(m.commit_latency().count, 1u);
  EXPECT_EQ(m.commit_latency().sum_us, 1000u);
}

TEST(GroupMetrics, TimedProposalsAreBoundedPerGroup) {
  group_metrics m(node_id{1});
  for (std::uint64_t i = 1; i <= group_metrics::max_timed_per_group + 10; ++i) m.proposed(group_id{3}, log_index{i}, t0);
  m.applied(group_id{3}, log_index{1'000'000}, t0 + 1ms);
  EXPECT_EQ(m.commit_latency().count, group_metrics::max_timed_per_group);
}

TEST(GroupMetrics, ElectionsAreNewTermsVotedForSelf) {
  group_metrics m(node_id{1});
  m.persisting(hard(5, 1, 0));  // bootstrap: the first write is no change
  EXPECT_EQ(m.term_changes(), 0u);
  m.persisting(hard(5, 2, 1));  // this node campaigned
  m.persisting(hard(5, 2, 1));  // the same term again (a commit update): nothing new
  m.persisting(hard(5, 3, 2));  // node 2 campaigned, we voted for it
  m.persisting(hard(5, 4, 0));  // a higher term learned from a message
  EXPECT_EQ(m.term_changes(), 3u);
  EXPECT_EQ(m.elections_started(), 1u);
  m.persisting(group_write{group_id{5}, std::nullopt, {}, std::nullopt});  // entries only
  m.forget(group_id{5});
  m.persisting(hard(5, 9, 1));  // a group hosted again starts from a new baseline
  EXPECT_EQ(m.elections_started(), 1u);
}

}  // namespace
}  // namespace chronik::consensus
