// kafka/sasl: base64, SASL/PLAIN parsing, the SCRAM server against RFC 7677's test vector and a
// SCRAM-SHA-512 round trip computed here, the per-connection session, and malformed input of
// every message (each an error with a message, never a crash).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kafka/sasl/base64.h"
#include "kafka/sasl/sasl_plain.h"
#include "kafka/sasl/sasl_session.h"
#include "kafka/sasl/scram_credential.h"
#include "kafka/sasl/scram_server.h"

namespace chronik::kafka::sasl {
namespace {

using namespace std::string_literals;

// RFC 7677 section 3: user "user", password "pencil".
constexpr std::string_view rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_salt_b64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

scram_credential rfc_credential() {
  return make_credential(scram_mechanism::sha_256, "pencil", *base64_decode(rfc_salt_b64), 4096);
}

// The client side of RFC 5802 section 3, enough to compute a proof for a server-first message.
std::string client_final_for(scram_mechanism m, std::string_view password, std::string_view client_first_bare,
                             std::string_view server_first, std::string_view gs2 = "n,,") {
  std::string nonce, salt;
  std::uint32_t iterations = 0;
  std::string_view rest = server_first;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    if (part.starts_with("r=")) nonce = part.substr(2);
    if (part.starts_with("s=")) salt = *base64_decode(part.substr(2));
    if (part.starts_with("i=")) iterations = static_cast<std::uint32_t>(std::stoul(std::string(part.substr(2))));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  const std::string salted = scram_salted_password(m, password, salt, iterations);
  const std::string client_key = scram_hmac(m, salted, "Client Key");
  const std::string stored_key = scram_hash(m, client_key);
  const std::string without_proof = "c=" + base64_encode(gs2) + ",r=" + nonce;
  const std::string auth = std::string(client_first_bare) + "," + std::string(server_first) + "," + without_proof;
  std::string proof = scram_hmac(m, stored_key, auth);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  return without_proof + ",p=" + base64_encode(proof);
}

TEST(Base64, RoundTripsAndRefusesNonCanonicalText) {
  for (std::string s : {""s, "f"s, "fo"s, "foo"s, "foob"s, "fooba"s, "foobar"s, "\x00\xff\x10"s}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm8"));      // length
  EXPECT_FALSE(base64_decode("Zm=8"));     // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9=Zm8=")); // padding before the end
  EXPECT_FALSE(base64_decode("Zm*="));     // alphabet
  EXPECT_FALSE(base64_decode("Zm9="));     // non-zero bits under the padding
}

TEST(SaslPlain, ParsesTheThreeFields) {
  auto m = parse_plain("\0alice\0secret"s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "secret");
  auto same = parse_plain("alice\0alice\0secret"s);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->user, "alice");
}

TEST(SaslPlain, RefusesMalformedMessages) {
  EXPECT_FALSE(parse_plain(""));
  EXPECT_FALSE(parse_plain("alice"));
  EXPECT_FALSE(parse_plain("\0alice"s));
  EXPECT_FALSE(parse_plain("\0\0secret"s));           // empty user
  EXPECT_FALSE(parse_plain("\0alice\0"s));            // empty password
  EXPECT_FALSE(parse_plain("\0alice\0se\0cret"s));    // a fourth field
  auto other = parse_plain("bob\0alice\0secret"s);    // acting as another user
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().find("authorization id"), std::string::npos);
  EXPECT_FALSE(parse_plain("\0"s + std::string(256, 'u') + "\0secret"s));
  // The error never echoes the password.
  auto e = parse_plain("\0\0hunter2"s);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().find("hunter2"), std::string::npos);
}

TEST(ScramCredential, PasswordMatchesOnlyItsOwnPassword) {
  const auto c = make_credential(scram_mechanism::sha_512, "secret", "salt-bytes", 4096);
  EXPECT_TRUE(check_credential(c));
  EXPECT_EQ(c.stored_key.size(), 64u);
  EXPECT_TRUE(password_matches(c, "secret"));
  EXPECT_FALSE(password_matches(c, "secreT"));
  EXPECT_FALSE(password_matches(c, ""));
  auto few = c;
  few.iterations = 4095;
  EXPECT_FALSE(check_credential(few));
  EXPECT_FALSE(password_matches(few, "secret"));  // a bad stored credential matches nothing
  auto many = c;
  many.iterations = 16385;
  EXPECT_FALSE(check_credential(many));
  auto short_key = c;
  short_key.stored_key.resize(32);
  EXPECT_FALSE(check_credential(short_key));
}

