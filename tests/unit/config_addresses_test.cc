// Addresses in the daemon configuration (daemon/node_addresses.h, docs/config.md "Addresses"):
// binding every interface and advertising another address, mapped ports, host names resolved when
// the config is loaded, and the one-line errors for bad or unresolvable names.
#include <gtest/gtest.h>

#include "config_test_fixture.h"

namespace chronik::daemon {
namespace {

using config_testing::config_test;

TEST_F(config_test, bind_every_interface_and_advertise_another_address) {
  auto cfg = load("bind = \"0.0.0.0\"\nadvertise = \"10.1.2.3\"\nkafka_port = 19092\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_EQ(cfg->bind, "0.0.0.0");
  EXPECT_EQ(cfg->gossip_addr(), "10.1.2.3:7946");
  EXPECT_EQ(cfg->rpc_addr(), "10.1.2.3:9093");
  EXPECT_EQ(cfg->rpc_listen_addr(), "0.0.0.0:9093");
  EXPECT_EQ(cfg->kafka_addr(), "10.1.2.3:19092");
  EXPECT_EQ(cfg->admin_ip(), "127.0.0.1");  // the admin endpoint stays on loopback
  // Mapped ports (NAT, published container ports) and host names, resolved when loaded.
  cfg = load("bind = \"0.0.0.0\"\nadvertise = \"localhost\"\ngossip_advertise = \"localhost:17946\"\n"
             "rpc_advertise = \"127.0.0.9:19093\"\nseeds = [\"localhost:7000\", \"127.0.0.2:7000\"]\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_EQ(cfg->advertise_ip, "127.0.0.1");
  EXPECT_EQ(cfg->gossip_addr(), "127.0.0.1:17946");
  EXPECT_EQ(cfg->rpc_addr(), "127.0.0.9:19093");
  EXPECT_EQ(cfg->seeds, (std::vector<std::string>{"127.0.0.1:7000", "127.0.0.2:7000"}));
  // Without advertise everything advertises bind, as before.
  cfg = load("bind = \"127.0.0.7\"\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_EQ(cfg->gossip_addr(), "127.0.0.7:7946");
  EXPECT_EQ(cfg->kafka_addr(), "127.0.0.7:9092");
}

TEST_F(config_test, bad_advertised_addresses) {
  EXPECT_EQ(error_of("advertise = \"bad host\"\n"),
            "config error: advertise: \"bad host\" is neither an IPv4 address nor a host name");
  EXPECT_NE(error_of("advertise = \"no-such-host.invalid\"\n").find("config error: advertise: cannot resolve \"no-such-host.invalid\""),
            std::string::npos);
  EXPECT_EQ(error_of("bind = \"0.0.0.0\"\nadvertise = \"0.0.0.0\"\n"), "config error: advertise: 0.0.0.0 cannot be advertised");
  EXPECT_EQ(error_of("gossip_advertise = \"10.0.0.1\"\n"), "config error: gossip_advertise: \"10.0.0.1\": expected HOST:PORT");
  EXPECT_EQ(error_of("rpc_advertise = \"10.0.0.1:0\"\n"),
            "config error: rpc_advertise: \"10.0.0.1:0\": port \"0\" is not in 1..65535");
  EXPECT_NE(error_of("rpc_advertise = \"no-such-host.invalid:9093\"\n").find("config error: rpc_advertise: cannot resolve"),
            std::string::npos);
}

}  // namespace
}  // namespace chronik::daemon
