// The client side of the admin endpoint for `chronik-server cluster ...`: fetch one JSON document,
// check its shape, and print it raw (--json) or through a formatter. One place for the connection,
// timeouts and error lines, so every subcommand reports failures the same way.
#pragma once

#include <expected>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace chronik::daemon {

enum class json_shape : unsigned char { array, object };

struct admin_query {
  std::string admin;  // IP:PORT of the admin endpoint
  std::string path;   // e.g. "/v1/members"
  json_shape shape = json_shape::object;
  bool json = false;  // print the document instead of formatting it
  std::function<std::expected<std::string, std::string>(const nlohmann::json&)> format;
};

// Returns the process exit code: 0 printed, 1 unreachable or bad answer, 2 bad --admin.
int run_admin_query(const admin_query& q);

}  // namespace chronik::daemon
