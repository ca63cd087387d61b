#include "daemon/user_command.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "daemon/kafka_client.h"
#include "kafka/protocol/messages/alter_user_scram_credentials.h"
#include "kafka/protocol/messages/describe_user_scram_credentials.h"
#include "kafka/sasl/scram_credential.h"

namespace chronik::daemon {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;
// Kafka's clients salt with this many random bytes (ScramFormatter.secureRandomBytes).
constexpr std::size_t salt_bytes = 32;

int fail(const std::string& line, int code = exit_failed) {
  std::cerr << "chronik-server: " << line << "\n";
  return code;
}

std::expected<std::vector<kafka::sasl::scram_mechanism>, std::string> mechanisms_of(const std::vector<std::string>& names) {
  std::vector<kafka::sasl::scram_mechanism> out;
  for (const auto& n : names) {
    auto m = kafka::sasl::scram_mechanism_named(n);
    if (!m) return std::unexpected("--mechanism: \"" + n + "\" is not SCRAM-SHA-256 or SCRAM-SHA-512");
    if (std::find(out.begin(), out.end(), *m) == out.end()) out.push_back(*m);
  }
  return out;
}

std::expected<kafka::describe_user_scram_credentials_response, std::string> describe(
    kafka_client& client, const std::optional<std::vector<std::string>>& users) {
  return client.call<kafka::describe_user_scram_credentials_response>(
      client.bootstrap(), kafka::api_key::describe_user_scram_credentials, kafka::describe_user_scram_credentials_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::describe_user_scram_credentials_request req;
        if (users) {
          req.users.emplace();
          for (const auto& u : *users) req.users->push_back({u});
        }
        kafka::encode_describe_user_scram_credentials_request(req, v, w);
      },
      kafka::decode_describe_user_scram_credentials_response);
}

// Sends `req` and turns the one user's result into an error line, or nothing.
std::expected<void, std::string> alter(kafka_client& client, const kafka::alter_user_scram_credentials_request& req) {
  auto answer = client.call<kafka::alter_user_scram_credentials_response>(
      client.bootstrap(), kafka::api_key::alter_user_scram_credentials, kafka::alter_user_scram_credentials_versions,
      [&](kafka::writer& w, std::int16_t v) { kafka::encode_alter_user_scram_credentials_request(req, v, w); },
      kafka::decode_alter_user_scram_credentials_response);
  if (!answer) return std::unexpected(answer.error());
  for (const auto& r : answer->results) {
    if (r.error == kafka::error_code::none) continue;
    return std::unexpected("AlterUserScramCredentials for user \"" + r.user + "\" answered " +
                           std::string(kafka::to_string(r.error)) + (r.error_message ? ": " + *r.error_message : ""));
  }
  return {};
}

int run_create(kafka_client& client, const user_command_options& opts) {
  if (opts.password.empty()) return fail("--password must not be empty", exit_usage);
  if (opts.iterations < kafka::sasl::scram_min_iterations || opts.iterations > kafka::sasl::scram_max_iterations) {
    return fail("--iterations must be within " + std::to_string(kafka::sasl::scram_min_iterations) + ".." +
                    std::to_string(kafka::sasl::scram_max_iterations),
                exit_usage);
  }
  auto mechanisms = mechanisms_of(opts.mechanisms.empty() ? std::vector<std::string>{"SCRAM-SHA-512"} : opts.mechanisms);
  if (!mechanisms) return fail(mechanisms.error(), exit_usage);
  kafka::alter_user_scram_credentials_request req;
  for (auto m : *mechanisms) {
    kafka::scram_credential_upsertion u;
    u.name = opts.name;
    u.mechanism = static_cast<std::int8_t>(m);
    u.iterations = static_cast<std::int32_t>(opts.iterations);
    u.salt = kafka::sasl::random_bytes(salt_bytes);
    u.salted_password = kafka::sasl::scram_salted_password(m, opts.password, u.salt, opts.iterations);
    req.upsertions.push_back(std::move(u));
  }
  if (auto done = alter(client, req); !done) return fail(done.error());
  std::string names;
  for (auto m : *mechanisms) names += (names.empty() ? "" : ", ") + std::string(kafka::sasl::to_string(m));
  if (opts.json) {
    std::cout << nlohmann::json{{"user", opts.name}, {"created", true}}.dump() << "\n";
  } else {
    std::cout << "Created user " << opts.name << " (" << names << ", " << opts.iterations << " iterations)\n";
  }
  return exit_ok;
}

