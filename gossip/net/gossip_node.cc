// Asio shell for the gossip core. See gossip_node.h for the contract.
//
// Lifetime: all state lives in gossip_node::impl, held by shared_ptr. Every pending handler holds
// a reference, so a handler that completes after stop() (or after ~gossip_node) only sees a
// stopped impl and returns; the memory goes away with the last handler.
#include "gossip/net/gossip_node.h"

#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <linux/errqueue.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <optional>
#include <unordered_map>
#include <utility>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <openssl/rand.h>

#include "base/assert.h"
#include "gossip/net/codec.h"

namespace chronik::gossip {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

// Bounds (docs/design.md "Size and bounds").
constexpr std::size_t max_outbound_streams = 64;  // push-pulls in flight; beyond: drop + count
constexpr std::size_t max_inbound_streams = 64;   // accepted connections being read
constexpr std::size_t max_pending_datagrams = 1024;
constexpr std::size_t max_addr_cache = 4096;  // cleared wholesale when full
constexpr std::uint32_t max_stream_frame_bytes = 8u * 1024u * 1024u;
constexpr std::size_t recv_buffer_bytes = 65536;  // any UDP payload fits
constexpr int max_catch_up_ticks = 100;           // per timer wake-up, see run_ticks()
constexpr int max_drain_rounds = 64;
constexpr int max_bounces_per_read = 256;  // ICMP errors taken per receive error
constexpr int max_send_attempts = 4;       // see send_buffer()
constexpr auto connect_timeout = 1s;
constexpr auto stream_io_timeout = 5s;

using counter = std::atomic<std::uint64_t>;
struct atomic_net_stats {
  counter bytes_sent{0}, bytes_received{0}, datagrams_sent{0}, datagrams_received{0},
      streams_sent{0}, streams_received{0}, malformed_dropped{0}, oversized_dropped{0},
      send_errors{0}, bounces_received{0}, tick_late_max_ms{0}, auth_failed_dropped{0},
      plaintext_dropped{0};
};
void bump(counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

// At most one message per second per limiter, so that a peer sending garbage cannot flood logs.
// allow() returns how many messages were suppressed since the last allowed one, or nullopt.
struct log_limiter {
  steady_clock::time_point next{};
  std::uint64_t suppressed = 0;
  std::optional<std::uint64_t> allow() {
    const auto now = steady_clock::now();
    if (now < next) { ++suppressed; return std::nullopt; }
    next = now + 1s;
    return std::exchange(suppressed, 0);
  }
};

// log_level is debug..error in the same order as spdlog's debug..err, one step above trace.
static_assert(spdlog::level::debug == static_cast<int>(log_level::debug) + 1 &&
              spdlog::level::err == static_cast<int>(log_level::error) + 1);
spdlog::level::level_enum to_spdlog(log_level level) {
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level) + 1);
}

std::string to_string(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

enum class direction : std::uint8_t { inbound, outbound };

}  // namespace

struct stream_conn;

struct gossip_node::impl : std::enable_shared_from_this<gossip_node::impl> {
  impl(asio::io_context& io_ctx, node_options options, std::shared_ptr<spdlog::logger> logger)
      : io(io_ctx),
        opts(with_self_addr(std::move(options))),
        log(logger ? std::move(logger)
                   : std::make_shared<spdlog::logger>("gossip", spdlog::sinks_init_list{})),
        core(opts.cfg, opts.self, opts.seeds, opts.rng_seed,
             [l = log](log_level lv, std::string_view text) { l->log(to_spdlog(lv), "{}", text); }) {}
  static node_options with_self_addr(node_options o) {
    if (o.self.addr.empty()) o.self.addr = o.bind_ip + ":" + std::to_string(o.port);
    return o;
  }

