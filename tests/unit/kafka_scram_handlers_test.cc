// SCRAM and SASL in kafka/handlers with a fake broker context: DescribeUserScramCredentials and
// AlterUserScramCredentials through the dispatcher (Kafka's per-user checks and error codes; the
// salted password becomes StoredKey/ServerKey before it reaches the context), and the SASL gate a
// SASL listener's connection runs (sasl_gate.h): ApiVersions forwarded, SaslHandshake v1 +
// SaslAuthenticate for PLAIN and SCRAM-SHA-512, the raw tokens after SaslHandshake v0,
// UNSUPPORTED_SASL_MECHANISM and SASL_AUTHENTICATION_FAILED followed by a close, and any other
// request before authentication closing the connection. Authorization: Alter needs ALTER and
// Describe DESCRIBE on the cluster (KIP-554), so a user cannot reset a super user's password.
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/acl/acl_authorizer.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/sasl_gate.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/alter_user_scram_credentials.h"
#include "kafka/protocol/messages/describe_user_scram_credentials.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/messages/sasl_authenticate.h"
#include "kafka/protocol/messages/sasl_handshake.h"
#include "kafka/sasl/base64.h"
#include "kafka/sasl/scram_crypto.h"

namespace chronik::kafka {
namespace {

using namespace std::string_literals;
using sasl::scram_mechanism;

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {}; }
  std::vector<topic_info> topics() const override { return {}; }
  std::optional<topic_info> topic(std::string_view) const override { return std::nullopt; }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }

  const acl::authorizer& authorizer() const override { return auth; }
  std::vector<sasl::sasl_mechanism> sasl_mechanisms() const override { return mechanisms; }
  std::optional<sasl::scram_credential> scram_credential(std::string_view user, scram_mechanism m) const override {
    auto it = store.find({std::string(user), m});
    if (it == store.end()) return std::nullopt;
    return it->second;
  }
  std::vector<scram_user_info> scram_users() const override {
    std::vector<scram_user_info> out;
    for (const auto& [key, c] : store) {
      if (out.empty() || out.back().user != key.first) out.push_back({key.first, {}});
      out.back().credentials.push_back({c.mechanism, static_cast<std::int32_t>(c.iterations)});
    }
    return out;
  }
  void alter_scram_credentials(std::vector<scram_alteration> users, std::chrono::milliseconds, scram_done done) override {
    altered.insert(altered.end(), users.begin(), users.end());
    std::vector<scram_result> out;
    for (const auto& u : users) {
      scram_result r;
      for (auto m : u.deletions) {
        if (!store.contains({u.user, m})) r = {scram_outcome::unknown_credential, "no such credential"};
      }
      if (r.outcome == scram_outcome::done) {
        for (const auto& c : u.upsertions) store[{u.user, c.mechanism}] = c;
        for (auto m : u.deletions) store.erase({u.user, m});
      }
      out.push_back(r);
    }
    done(std::move(out));
  }

  std::vector<sasl::sasl_mechanism> mechanisms{sasl::sasl_mechanism::plain, sasl::sasl_mechanism::scram_sha_256,
                                               sasl::sasl_mechanism::scram_sha_512};
  std::map<std::pair<std::string, scram_mechanism>, sasl::scram_credential> store;
  std::vector<scram_alteration> altered;
  acl::authorizer auth;  // default: no bindings, unauthenticated listeners allowed
};

