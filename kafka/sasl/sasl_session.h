// The SASL exchange of one client connection, whatever carries its tokens (Kafka's
// SaslHandshake + SaslAuthenticate, or the raw tokens after SaslHandshake v0): the client picks a
// mechanism among the enabled ones, then tokens go back and forth until the user is authenticated
// or the exchange failed. A failed exchange stays failed; the connection layer closes the
// connection (Kafka's SaslServerAuthenticator does the same).
//
// One user database serves every mechanism: SCRAM credentials (scram_credential.h, kept in
// `__meta`). PLAIN checks the password it receives against the user's SCRAM-SHA-512 credential, or
// its SCRAM-SHA-256 one when it has no SHA-512 one, by recomputing the salted keys
// (password_matches). So no password is stored anywhere, and a user created once logs in with any
// enabled mechanism.
//
// Failures are worded alike for an unknown user and a wrong password (no user enumeration), and
// cost alike: PLAIN checks an unknown user's password against a stand-in credential.
//
// PLAIN's check is one PBKDF2 of the credential's iteration count (3 to 13 ms of CPU), too slow
// for the thread that also ticks Raft. So a PLAIN step comes in three parts that a caller may run
// on different threads: begin_plain (parse and look up, on the session's thread), check_plain (the
// PBKDF2, pure: touches only its argument) and finish_plain (on the session's thread again).
// step() runs all three in a row.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/sasl/scram_credential.h"
#include "kafka/sasl/scram_server.h"

namespace chronik::kafka::sasl {

enum class sasl_mechanism : std::uint8_t { plain, scram_sha_256, scram_sha_512 };

// "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512": Kafka's sasl.mechanism names.
std::string_view to_string(sasl_mechanism m);
std::optional<sasl_mechanism> sasl_mechanism_named(std::string_view name);

// The user's stored credential for `m`, or nullopt when it has none.
using credential_lookup = std::function<std::optional<scram_credential>(std::string_view user, scram_mechanism m)>;
// A fresh server nonce per SCRAM exchange (printable, no ','). Default: 24 random bytes, base64.
using nonce_source = std::function<std::string()>;
std::string random_nonce();

// One PLAIN login between begin_plain and finish_plain.
struct plain_check {
  std::string user;
  std::string password;
  scram_credential credential;  // the user's, or a stand-in when the user is unknown
  bool known_user = false;
  bool password_matches = false;  // set by check_plain
};

// The PBKDF2 of a PLAIN login: sets `check.password_matches`. Thread-free.
void check_plain(plain_check& check);

struct sasl_step {
  std::string challenge;                           // the server's token (empty for PLAIN)
  std::optional<std::string> authenticated_user;   // set by the step that completed the exchange
};

class sasl_session {
 public:
  sasl_session(std::vector<sasl_mechanism> enabled, credential_lookup lookup, nonce_source nonce = random_nonce);

  // The client's choice (SaslHandshake). Error: the mechanism is unknown or not enabled; the
  // session may still select another one.
  std::expected<void, std::string> select(std::string_view mechanism);
  // One client token (SaslAuthenticate). Error: the exchange failed (malformed token, bad
  // credentials, or no mechanism selected); every later step fails too.
  std::expected<sasl_step, std::string> step(std::string_view token);

  // Whether the next step() is a PLAIN login, which a caller may split as below.
  bool plain_pending() const { return state_ == state::exchanging && mechanism_ == sasl_mechanism::plain; }
  // PLAIN only (plain_pending()): parses the token and looks the user up. Error: the exchange
  // failed (malformed token), as for step().
  std::expected<plain_check, std::string> begin_plain(std::string_view token);
  // Completes the PLAIN login that begin_plain started, after check_plain ran on it.
  std::expected<sasl_step, std::string> finish_plain(plain_check&& check);

  bool authenticated() const { return state_ == state::authenticated; }
  bool failed() const { return state_ == state::failed; }
  bool mechanism_selected() const { return state_ != state::choosing; }
  const std::vector<sasl_mechanism>& enabled() const { return enabled_; }
  // "PLAIN, SCRAM-SHA-256, ..." as Kafka lists them in its errors.
  std::vector<std::string> enabled_names() const;

 private:
  enum class state : std::uint8_t { choosing, exchanging, authenticated, failed };
  std::unexpected<std::string> fail(std::string why);
  std::expected<sasl_step, std::string> step_scram(std::string_view token);

  std::vector<sasl_mechanism> enabled_;
  credential_lookup lookup_;
  nonce_source nonce_;
  state state_ = state::choosing;
  bool plain_begun_ = false;  // between begin_plain and finish_plain
  sasl_mechanism mechanism_ = sasl_mechanism::plain;
  std::unique_ptr<scram_server> scram_;
  std::string scram_user_;
};

}  // namespace chronik::kafka::sasl