  std::expected<void, std::string> start() {
    if (started || stopped) return std::unexpected("gossip node already started or stopped");
    if (auto valid = opts.cfg.validate(); !valid) return std::unexpected("gossip." + valid.error());
    if (opts.port == 0) return std::unexpected("gossip port: must not be 0");
    asio::error_code ec;
    const auto ip = asio::ip::make_address_v4(opts.bind_ip, ec);
    if (ec) return std::unexpected("gossip bind_ip: '" + opts.bind_ip + "' is not numeric IPv4");
    const std::string where = opts.bind_ip + ":" + std::to_string(opts.port);
    auto fail = [&](const char* what) -> std::expected<void, std::string> {
      asio::error_code ignored;
      udp_sock.close(ignored);
      acceptor.close(ignored);
      return std::unexpected(std::string("gossip ") + what + " " + where + ": " + ec.message());
    };
    if (udp_sock.open(udp::v4(), ec); ec) return fail("open udp");
    if (udp_sock.bind(udp::endpoint(ip, opts.port), ec); ec) return fail("bind udp");
    // Linux reports ICMP errors about our unconnected datagrams only with IP_RECVERR; see
    // read_bounces(). Without it (another OS) probes simply fail at their deadline.
    const int on = 1;
    if (::setsockopt(udp_sock.native_handle(), IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0) {
      log->warn("gossip: IP_RECVERR unavailable ({}); probes of a stopped process wait for their "
                "deadline", std::strerror(errno));
    }
    if (acceptor.open(tcp::v4(), ec); ec) return fail("open tcp");
    // Lets a restarted node rebind while old connections sit in TIME_WAIT.
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail("reuse tcp");
    if (acceptor.bind(tcp::endpoint(ip, opts.port), ec); ec) return fail("bind tcp");
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen");

    started = true;
    started_at = std::chrono::system_clock::now();
    // An external ticker sets the schedule from its own first tick (run_ticks), so that the
    // lateness measured is its loop's, not the gap between start() and its first tick.
    next_tick = opts.external_tick ? steady_clock::time_point{}
                                   : steady_clock::now() + std::chrono::milliseconds(opts.cfg.tick_ms);
    log->info("gossip listening on {} (udp+tcp) as node {}, {} seed(s)", where,
              opts.self.id.value(), opts.seeds.size());
    receive_next();
    accept_next();
    if (!opts.external_tick) arm_tick();
    drain();  // events the core produced in its constructor
    return {};
  }

  // Ticks are scheduled by absolute time, so handler latency does not accumulate into drift.
  // After a long stall (suspended process, overloaded host) we run at most max_catch_up_ticks
  // and then resynchronise: hundreds of probe rounds at once would only cause false suspicions.
  void arm_tick() {
    tick_timer.expires_at(next_tick);
    tick_timer.async_wait([self = shared_from_this()](asio::error_code ec) {
      if (!ec && !self->stopped) self->on_tick();
    });
  }
  void on_tick() {
    run_ticks(steady_clock::now());
    if (!stopped) arm_tick();
  }
  // Runs the core ticks due by `now`; shared by the own timer and an external ticker.
  void run_ticks(steady_clock::time_point now) {
    const auto period = std::chrono::milliseconds(opts.cfg.tick_ms);
    if (next_tick == steady_clock::time_point{}) next_tick = now;  // an external ticker's first tick
    // How late this tick runs: the loop's own scheduling delay, which a busy thread or host adds
    // to every probe deadline (bench/load measures it).
    const auto late_ms = static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - next_tick).count()));
    if (next_tick <= now && late_ms > st.tick_late_max_ms.load(std::memory_order_relaxed)) {
      st.tick_late_max_ms.store(late_ms, std::memory_order_relaxed);
    }
    for (int ran = 0; next_tick <= now && ran < max_catch_up_ticks && !stopped; ++ran) {
      core.tick();
      drain();
      next_tick += period;
    }
    if (stopped) return;
    if (next_tick <= now) {
      log->warn("gossip tick loop fell {} ms behind; skipping missed ticks",
                std::chrono::duration_cast<std::chrono::milliseconds>(now - next_tick).count());
      // Skip to the next slot of the same grid, so an external ticker's loop stays in phase.
      next_tick += period * ((now - next_tick) / period + 1);
    }
    if (std::exchange(accept_paused, false)) accept_next();
    check_leave();
  }

  // Copies each ready batch before acting on it, because an event callback may re-enter the
  // core (set_meta, leave) and that rewrites ready(). Gossip persists nothing, so advancing
  // before the sends complete is allowed by the core's contract.
  void drain() {
    for (int round = 0; round < max_drain_rounds && core.has_ready(); ++round) {
      if (stopped) return core.advance();
      const ready_batch batch = core.ready();
      core.advance();
      for (const auto& p : batch.packets) {
        p.via == transport::datagram ? send_datagram(p.to_addr, p.env) : send_stream(p.to_addr, p.env);
      }
      for (const auto& ev : batch.events) deliver(ev);
    }
    report_conflict();
  }
  // The core yielded our node id to a live holder (docs/bootstrap.md property 7): tell the
  // daemon once, which stops the node without a leave.
  void report_conflict() {
    if (!core.conflict() || conflict_reported || stopped || !conflict_cb) return;
    conflict_reported = true;
    auto cb = conflict_cb;
    try {
      cb(*core.conflict());
    } catch (const std::exception& e) {
      log->error("gossip id conflict callback threw: {}", e.what());
    }
  }
  void deliver(const member_event& ev) {
    if (ev.kind == member_event_kind::reaped) last_change.erase(ev.who.id);
    else last_change[ev.who.id] = std::chrono::system_clock::now();
    if (!event_cb || stopped) return;
    auto cb = event_cb;  // the callback may replace itself through on_member_event()
    try {
      cb(ev);
    } catch (const std::exception& e) {
      log->error("gossip member event callback threw: {}", e.what());
    }
  }

  void receive_next() {
    udp_sock.async_receive_from(
        asio::buffer(recv_buf), recv_from,
        [self = shared_from_this()](asio::error_code ec, std::size_t n) {
          if (self->stopped || ec == asio::error::operation_aborted) return;
          if (!ec) self->on_datagram(n);
          // With IP_RECVERR every ICMP error is also reported once as a receive error.
          if (ec == asio::error::connection_refused) self->read_bounces();
          else if (ec && self->malformed_log.allow()) {
            self->log->debug("gossip udp receive error: {}", ec.message());
          }
          if (!self->stopped) self->receive_next();
        });
  }

  // Drains the socket's error queue (ip(7) IP_RECVERR) and hands every port unreachable to the
  // core: the host at that address answered that nothing listens there. The queue is charged to
  // the receive buffer, so it is always emptied, and other ICMP errors (host or net unreachable,
  // which any router may send) are dropped.
  void read_bounces() {
    for (int i = 0; i < max_bounces_per_read && !stopped; ++i) {
      sockaddr_in dest{};
      std::array<char, 64> payload{};  // the bounced datagram's start; not needed
      alignas(cmsghdr) std::array<char, 256> control{};
      iovec iov{payload.data(), payload.size()};
      msghdr msg{};
      msg.msg_name = &dest;
      msg.msg_namelen = sizeof dest;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      if (::recvmsg(udp_sock.native_handle(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;  // empty
      if (msg.msg_namelen < sizeof dest || dest.sin_family != AF_INET) continue;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR) continue;
        if (c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
        sock_extended_err err{};
        std::memcpy(&err, CMSG_DATA(c), sizeof err);
        if (err.ee_origin != SO_EE_ORIGIN_ICMP || err.ee_type != ICMP_DEST_UNREACH ||
            err.ee_code != ICMP_PORT_UNREACH) {
          continue;
        }
        const asio::ip::address_v4 ip(ntohl(dest.sin_addr.s_addr));
        bump(st.bounces_received);
        core.refused(ip.to_string() + ":" + std::to_string(ntohs(dest.sin_port)));
        drain();
      }
    }
    check_leave();
  }
  void on_datagram(std::size_t size) {
    bump(st.datagrams_received);
    bump(st.bytes_received, size);
    // The core bounds the envelope; sealing adds its fixed overhead on top.
    if (size > opts.cfg.max_datagram_bytes + (opts.keys ? sealed_overhead : 0)) {
      return bump(st.oversized_dropped);
    }
    const auto from = to_string(tcp::endpoint(recv_from.address(), recv_from.port()));
    auto plain = open_in(std::string_view(recv_buf.data(), size), "datagram", from);
    if (!plain) return;
    handle(decode(*plain, opts.cfg.max_datagram_bytes), "datagram", from);
  }

  // Seals an encoded envelope with the primary key, unless there is no keyring or
  // verify_outgoing is off (docs/security.md "Gossip encryption"). The nonce comes from
  // OpenSSL's CSPRNG: 96 random bits per message, as memberlist draws them.
  std::string seal_out(std::string plain) {
    if (!opts.keys || !opts.verify_outgoing || plain.empty()) return plain;
    gossip_nonce nonce{};
    CHRONIK_ASSERT(RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) == 1,
                   "RAND_bytes failed: no randomness for a gossip nonce");
    return opts.keys->seal(plain, nonce, opts.self.cluster);
  }
  // Opens received bytes, or counts and drops them: sealed traffic that no key authenticates
  // always, plaintext unless verify_incoming is off. Without a keyring the bytes pass as they are.
  std::optional<std::string> open_in(std::string_view bytes, const char* kind, const std::string& from) {
    if (!opts.keys) return std::string(bytes);
    auto opened = opts.keys->open(bytes, opts.self.cluster);
    if (opened) return std::move(*opened);
    const bool plaintext = opened.error() == keyring_errc::not_sealed;
    if (plaintext && !opts.verify_incoming) return std::string(bytes);
    bump(plaintext ? st.plaintext_dropped : st.auth_failed_dropped);
    if (auto s = auth_log.allow()) {
      log->warn("gossip dropped {} {} from {}: {} ({} similar suppressed)",
                plaintext ? "plaintext" : "unauthenticated", kind, from, to_string(opened.error()), *s);
    }
    return std::nullopt;
  }

  // Steps one decoded envelope from either transport, or counts and drops a bad one.
  void handle(std::expected<envelope, codec_error> env, const char* kind, const std::string& from) {
    if (stopped) return;
    if (!env) {
      bump(st.malformed_dropped);
      if (auto s = malformed_log.allow()) {
        log->debug("gossip dropped malformed {} from {}: {}: {} ({} suppressed)", kind, from,
                   to_string(env.error().code), env.error().text, *s);
      }
      return;
    }
    core.step(*env);
    drain();
    check_leave();
  }

  void accept_next() {
    acceptor.async_accept([self = shared_from_this()](asio::error_code ec, tcp::socket sock) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (!ec) {
        self->on_accept(std::move(sock));
        return self->accept_next();
      }
      // Errors such as EMFILE repeat immediately: resume from the next tick instead of spinning.
      if (auto s = self->accept_log.allow()) {
        self->log->warn("gossip tcp accept failed: {} ({} suppressed)", ec.message(), *s);
      }
      self->accept_paused = true;
    });
  }

  // "a.b.c.d:port" -> endpoint. Addresses are numeric IPv4 by design (no DNS on this path).
  std::optional<udp::endpoint> resolve(const std::string& addr) {
    if (auto it = addr_cache.find(addr); it != addr_cache.end()) return it->second;
    const auto colon = addr.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    std::uint32_t port = 0;
    const char* last = addr.data() + addr.size();
    auto [ptr, ec] = std::from_chars(addr.data() + colon + 1, last, port);
    if (ec != std::errc{} || ptr != last || port == 0 || port > 65535) return std::nullopt;
    asio::error_code aec;
    auto ip = asio::ip::make_address_v4(addr.substr(0, colon), aec);
    if (aec) return std::nullopt;
    if (addr_cache.size() >= max_addr_cache) addr_cache.clear();
    return addr_cache.emplace(addr, udp::endpoint(ip, static_cast<std::uint16_t>(port))).first->second;
  }

  void send_failed(const char* kind, const std::string& to, std::size_t in_flight) {
    bump(st.send_errors);
    if (auto s = send_log.allow()) {
      log->debug("gossip cannot send {} to '{}' (bad address, encode failure or {} in flight) "
                 "({} suppressed)", kind, to, in_flight, *s);
    }
  }
  void send_datagram(const std::string& to, const envelope& env) {
    auto ep = resolve(to);
    auto buf = std::make_shared<std::string>();
    if (ep && pending_datagrams < max_pending_datagrams) *buf = seal_out(encode(env));
    if (buf->empty()) return send_failed("datagram", to, pending_datagrams);
    ++pending_datagrams;
    send_buffer(std::move(buf), *ep, max_send_attempts);
  }
  // With IP_RECVERR a pending ICMP error fails the next send on the socket, whoever it is for
  // (sock_alloc_send_pskb returns sock_error first): that send is retried after taking the
  // bounces, so an unrelated port unreachable never costs a live peer its datagram.
  void send_buffer(std::shared_ptr<std::string> buf, udp::endpoint ep, int attempts) {
    udp_sock.async_send_to(
        asio::buffer(*buf), ep,
        [self = shared_from_this(), buf, ep, attempts](asio::error_code ec, std::size_t n) {
          if (ec == asio::error::connection_refused && attempts > 1 && !self->stopped) {
            self->read_bounces();
            return self->send_buffer(buf, ep, attempts - 1);
          }
          --self->pending_datagrams;
          if (ec && ec != asio::error::operation_aborted) bump(self->st.send_errors);
          if (!ec) bump(self->st.datagrams_sent);
          bump(self->st.bytes_sent, ec ? 0 : n);
          if (!self->stopped) self->check_leave();
        });
  }

  void leave(std::chrono::milliseconds max_wait, std::function<void()> done) {
    if (!done) done = [] {};
    if (leave_done) {  // a second leave() while one is pending: both callers hear the end
      done = [first = std::move(leave_done), second = std::move(done)] { first(); second(); };
    }
    leave_done = std::move(done);
    leave_deadline = steady_clock::now() + max_wait;
    if (stopped || !started) return finish_leave();  // nobody to tell, and no tick to wait on
    core.leave();
    drain();
    check_leave();
  }

  // Done when the core has handed the leave to enough members and those datagrams left our
  // socket (stopping earlier would close it under them), or at the deadline (checked per tick).
  void check_leave() {
    if (!leave_done) return;
    const bool sent = core.leave_broadcast_done() && pending_datagrams == 0;
    if (sent || stopped || steady_clock::now() >= leave_deadline) finish_leave();
  }
  void finish_leave() {
    if (!leave_done) return;
    asio::post(io, std::exchange(leave_done, nullptr));
  }

  // Defined after stream_conn, which they create or close.
  void stop();
  void on_accept(tcp::socket sock);
  void send_stream(const std::string& to, const envelope& env);
  std::shared_ptr<stream_conn> make_conn(tcp::socket sock, direction dir);

  asio::io_context& io;
  node_options opts;
  std::shared_ptr<spdlog::logger> log;
  membership core;
  udp::socket udp_sock{io};
  tcp::acceptor acceptor{io};
  asio::steady_timer tick_timer{io};
  steady_clock::time_point next_tick{};
  std::vector<char> recv_buf = std::vector<char>(recv_buffer_bytes);
  udp::endpoint recv_from;
  std::unordered_map<std::string, udp::endpoint> addr_cache;
  std::function<void(const member_event&)> event_cb;
  std::function<void(const id_conflict&)> conflict_cb;
  bool conflict_reported = false;
  std::unordered_map<node_id, std::chrono::system_clock::time_point> last_change;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  atomic_net_stats st;
  bool started = false, stopped = false, accept_paused = false;
  std::size_t pending_datagrams = 0, outbound_streams = 0, inbound_streams = 0;
  std::uint64_t next_conn_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<stream_conn>> conns;
  std::function<void()> leave_done;
  steady_clock::time_point leave_deadline{};
  log_limiter malformed_log, send_log, accept_log, auth_log;
};

