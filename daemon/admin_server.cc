#include "daemon/admin_server.h"

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <future>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/post.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/admin_auth.h"
#include "daemon/node_identity.h"
#include "daemon/node_meta.h"

namespace chronik::daemon {

namespace {

constexpr const char* json_type = "application/json";
// Worker threads of the HTTP server; see install_routes.
constexpr std::size_t admin_worker_threads = 8;
// How long the kernel holds a connection that has sent nothing before accept() sees it (seconds;
// Linux rounds up to its SYN-ACK retransmission schedule); see install_routes.
constexpr int accept_defer_s = 2;

// Peer-supplied strings may hold invalid UTF-8; replace it instead of letting dump() throw.
std::string to_body(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void set_json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(to_body(nlohmann::json{{"error", message}}), json_type);
}

}  // namespace

struct admin_server::impl {
  asio::io_context& io;
  admin_options opts;
  members_source source;
  cluster_source cluster;
  metrics_source metrics;
  ready_source ready_check;
  std::shared_ptr<spdlog::logger> log;
  mutable std::mutex health_mu;
  bool ready = false;                 // guarded by health_mu
  std::string health_reason = "starting";
  httplib::Server http;
  std::thread thread;
  // Shared with posted tasks, which can outlive this object inside the io_context's queue.
  std::shared_ptr<std::atomic<bool>> serving = std::make_shared<std::atomic<bool>>(false);
  std::atomic<std::uint64_t> unauthorized{0};
  struct route {
    method m;
    std::string path_regex;
    route_handler handler;
  };
  std::vector<route> routes;
  struct page {
    std::string path;
    std::string html;
    header_list headers;
  };
  std::vector<page> pages;  // open: check_auth lets GETs of these paths through

  impl(asio::io_context& io_ctx, admin_options o, members_source s, std::shared_ptr<spdlog::logger> l)
      : io(io_ctx), opts(std::move(o)), source(std::move(s)), log(std::move(l)) {}

  template <typename T>
  std::expected<T, std::string> on_io(const std::function<T()>& fn);
  template <typename T>
  std::expected<T, std::string> on_io_async(const std::function<void(std::function<void(T)>)>& fn);
  void handle_health(httplib::Response& res) const;
  void handle_ready(httplib::Response& res);
  void handle_metrics(httplib::Response& res);
  void handle_members(httplib::Response& res);
  void handle_cluster(httplib::Response& res);
  httplib::Server::HandlerResponse check_auth(const httplib::Request& req, httplib::Response& res);
  void install_routes();
};

template <typename T>
std::expected<T, std::string> admin_server::impl::on_io(const std::function<T()>& fn) {
  return on_io_async<T>([fn](const std::function<void(T)>& reply) { reply(fn()); });
}

template <typename T>
std::expected<T, std::string> admin_server::impl::on_io_async(const std::function<void(std::function<void(T)>)>& fn) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  // The task holds a copy of `fn`: it may run after this request has timed out and returned.
  asio::post(io, [promise, serving = serving, source = fn] {
    // `serving` turns false in stop() before the source's objects may be destroyed; checking it
    // here, on the io thread, keeps a late task from reaching a destroyed gossip node.
    if (!serving->load()) return;  // the promise breaks; the waiter answers 503
    // The reply may outlive this request (it timed out): the promise is shared, and a second
    // answer is ignored.
    auto answered = std::make_shared<bool>(false);
    source([promise, answered](T value) {
      if (std::exchange(*answered, true)) return;
      promise->set_value(std::move(value));
    });
  });
  // Wait in short slices so that stop() is not held up by a request whose io task never runs.
  const auto deadline = std::chrono::steady_clock::now() + opts.io_timeout;
  while (std::chrono::steady_clock::now() < deadline && serving->load()) {
    if (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) continue;
    try {
      return future.get();
    } catch (const std::future_error&) {
      return std::unexpected("shutting down");
    }
  }
  return std::unexpected(serving->load() ? "io thread did not answer in time" : "shutting down");
}

