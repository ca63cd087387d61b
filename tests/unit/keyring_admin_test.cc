// daemon/keyring_admin: the pure parts of online gossip key rotation (docs/security.md "Key
// rotation"): request bodies, memberlist's install/use/remove semantics, the members a
// cluster-wide request goes to, one member's answer, and the per-node report the CLI prints.
#include "daemon/keyring_admin.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"

namespace chronik::daemon {
namespace {

gossip::gossip_key key_of(std::uint8_t b) {
  gossip::gossip_key k{};
  k.fill(b);
  return k;
}

TEST(keyring_admin_test, fingerprints_are_short_stable_and_distinct) {
  const auto fp = gossip::key_fingerprint(key_of(1));
  EXPECT_EQ(fp.size(), 8u);
  EXPECT_EQ(fp, gossip::key_fingerprint(key_of(1)));
  EXPECT_NE(fp, gossip::key_fingerprint(key_of(2)));
  // SHA-256 of 32 zero bytes starts 66687aad (`head -c32 /dev/zero | sha256sum`).
  EXPECT_EQ(gossip::key_fingerprint(gossip::gossip_key{}), "66687aad");
}

TEST(keyring_admin_test, actions_and_bodies) {
  EXPECT_EQ(parse_keyring_action("install"), keyring_action::install);
  EXPECT_EQ(parse_keyring_action("remove"), keyring_action::remove);
  EXPECT_FALSE(parse_keyring_action("delete"));
  const auto b64 = gossip::key_to_base64(key_of(7));
  auto key = parse_keyring_body(keyring_body(b64));
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(*key, key_of(7));
  EXPECT_FALSE(parse_keyring_body(""));
  EXPECT_FALSE(parse_keyring_body("[]"));
  EXPECT_FALSE(parse_keyring_body(R"({"key": 5})"));
  EXPECT_FALSE(parse_keyring_body(R"({"kee": "x"})"));
  auto short_key = parse_keyring_body(R"({"key": "c2VjcmV0"})");
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().find("c2VjcmV0"), std::string::npos);  // never echoed
}

TEST(keyring_admin_test, install_use_remove_and_refusals) {
  const gossip::keyring k1(key_of(1));
  auto both = apply_keyring_action(k1, keyring_action::install, key_of(2));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->primary(), key_of(1));
  EXPECT_EQ(both->keys().size(), 2u);
  EXPECT_EQ(*apply_keyring_action(*both, keyring_action::install, key_of(2)), *both);  // idempotent
  auto used = apply_keyring_action(*both, keyring_action::use, key_of(2));
  ASSERT_TRUE(used);
  EXPECT_EQ(used->primary(), key_of(2));
  auto removed = apply_keyring_action(*used, keyring_action::remove, key_of(1));
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->keys(), std::vector{key_of(2)});

  auto primary = apply_keyring_action(*used, keyring_action::remove, key_of(2));
  ASSERT_FALSE(primary);
  EXPECT_NE(primary.error().find("primary"), std::string::npos);
  auto unknown = apply_keyring_action(*used, keyring_action::use, key_of(9));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("not installed"), std::string::npos);
  EXPECT_EQ(*apply_keyring_action(*used, keyring_action::list, key_of(9)), *used);

  const auto j = keyring_json(*used);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["fingerprint"], gossip::key_fingerprint(key_of(2)));
  EXPECT_EQ(j[0]["primary"], true);
  EXPECT_EQ(j[1]["primary"], false);
  // Only fingerprints: neither key's base64 appears.
  EXPECT_EQ(j.dump().find(gossip::key_to_base64(key_of(1))), std::string::npos);
  EXPECT_EQ(j.dump().find(gossip::key_to_base64(key_of(2))), std::string::npos);
}

gossip::member_snapshot member_at(std::uint32_t id, gossip::member_state state, const std::string& bind,
                                  const std::string& admin_bind) {
  node_config cfg;
  cfg.node_id = gossip::node_id{id};
  cfg.bind = bind;
  cfg.admin_bind = admin_bind;
  auto uuid = node_uuid::from_hex("0000000000000000000000000000000" + std::to_string(id));
  gossip::member m;
  m.id = gossip::node_id{id};
  m.uuid = uuid->raw();
  m.addr = cfg.gossip_addr();
  m.meta = encode_fresh_node_meta(cfg, *uuid);
  m.state = state;
  return {m, {}};
}