// One TCP connection carrying exactly one length-prefixed frame (4-byte big-endian length, then
// the encoded envelope), in either direction. A deadline timer bounds connect and I/O, since a
// silent peer must not pin a connection slot forever.
struct stream_conn : std::enable_shared_from_this<stream_conn> {
  stream_conn(std::shared_ptr<gossip_node::impl> o, tcp::socket s, direction d, std::uint64_t i)
      : owner(std::move(o)), sock(std::move(s)), deadline(owner->io), dir(d), id(i) {}

  ~stream_conn() {
    --(dir == direction::inbound ? owner->inbound_streams : owner->outbound_streams);
    owner->conns.erase(id);
  }
  void close() {
    asio::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    deadline.cancel();
  }
  void arm_deadline(steady_clock::duration d) {
    deadline.expires_after(d);
    deadline.async_wait([self = shared_from_this()](asio::error_code ec) {
      // A reset timer may still deliver an old expiry; only act when the current one passed.
      if (!ec && self->deadline.expiry() <= steady_clock::now()) self->close();
    });
  }
  void fail(const char* what, asio::error_code ec) {
    close();
    if (owner->stopped || ec == asio::error::operation_aborted) return;
    bump(dir == direction::outbound ? owner->st.send_errors : owner->st.malformed_dropped);
    if (auto n = owner->send_log.allow()) {
      owner->log->debug("gossip stream {} {} failed: {} ({} similar suppressed)", what, peer,
                        ec.message(), *n);
    }
  }