class kafka_scram_handlers_test : public ::testing::Test {
 protected:
  // Runs one request through the dispatcher and returns the response body's reader input.
  template <typename Req, typename Encode>
  std::string call(api_key key, std::int16_t version, const Req& req, Encode encode) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    encode(req, version, w);
    std::optional<handler_reply> reply;
    dispatcher d{ctx_, log_};
    d.handle(who_, w.take(), [&](handler_reply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    if (!reply) return {};
    EXPECT_EQ(reply->what, handler_reply::kind::respond) << reply->why;
    return reply->prefix + reply->frame.flatten();
  }

  describe_user_scram_credentials_response describe(std::optional<std::vector<std::string>> users) {
    describe_user_scram_credentials_request req;
    if (users) {
      req.users.emplace();
      for (auto& u : *users) req.users->push_back({u});
    }
    const std::string bytes = call(api_key::describe_user_scram_credentials, 0, req,
                                   [](const auto& r, std::int16_t v, writer& w) { encode_describe_user_scram_credentials_request(r, v, w); });
    reader rd(bytes);
    EXPECT_TRUE(decode_response_header(rd, api_key::describe_user_scram_credentials, 0));
    return decode_describe_user_scram_credentials_response(rd, 0).value_or(describe_user_scram_credentials_response{});
  }

  alter_user_scram_credentials_response alter(const alter_user_scram_credentials_request& req) {
    const std::string bytes = call(api_key::alter_user_scram_credentials, 0, req,
                                   [](const auto& r, std::int16_t v, writer& w) { encode_alter_user_scram_credentials_request(r, v, w); });
    reader rd(bytes);
    EXPECT_TRUE(decode_response_header(rd, api_key::alter_user_scram_credentials, 0));
    return decode_alter_user_scram_credentials_response(rd, 0).value_or(alter_user_scram_credentials_response{});
  }

  static scram_credential_upsertion upsertion(std::string user, scram_mechanism m, std::string password,
                                              std::int32_t iterations = 4096, std::string salt = "0123456789abcdef") {
    scram_credential_upsertion u;
    u.name = std::move(user);
    u.mechanism = static_cast<std::int8_t>(m);
    u.iterations = iterations;
    u.salt = salt;
    u.salted_password = sasl::scram_salted_password(m, password, salt, static_cast<std::uint32_t>(iterations));
    return u;
  }

  std::shared_ptr<spdlog::logger> log_ = std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>());
  fake_context ctx_;
  client_info who_{"127.0.0.9:40000", 1};  // who sends call()'s requests
};

TEST_F(kafka_scram_handlers_test, alter_stores_derived_keys_and_describe_lists_mechanisms) {
  alter_user_scram_credentials_request req;
  req.upsertions.push_back(upsertion("alice", scram_mechanism::sha_512, "secret", 8192));
  req.upsertions.push_back(upsertion("alice", scram_mechanism::sha_256, "secret"));
  req.upsertions.push_back(upsertion("bob", scram_mechanism::sha_256, "hunter2"));
  const auto r = alter(req);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].user, "alice");
  EXPECT_EQ(r.results[0].error, error_code::none);
  EXPECT_EQ(r.results[1].user, "bob");
  EXPECT_EQ(r.results[1].error, error_code::none);
  // The context got keys derived from the salted password: the password checks against them.
  const auto& alice = ctx_.store.at({"alice", scram_mechanism::sha_512});
  EXPECT_TRUE(sasl::password_matches(alice, "secret"));
  EXPECT_EQ(alice.iterations, 8192u);

  const auto all = describe(std::nullopt);
  ASSERT_EQ(all.results.size(), 2u);
  EXPECT_EQ(all.results[0].user, "alice");
  ASSERT_EQ(all.results[0].credential_infos.size(), 2u);
  EXPECT_EQ(all.results[0].credential_infos[0].mechanism, 1);
  EXPECT_EQ(all.results[0].credential_infos[1].mechanism, 2);
  EXPECT_EQ(all.results[0].credential_infos[1].iterations, 8192);

  const auto some = describe(std::vector<std::string>{"bob", "carol", "alice", "alice"});
  ASSERT_EQ(some.results.size(), 3u);
  EXPECT_EQ(some.results[0].user, "bob");
  EXPECT_EQ(some.results[0].error, error_code::none);
  EXPECT_EQ(some.results[1].user, "carol");
  EXPECT_EQ(some.results[1].error, error_code::resource_not_found);
  EXPECT_EQ(some.results[2].user, "alice");
  EXPECT_EQ(some.results[2].error, error_code::duplicate_resource);
}

