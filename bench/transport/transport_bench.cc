// Transport throughput and idle cost (issue 4 "Benchmark"), all in one run on 127.0.0.1:
//  (a) anchor: one Cap'n Proto call per Raft message, unbatched (a window of calls pipelined on
//      one connection, the best an unbatched design can do), messages/s;
//  (b) chronik's transport: 64-byte append messages of 100 groups through two raft_transports
//      (batching, max_calls_in_flight calls per peer), messages/s per node pair, and the ratio
//      to (a); then the same with mutual TLS between the two (certificates from
//      daemon/node_certs.h, docs/security.md "Between nodes: mutual TLS") and its ratio to
//      plaintext, in the same run;
//  (c) idle cost, the anchor: 1, 100 and 1000 groups each sending one heartbeat per 100 ms tick
//      (and the peer answering each), as every group did before quiescence; RPC calls/s,
//      messages/s and CPU% of the node pair (getrusage);
//  (d) idle cost of real Raft groups: two raft_hosts (WAL, disk thread, cores) over two
//      raft_transports, 1, 100 and 1000 groups (node 1 campaigns in each), 100 ms ticks; first with
//      quiescence off, then on and measured once every group has quiesced (docs/raft.md
//      "Quiescence"); calls/s, messages/s, CPU%, and the ratio of messages/s to (c).
// Usage: transport_bench [seconds per throughput run, default 3] [seconds per idle run, 3; 0
//                        skips (c) and (d)]
//                        [max_calls_in_flight per peer, default: the local preset's]
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/mutex.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "consensus/groups/raft_host.h"
#include "consensus/transport/codec.h"
#include "consensus/transport/raft_transport.h"
#include "daemon/node_certs.h"

namespace {

using namespace chronik::consensus;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t payload_bytes = 64;
// transport_config::max_calls_in_flight for the transports of (b), (c) and (d); 0 keeps the
// preset's, so that one binary can compare values (docs/performance.md "Transport").
std::uint32_t calls_in_flight = 0;
constexpr std::uint64_t groups_in_flight = 100;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(r.ru_utime) + tv(r.ru_stime);
}

group_message append_message(std::uint64_t group, std::uint64_t index, std::uint64_t from,
                             std::uint64_t to) {
  message m;
  m.type = message_type::append;
  m.from = node_id{static_cast<std::uint32_t>(from)};
  m.to = node_id{static_cast<std::uint32_t>(to)};
  m.term = term_id{1};
  m.index = log_index{index};
  m.commit = log_index{index};
  m.entries = {entry{term_id{1}, log_index{index + 1}, entry_type::normal,
                     std::string(payload_bytes, 'p')}};
  return {group_id{group}, std::move(m)};
}

// --- (a) the anchor: a plain RaftTransport server, one message per call ---

class anchor_service final : public chronik::schemas::RaftTransport::Server {
 public:
  kj::Promise<void> deliver(DeliverContext context) override {
    // The same decode the real receiver does, so only the batching differs.
    auto decoded = decode_batch(context.getParams().getBatch(), node_id{2}, 1 << 20);
    context.getResults().setAccepted(decoded.has_value());
    return kj::READY_NOW;
  }
};

