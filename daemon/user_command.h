// `chronik-server user create|delete|list`: SCRAM users of a running cluster (docs/security.md
// "Client authentication: SASL"), over the Kafka protocol (daemon/kafka_client.h) as Kafka's
// kafka-configs --entity-type users does: AlterUserScramCredentials and
// DescribeUserScramCredentials (KIP-554), sent to any broker, which records them in `__meta`.
//
// The salt is made here (32 random bytes) and the password is salted here (Hi, RFC 5802): only
// the salted password crosses the wire, and the broker keeps only StoredKey and ServerKey. Every
// mechanism also serves PLAIN logins (docs/security.md). The broker asked must have a listener the
// CLI can speak to without SASL (a PLAINTEXT listener on loopback, for example).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace chronik::daemon {

enum class user_action : std::uint8_t { create, remove, list };

struct user_command_options {
  user_action action = user_action::list;
  std::string bootstrap = "127.0.0.1:9092";  // any broker's Kafka address
  std::string name;
  std::string password;
  std::vector<std::string> mechanisms;  // create: default SCRAM-SHA-512; delete: default all the user has
  std::uint32_t iterations = 8192;
  bool json = false;
};

// Registers `user create|delete|list` on `app`; the chosen action lands in opts.action.
CLI::App* add_user_command(CLI::App& app, user_command_options& opts);

// Exit code: 0 done, 1 the cluster refused or could not be reached (one line on stderr), 2 a bad
// option.
int run_user_command(const user_command_options& opts);

}  // namespace chronik::daemon