// Found by the ACL cluster test's review: both APIs were unauthorized, so any client (alice over
// SASL, anyone on a PLAINTEXT listener under no_acl_found = deny) could set admin's password.
TEST_F(kafka_scram_handlers_test, alter_needs_alter_and_describe_needs_describe_on_the_cluster) {
  ctx_.auth = acl::authorizer({{"User:admin"}, acl::no_acl_rule::deny});
  alter_user_scram_credentials_request req;
  req.upsertions.push_back(upsertion("admin", scram_mechanism::sha_512, "taken-over"));
  req.upsertions.push_back(upsertion("", scram_mechanism::sha_512, "p"));  // refused for authorization first
  req.deletions.push_back({"bob", 2});
  auto refused_everywhere = [&] {
    const auto r = alter(req);
    ASSERT_EQ(r.results.size(), 3u);
    for (const auto& x : r.results) EXPECT_EQ(x.error, error_code::cluster_authorization_failed) << x.user;
    EXPECT_TRUE(ctx_.altered.empty()) << "nothing reached __meta";
    const auto d = describe(std::nullopt);
    EXPECT_EQ(d.error, error_code::cluster_authorization_failed);
    EXPECT_TRUE(d.results.empty()) << "no user name is revealed";
  };
  refused_everywhere();  // ANONYMOUS on a plaintext listener, no_acl_found = deny
  who_.listener = "SASL_SSL";
  who_.protocol = security_protocol::sasl_ssl;
  who_.principal = "User:alice";
  ctx_.auth = acl::authorizer();  // the default rule denies an authenticated user without ACLs
  refused_everywhere();
  // A topic ACL is no cluster ACL; DESCRIBE is not ALTER.
  const auto cluster_acl = [](acl::operation op) {
    return acl::binding{acl::resource_type::cluster, std::string(acl::cluster_resource_name), acl::pattern_type::literal,
                        "User:alice", "*", op, acl::permission::allow};
  };
  ctx_.auth.set_bindings({cluster_acl(acl::operation::describe),
                          {acl::resource_type::topic, "*", acl::pattern_type::literal, "User:alice", "*",
                           acl::operation::all, acl::permission::allow}});
  EXPECT_EQ(alter(req).results.at(0).error, error_code::cluster_authorization_failed);
  EXPECT_TRUE(ctx_.altered.empty());
  EXPECT_EQ(describe(std::nullopt).error, error_code::none);

  ctx_.auth.set_bindings({cluster_acl(acl::operation::alter)});  // ALTER implies DESCRIBE
  alter_user_scram_credentials_request ok;
  ok.upsertions.push_back(upsertion("carol", scram_mechanism::sha_512, "p"));
  EXPECT_EQ(alter(ok).results.at(0).error, error_code::none);
  EXPECT_EQ(describe(std::nullopt).results.size(), 1u);
  // A super user needs no ACL.
  ctx_.auth = acl::authorizer({{"User:admin"}, acl::no_acl_rule::deny});
  who_.principal = "User:admin";
  ok.upsertions[0].name = "dave";
  EXPECT_EQ(alter(ok).results.at(0).error, error_code::none);
  EXPECT_EQ(describe(std::nullopt).results.size(), 2u);
}

TEST_F(kafka_scram_handlers_test, alter_refuses_bad_users_alone) {
  alter_user_scram_credentials_request req;
  req.upsertions.push_back(upsertion("few", scram_mechanism::sha_256, "p", 4095));
  req.upsertions.push_back(upsertion("many", scram_mechanism::sha_256, "p", 16385));
  req.upsertions.push_back(upsertion("", scram_mechanism::sha_256, "p"));
  auto unknown = upsertion("mech", scram_mechanism::sha_256, "p");
  unknown.mechanism = 3;
  req.upsertions.push_back(unknown);
  req.upsertions.push_back(upsertion("twice", scram_mechanism::sha_256, "p"));
  req.upsertions.push_back(upsertion("twice", scram_mechanism::sha_256, "q"));
  auto short_password = upsertion("short", scram_mechanism::sha_512, "p");
  short_password.salted_password.resize(32);
  req.upsertions.push_back(short_password);
  req.upsertions.push_back(upsertion("good", scram_mechanism::sha_512, "p"));
  req.deletions.push_back({"ghost", 2});
  const auto r = alter(req);
  std::map<std::string, error_code> by_user;
  for (const auto& x : r.results) by_user[x.user] = x.error;
  EXPECT_EQ(by_user.at("ghost"), error_code::resource_not_found);
  EXPECT_EQ(by_user.at("few"), error_code::unacceptable_credential);
  EXPECT_EQ(by_user.at("many"), error_code::unacceptable_credential);
  EXPECT_EQ(by_user.at(""), error_code::unacceptable_credential);
  EXPECT_EQ(by_user.at("mech"), error_code::unsupported_sasl_mechanism);
  EXPECT_EQ(by_user.at("twice"), error_code::duplicate_resource);
  EXPECT_EQ(by_user.at("short"), error_code::unacceptable_credential);
  EXPECT_EQ(by_user.at("good"), error_code::none);
  // Only the good user and the deletion the context must judge were proposed.
  ASSERT_EQ(ctx_.altered.size(), 2u);
  EXPECT_EQ(ctx_.altered[0].user, "ghost");
  EXPECT_EQ(ctx_.altered[1].user, "good");
  for (const auto& x : r.results) {
    if (x.error != error_code::none) {
      EXPECT_TRUE(x.error_message && !x.error_message->empty()) << x.user;
    }
  }
}