double run_anchor(double duration_s, std::size_t window) {
  std::atomic<std::uint16_t> port{0};
  kj::MutexGuarded<kj::Maybe<const kj::Executor&>> server_executor;
  kj::Own<kj::PromiseFulfiller<void>>* stop_server = nullptr;
  std::thread server([&] {
    auto io = kj::setupAsyncIo();
    auto addr = io.provider->getNetwork().parseAddress("127.0.0.1:0").wait(io.waitScope);
    auto listener = addr->listen();
    capnp::TwoPartyServer rpc(kj::heap<anchor_service>());
    auto listening = rpc.listen(*listener);
    auto stop = kj::newPromiseAndFulfiller<void>();
    stop_server = &stop.fulfiller;
    *server_executor.lockExclusive() = kj::getCurrentThreadExecutor();
    port.store(static_cast<std::uint16_t>(listener->getPort()));
    stop.promise.wait(io.waitScope);
  });
  while (port.load() == 0) std::this_thread::yield();

  auto io = kj::setupAsyncIo();
  auto addr = io.provider->getNetwork()
                  .parseAddress("127.0.0.1:" + std::to_string(port.load()))
                  .wait(io.waitScope);
  auto stream = addr->connect().wait(io.waitScope);
  capnp::TwoPartyClient client(*stream);
  auto cap = client.bootstrap().castAs<chronik::schemas::RaftTransport>();
  const batch_header header{transport_protocol_version, "bench", "uuid-1", node_id{1}};
  std::uint64_t done = 0;
  std::uint64_t next_index = 1;
  const auto start = clock_type::now();
  // Keep `window` calls outstanding; each completion issues the next call.
  std::function<kj::Promise<void>()> one_call = [&]() -> kj::Promise<void> {
    if (seconds_since(start) >= duration_s) return kj::READY_NOW;
    auto request = cap.deliverRequest();
    std::uint64_t index = next_index++;
    std::vector<group_message> one{append_message(index % groups_in_flight, index, 1, 2)};
    encode_batch(request.initBatch(), header, one, node_id{2});
    return request.send().then([&](auto&&) {
      ++done;
      return one_call();
    });
  };
  auto calls = kj::heapArrayBuilder<kj::Promise<void>>(window);
  for (std::size_t i = 0; i < window; ++i) calls.add(one_call());
  kj::joinPromises(calls.finish()).wait(io.waitScope);
  const double rate = static_cast<double>(done) / seconds_since(start);

  KJ_IF_MAYBE(executor, *server_executor.lockExclusive()) {
    executor->executeSync([&] { (*stop_server)->fulfill(); });
  }
  server.join();
  return rate;
}

// --- (b) and (c): two raft_transports driven by one Asio thread ---

// Mutual TLS for (b): one CA and a certificate per node, made once in main.
struct bench_pki {
  chronik::daemon::pem_pair ca;
  chronik::daemon::pem_pair node1;
  chronik::daemon::pem_pair node2;
};
const bench_pki* pki = nullptr;
enum class wire : std::uint8_t { plaintext, tls };

struct pair_of_nodes {
  asio::io_context io;
  std::unique_ptr<raft_transport> a;
  std::unique_ptr<raft_transport> b;
  std::uint64_t received_at_b = 0;
  std::uint64_t received_at_a = 0;

