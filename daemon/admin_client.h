// The client side of the admin endpoint for `chronik-server cluster ...`: fetch one JSON document,
// check its shape, and print it raw (--json) or through a formatter. One place for the connection,
// timeouts and error lines, so every subcommand reports failures the same way.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace chronik::daemon {

enum class json_shape : unsigned char { array, object };

// Where the CLI finds the admin token (daemon/admin_token.h read_cli_admin_token):
// --admin-token-file, else the node's --data-dir; neither: no token, and the endpoint answers 401.
struct admin_credentials {
  std::optional<std::filesystem::path> token_file;
  std::optional<std::filesystem::path> data_dir;
};

struct admin_query {
  std::string admin;  // IP:PORT of the admin endpoint
  admin_credentials creds;
  std::string path;   // e.g. "/v1/members"
  json_shape shape = json_shape::object;
  bool json = false;  // print the document instead of formatting it
  std::function<std::expected<std::string, std::string>(const nlohmann::json&)> format;
};

// Returns the process exit code: 0 printed, 1 unreachable or bad answer, 2 bad --admin.
int run_admin_query(const admin_query& q);

// One request with the token: the HTTP status and body, or one line for the operator (bad
// --admin, unreadable token file, unreachable endpoint). `body` empty: GET, else POST of JSON.
struct admin_response {
  int status = 0;
  std::string body;
};
std::expected<admin_response, std::string> admin_request(const std::string& admin, const admin_credentials& creds,
                                                          const std::string& path, const std::string& body = {});
// "HTTP 409: <the answer's error>" (or its raw body when it names none), for a refused request.
std::string admin_refusal_line(const admin_response& r);

}  // namespace chronik::daemon