// --- the SASL gate --------------------------------------------------------------------------

class sasl_gate_test : public kafka_scram_handlers_test {
 protected:
  void SetUp() override {
    ctx_.store[{"alice", scram_mechanism::sha_512}] =
        sasl::make_credential(scram_mechanism::sha_512, "wonderland", "salt-of-alice", 4096);
    gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  }

  auth_decision send(api_key key, std::int16_t version, const std::function<void(writer&)>& body) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    body(w);
    return gate_->on_frame(client_, frame_kind::request, w.take());
  }
  auth_decision handshake(std::string mechanism, std::int16_t version = 1) {
    return send(api_key::sasl_handshake, version, [&](writer& w) {
      encode_sasl_handshake_request({std::move(mechanism)}, version, w);
    });
  }
  // What the connection does with a deferred decision (a PLAIN login's PBKDF2, authenticator.h):
  // the work on the auth worker, then finish on the connection's thread. Here both run inline.
  static auth_decision settle(auth_decision d) {
    if (d.what != auth_decision::action::defer) return d;
    EXPECT_TRUE(d.deferred && d.deferred->work && d.deferred->finish);
    if (!d.deferred) return d;
    d.deferred->work();
    return d.deferred->finish();
  }
  auth_decision authenticate_unsettled(std::string token, std::int16_t version = 2) {
    return send(api_key::sasl_authenticate, version, [&](writer& w) {
      encode_sasl_authenticate_request({std::move(token)}, version, w);
    });
  }
  auth_decision authenticate(std::string token, std::int16_t version = 2) {
    return settle(authenticate_unsettled(std::move(token), version));
  }
  template <typename Resp, typename Decode>
  Resp body_of(const auth_decision& d, api_key key, std::int16_t version, Decode decode) {
    EXPECT_EQ(d.reply.what, handler_reply::kind::respond) << d.reply.why;
    const std::string whole = d.reply.prefix + d.reply.frame.flatten();
    reader rd(whole);
    EXPECT_TRUE(decode_response_header(rd, key, version));
    auto m = decode(rd, version);
    EXPECT_TRUE(m.has_value());
    return m.value_or(Resp{});
  }
  sasl_handshake_response handshake_body(const auth_decision& d, std::int16_t version = 1) {
    return body_of<sasl_handshake_response>(d, api_key::sasl_handshake, version,
                                            [](reader& r, std::int16_t v) { return decode_sasl_handshake_response(r, v); });
  }
  sasl_authenticate_response authenticate_body(const auth_decision& d, std::int16_t version = 2) {
    return body_of<sasl_authenticate_response>(d, api_key::sasl_authenticate, version, [](reader& r, std::int16_t v) {
      return decode_sasl_authenticate_response(r, v);
    });
  }

  client_info client_{"127.0.0.9:40000", 1, "SASL_PLAINTEXT", security_protocol::sasl_plaintext};
  std::unique_ptr<sasl_gate> gate_;
};

// The client side of SCRAM for the tests: the client-final message for a server-first message.
std::string scram_client_final(scram_mechanism m, std::string_view password, std::string_view bare,
                               std::string_view server_first) {
  std::string nonce, salt;
  std::uint32_t iterations = 0;
  std::string_view rest = server_first;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    if (part.starts_with("r=")) nonce = part.substr(2);
    if (part.starts_with("s=")) salt = *sasl::base64_decode(part.substr(2));
    if (part.starts_with("i=")) iterations = static_cast<std::uint32_t>(std::stoul(std::string(part.substr(2))));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  const std::string salted = sasl::scram_salted_password(m, password, salt, iterations);
  const std::string client_key = sasl::scram_hmac(m, salted, "Client Key");
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string auth = std::string(bare) + "," + std::string(server_first) + "," + without_proof;
  std::string proof = sasl::scram_hmac(m, sasl::scram_hash(m, client_key), auth);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  return without_proof + ",p=" + sasl::base64_encode(proof);
}