  void send(const tcp::endpoint& to) {
    peer = to_string(to);
    arm_deadline(connect_timeout);
    sock.async_connect(to, [self = shared_from_this()](asio::error_code ec) {
      if (ec) return self->fail("connect to", ec);
      self->arm_deadline(stream_io_timeout);
      asio::async_write(self->sock, asio::buffer(self->frame),
                        [self](asio::error_code wec, std::size_t n) {
                          if (wec) return self->fail("write to", wec);
                          bump(self->owner->st.streams_sent);
                          bump(self->owner->st.bytes_sent, n);
                          self->close();
                        });
    });
  }
  void receive() {
    asio::error_code ec;
    if (auto remote = sock.remote_endpoint(ec); !ec) peer = to_string(remote);
    arm_deadline(stream_io_timeout);
    asio::async_read(sock, asio::buffer(header), [self = shared_from_this()](asio::error_code rec,
                                                                             std::size_t) {
      if (rec) return self->fail("header from", rec);
      std::uint32_t len = 0;
      for (unsigned char byte : self->header) len = (len << 8) | byte;
      if (len > max_stream_frame_bytes + sealed_overhead) {  // refuse before allocating
        bump(self->owner->st.oversized_dropped);
        return self->close();
      }
      self->frame.resize(len);
      asio::async_read(self->sock, asio::buffer(self->frame),
                       [self](asio::error_code bec, std::size_t n) {
                         if (bec) return self->fail("body from", bec);
                         self->close();
                         auto& owner = *self->owner;
                         bump(owner.st.bytes_received, n + self->header.size());
                         auto plain = owner.open_in(self->frame, "stream", self->peer);
                         if (!plain) return;
                         auto env = decode(*plain, max_stream_frame_bytes);
                         if (env) bump(owner.st.streams_received);
                         owner.handle(std::move(env), "stream", self->peer);
                       });
    });
  }

