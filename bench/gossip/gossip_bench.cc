// gossip_bench: the chronik side of the memberlist comparison (issue 2 "Benchmark"; the anchor
// is the memberlist program bench/gossip/run.sh runs beside it, docs/performance.md).
//
// It mirrors the anchor's default mode: N gossip nodes in ONE process on 127.0.0.1, chain-joined
// (node i's only seed is node i-1, and node i+1 starts only once node i has joined, as memberlist's
// synchronous Join does). It measures
//   (a) the time to full convergence after the last join,
//   (b) the time until every survivor declares a hard-stopped node dead (first / median / last),
//       and when the first survivor started suspecting it (the end of the first failed probe),
//   (c) gossip payload bytes per second per node over a steady window (stats().bytes_sent).
// With --pause-ms it instead runs the anchor's pause test: a real chronik-server process joins,
// gets SIGSTOP for the pause, then SIGCONT, and we count the nodes that declared it dead.
//
// Everything runs on one io_context driven from main() in short run_for() slices; waits are
// predicates checked between slices and every wait has a deadline (docs/design.md "Testing").
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "gossip/net/gossip_node.h"

extern char** environ;

namespace {

namespace g = chronik::gossip;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct bench_args {
  int nodes = 16;
  std::string preset = "lan";
  int base_port = 28100;  // below the ephemeral range (32768+), where binds can collide
  int settle_s = 5;            // after convergence: let the join's own gossip die down
  int steady_s = 20;           // window for the bytes figure
  int detect_timeout_s = 90;   // longest wait for every survivor to declare the victim dead
  int pause_ms = 0;            // > 0: run the pause test instead of (b) and (c)
  int after_pause_s = 15;      // as the anchor: look for dead declarations this long after SIGCONT
  std::string server;          // chronik-server binary for the pause test
  std::uint64_t seed = 1;
  bool silent_crash = false;   // the victim's host goes silent instead of bouncing (see crash_victim)
  bool encrypt = false;        // every node seals its traffic with one shared gossip key
  bool verbose = false;
};

double secs(steady::duration d) { return std::chrono::duration<double>(d).count(); }

// What one node saw happen to the others: first time each peer went dead/left, or suspect.
struct observations {
  std::map<std::uint32_t, steady::time_point> first_dead;
  std::map<std::uint32_t, steady::time_point> first_suspect;
};

class bench_cluster {
 public:
  bench_cluster(const bench_args& args, g::config cfg) : args_(args), cfg_(cfg) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    log_ = std::make_shared<spdlog::logger>("gossip", sink);
    log_->set_level(args.verbose ? spdlog::level::info : spdlog::level::warn);
    // A benchmark interrupted by run.sh's trap must still kill (and un-stop) its child process,
    // so SIGINT/SIGTERM end the current wait instead of the process.
    signals_.async_wait([this](asio::error_code ec, int) {
      if (!ec) interrupted_ = true;
    });
  }

  int port(int i) const { return args_.base_port + i; }
  std::string addr(int i) const { return "127.0.0.1:" + std::to_string(port(i)); }
  asio::io_context& io() { return io_; }
  int size() const { return static_cast<int>(nodes_.size()); }
  g::gossip_node& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  const observations& seen(int i) const { return *seen_[static_cast<std::size_t>(i)]; }
  bool interrupted() const { return interrupted_; }

  // Runs the io_context in short slices until done() holds (true) or the deadline passes (false).
  bool drive_until(steady::time_point deadline, const std::function<bool()>& done) {
    constexpr auto slice = milliseconds(5);
    while (!done()) {
      const auto now = steady::now();
      if (now >= deadline || interrupted_) return false;
      io_.run_for(std::min<steady::duration>(slice, deadline - now));
      if (io_.stopped()) io_.restart();
    }
    return true;
  }
  void drive_for(steady::duration d) { drive_until(steady::now() + d, [] { return false; }); }

  // True when every running node counts `expected` live members (alive or suspect), the same
  // test as memberlist's NumMembers() in the anchor.
  bool all_see(std::size_t expected, int skip = -1) {
    for (int i = 0; i < size(); ++i) {
      if (i != skip && node(i).core().alive_count() != expected) return false;
    }
    return true;
  }