TEST_F(sasl_gate_test, api_versions_is_forwarded_and_other_requests_close) {
  // ApiVersions with an empty body is what the dispatcher judges; the gate only forwards it.
  writer w;
  encode_request_header({api_key::api_versions, 0, 1, std::string("cli")}, w);
  EXPECT_EQ(gate_->on_frame(client_, frame_kind::request, w.take()).what, auth_decision::action::forward);
  auto metadata = send(api_key::metadata, 1, [](writer& body) {
    encode_metadata_request({}, 1, body);
  });
  EXPECT_EQ(metadata.what, auth_decision::action::close);
  EXPECT_EQ(metadata.reply.what, handler_reply::kind::close);
  EXPECT_FALSE(metadata.principal);
  // Garbage that is not even a header closes too.
  EXPECT_EQ(gate_->on_frame(client_, frame_kind::request, "\x01").what, auth_decision::action::close);
}

TEST_F(sasl_gate_test, plain_over_sasl_authenticate) {
  auto h = handshake("PLAIN");
  EXPECT_EQ(h.what, auth_decision::action::respond);
  EXPECT_EQ(h.next, frame_kind::request);
  const auto hb = handshake_body(h);
  EXPECT_EQ(hb.error, error_code::none);
  EXPECT_EQ(hb.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}));
  // PLAIN's PBKDF2 is deferred to the auth worker rather than run on the io thread.
  auto deferred = authenticate_unsettled("\0alice\0wonderland"s);
  EXPECT_EQ(deferred.what, auth_decision::action::defer);
  EXPECT_FALSE(deferred.principal);
  auto a = settle(std::move(deferred));
  EXPECT_EQ(a.what, auth_decision::action::respond);
  EXPECT_EQ(authenticate_body(a).error, error_code::none);
  EXPECT_EQ(a.principal, "User:alice");
}

TEST_F(sasl_gate_test, wrong_password_answers_58_then_closes) {
  ASSERT_EQ(handshake("PLAIN").what, auth_decision::action::respond);
  auto a = authenticate("\0alice\0looking-glass"s, 1);
  EXPECT_EQ(a.what, auth_decision::action::close);
  EXPECT_FALSE(a.principal);
  const auto body = authenticate_body(a, 1);
  EXPECT_EQ(body.error, error_code::sasl_authentication_failed);
  ASSERT_TRUE(body.error_message);
  EXPECT_NE(body.error_message->find("invalid credentials"), std::string::npos);
}

TEST_F(sasl_gate_test, unsupported_mechanism_answers_33_with_the_enabled_list_then_closes) {
  ctx_.mechanisms = {sasl::sasl_mechanism::scram_sha_512};
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  auto h = handshake("PLAIN");
  EXPECT_EQ(h.what, auth_decision::action::close);
  const auto body = handshake_body(h);
  EXPECT_EQ(body.error, error_code::unsupported_sasl_mechanism);
  EXPECT_EQ(body.mechanisms, std::vector<std::string>{"SCRAM-SHA-512"});
}

TEST_F(sasl_gate_test, scram_sha_512_over_sasl_authenticate) {
  ASSERT_EQ(handshake("SCRAM-SHA-512").what, auth_decision::action::respond);
  const std::string bare = "n=alice,r=client-nonce-1";
  auto first = authenticate("n,," + bare);
  ASSERT_EQ(first.what, auth_decision::action::respond);
  EXPECT_FALSE(first.principal);
  const auto server_first = authenticate_body(first).auth_bytes;
  auto last = authenticate(scram_client_final(scram_mechanism::sha_512, "wonderland", bare, server_first));
  ASSERT_EQ(last.what, auth_decision::action::respond);
  const auto body = authenticate_body(last);
  EXPECT_EQ(body.error, error_code::none);
  EXPECT_TRUE(body.auth_bytes.starts_with("v="));
  EXPECT_EQ(body.session_lifetime_ms, 0);
  EXPECT_EQ(last.principal, "User:alice");
}