void admin_server::impl::handle_health(httplib::Response& res) const {
  bool is_ready = false;
  std::string reason;
  {
    std::lock_guard lock(health_mu);
    is_ready = ready;
    reason = health_reason;
  }
  // Anyone may ask: nothing here helps to impersonate a node (issue 18: the uuids and the cluster
  // id from an open endpoint were enough to forge Raft messages).
  nlohmann::json body{{"status", is_ready ? "ready" : "not ready"}, {"node_id", opts.node_id}};
  if (!is_ready) body["reason"] = reason;
  res.status = is_ready ? 200 : 503;
  res.set_content(to_body(body), json_type);
}

// Readiness for orchestrators and load balancers: /health's answer first (it never waits), then the
// io thread's own check. An io thread that does not answer in time is itself a reason not to send
// traffic here. Like /health, it names only the node id and a reason.
void admin_server::impl::handle_ready(httplib::Response& res) {
  bool is_ready = false;
  std::string reason;
  {
    std::lock_guard lock(health_mu);
    is_ready = ready;
    reason = health_reason;
  }
  if (is_ready && ready_check) {
    auto r = on_io_async<std::string>(ready_check);
    reason = r ? *r : r.error();
    is_ready = r && r->empty();
  }
  nlohmann::json body{{"status", is_ready ? "ready" : "not ready"}, {"node_id", opts.node_id}};
  if (!is_ready) body["reason"] = reason;
  res.status = is_ready ? 200 : 503;
  res.set_content(to_body(body), json_type);
}

void admin_server::impl::handle_metrics(httplib::Response& res) {
  if (!metrics) {
    set_json_error(res, 503, "no metrics on this node");
    return;
  }
  auto text = on_io<std::string>(metrics);
  if (!text) {
    log->warn("GET /metrics: {}", text.error());
    set_json_error(res, 503, text.error());
    return;
  }
  // The text exposition format's content type (version 0.0.4).
  res.set_content(std::move(*text), "text/plain; version=0.0.4; charset=utf-8");
}

void admin_server::impl::handle_cluster(httplib::Response& res) {
  if (!cluster) {
    set_json_error(res, 503, "no cluster status on this node");
    return;
  }
  auto body = on_io_async<nlohmann::json>(cluster);
  if (!body) {
    log->warn("GET /v1/cluster: {}", body.error());
    set_json_error(res, 503, body.error());
    return;
  }
  res.set_content(to_body(*body), json_type);
}

void admin_server::impl::handle_members(httplib::Response& res) {
  auto members = on_io<std::vector<gossip::member_snapshot>>(source);
  if (!members) {
    log->warn("GET /v1/members: {}", members.error());
    set_json_error(res, 503, members.error());
    return;
  }
  auto body = nlohmann::json::array();
  for (const auto& snap : *members) body.push_back(member_to_json(snap));
  res.set_content(to_body(body), json_type);
}

// Before routing, so that an unauthenticated client learns nothing, not even which paths exist.
httplib::Server::HandlerResponse admin_server::impl::check_auth(const httplib::Request& req, httplib::Response& res) {
  // /health and /ready are open (docs/security.md "Admin HTTP"): probes carry no token.
  if (req.method == "GET" && (req.path == "/health" || req.path == "/ready")) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  // Pages hold no data (docs/security.md "Admin HTTP"): the status page asks for the token itself.
  if (req.method == "GET" && std::ranges::any_of(pages, [&](const page& p) { return p.path == req.path; })) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  // get_header_value returns a copy: keep it alive while the view into it is checked.
  const std::string value = req.get_header_value("Authorization");
  std::optional<std::string_view> header;
  if (req.has_header("Authorization")) header = value;
  const auto verdict = check_admin_auth(header, opts.token);
  if (verdict == admin_auth::ok) return httplib::Server::HandlerResponse::Unhandled;
  const auto n = unauthorized.fetch_add(1, std::memory_order_relaxed) + 1;
  // Rate-limited by count: the first few, then every 100th, so a scanner cannot flood the log.
  if (n <= 5 || n % 100 == 0) {
    log->warn("admin: {} {} from {} refused: {} bearer token ({} refused so far)", req.method, req.path,
              req.remote_addr, verdict == admin_auth::missing ? "no" : "wrong", n);
  }
  res.set_header("WWW-Authenticate", "Bearer realm=\"chronik-admin\"");
  set_json_error(res, 401, "unauthorized: send Authorization: Bearer <admin token> (docs/security.md \"Admin HTTP\")");
  return httplib::Server::HandlerResponse::Handled;
}