  std::optional<std::string> add_node(int i) {
    g::node_options o;
    o.bind_ip = "127.0.0.1";
    o.port = static_cast<std::uint16_t>(args_.base_port + i);
    if (i > 0) o.seeds = {addr(i - 1)};  // chain join: only the previous node
    o.cfg = cfg_;
    const auto id = static_cast<std::uint32_t>(i + 1);
    std::string uuid(16, '\0');
    for (int b = 0; b < 4; ++b) uuid[static_cast<std::size_t>(b)] = static_cast<char>(id >> (8 * b));
    // cluster "chronik" is the daemon's default, so the pause test's chronik-server can join.
    o.self = g::self_identity{g::node_id{id}, uuid, "", "", "chronik"};
    o.rng_seed = args_.seed * 1'000'003ULL + id;
    // The key's value does not matter to the cost; sealing adds AES-256-GCM and 29 bytes per
    // datagram and frame (docs/gossip.md "Wire format").
    if (args_.encrypt) o.keys.emplace(g::gossip_key{0x5e, 0xa1});
    auto n = std::make_unique<g::gossip_node>(io_, std::move(o), log_);
    auto obs = std::make_unique<observations>();
    n->on_member_event([o = obs.get()](const g::member_event& ev) { record(*o, ev); });
    if (auto r = n->start(); !r) return "node " + std::to_string(id) + ": " + r.error();
    nodes_.push_back(std::move(n));
    seen_.push_back(std::move(obs));
    return std::nullopt;
  }

 private:
  static void record(observations& o, const g::member_event& ev) {
    if (ev.kind != g::member_event_kind::state_changed) return;
    const auto now = steady::now();
    if (ev.who.state == g::member_state::dead || ev.who.state == g::member_state::left) {
      o.first_dead.try_emplace(ev.who.id.value(), now);
    } else if (ev.who.state == g::member_state::suspect) {
      o.first_suspect.try_emplace(ev.who.id.value(), now);
    }
  }

  const bench_args& args_;
  g::config cfg_;
  asio::io_context io_{1};
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  bool interrupted_ = false;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::unique_ptr<g::gossip_node>> nodes_;
  std::vector<std::unique_ptr<observations>> seen_;
};

// Starts the nodes one by one; node i starts once node i-1 has joined and learned the i members
// before it, which is what memberlist's synchronous Join guarantees on return.
bool chain_join(bench_cluster& c, int n) {
  for (int i = 0; i < n; ++i) {
    if (auto err = c.add_node(i)) {
      std::fprintf(stderr, "gossip_bench: %s\n", err->c_str());
      return false;
    }
    auto& core = c.node(i).core();
    const auto want = static_cast<std::size_t>(i + 1);
    if (!c.drive_until(steady::now() + seconds(30), [&] { return core.joined() && core.alive_count() >= want; })) {
      std::fprintf(stderr, "gossip_bench: node %d did not join within 30 s\n", i + 1);
      return false;
    }
  }
  return true;
}

// (c): payload bytes (UDP datagrams + TCP push-pull frames) sent per node per second.
double steady_bytes_per_node(bench_cluster& c, int window_s) {
  auto total = [&] {
    std::uint64_t sum = 0;
    for (int i = 0; i < c.size(); ++i) sum += c.node(i).stats().bytes_sent;
    return sum;
  };
  const std::uint64_t before = total();
  const auto t0 = steady::now();
  c.drive_for(seconds(window_s));
  const double elapsed = secs(steady::now() - t0);
  return static_cast<double>(total() - before) / c.size() / elapsed;
}

struct detection {
  std::vector<double> delays_s;  // sorted, one per survivor that declared the victim dead
  int survivors = 0;
  // When the first survivor started suspecting the victim: the part of the detection time spent
  // before the first failed probe, which depends on the probe schedules and the victim's place in
  // the survivors' round-robin orders rather than on the suspicion and dissemination rules.
  std::optional<double> first_suspect_s;
};

// (b): hard stop (no leave), then wait until every survivor has declared the victim dead.
// A stopped node is a killed process on a live host: the kernel answers datagrams to its closed
// port with ICMP port unreachable, which chronik's probes use (membership::refused) and
// memberlist's ignore. With silent, a socket that is never read takes over the victim's port at
// once, so the datagrams vanish as they do when the whole host is gone.
detection crash_victim(bench_cluster& c, int victim, int timeout_s, bool silent) {
  const auto victim_id = static_cast<std::uint32_t>(victim + 1);
  const auto kill = steady::now();
  c.node(victim).stop();
  asio::ip::udp::socket black_hole(c.io());
  if (silent) {
    const auto port = static_cast<std::uint16_t>(c.port(victim));
    black_hole.open(asio::ip::udp::v4());
    black_hole.bind({asio::ip::make_address_v4("127.0.0.1"), port});
  }
  auto all_saw = [&] {
    for (int i = 0; i < c.size(); ++i) {
      if (i != victim && !c.seen(i).first_dead.contains(victim_id)) return false;
    }
    return true;
  };
  c.drive_until(kill + seconds(timeout_s), all_saw);
  detection d;
  d.survivors = c.size() - 1;
  for (int i = 0; i < c.size(); ++i) {
    if (i == victim) continue;
    auto it = c.seen(i).first_dead.find(victim_id);
    if (it != c.seen(i).first_dead.end()) d.delays_s.push_back(secs(it->second - kill));
    if (auto s = c.seen(i).first_suspect.find(victim_id); s != c.seen(i).first_suspect.end() && s->second >= kill)
      d.first_suspect_s = std::min(d.first_suspect_s.value_or(1e9), secs(s->second - kill));
  }
  std::sort(d.delays_s.begin(), d.delays_s.end());
  return d;
}