TEST(ScramServer, ReplaysTheRfc7677TestVector) {
  scram_server s(scram_mechanism::sha_256, std::string(rfc_server_nonce));
  auto user = s.client_first("n,,n=user,r=" + std::string(rfc_client_nonce));
  ASSERT_TRUE(user) << user.error();
  EXPECT_EQ(*user, "user");
  EXPECT_EQ(s.server_first(rfc_credential()),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto final_message = s.client_final(rfc_client_final);
  ASSERT_TRUE(final_message) << final_message.error();
  EXPECT_EQ(*final_message, rfc_server_final);
  EXPECT_TRUE(s.complete());
}

// librdkafka repeats its client nonce in front of the server-first nonce (Kafka accepts that).
TEST(ScramServer, AcceptsLibrdkafkasRepeatedClientNonce) {
  const auto cred = make_credential(scram_mechanism::sha_512, "pw", "0123456789abcdef", 4096);
  scram_server s(scram_mechanism::sha_512, "server-nonce-0123456789");
  const std::string bare = "n=alice,r=cnonce";
  ASSERT_TRUE(s.client_first("n,," + bare));
  const std::string server_first = s.server_first(cred);
  std::string final_message = client_final_for(scram_mechanism::sha_512, "pw", bare, server_first);
  // Rebuild it with r=cnonce+<whole nonce>, proof over that message.
  const std::string nonce = server_first.substr(2, server_first.find(',') - 2);
  const std::string salted = scram_salted_password(scram_mechanism::sha_512, "pw", "0123456789abcdef", 4096);
  const std::string client_key = scram_hmac(scram_mechanism::sha_512, salted, "Client Key");
  const std::string without_proof = "c=biws,r=cnonce" + nonce;
  std::string proof = scram_hmac(scram_mechanism::sha_512, scram_hash(scram_mechanism::sha_512, client_key),
                                 bare + "," + server_first + "," + without_proof);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  auto r = s.client_final(without_proof + ",p=" + base64_encode(proof));
  EXPECT_TRUE(r) << r.error();
}

TEST(ScramServer, RefusesAWrongProof) {
  scram_server s(scram_mechanism::sha_256, std::string(rfc_server_nonce));
  ASSERT_TRUE(s.client_first("n,,n=user,r=" + std::string(rfc_client_nonce)));
  s.server_first(make_credential(scram_mechanism::sha_256, "not pencil", *base64_decode(rfc_salt_b64), 4096));
  auto r = s.client_final(rfc_client_final);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("invalid credentials"), std::string::npos);
  EXPECT_FALSE(s.complete());
  // Failed is final: a retry of the same message fails too.
  EXPECT_FALSE(s.client_final(rfc_client_final));
}

TEST(ScramServer, Sha512RoundTripWithAuthorizationIdAndEscapedName) {
  const auto cred = make_credential(scram_mechanism::sha_512, "p,w=d", "0123456789abcdef", 8192);
  scram_server s(scram_mechanism::sha_512, "server-nonce-0123456789");
  const std::string gs2 = "n,a=a=2Cb=3Dc,";
  const std::string bare = "n=a=2Cb=3Dc,r=client-nonce";
  auto user = s.client_first(gs2 + bare);
  ASSERT_TRUE(user) << user.error();
  EXPECT_EQ(*user, "a,b=c");
  const std::string server_first = s.server_first(cred);
  auto final_message = s.client_final(client_final_for(scram_mechanism::sha_512, "p,w=d", bare, server_first, gs2));
  ASSERT_TRUE(final_message) << final_message.error();
  // The server's signature is HMAC(ServerKey, AuthMessage); the client can check it.
  EXPECT_TRUE(final_message->starts_with("v="));
  EXPECT_EQ(base64_decode(final_message->substr(2))->size(), 64u);
}

TEST(ScramServer, RefusesMalformedClientFirstMessages) {
  const std::string n = "r=abcdefgh";
  for (std::string bad : {""s, "n"s, "n,"s, "x,,n=user,"s + n, "p=tls-unique,,n=user,"s + n, "n,,m=ext,n=user,"s + n,
                          "n,,n=user"s, "n,,r=abc,n=user"s, "n,,n=,"s + n, "n,,n=us=er,"s + n, "n,,n=user,r="s,
                          "n,,n=user,r=a b"s, "n,b=x,n=user,"s + n, "n,a=other,n=user,"s + n,
                          "n,,n=user,"s + n + ",tokenauth=true"s, "n,,n=user,"s + n + ",=x"s,
                          "n,,n="s + std::string(256, 'u') + ","s + n, std::string(5000, 'n')}) {
    scram_server s(scram_mechanism::sha_256, std::string(rfc_server_nonce));
    auto r = s.client_first(bad);
    EXPECT_FALSE(r) << "accepted: " << bad;
    if (!r) {
      EXPECT_FALSE(r.error().empty());
    }
  }
  // Extensions other than tokenauth are ignored (KIP-84).
  scram_server s(scram_mechanism::sha_256, std::string(rfc_server_nonce));
  EXPECT_TRUE(s.client_first("y,,n=user,r=abc,ext=1"));
}

