// What one SASL login costs the broker (docs/performance.md "Kafka over TLS and SASL"): the
// server's side of the exchange, kafka/sasl's sasl_session as a connection's sasl_gate drives it on
// the Kafka io thread, timed in the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID) so that a
// busy machine does not inflate it. The client's side (its own PBKDF2 for SCRAM) runs outside the
// timed calls.
//
// SCRAM verifies a proof with the stored keys: two HMACs and a hash, whatever the iteration count.
// PLAIN has only the password, so the broker recomputes SaltedPassword: one PBKDF2 of the
// credential's iteration count per login (docs/security.md "Client authentication: SASL").
//
//   sasl_login_bench [--logins N]    prints one JSON line per mechanism and iteration count
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/sasl/base64.h"
#include "kafka/sasl/sasl_session.h"
#include "kafka/sasl/scram_credential.h"
#include "kafka/sasl/scram_crypto.h"

namespace {

using namespace chronik::kafka::sasl;

const std::string user = "bench";
const std::string password = "bench-password-42";

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

std::string attribute(std::string_view message, char key) {
  const std::string prefix = std::string(1, key) + "=";
  for (std::size_t at = 0; at < message.size();) {
    const std::size_t comma = std::min(message.find(',', at), message.size());
    const std::string_view part = message.substr(at, comma - at);
    if (part.starts_with(prefix)) return std::string(part.substr(2));
    at = comma + 1;
  }
  throw std::runtime_error("no attribute " + prefix);
}

// One login against `credential`; returns the server's CPU microseconds (the session's steps only).
double one_login(sasl_mechanism m, const scram_credential& credential) {
  sasl_session session({m}, [&](std::string_view, scram_mechanism) { return std::optional(credential); });
  double server_us = 0;
  auto step = [&](std::string_view token) {
    const double t0 = thread_cpu_us();
    auto s = session.step(token);
    server_us += thread_cpu_us() - t0;
    if (!s) throw std::runtime_error("login failed: " + s.error());
    return *s;
  };
  if (!session.select(to_string(m))) throw std::runtime_error("mechanism not enabled");
  if (m == sasl_mechanism::plain) {
    step(std::string(1, '\0') + user + std::string(1, '\0') + password);
  } else {
    const scram_mechanism sm = credential.mechanism;
    const std::string bare = "n=" + user + ",r=" + base64_encode(random_bytes(24));
    const std::string server_first = step("n,," + bare).challenge;
    const std::string salted = scram_salted_password(sm, password, credential.salt, credential.iterations);
    const std::string client_key = scram_hmac(sm, salted, "Client Key");
    const std::string without_proof = "c=biws,r=" + attribute(server_first, 'r');
    const std::string auth = bare + "," + server_first + "," + without_proof;
    std::string proof = scram_hmac(sm, scram_hash(sm, client_key), auth);
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
    step(without_proof + ",p=" + base64_encode(proof));
  }
  if (!session.authenticated()) throw std::runtime_error("not authenticated");
  return server_us;
}

void measure(sasl_mechanism m, scram_mechanism credential_kind, std::uint32_t iterations, int logins) {
  const scram_credential credential = make_credential(credential_kind, password, random_bytes(32), iterations);
  std::vector<double> us;
  for (int i = 0; i < logins; ++i) us.push_back(one_login(m, credential));
  std::sort(us.begin(), us.end());
  std::printf("{\"mechanism\":\"%s\",\"credential\":\"%s\",\"iterations\":%u,\"logins\":%d,"
              "\"server_cpu_us_p50\":%.1f,\"server_cpu_us_p99\":%.1f}\n",
              std::string(to_string(m)).c_str(), std::string(to_string(credential_kind)).c_str(), iterations, logins,
              us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]);
}

}  // namespace

int main(int argc, char** argv) {
  int logins = 200;
  if (argc == 3 && std::string_view(argv[1]) == "--logins") logins = std::max(1, std::atoi(argv[2]));
  try {
    for (std::uint32_t iterations : {scram_min_iterations, scram_max_iterations}) {
      measure(sasl_mechanism::scram_sha_256, scram_mechanism::sha_256, iterations, logins);
      measure(sasl_mechanism::scram_sha_512, scram_mechanism::sha_512, iterations, logins);
      measure(sasl_mechanism::plain, scram_mechanism::sha_512, iterations, logins);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sasl_login_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