// A spawned chronik-server that is always SIGCONTed, SIGKILLed and reaped, whatever happens.
struct child_process {
  pid_t pid = -1;
  child_process() = default;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid <= 0) return;
    ::kill(pid, SIGCONT);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  bool exited() {
    int status = 0;
    return pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid && (pid = -1, true);
  }
};

bool spawn_server(child_process& child, const bench_args& a, const std::filesystem::path& dir) {
  const int port = a.base_port + a.nodes;  // right after the in-process nodes
  std::vector<std::string> argv_s = {
      a.server, "start", "--node-id", std::to_string(a.nodes + 1), "--bind", "127.0.0.1",
      "--gossip-port", std::to_string(port), "--admin-port", std::to_string(port + 1),
      "--rpc-port", std::to_string(port + 2), "--kafka-port", std::to_string(port + 3),
      "--seed", "127.0.0.1:" + std::to_string(a.base_port), "--data-dir", (dir / "data").string(),
      "--preset", a.preset, "--log-level", a.verbose ? "info" : "warn"};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log_path = (dir / "server.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  const int rc = posix_spawn(&child.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    child.pid = -1;
    std::fprintf(stderr, "gossip_bench: cannot start %s: %s\n", a.server.c_str(), std::strerror(rc));
    return false;
  }
  return true;
}

// The anchor's -pause test: the extra node runs as its own process so that SIGSTOP freezes it
// completely (timers, sockets, everything), exactly as a GC pause or a stalled VM would.
int pause_test(bench_cluster& c, const bench_args& a) {
  std::error_code ec;
  char tmpl[] = "/tmp/chronik-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("gossip_bench: mkdtemp");
    return 1;
  }
  const std::filesystem::path dir(tmpl);
  int rc = 1;
  {
    child_process child;
    const auto n = static_cast<std::size_t>(a.nodes);
    const auto ext_id = static_cast<std::uint32_t>(a.nodes + 1);
    if (spawn_server(child, a, dir)) {
      const bool up = c.drive_until(steady::now() + seconds(30), [&] { return child.exited() || c.all_see(n + 1); });
      if (!up || child.pid < 0) {
        std::fprintf(stderr, "gossip_bench: chronik-server did not join (log: %s/server.log)\n", tmpl);
        return 1;  // keep the directory for the log
      }
      c.drive_for(seconds(3));  // as the anchor: let the join settle before pausing
      const auto p0 = steady::now();
      ::kill(child.pid, SIGSTOP);
      c.drive_for(milliseconds(a.pause_ms));
      ::kill(child.pid, SIGCONT);
      c.drive_for(seconds(a.after_pause_s));
      int dead = 0, suspected = 0;
      std::optional<double> first;
      for (int i = 0; i < c.size(); ++i) {
        if (auto it = c.seen(i).first_dead.find(ext_id); it != c.seen(i).first_dead.end() && it->second >= p0) {
          ++dead;
          first = std::min(first.value_or(1e9), secs(it->second - p0));
        }
        if (auto it = c.seen(i).first_suspect.find(ext_id); it != c.seen(i).first_suspect.end() && it->second >= p0) ++suspected;
      }
      std::printf("pause-test profile=%s n=%d+1 pause=%dms: nodes-that-declared-ext-dead=%d/%d first-at=%.3fs "
                  "nodes-that-suspected-ext=%d/%d members-after-resume(node0)=%zu\n",
                  a.preset.c_str(), a.nodes, a.pause_ms, dead, a.nodes, first.value_or(0.0), suspected, a.nodes,
                  c.node(0).core().alive_count());
      std::printf("RESULT system=chronik mode=pause preset=%s n=%d pause_ms=%d declared_dead=%d suspected=%d\n",
                  a.preset.c_str(), a.nodes, a.pause_ms, dead, suspected);
      rc = c.interrupted() ? 1 : 0;
    }
  }
  std::filesystem::remove_all(dir, ec);
  return rc;
}