TEST(ScramServer, RefusesMalformedClientFinalMessages) {
  const std::string good(rfc_client_final);
  const std::string full_nonce = std::string(rfc_client_nonce) + std::string(rfc_server_nonce);
  const std::string proof = good.substr(good.rfind(",p="));
  for (std::string bad : {""s, "c=biws"s, "c=biws,r="s + full_nonce, "c=biws,r=wrong"s + proof,
                          "c=bi,r="s + full_nonce + proof,              // not base64
                          "c=eSws,r="s + full_nonce + proof,            // "y,," but the client sent "n,,"
                          "r="s + full_nonce + ",c=biws"s + proof,      // order
                          "c=biws,r="s + full_nonce + ",p=***"s,        // proof not base64
                          "c=biws,r="s + full_nonce + ",p=AAAA"s,       // proof of the wrong size
                          "p=x"s}) {
    scram_server s(scram_mechanism::sha_256, std::string(rfc_server_nonce));
    ASSERT_TRUE(s.client_first("n,,n=user,r=" + std::string(rfc_client_nonce)));
    s.server_first(rfc_credential());
    auto r = s.client_final(bad);
    EXPECT_FALSE(r) << "accepted: " << bad;
  }
  // A client-final message before the client-first one.
  scram_server early(scram_mechanism::sha_256, std::string(rfc_server_nonce));
  EXPECT_FALSE(early.client_final(good));
}

// One user database: SHA-256 and SHA-512 credentials of "alice" from one password.
struct user_store {
  std::map<std::pair<std::string, scram_mechanism>, scram_credential> creds;
  user_store() {
    creds[{"alice", scram_mechanism::sha_256}] = make_credential(scram_mechanism::sha_256, "wonderland", "salt-256", 4096);
    creds[{"alice", scram_mechanism::sha_512}] = make_credential(scram_mechanism::sha_512, "wonderland", "salt-512", 4096);
  }
  credential_lookup lookup() {
    return [this](std::string_view user, scram_mechanism m) -> std::optional<scram_credential> {
      auto it = creds.find({std::string(user), m});
      if (it == creds.end()) return std::nullopt;
      return it->second;
    };
  }
};

const std::vector<sasl_mechanism> all_mechanisms{sasl_mechanism::plain, sasl_mechanism::scram_sha_256,
                                                 sasl_mechanism::scram_sha_512};

TEST(SaslSession, PlainChecksThePasswordAgainstTheScramStore) {
  user_store store;
  sasl_session ok(all_mechanisms, store.lookup());
  ASSERT_TRUE(ok.select("PLAIN"));
  auto step = ok.step("\0alice\0wonderland"s);
  ASSERT_TRUE(step) << step.error();
  EXPECT_EQ(step->authenticated_user, "alice");
  EXPECT_TRUE(ok.authenticated());

  // Only a SHA-256 credential: PLAIN uses it.
  store.creds.erase({"alice", scram_mechanism::sha_512});
  sasl_session only256(all_mechanisms, store.lookup());
  ASSERT_TRUE(only256.select("PLAIN"));
  EXPECT_TRUE(only256.step("\0alice\0wonderland"s));

  for (std::string bad : {"\0alice\0wrong"s, "\0bob\0wonderland"s, "garbage"s}) {
    sasl_session s(all_mechanisms, store.lookup());
    ASSERT_TRUE(s.select("PLAIN"));
    EXPECT_FALSE(s.step(bad));
    EXPECT_TRUE(s.failed());
    EXPECT_FALSE(s.step("\0alice\0wonderland"s));  // failed stays failed
  }
}

TEST(SaslSession, UnknownUserAndWrongPasswordLookAlike) {
  user_store store;
  sasl_session a(all_mechanisms, store.lookup());
  sasl_session b(all_mechanisms, store.lookup());
  ASSERT_TRUE(a.select("PLAIN"));
  ASSERT_TRUE(b.select("PLAIN"));
  EXPECT_EQ(a.step("\0alice\0wrong"s).error(), b.step("\0nobody\0wrong"s).error());
}