  explicit pair_of_nodes(wire w = wire::plaintext) {
    auto log = std::make_shared<spdlog::logger>(
        "transport", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    log->set_level(spdlog::level::warn);
    auto cfg = [w](std::uint64_t id) {
      transport_config c = transport_config::local();
      c.self = node_id{static_cast<std::uint32_t>(id)};
      c.node_uuid = "uuid-" + std::to_string(id);
      c.cluster_id = "bench";
      if (calls_in_flight != 0) c.max_calls_in_flight = calls_in_flight;
      if (w == wire::tls) {
        const auto& mine = id == 1 ? pki->node1 : pki->node2;
        c.tls = transport_tls{pki->ca.cert_pem, mine.cert_pem, mine.key_pem};
      }
      return c;
    };
    a = std::make_unique<raft_transport>(io, cfg(1), log);
    b = std::make_unique<raft_transport>(io, cfg(2), log);
    a->on_receive([this](inbound_batch&& batch) { received_at_a += batch.messages.size(); });
    b->on_receive([this](inbound_batch&& batch) { on_b_receive(std::move(batch)); });
    if (!a->start() || !b->start()) {
      std::fprintf(stderr, "cannot start transports\n");
      std::exit(1);
    }
    a->set_peer(node_id{2}, "127.0.0.1:" + std::to_string(b->bound_port()));
    b->set_peer(node_id{1}, "127.0.0.1:" + std::to_string(a->bound_port()));
  }
  ~pair_of_nodes() {
    a->stop();
    b->stop();
  }

  // B answers heartbeats like a follower would, so the idle run carries both directions.
  void on_b_receive(inbound_batch&& batch) {
    received_at_b += batch.messages.size();
    std::vector<group_message> replies;
    for (auto& item : batch.messages) {
      if (item.msg.type != message_type::heartbeat) continue;
      message r;
      r.type = message_type::heartbeat_response;
      r.from = node_id{2};
      r.to = node_id{1};
      r.term = item.msg.term;
      replies.push_back({item.group, std::move(r)});
    }
    if (!replies.empty()) b->send(node_id{1}, std::move(replies));
  }
};

// `window` bounds the messages sent but not yet delivered, so the outbox never overflows and
// the figure counts delivered messages only. A small window shows batching needs no deep queue.
double run_batched(double duration_s, std::uint64_t window, wire w = wire::plaintext) {
  pair_of_nodes pair(w);
  const std::uint64_t chunk = std::min<std::uint64_t>(1'000, window / 2);
  std::uint64_t sent = 0;
  const auto start = clock_type::now();
  while (seconds_since(start) < duration_s) {
    if (sent - pair.received_at_b + chunk <= window) {
      std::vector<group_message> items;
      items.reserve(chunk);
      for (std::uint64_t i = 0; i < chunk; ++i, ++sent)
        items.push_back(append_message(sent % groups_in_flight, sent, 1, 2));
      pair.a->send(node_id{2}, std::move(items));
      pair.io.poll();
    } else {
      pair.io.run_one_for(std::chrono::milliseconds(1));
    }
    if (pair.io.stopped()) pair.io.restart();
  }
  const double rate = static_cast<double>(pair.received_at_b) / seconds_since(start);
  const auto c = pair.a->counters();
  std::printf("  window %llu: %llu calls, %.0f messages per call on average, %llu dropped, %llu "
              "failed calls\n",
              static_cast<unsigned long long>(window),
              static_cast<unsigned long long>(c.batches_sent),
              c.batches_sent ? static_cast<double>(c.messages_sent) / c.batches_sent : 0.0,
              static_cast<unsigned long long>(c.drops_outbox_full + c.drops_failed),
              static_cast<unsigned long long>(c.call_failures));
  return rate;
}

struct idle_figures {
  double calls_per_s = 0;
  double messages_per_s = 0;
  double cpu_percent = 0;
};

idle_figures run_idle(std::uint64_t groups, double duration_s) {
  pair_of_nodes pair;
  constexpr auto tick = std::chrono::milliseconds(100);
  asio::steady_timer timer(pair.io);
  std::function<void()> on_tick = [&] {
    std::vector<group_message> beats;
    beats.reserve(groups);
    for (std::uint64_t g = 1; g <= groups; ++g) {
      message m;
      m.type = message_type::heartbeat;
      m.from = node_id{1};
      m.to = node_id{2};
      m.term = term_id{1};
      m.commit = log_index{g};
      beats.push_back({group_id{g}, std::move(m)});
    }
    pair.a->send(node_id{2}, std::move(beats));
    timer.expires_after(tick);
    timer.async_wait([&](std::error_code ec) {
      if (!ec) on_tick();
    });
  };
  // Let the connections come up before measuring.
  on_tick();
  pair.io.run_for(std::chrono::milliseconds(300));
  const auto before_a = pair.a->counters();
  const auto before_b = pair.b->counters();
  const double cpu_before = cpu_seconds();
  const auto start = clock_type::now();
  pair.io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(duration_s)));
  const double wall = seconds_since(start);
  const double cpu = cpu_seconds() - cpu_before;
  const auto after_a = pair.a->counters();
  const auto after_b = pair.b->counters();
  timer.cancel();
  const double calls =
      static_cast<double>(after_a.batches_sent - before_a.batches_sent +
                          after_b.batches_sent - before_b.batches_sent);
  const double messages =
      static_cast<double>(after_a.messages_sent - before_a.messages_sent +
                          after_b.messages_sent - before_b.messages_sent);
  const idle_figures f{calls / wall, messages / wall, 100.0 * cpu / wall};
  std::printf("  %5llu groups: %7.1f RPC calls/s  %9.0f heartbeat messages/s  CPU %5.2f%%\n",
              static_cast<unsigned long long>(groups), f.calls_per_s, f.messages_per_s,
              f.cpu_percent);
  return f;
}

// --- (d): real groups, two raft_hosts over two raft_transports ---

struct host_pair {
  asio::io_context io;
  std::filesystem::path dir;
  std::array<std::unique_ptr<raft_transport>, 2> transports;
  std::array<std::unique_ptr<raft_host>, 2> hosts;

