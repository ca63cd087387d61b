// The client side of `chronik-server node drain|undrain|decommission` (daemon/drain_command.h,
// daemon/decommission_command.h): the progress answers they accept, the lines they print, and the
// refusal line every admin command shares (daemon/admin_client.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/admin_client.h"
#include "daemon/decommission_command.h"
#include "daemon/drain_command.h"

namespace chronik::daemon {
namespace {

TEST(NodeCommands, ADecommissionReportIsCheckedFieldByField) {
  // As the endpoint sends it and a parser reads it back: counts are unsigned.
  const auto good = nlohmann::json::parse(
      R"({"node_id": 2, "state": "moving", "partitions_left": 5, "moving": 2, "stuck": 1, "leaderships": 0,
          "meta_member": "voter"})");
  auto r = parse_decommission_report(good);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, (decommission_report{"moving", 5, 2, 1, 0, "voter"}));
  auto missing = good;
  missing.erase("stuck");
  EXPECT_FALSE(parse_decommission_report(missing));
  auto negative = good;
  negative["moving"] = -1;
  EXPECT_FALSE(parse_decommission_report(negative));
  EXPECT_FALSE(parse_decommission_report(nlohmann::json::array()));
}

TEST(NodeCommands, DecommissionLinesSayWhatIsLeft) {
  EXPECT_EQ(describe_decommission(2, {"moving", 5, 2, 1, 3, "voter"}),
            "node 2: 5 partitions left (2 moving, 1 stuck: no broker can take them), leads 3, __meta voter");
  EXPECT_EQ(describe_decommission(2, {"moving", 1, 1, 0, 0, "none"}), "node 2: 1 partition left (1 moving)");
  EXPECT_EQ(describe_decommission(2, {"moving", 0, 0, 0, 0, "learner"}), "node 2: 0 partitions left, __meta learner");
  EXPECT_EQ(describe_decommission(2, {"done", 0, 0, 0, 0, "voter"}), "node 2: holds no replica, leaving __meta (voter)");
  EXPECT_EQ(describe_decommission(2, {"done", 0, 0, 0, 0, "none"}),
            "node 2: decommissioned: it holds no replica and is out of __meta");
}

TEST(NodeCommands, DrainProgressNamesTheLeadershipsLeft) {
  auto p = parse_drain_progress(nlohmann::json::parse(
      R"({"drained": true, "partitions_led": 2, "meta_leader": true, "partitions": ["a-0", "b-3"]})"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(describe_drain_progress(2, *p), "3 leaderships left on node 2: 2 partitions (a-0, b-3) and __meta");
  EXPECT_FALSE(parse_drain_progress({{"drained", true}}));
}

TEST(NodeCommands, ARefusalLineCarriesTheAnswersError) {
  EXPECT_EQ(admin_refusal_line({409, R"({"error":"node 2: too few brokers"})"}), "HTTP 409: node 2: too few brokers");
  EXPECT_EQ(admin_refusal_line({502, "bad gateway"}), "HTTP 502: bad gateway");
  EXPECT_EQ(admin_refusal_line({400, R"({"error":7})"}), R"(HTTP 400: {"error":7})");
}

}  // namespace
}  // namespace chronik::daemon