void admin_server::impl::install_routes() {
  http.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return check_auth(req, res); });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { handle_health(res); });
  http.Get("/ready", [this](const httplib::Request&, httplib::Response& res) { handle_ready(res); });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { handle_metrics(res); });
  http.Get("/v1/members", [this](const httplib::Request&, httplib::Response& res) { handle_members(res); });
  http.Get("/v1/cluster", [this](const httplib::Request&, httplib::Response& res) { handle_cluster(res); });
  for (const auto& r : routes) {
    auto serve = [handler = r.handler](const httplib::Request& req, httplib::Response& res) {
      request in{req.body, req.matches.size() > 1 ? std::string(req.matches[1]) : std::string(),
                 req.get_param_value("scope")};
      const auto out = handler(in);
      res.status = out.status;
      res.set_content(to_body(out.body), json_type);
    };
    if (r.m == method::get) {
      http.Get(r.path_regex, serve);
    } else {
      http.Post(r.path_regex, serve);
    }
  }
  for (const auto& p : pages) {
    http.Get(p.path, [&p](const httplib::Request&, httplib::Response& res) {
      for (const auto& [name, value] : p.headers) res.set_header(name, value);
      res.set_content(p.html, "text/html; charset=utf-8");
    });
  }
  // Runs for every status >= 400 without a body, notably 404 for unknown paths.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) set_json_error(res, res.status, res.status == 404 ? "not found" : "error");
  });
  http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log->error("{} {}: {}", req.method, req.path, what);
    set_json_error(res, 500, "internal error");
  });
  // httplib's default also sets SO_REUSEPORT, which lets a second node bind the same admin port
  // silently; keep only SO_REUSEADDR (restart while old connections sit in TIME_WAIT).
  // TCP_DEFER_ACCEPT: the kernel hands a connection to accept() only once its first bytes have
  // arrived (or after about accept_defer_s). httplib gives a new connection one 10 ms poll for its
  // request (keep-alive wait 0, below); a client that connects first and writes a little later
  // (a browser does, by 10 ms and more) lost its request to a closed socket. With the deferral
  // the request is already there when a worker takes the connection, and a connection that never
  // sends holds no worker while it is deferred.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    int defer_s = accept_defer_s;
    ::setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
  });
  // cpp-httplib serves each connection on one worker thread for as long as it stays open, and
  // waits keep_alive_timeout for every request, the first one included. With 2 workers and a
  // 1 s wait, 500 connections that never sent a byte queued /health for minutes. So: a few more
  // workers (still a bounded pool: the endpoint serves operators and probes, not traffic), a
  // keep-alive wait of 0 s (httplib then waits one 10 ms poll, and a client sends its request
  // together with the end of the TCP handshake), and short read and write timeouts for peers that
  // send or read slowly (docs/operations.md).
  // One request per connection, answered with "Connection: close": a server that closes an idle
  // connection after 10 ms must not offer it for reuse. When it did (up to 10 requests, answered
  // "Keep-Alive"), a browser reusing the connection just as it closed lost the request ("Failed
  // to fetch" on the status page, in about half of headless Chromium's runs).
  http.new_task_queue = [] { return new httplib::ThreadPool(admin_worker_threads); };
  http.set_keep_alive_timeout(0);
  http.set_keep_alive_max_count(1);
  // Request bodies are a key in a few bytes of JSON; refuse anything large before reading it.
  http.set_payload_max_length(64 * 1024);
  http.set_read_timeout(std::chrono::seconds(2));
  http.set_write_timeout(std::chrono::seconds(2));
}

admin_server::admin_server(asio::io_context& io, admin_options opts, members_source source,
                           std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>(io, std::move(opts), std::move(source), std::move(log))) {}

admin_server::~admin_server() { stop(); }