  host_pair() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chronik-idle-bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) fail("cannot create a temporary directory");
    dir = tmpl;
    auto log = std::make_shared<spdlog::logger>("idle", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    log->set_level(spdlog::level::warn);
    for (std::size_t i = 0; i < 2; ++i) {
      transport_config c = transport_config::local();
      c.self = node_id{static_cast<std::uint32_t>(i + 1)};
      c.node_uuid = "uuid-" + std::to_string(i + 1);
      c.cluster_id = "bench";
      if (calls_in_flight != 0) c.max_calls_in_flight = calls_in_flight;
      transports[i] = std::make_unique<raft_transport>(io, c, log);
      transports[i]->on_receive([this, i](inbound_batch&& b) {
        if (hosts[i]) hosts[i]->step(b.from, std::move(b.messages));
      });
      if (!transports[i]->start()) fail("cannot start a transport");
      host_config hc;
      hc.self = node_id{static_cast<std::uint32_t>(i + 1)};
      hc.data_dir = dir / ("node" + std::to_string(i + 1));
      hc.rng_seed = 7 + i;
      auto h = raft_host::open(io, hc, [t = transports[i].get()](node_id to, std::vector<group_message> m) {
        t->send(to, std::move(m));
      }, log);
      if (!h) fail("cannot open a raft host: " + h.error().text);
      hosts[i] = std::move(*h);
    }
    for (std::size_t i = 0; i < 2; ++i)
      transports[i]->set_peer(node_id{static_cast<std::uint32_t>(2 - i)}, "127.0.0.1:" + std::to_string(transports[1 - i]->bound_port()));
  }
  ~host_pair() {
    for (auto& h : hosts) h.reset();  // joins the disk threads
    for (auto& t : transports) t->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  static void fail(const std::string& why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(1);
  }
  std::pair<std::uint64_t, std::uint64_t> calls_and_messages() const {
    std::uint64_t calls = 0, messages = 0;
    for (const auto& t : transports) {
      calls += t->counters().batches_sent;
      messages += t->counters().messages_sent;
    }
    return {calls, messages};
  }
};