int crash_and_bytes(bench_cluster& c, const bench_args& a, double converge_s) {
  // The join's alive messages are still being retransmitted at convergence; they are not
  // steady-state traffic.
  c.drive_for(seconds(a.settle_s));
  const double bytes = steady_bytes_per_node(c, a.steady_s);
  std::printf("steady-state payload bytes/s per node over %d s: %.1f\n", a.steady_s, bytes);
  std::fflush(stdout);
  const int victim = a.nodes / 2;
  // Lifeguard stretches the probe period of a node by (awareness + 1), which would slow the first
  // probe of the victim; report it so that a loaded run can be told apart.
  std::uint32_t degraded = 0;
  for (int i = 0; i < c.size(); ++i) degraded += c.node(i).core().awareness_score() > 0 ? 1 : 0;
  std::printf("nodes with awareness > 0 at the crash: %u/%d\n", degraded, c.size());
  const detection d = crash_victim(c, victim, a.detect_timeout_s, a.silent_crash);
  if (d.delays_s.empty()) {
    std::printf("victim never declared dead\n");
    return 1;
  }
  const auto& v = d.delays_s;
  const double med = v[v.size() / 2];  // the anchor's median: the upper one for even counts
  const double suspect = d.first_suspect_s.value_or(-1.0);
  std::printf("failure detection of node-%03d: seen-by=%zu/%d first=%.2fs median=%.2fs last=%.2fs "
              "(first suspicion at %.2fs)\n", victim, v.size(), d.survivors, v.front(), med, v.back(), suspect);
  std::printf("RESULT system=chronik mode=crash crash=%s preset=%s n=%d converge_s=%.3f suspect_first_s=%.3f "
              "detect_first_s=%.3f detect_median_s=%.3f detect_last_s=%.3f seen_by=%zu/%d "
              "payload_bytes_per_s_per_node=%.1f encrypt=%d\n",
              a.silent_crash ? "silent" : "process", a.preset.c_str(), a.nodes, converge_s, suspect, v.front(), med,
              v.back(), v.size(), d.survivors, bytes, a.encrypt ? 1 : 0);
  return static_cast<int>(v.size()) == d.survivors ? 0 : 1;
}

int run(const bench_args& a) {
  const g::config cfg = a.preset == "local" ? g::config::local() : g::config::lan();
  bench_cluster c(a, cfg);
  const auto start = steady::now();
  if (!chain_join(c, a.nodes)) return 1;
  const auto t0 = steady::now();  // the last join returned
  const auto n = static_cast<std::size_t>(a.nodes);
  if (!c.drive_until(t0 + seconds(120), [&] { return c.all_see(n); })) {
    std::printf("no convergence\n");
    return 1;
  }
  const double converge_s = secs(steady::now() - t0);
  std::printf("profile=%s n=%d create+join=%.3fs full-convergence-after-last-join=%.3fs\n", a.preset.c_str(),
              a.nodes, secs(t0 - start), converge_s);
  std::fflush(stdout);
  return a.pause_ms > 0 ? pause_test(c, a) : crash_and_bytes(c, a, converge_s);
}

}  // namespace

int main(int argc, char** argv) {
  bench_args a;
  CLI::App app{"chronik gossip benchmark: N in-process nodes, chain-joined (see bench/gossip/run.sh)"};
  app.add_option("-n,--nodes", a.nodes, "nodes")->check(CLI::Range(3, 256));
  app.add_option("--preset", a.preset, "gossip timings")->check(CLI::IsMember({"lan", "local"}));
  app.add_option("--port", a.base_port, "first port; node i uses port+i")->check(CLI::Range(1024, 65000));
  app.add_option("--settle-s", a.settle_s, "wait after convergence before the bytes window")
      ->check(CLI::Range(0, 600));
  app.add_option("--steady-s", a.steady_s, "window of the bytes figure, seconds")->check(CLI::Range(1, 600));
  app.add_option("--detect-timeout-s", a.detect_timeout_s, "give up on failure detection after")
      ->check(CLI::Range(1, 600));
  app.add_option("--pause-ms", a.pause_ms, "pause test: SIGSTOP an extra chronik-server this long")
      ->check(CLI::Range(0, 600000));
  app.add_option("--after-pause-s", a.after_pause_s, "pause test: observe this long after SIGCONT")
      ->check(CLI::Range(1, 600));
  app.add_option("--server", a.server, "chronik-server binary for the pause test");
  app.add_option("--seed", a.seed, "random seed of the nodes");
  app.add_flag("--silent-crash", a.silent_crash, "the victim's port swallows datagrams (a dead host) "
               "instead of bouncing them (a killed process)");
  app.add_flag("--encrypt", a.encrypt, "seal all gossip with one shared key (docs/security.md)");
  app.add_flag("-v,--verbose", a.verbose, "gossip logs at info");
  CLI11_PARSE(app, argc, argv);
  if (a.pause_ms > 0 && a.server.empty()) {
    std::fprintf(stderr, "gossip_bench: --pause-ms needs --server PATH_TO_chronik-server\n");
    return 2;
  }
  return run(a);
}
