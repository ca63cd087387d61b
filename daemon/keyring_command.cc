#include "daemon/keyring_command.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "daemon/admin_client.h"
#include "daemon/keyring_admin.h"

namespace chronik::daemon {
namespace {

int fail(const std::string& line, int code = 1) {
  std::cerr << "chronik-server: keyring: " << line << "\n";
  return code;
}

int run_online(const keyring_cli_options& opts) {
  std::string body;
  if (opts.action != keyring_action::list) {
    // Checked here too, so a typo is one clear line and the key never reaches the network.
    if (!gossip::key_from_base64(opts.key)) return fail("the key must be the base64 of 32 bytes (chronik-server keygen)", 2);
    body = keyring_body(opts.key);
  }
  const std::string path =
      opts.action == keyring_action::list ? "/v1/keyring" : "/v1/keyring/" + std::string(to_string(opts.action));
  auto res = admin_request(*opts.admin, admin_credentials{opts.admin_token_file, opts.data_dir}, path, body);
  if (!res) return fail(res.error());
  const auto doc = nlohmann::json::parse(res->body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && !doc.contains("nodes")) {
    return fail("admin endpoint " + *opts.admin + " answered HTTP " + std::to_string(res->status) + ": " +
                doc["error"].dump());
  }
  auto text = format_keyring_report(doc);
  if (!text) return fail("admin endpoint " + *opts.admin + ": " + text.error());
  if (opts.json) {
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << text->text;
  }
  return text->all_ok ? 0 : 1;
}

}  // namespace

int run_keyring_cli(const keyring_cli_options& opts) {
  if (opts.admin) return run_online(opts);
  if (!opts.data_dir) return fail("give --admin IP:PORT (a running cluster) or --data-dir DIR (a stopped node)", 2);
  return run_keyring_command(keyring_command_options{opts.action, opts.key, *opts.data_dir});
}

}  // namespace chronik::daemon