// Bootstraps `groups` two-voter groups, has node 1 campaign in each and, with quiescence on, waits
// until every replica has quiesced (ticking every 10 ms to get there sooner); then measures
// with the 100 ms tick of (c).
idle_figures run_idle_hosts(std::uint64_t groups, std::uint32_t quiesce_after_ticks, double duration_s) {
  host_pair p;
  raft_config cfg;
  cfg.quiesce_after_ticks = quiesce_after_ticks;
  for (std::uint64_t g = 1; g <= groups; ++g)
    for (auto& h : p.hosts)
      if (!h->create_group(group_id{g}, conf_state{{node_id{1}, node_id{2}}, {}}, cfg, [](apply_batch&&) {}))
        host_pair::fail("cannot create group " + std::to_string(g));
  auto tick_ms = std::chrono::milliseconds(10);
  asio::steady_timer timer(p.io);
  std::function<void()> on_tick = [&] {
    for (auto& h : p.hosts) h->tick();
    timer.expires_after(tick_ms);
    timer.async_wait([&](std::error_code ec) {
      if (!ec) on_tick();
    });
  };
  on_tick();
  std::map<std::uint64_t, bool> campaigned;
  auto settled = [&] {
    for (std::uint64_t g = 1; g <= groups; ++g)  // refused (not_ready) until bootstrapped
      if (!campaigned[g] && p.hosts[0]->campaign(group_id{g})) campaigned[g] = true;
    for (std::uint64_t g = 1; g <= groups; ++g) {
      for (auto& h : p.hosts) {
        auto s = h->status(group_id{g});
        if (!s || s->leader == no_node || (quiesce_after_ticks > 0 && !s->quiesced)) return false;
      }
    }
    return true;
  };
  const auto start_warmup = clock_type::now();
  while (!settled()) {
    if (seconds_since(start_warmup) > 60) host_pair::fail("groups did not settle within 60 s");
    p.io.run_for(std::chrono::milliseconds(20));
  }
  tick_ms = std::chrono::milliseconds(100);
  p.io.run_for(std::chrono::milliseconds(300));
  const auto [calls_before, messages_before] = p.calls_and_messages();
  const double cpu_before = cpu_seconds();
  const auto start = clock_type::now();
  p.io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(duration_s)));
  const double wall = seconds_since(start);
  const double cpu = cpu_seconds() - cpu_before;
  const auto [calls_after, messages_after] = p.calls_and_messages();
  timer.cancel();
  const idle_figures f{static_cast<double>(calls_after - calls_before) / wall,
                       static_cast<double>(messages_after - messages_before) / wall, 100.0 * cpu / wall};
  std::printf("  %5llu groups: %7.1f RPC calls/s  %9.1f messages/s  CPU %5.2f%%  (awake groups: %llu)",
              static_cast<unsigned long long>(groups), f.calls_per_s, f.messages_per_s, f.cpu_percent,
              static_cast<unsigned long long>(p.hosts[0]->stats().awake_groups + p.hosts[1]->stats().awake_groups));
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const double throughput_s = argc > 1 ? std::atof(argv[1]) : 3.0;
  const double idle_s = argc > 2 ? std::atof(argv[2]) : 3.0;
  calls_in_flight = argc > 3 ? static_cast<std::uint32_t>(std::atoi(argv[3])) : 0;
  const std::uint32_t effective =
      calls_in_flight != 0 ? calls_in_flight : transport_config::local().max_calls_in_flight;
  std::printf("transport bench: %zu-byte append messages of %llu groups on 127.0.0.1, %.1f s per "
              "throughput run, %u calls in flight per peer, %u hardware threads\n",
              payload_bytes, static_cast<unsigned long long>(groups_in_flight), throughput_s,
              effective, std::thread::hardware_concurrency());

  const double anchor_1 = run_anchor(throughput_s, 1);
  std::printf("(a) anchor, one call per message, 1 call outstanding:  %10.0f messages/s\n",
              anchor_1);
  const double anchor = run_anchor(throughput_s, 64);
  std::printf("(a) anchor, one call per message, 64 calls pipelined:  %10.0f messages/s\n", anchor);
  const double batched = run_batched(throughput_s, 50'000);
  std::printf("(b) chronik transport, batched, per node pair:        %10.0f messages/s\n", batched);
  const double shallow = run_batched(throughput_s, 1'000);
  std::printf("(b) same, at most 1000 messages in flight:            %10.0f messages/s\n", shallow);
  std::printf("    ratio (b)/(a, pipelined): %.1fx   (b)/(a, 1 outstanding): %.1fx   goal: >= "
              "200000 messages/s\n",
              batched / anchor, batched / anchor_1);
  const auto must = [](auto r) {
    if (!r) {
      std::fprintf(stderr, "cannot make bench certificates: %s\n", r.error().c_str());
      std::exit(1);
    }
    return *r;
  };
  bench_pki made;
  made.ca = must(chronik::daemon::make_ca(1));
  made.node1 = must(chronik::daemon::make_node_certificate(made.ca, node_id{1}, {}, 1));
  made.node2 = must(chronik::daemon::make_node_certificate(made.ca, node_id{2}, {}, 1));
  pki = &made;
  const double tls_batched = run_batched(throughput_s, 50'000, wire::tls);
  std::printf("(b) with mutual TLS, per node pair:                   %10.0f messages/s  (%.2fx plaintext)\n",
              tls_batched, tls_batched / batched);
  const double tls_shallow = run_batched(throughput_s, 1'000, wire::tls);
  std::printf("(b) same, at most 1000 messages in flight:            %10.0f messages/s  (%.2fx plaintext)\n",
              tls_shallow, tls_shallow / shallow);
  std::printf("    goal with TLS: >= 200000 messages/s per node pair\n");

  if (idle_s <= 0) return 0;  // idle seconds 0: the throughput runs only
  constexpr std::array<std::uint64_t, 3> idle_groups{1, 100, 1000};
  std::printf("(c) idle cost, anchor: one heartbeat per group per 100 ms tick, answered; node pair:\n");
  std::array<idle_figures, 3> anchor_idle{};
  for (std::size_t i = 0; i < idle_groups.size(); ++i) anchor_idle[i] = run_idle(idle_groups[i], idle_s);
  for (const std::uint32_t quiesce : {0u, raft_config{}.quiesce_after_ticks}) {
    std::printf("(d) idle cost, raft hosts on a node pair, 100 ms tick, quiescence %s:\n",
                quiesce ? "on (measured after every group quiesced)" : "off");
    for (std::size_t i = 0; i < idle_groups.size(); ++i) {
      const idle_figures f = run_idle_hosts(idle_groups[i], quiesce, idle_s);
      std::printf("  vs (c): messages %.3fx, CPU %.2fx\n", f.messages_per_s / anchor_idle[i].messages_per_s,
                  f.cpu_percent / anchor_idle[i].cpu_percent);
    }
  }
  return 0;
}