std::expected<void, std::string> admin_server::start() {
  auto& s = *impl_;
  if (s.thread.joinable()) return std::unexpected("admin: already started");
  if (s.opts.token.empty()) return std::unexpected("admin: no admin token");
  s.install_routes();
  const std::string where = s.opts.bind_ip + ":" + std::to_string(s.opts.port);
  errno = 0;
  if (!s.http.bind_to_port(s.opts.bind_ip, s.opts.port)) {
    const int err = errno;
    return std::unexpected("admin: cannot listen on " + where +
                           (err != 0 ? ": " + std::error_code(err, std::generic_category()).message() : ""));
  }
  s.serving->store(true);
  s.thread = std::thread([&s] { s.http.listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop runs, so wait for it here; otherwise a
  // stop() right after start() would leave the thread listening forever.
  for (int i = 0; i < 400 && !s.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!s.http.is_running()) {
    s.serving->store(false);
    s.http.stop();
    s.thread.join();
    return std::unexpected("admin: server on " + where + " did not start");
  }
  s.log->info("admin endpoint on http://{}", where);
  return {};
}

void admin_server::set_cluster_source(cluster_source source) { impl_->cluster = std::move(source); }

void admin_server::set_metrics_source(metrics_source source) { impl_->metrics = std::move(source); }

void admin_server::set_ready_source(ready_source source) { impl_->ready_check = std::move(source); }

void admin_server::add_route(method m, std::string path_regex, route_handler handler) {
  impl_->routes.push_back(impl::route{m, std::move(path_regex), std::move(handler)});
}

void admin_server::add_open_page(std::string path, std::string html, header_list headers) {
  impl_->pages.push_back(impl::page{std::move(path), std::move(html), std::move(headers)});
}

std::expected<nlohmann::json, std::string> admin_server::call_on_io(std::function<nlohmann::json()> fn) {
  return impl_->on_io<nlohmann::json>(fn);
}

std::uint64_t admin_server::unauthorized_count() const {
  return impl_->unauthorized.load(std::memory_order_relaxed);
}

void admin_server::set_health(bool ready, std::string reason) {
  std::lock_guard lock(impl_->health_mu);
  impl_->ready = ready;
  impl_->health_reason = std::move(reason);
}

void admin_server::stop() {
  if (!impl_) return;
  auto& s = *impl_;
  s.serving->store(false);
  if (!s.thread.joinable()) return;
  s.http.stop();
  s.thread.join();
  s.log->info("admin endpoint stopped");
}

std::string format_rfc3339_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
  // Floor division so that times before 1970 still get a 0..999 millisecond part.
  std::int64_t secs = ms / 1000;
  std::int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", date, static_cast<int>(rem));
  return out;
}

nlohmann::json member_to_json(const gossip::member_snapshot& snap) {
  const auto& m = snap.m;
  nlohmann::json j{{"node_id", m.id.value()},
                   {"address", m.addr},
                   {"state", std::string(gossip::to_string(m.state))},
                   {"incarnation", m.inc.value},
                   {"last_change", format_rfc3339_utc(snap.last_change)},
                   {"uuid", to_hex(m.uuid)}};
  const auto meta = decode_node_meta(m.meta);
  j["kafka_addr"] = meta ? nlohmann::json(meta->kafka_addr) : nlohmann::json();
  j["rpc_addr"] = meta ? nlohmann::json(meta->rpc_addr) : nlohmann::json();
  j["admin_addr"] = meta ? nlohmann::json(meta->admin_addr) : nlohmann::json();
  j["cluster_name"] = meta ? nlohmann::json(meta->cluster_name) : nlohmann::json();
  j["formation"] = meta ? nlohmann::json(meta->formation) : nlohmann::json();
  j["cluster_id"] = meta && !meta->cluster_id_hex.empty() ? nlohmann::json(meta->cluster_id_hex) : nlohmann::json();
  j["bootstrap_expect"] = meta ? nlohmann::json(meta->bootstrap_expect) : nlohmann::json();
  j["version"] = meta ? nlohmann::json(meta->version) : nlohmann::json();
  return j;
}

nlohmann::json formation_of_members(const std::vector<gossip::member_snapshot>& members) {
  auto out = nlohmann::json::array();
  for (const auto& snap : members) {
    const auto j = member_to_json(snap);
    out.push_back({{"node_id", j["node_id"]}, {"state", j["state"]}, {"formation", j["formation"]},
                   {"cluster_id", j["cluster_id"]}});
  }
  return out;
}

std::optional<chronik::node_id> admin_server::node_in_match(const std::string& match) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(match.data(), match.data() + match.size(), v);
  if (ec != std::errc{} || end != match.data() + match.size()) return std::nullopt;
  return chronik::node_id_from_u64(v);
}

}  // namespace chronik::daemon