  std::shared_ptr<gossip_node::impl> owner;  // declared first: destroyed after the socket
  tcp::socket sock;
  asio::steady_timer deadline;
  direction dir;
  std::uint64_t id;
  std::array<unsigned char, 4> header{};
  std::string frame;  // outbound: header + body; inbound: body
  std::string peer;   // for logs
};

void gossip_node::impl::stop() {
  if (stopped) return;
  stopped = true;
  asio::error_code ec;
  tick_timer.cancel();
  udp_sock.close(ec);
  acceptor.close(ec);
  // Iterate a copy: closing can end a connection's last handler, whose destructor edits conns.
  for (auto& [id, weak] : decltype(conns)(conns)) {
    if (auto c = weak.lock()) c->close();
  }
  finish_leave();  // nobody waits forever on a stopped node
}
void gossip_node::impl::on_accept(tcp::socket sock) {
  if (inbound_streams < max_inbound_streams) {
    return make_conn(std::move(sock), direction::inbound)->receive();
  }
  if (auto s = accept_log.allow()) {
    log->debug("gossip refused inbound stream: {} open ({} suppressed)", inbound_streams, *s);
  }
  asio::error_code ec;
  sock.close(ec);  // the peer retries on its next push-pull round
}

void gossip_node::impl::send_stream(const std::string& to, const envelope& env) {
  auto ep = resolve(to);
  std::string body;
  if (ep && outbound_streams < max_outbound_streams) body = encode(env);
  if (body.empty() || body.size() > max_stream_frame_bytes) {
    return send_failed("stream", to, outbound_streams);
  }
  body = seal_out(std::move(body));
  auto conn = make_conn(tcp::socket(io), direction::outbound);
  const auto len = static_cast<std::uint32_t>(body.size());
  conn->frame.reserve(4 + body.size());
  for (int shift = 24; shift >= 0; shift -= 8) conn->frame.push_back(static_cast<char>(len >> shift));
  conn->frame.append(body);
  conn->send(tcp::endpoint(ep->address(), ep->port()));
}
std::shared_ptr<stream_conn> gossip_node::impl::make_conn(tcp::socket sock, direction dir) {
  ++(dir == direction::inbound ? inbound_streams : outbound_streams);
  const auto id = next_conn_id++;
  auto conn = std::make_shared<stream_conn>(shared_from_this(), std::move(sock), dir, id);
  conns.emplace(id, conn);
  return conn;
}