TEST(SaslSession, PlainSplitsIntoBeginCheckAndFinish) {
  // What the connection layer does: begin on its thread, the PBKDF2 on the auth worker, finish on
  // its thread again (kafka/server/auth_worker.h).
  user_store store;
  sasl_session s(all_mechanisms, store.lookup());
  ASSERT_TRUE(s.select("PLAIN"));
  ASSERT_TRUE(s.plain_pending());
  auto check = s.begin_plain("\0alice\0wonderland"s);
  ASSERT_TRUE(check) << check.error();
  EXPECT_TRUE(check->known_user);
  EXPECT_FALSE(check->password_matches);
  // A second begin, or a step, before finish: the exchange fails rather than running twice.
  sasl_session twice(all_mechanisms, store.lookup());
  ASSERT_TRUE(twice.select("PLAIN"));
  ASSERT_TRUE(twice.begin_plain("\0alice\0wonderland"s));
  EXPECT_FALSE(twice.begin_plain("\0alice\0wonderland"s));
  EXPECT_TRUE(twice.failed());
  check_plain(*check);
  EXPECT_TRUE(check->password_matches);
  auto done = s.finish_plain(std::move(*check));
  ASSERT_TRUE(done) << done.error();
  EXPECT_EQ(done->authenticated_user, "alice");
  EXPECT_TRUE(s.authenticated());
  EXPECT_FALSE(s.plain_pending());
  // Finish without a check that matched: refused, worded as any bad password.
  sasl_session unchecked(all_mechanisms, store.lookup());
  ASSERT_TRUE(unchecked.select("PLAIN"));
  auto begun = unchecked.begin_plain("\0alice\0wonderland"s);
  ASSERT_TRUE(begun);
  EXPECT_FALSE(unchecked.finish_plain(std::move(*begun)));
  EXPECT_TRUE(unchecked.failed());
}

TEST(SaslSession, AnUnknownUsersPlainLoginCostsAPbkdf2AsAKnownOnesDoes) {
  // The timing of a failure must not tell whether the user exists: an unknown user is checked
  // against a stand-in credential with the default 4096 iterations, and never matches.
  user_store store;
  sasl_session s(all_mechanisms, store.lookup());
  ASSERT_TRUE(s.select("PLAIN"));
  auto check = s.begin_plain("\0nobody\0wonderland"s);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->known_user);
  EXPECT_EQ(check->credential.iterations, scram_min_iterations);
  EXPECT_EQ(check->credential.iterations, store.creds.at({"alice", scram_mechanism::sha_512}).iterations);
  check_plain(*check);
  EXPECT_FALSE(check->password_matches);
  EXPECT_FALSE(s.finish_plain(std::move(*check)));
}

TEST(SaslSession, ScramSha512ExchangeAuthenticates) {
  user_store store;
  sasl_session s(all_mechanisms, store.lookup(), [] { return "fixed-server-nonce-123"s; });
  ASSERT_TRUE(s.select("SCRAM-SHA-512"));
  const std::string bare = "n=alice,r=cnonce";
  auto first = s.step("n,," + bare);
  ASSERT_TRUE(first) << first.error();
  EXPECT_FALSE(first->authenticated_user);
  EXPECT_TRUE(first->challenge.starts_with("r=cnoncefixed-server-nonce-123,s="));
  auto last = s.step(client_final_for(scram_mechanism::sha_512, "wonderland", bare, first->challenge));
  ASSERT_TRUE(last) << last.error();
  EXPECT_EQ(last->authenticated_user, "alice");
  EXPECT_TRUE(s.authenticated());
  EXPECT_FALSE(s.step("more"));  // nothing after success
}

TEST(SaslSession, ScramRefusesUnknownUsersAndWrongPasswords) {
  user_store store;
  sasl_session unknown(all_mechanisms, store.lookup());
  ASSERT_TRUE(unknown.select("SCRAM-SHA-256"));
  EXPECT_FALSE(unknown.step("n,,n=bob,r=cnonce"));
  EXPECT_TRUE(unknown.failed());

  sasl_session wrong(all_mechanisms, store.lookup());
  ASSERT_TRUE(wrong.select("SCRAM-SHA-256"));
  const std::string bare = "n=alice,r=cnonce";
  auto first = wrong.step("n,," + bare);
  ASSERT_TRUE(first);
  EXPECT_FALSE(wrong.step(client_final_for(scram_mechanism::sha_256, "not it", bare, first->challenge)));
  EXPECT_TRUE(wrong.failed());
}

TEST(SaslSession, MechanismSelection) {
  user_store store;
  sasl_session s({sasl_mechanism::scram_sha_512}, store.lookup());
  auto r = s.select("PLAIN");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("SCRAM-SHA-512"), std::string::npos);  // lists what is enabled
  EXPECT_FALSE(s.select("GSSAPI"));
  EXPECT_FALSE(s.mechanism_selected());
  EXPECT_FALSE(s.step("n,,n=alice,r=x"));  // a token before a mechanism
  sasl_session t({sasl_mechanism::scram_sha_512}, store.lookup());
  EXPECT_TRUE(t.select("SCRAM-SHA-512"));
  EXPECT_FALSE(t.select("SCRAM-SHA-512"));  // once per connection
}

}  // namespace
}  // namespace chronik::kafka::sasl