TEST_F(sasl_gate_test, raw_tokens_after_handshake_v0) {
  auto h = handshake("SCRAM-SHA-512", 0);
  ASSERT_EQ(h.what, auth_decision::action::respond);
  EXPECT_EQ(h.next, frame_kind::sasl_token);
  const std::string bare = "n=alice,r=client-nonce-2";
  auto first = gate_->on_frame(client_, frame_kind::sasl_token, "n,," + bare);
  ASSERT_EQ(first.what, auth_decision::action::respond);
  EXPECT_EQ(first.next, frame_kind::sasl_token);
  EXPECT_TRUE(first.reply.prefix.empty());  // raw: no response header
  const std::string server_first = first.reply.frame.flatten();
  EXPECT_TRUE(server_first.starts_with("r=client-nonce-2"));
  auto last = gate_->on_frame(client_, frame_kind::sasl_token,
                              scram_client_final(scram_mechanism::sha_512, "wonderland", bare, server_first));
  ASSERT_EQ(last.what, auth_decision::action::respond);
  EXPECT_EQ(last.next, frame_kind::request);
  EXPECT_EQ(last.principal, "User:alice");

  // PLAIN over v0: an empty token answers success; a bad password closes without an answer.
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  ASSERT_EQ(handshake("PLAIN", 0).next, frame_kind::sasl_token);
  auto ok = settle(gate_->on_frame(client_, frame_kind::sasl_token, "alice\0alice\0wonderland"s));
  EXPECT_EQ(ok.principal, "User:alice");
  EXPECT_EQ(ok.reply.frame.flatten(), "");
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  ASSERT_EQ(handshake("PLAIN", 0).next, frame_kind::sasl_token);
  auto bad = settle(gate_->on_frame(client_, frame_kind::sasl_token, "alice\0alice\0nope"s));
  EXPECT_EQ(bad.what, auth_decision::action::close);
  EXPECT_EQ(bad.reply.what, handler_reply::kind::close);
}

TEST_F(sasl_gate_test, order_is_enforced) {
  // SaslAuthenticate before any handshake closes.
  EXPECT_EQ(authenticate("\0alice\0wonderland"s).what, auth_decision::action::close);
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  ASSERT_EQ(handshake("PLAIN").what, auth_decision::action::respond);
  // A second handshake, and ApiVersions after the handshake, close.
  EXPECT_EQ(handshake("PLAIN").what, auth_decision::action::close);
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  ASSERT_EQ(handshake("PLAIN").what, auth_decision::action::respond);
  writer w;
  encode_request_header({api_key::api_versions, 0, 1, std::string("cli")}, w);
  EXPECT_EQ(gate_->on_frame(client_, frame_kind::request, w.take()).what, auth_decision::action::close);
  // An unsupported SaslHandshake version closes.
  gate_ = std::make_unique<sasl_gate>(ctx_, log_);
  const auto v2 = send(api_key::sasl_handshake, 2, [](writer& body) { encode_sasl_handshake_request({"PLAIN"}, 1, body); });
  EXPECT_EQ(v2.what, auth_decision::action::close);
}

TEST_F(kafka_scram_handlers_test, sasl_apis_are_advertised_and_refused_after_authentication) {
  bool seen_handshake = false, seen_authenticate = false;
  for (const auto& h : all_handlers()) {
    if (h.key == api_key::sasl_handshake) seen_handshake = h.versions.min == 0 && h.versions.max == 1;
    if (h.key == api_key::sasl_authenticate) seen_authenticate = h.versions.min == 0 && h.versions.max == 2;
  }
  EXPECT_TRUE(seen_handshake);
  EXPECT_TRUE(seen_authenticate);
  const std::string bytes = call(api_key::sasl_handshake, 1, sasl_handshake_request{"PLAIN"},
                                 [](const auto& r, std::int16_t v, writer& w) { encode_sasl_handshake_request(r, v, w); });
  reader rd(bytes);
  ASSERT_TRUE(decode_response_header(rd, api_key::sasl_handshake, 1));
  EXPECT_EQ(decode_sasl_handshake_response(rd, 1)->error, error_code::illegal_sasl_state);
}

}  // namespace
}  // namespace chronik::kafka