int run_delete(kafka_client& client, const user_command_options& opts) {
  auto mechanisms = mechanisms_of(opts.mechanisms);
  if (!mechanisms) return fail(mechanisms.error(), exit_usage);
  if (mechanisms->empty()) {
    // Every credential the user has.
    auto known = describe(client, std::vector<std::string>{opts.name});
    if (!known) return fail(known.error());
    for (const auto& r : known->results) {
      if (r.error != kafka::error_code::none) {
        return fail("user \"" + opts.name + "\": " + std::string(kafka::to_string(r.error)) +
                    (r.error_message ? ": " + *r.error_message : ""));
      }
      for (const auto& c : r.credential_infos) {
        if (auto m = kafka::sasl::scram_mechanism_of_id(c.mechanism)) mechanisms->push_back(*m);
      }
    }
  }
  kafka::alter_user_scram_credentials_request req;
  for (auto m : *mechanisms) req.deletions.push_back({opts.name, static_cast<std::int8_t>(m)});
  if (req.deletions.empty()) return fail("user \"" + opts.name + "\" has no credentials");
  if (auto done = alter(client, req); !done) return fail(done.error());
  if (opts.json) {
    std::cout << nlohmann::json{{"user", opts.name}, {"deleted", true}}.dump() << "\n";
  } else {
    std::cout << "Deleted user " << opts.name << "\n";
  }
  return exit_ok;
}

int run_list(kafka_client& client, const user_command_options& opts) {
  auto answer = describe(client, std::nullopt);
  if (!answer) return fail(answer.error());
  if (answer->error != kafka::error_code::none) {
    return fail("DescribeUserScramCredentials answered " + std::string(kafka::to_string(answer->error)));
  }
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& r : answer->results) {
    nlohmann::json creds = nlohmann::json::array();
    std::string line = r.user;
    for (const auto& c : r.credential_infos) {
      auto m = kafka::sasl::scram_mechanism_of_id(c.mechanism);
      const std::string name = m ? std::string(kafka::sasl::to_string(*m)) : "mechanism " + std::to_string(c.mechanism);
      creds.push_back({{"mechanism", name}, {"iterations", c.iterations}});
      line += "  " + name + " (" + std::to_string(c.iterations) + " iterations)";
    }
    doc.push_back({{"user", r.user}, {"credentials", creds}});
    if (!opts.json) std::cout << line << "\n";
  }
  if (opts.json) std::cout << doc.dump(2) << "\n";
  return exit_ok;
}

}  // namespace

CLI::App* add_user_command(CLI::App& app, user_command_options& opts) {
  auto* cmd = app.add_subcommand("user", "create, delete or list SCRAM users (SASL; docs/security.md)");
  cmd->require_subcommand(1);
  auto common = [&opts](CLI::App* sub, user_action action) {
    sub->callback([&opts, action] { opts.action = action; });
    sub->add_option("--bootstrap", opts.bootstrap, "Kafka address of any broker HOST:PORT (a listener without SASL)")
        ->capture_default_str();
    sub->add_flag("--json", opts.json, "print JSON");
    return sub;
  };
  auto* create = common(cmd->add_subcommand("create", "create a user, or set its password"), user_action::create);
  create->add_option("--name", opts.name, "user name")->required();
  create->add_option("--password", opts.password, "password")->required();
  create->add_option("--mechanism", opts.mechanisms, "SCRAM-SHA-512 (default) or SCRAM-SHA-256 (repeatable)");
  create->add_option("--iterations", opts.iterations, "iterations, 4096..16384")->capture_default_str();
  auto* remove = common(cmd->add_subcommand("delete", "delete a user's credentials"), user_action::remove);
  remove->add_option("--name", opts.name, "user name")->required();
  remove->add_option("--mechanism", opts.mechanisms, "only this mechanism's credential (repeatable; default all)");
  common(cmd->add_subcommand("list", "list the users and their mechanisms"), user_action::list);
  return cmd;
}

int run_user_command(const user_command_options& opts) {
  auto at = parse_kafka_address(opts.bootstrap);
  if (!at) return fail("--bootstrap: \"" + opts.bootstrap + "\": " + at.error(), exit_usage);
  kafka_client client(*at);
  switch (opts.action) {
    case user_action::create: return run_create(client, opts);
    case user_action::remove: return run_delete(client, opts);
    case user_action::list: return run_list(client, opts);
  }
  return exit_usage;
}

}  // namespace chronik::daemon
