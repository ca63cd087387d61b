#include "daemon/admin_client.h"

#include <iostream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/admin_token.h"
#include "daemon/config.h"

namespace chronik::daemon {

namespace {
void print_error(const std::string& line) { std::cerr << "chronik-server: " << line << "\n"; }

// httplib names errors tersely ("Connection"); say what the operator should check.
std::string describe(httplib::Error err) {
  switch (err) {
    case httplib::Error::Connection: return "connection failed (is the node running, is --admin right?)";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no answer (read failed or timed out)";
    default: break;
  }
  return httplib::to_string(err);
}
}  // namespace

std::expected<admin_response, std::string> admin_request(const std::string& admin, const admin_credentials& creds,
                                                          const std::string& path, const std::string& body) {
  auto endpoint = parse_ipv4_endpoint(admin);
  if (!endpoint) return std::unexpected("--admin: \"" + admin + "\": " + endpoint.error());
  auto token = read_cli_admin_token(creds.token_file, creds.data_dir);
  if (!token) return std::unexpected(token.error());
  httplib::Client client(endpoint->ip, endpoint->port);
  client.set_connection_timeout(std::chrono::seconds(2));
  // A cluster-wide keyring request waits for every member (each bounded by 2 s + 5 s).
  client.set_read_timeout(std::chrono::seconds(body.empty() && !path.starts_with("/v1/keyring") ? 5 : 30));
  if (*token) client.set_bearer_token_auth(**token);
  auto res = body.empty() ? client.Get(path) : client.Post(path, body, "application/json");
  if (!res) return std::unexpected("cannot reach admin endpoint " + admin + ": " + describe(res.error()));
  if (res->status == 401) {
    return std::unexpected("admin endpoint " + admin + " answered 401: " +
                           (*token ? std::string("the admin token is not this node's")
                                   : std::string("give --admin-token-file FILE or the node's --data-dir DIR")));
  }
  return admin_response{res->status, res->body};
}

std::string admin_refusal_line(const admin_response& r) {
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  const auto error = body.is_object() ? body.find("error") : body.end();
  const std::string why = error != body.end() && error->is_string() ? error->get<std::string>() : r.body;
  return "HTTP " + std::to_string(r.status) + ": " + why;
}

int run_admin_query(const admin_query& q) {
  if (auto endpoint = parse_ipv4_endpoint(q.admin); !endpoint) {
    print_error("--admin: \"" + q.admin + "\": " + endpoint.error());
    return 2;
  }
  auto res = admin_request(q.admin, q.creds, q.path);
  if (!res) {
    print_error(res.error());
    return 1;
  }
  if (res->status != 200) {
    print_error("admin endpoint " + q.admin + " answered HTTP " + std::to_string(res->status));
    return 1;
  }
  // parse() with allow_exceptions=false returns a discarded value instead of throwing.
  const auto doc = nlohmann::json::parse(res->body, nullptr, false);
  const bool shape_ok = q.shape == json_shape::array ? doc.is_array() : doc.is_object();
  if (doc.is_discarded() || !shape_ok) {
    print_error("admin endpoint " + q.admin + " returned something other than a JSON " +
                (q.shape == json_shape::array ? "array" : "object"));
    return 1;
  }
  if (q.json) {
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  auto text = q.format(doc);
  if (!text) {
    print_error("admin endpoint " + q.admin + ": " + text.error());
    return 1;
  }
  std::cout << *text;
  return 0;
}

}  // namespace chronik::daemon