TEST(keyring_admin_test, targets_are_the_live_members_self_first) {
  const std::vector<gossip::member_snapshot> members{
      member_at(3, gossip::member_state::alive, "127.0.0.13", ""),
      member_at(1, gossip::member_state::suspect, "127.0.0.11", ""),
      member_at(2, gossip::member_state::alive, "127.0.0.12", ""),
      member_at(4, gossip::member_state::dead, "127.0.0.14", ""),
      member_at(5, gossip::member_state::left, "127.0.0.15", ""),
      // On a routable address with the default admin_bind: its admin endpoint is on 127.0.0.1,
      // which from here would be this host, not node 6.
      member_at(6, gossip::member_state::alive, "10.0.0.6", ""),
      member_at(7, gossip::member_state::alive, "10.0.0.7", "10.0.0.7"),
  };
  const auto t = keyring_targets(members, 2);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].node_id, 2u);
  EXPECT_TRUE(t[0].self);
  EXPECT_EQ(t[1].node_id, 1u);  // suspect is still live
  EXPECT_EQ(t[1].admin_addr, "127.0.0.11:9644");
  EXPECT_EQ(t[1].uuid_hex, "00000000000000000000000000000001");
  EXPECT_EQ(t[2].node_id, 3u);
  EXPECT_EQ(t[3].node_id, 6u);
  EXPECT_NE(t[3].unusable.find("admin_bind"), std::string::npos);
  EXPECT_EQ(t[4].node_id, 7u);
  EXPECT_EQ(t[4].admin_addr, "10.0.0.7:9644");
  EXPECT_TRUE(t[4].unusable.empty());
}

TEST(keyring_admin_test, one_members_answer) {
  const keyring_target t{3, "00000000000000000000000000000003", "127.0.0.13:9644", false, {}};
  const gossip::keyring ring(key_of(1));
  const auto good = keyring_node_answer(3, t.uuid_hex, ring).dump();
  auto ok = interpret_keyring_answer(t, 200, good, {});
  EXPECT_EQ(ok.outcome, keyring_outcome::ok);
  EXPECT_EQ(nlohmann::json::parse(ok.keys_json), keyring_json(ring));

  auto down = interpret_keyring_answer(t, std::nullopt, {}, "connection failed");
  EXPECT_EQ(down.outcome, keyring_outcome::unreachable);
  EXPECT_EQ(down.error, "connection failed");
  auto refused = interpret_keyring_answer(t, 409, R"({"error":"the key is not installed"})", {});
  EXPECT_EQ(refused.outcome, keyring_outcome::refused);
  EXPECT_EQ(refused.error, "the key is not installed");
  auto token = interpret_keyring_answer(t, 401, R"({"error":"unauthorized"})", {});
  EXPECT_EQ(token.outcome, keyring_outcome::error);
  EXPECT_NE(token.error.find("admin_token_file"), std::string::npos);
  // Someone else at the member's address: not counted as the member's success.
  auto impostor = interpret_keyring_answer(t, 200, keyring_node_answer(4, t.uuid_hex, ring).dump(), {});
  EXPECT_EQ(impostor.outcome, keyring_outcome::error);
  auto other_uuid = interpret_keyring_answer(t, 200, keyring_node_answer(3, "ff", ring).dump(), {});
  EXPECT_EQ(other_uuid.outcome, keyring_outcome::error);
  EXPECT_EQ(interpret_keyring_answer(t, 200, "not json", {}).outcome, keyring_outcome::error);
  EXPECT_EQ(interpret_keyring_answer(t, 503, R"({"error":"busy"})", {}).error, "HTTP 503: busy");
}

TEST(keyring_admin_test, report_counts_failures_and_the_cli_text_says_which) {
  const gossip::keyring ring(key_of(1));
  const std::string keys = keyring_json(ring).dump();
  std::vector<keyring_node_result> results{
      {1, "127.0.0.11:9644", keyring_outcome::ok, {}, keys},
      {2, "127.0.0.12:9644", keyring_outcome::unreachable, "connection failed", {}},
      {3, "127.0.0.13:9644", keyring_outcome::refused, "the key is not installed", {}},
  };
  const auto report = keyring_report(keyring_action::use, results);
  EXPECT_EQ(report["action"], "use");
  EXPECT_EQ(report["ok"], 1);
  EXPECT_EQ(report["failed"], 2);
  EXPECT_EQ(report["nodes"][1]["result"], "unreachable");
  auto text = format_keyring_report(report);
  ASSERT_TRUE(text) << text.error();
  EXPECT_FALSE(text->all_ok);
  EXPECT_NE(text->text.find("node 1 127.0.0.11:9644: ok " + gossip::key_fingerprint(key_of(1)) + "(primary)"),
            std::string::npos)
      << text->text;
  EXPECT_NE(text->text.find("node 2 127.0.0.12:9644: unreachable: connection failed"), std::string::npos);
  EXPECT_NE(text->text.find("node 3 127.0.0.13:9644: refused: the key is not installed"), std::string::npos);
  EXPECT_NE(text->text.find("1 of 3 node(s) ok"), std::string::npos);

  results.resize(1);
  auto all = format_keyring_report(keyring_report(keyring_action::install, results));
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->all_ok);
  // No node answered at all is not a success.
  auto none = format_keyring_report(keyring_report(keyring_action::install, {}));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->all_ok);
  EXPECT_FALSE(format_keyring_report(nlohmann::json::array()));
  EXPECT_FALSE(format_keyring_report(nlohmann::json{{"nodes", 1}}));
}

}  // namespace
}  // namespace chronik::daemon