// --- gossip_node: thin forwarding ----------------------------------------------------------------

gossip_node::gossip_node(asio::io_context& io, node_options opts, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(io, std::move(opts), std::move(log))) {}

gossip_node::~gossip_node() { impl_->stop(); }
std::expected<void, std::string> gossip_node::start() { return impl_->start(); }
void gossip_node::tick(std::chrono::steady_clock::time_point now) {
  if (!impl_->opts.external_tick || !impl_->started || impl_->stopped) return;
  impl_->run_ticks(now);
}
void gossip_node::stop() { impl_->stop(); }
const membership& gossip_node::core() const { return impl_->core; }
void gossip_node::set_meta(std::string meta) {
  if (impl_->stopped) return;
  impl_->core.set_meta(std::move(meta));
  impl_->drain();
}
void gossip_node::leave(std::chrono::milliseconds max_wait, std::function<void()> done) {
  impl_->leave(max_wait, std::move(done));
}

std::vector<member_snapshot> gossip_node::members() const {
  std::vector<member_snapshot> out;
  for (auto& m : impl_->core.members()) {
    auto it = impl_->last_change.find(m.id);
    const auto when = it != impl_->last_change.end() ? it->second : impl_->started_at;
    out.push_back(member_snapshot{std::move(m), when});
  }
  return out;
}
const std::optional<keyring>& gossip_node::keys() const { return impl_->opts.keys; }
std::expected<void, std::string> gossip_node::replace_keys(keyring ring) {
  // Without a keyring the size bound and verify flags were chosen for plaintext; a ring appearing
  // on one node at run time would also cut it off from plaintext peers.
  if (!impl_->opts.keys) return std::unexpected("gossip encryption is off on this node (set gossip_key)");
  impl_->opts.keys = std::move(ring);
  return {};
}
net_stats gossip_node::stats() const {
  const auto& s = impl_->st;
  auto get = [](const counter& c) { return c.load(std::memory_order_relaxed); };
  return net_stats{get(s.bytes_sent),        get(s.bytes_received),   get(s.datagrams_sent),
                   get(s.datagrams_received), get(s.streams_sent),    get(s.streams_received),
                   get(s.malformed_dropped), get(s.oversized_dropped), get(s.send_errors),
                   get(s.bounces_received),  get(s.tick_late_max_ms),   get(s.auth_failed_dropped),
                   get(s.plaintext_dropped)};
}
void gossip_node::on_member_event(std::function<void(const member_event&)> cb) {
  impl_->event_cb = std::move(cb);
}
void gossip_node::on_id_conflict(std::function<void(const id_conflict&)> cb) { impl_->conflict_cb = std::move(cb); }

}  // namespace chronik::gossip
