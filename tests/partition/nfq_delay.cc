// nfq_delay: delays every packet of one NFQUEUE queue by a fixed time (partition suite,
// docs/partition-testing.md).
//
// The kernel on the test machines has no netem, so the suite queues a node's outgoing packets with
// `iptables -j NFQUEUE --queue-num Q --queue-bypass` inside the node's namespace and runs this helper
// there. Each packet's verdict (NF_ACCEPT) is issued `--delay-ms` after it arrived. The delay is the
// same for every packet, so verdicts go out in arrival order and a FIFO is enough. Only packet ids
// cross into user space (NFQNL_COPY_META). The queue is bounded: past `--max-pending` packets (or if
// the kernel queue overflows, thanks to NFQA_CFG_F_FAIL_OPEN) packets pass at once rather than pile up.
//
// Usage: nfq_delay --queue Q --delay-ms MS [--max-pending N]. SIGTERM/SIGINT release every held
// packet and exit 0.
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

using steady = std::chrono::steady_clock;

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

struct held_packet {
  std::uint32_t id;
  steady::time_point due;
};

struct options {
  std::uint16_t queue_num = 0;
  std::chrono::milliseconds delay{0};
  std::size_t max_pending = 20'000;
};

struct delay_queue {
  nfq_q_handle* handle = nullptr;
  std::chrono::milliseconds delay{0};
  std::size_t max_pending = 0;
  std::deque<held_packet> held;
  std::uint64_t passed_at_once = 0;
  std::uint64_t delayed = 0;

  void accept(std::uint32_t id) const { nfq_set_verdict(handle, id, NF_ACCEPT, 0, nullptr); }

  void release_due(steady::time_point now) {
    while (!held.empty() && held.front().due <= now) {
      accept(held.front().id);
      held.pop_front();
      ++delayed;
    }
  }

  void release_all() {
    for (const auto& p : held) accept(p.id);
    held.clear();
  }
};

int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* user) {
  auto& q = *static_cast<delay_queue*>(user);
  const nfqnl_msg_packet_hdr* hdr = nfq_get_msg_packet_hdr(data);
  if (hdr == nullptr) return 0;
  const std::uint32_t id = ntohl(hdr->packet_id);
  if (q.held.size() >= q.max_pending) {
    q.accept(id);
    ++q.passed_at_once;
    return 0;
  }
  q.held.push_back({id, steady::now() + q.delay});
  return 0;
}

bool parse_number(std::string_view text, unsigned long max, unsigned long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const std::string s(text);
  out = std::strtoul(s.c_str(), &end, 10);
  return errno == 0 && end != nullptr && *end == '\0' && out <= max;
}

bool parse_options(int argc, char** argv, options& opt) {
  bool have_queue = false;
  bool have_delay = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view key = argv[i];
    unsigned long v = 0;
    if (key == "--queue" && parse_number(argv[i + 1], 65535, v)) {
      opt.queue_num = static_cast<std::uint16_t>(v);
      have_queue = true;
    } else if (key == "--delay-ms" && parse_number(argv[i + 1], 60'000, v)) {
      opt.delay = std::chrono::milliseconds(v);
      have_delay = true;
    } else if (key == "--max-pending" && parse_number(argv[i + 1], 1'000'000, v) && v > 0) {
      opt.max_pending = v;
    } else {
      return false;
    }
  }
  return have_queue && have_delay && argc % 2 == 1;
}

int poll_timeout_ms(const delay_queue& q) {
  if (q.held.empty()) return 100;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(q.held.front().due - steady::now());
  return static_cast<int>(std::clamp<long long>(wait.count(), 0, 100));
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse_options(argc, argv, opt)) {
    std::fprintf(stderr, "usage: nfq_delay --queue Q --delay-ms MS [--max-pending N]\n");
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  nfq_handle* h = nfq_open();
  if (h == nullptr) {
    std::fprintf(stderr, "nfq_delay: nfq_open: %s\n", std::strerror(errno));
    return 1;
  }
  delay_queue q;
  q.delay = opt.delay;
  q.max_pending = opt.max_pending;
  q.handle = nfq_create_queue(h, opt.queue_num, &on_packet, &q);
  if (q.handle == nullptr) {
    std::fprintf(stderr, "nfq_delay: cannot bind queue %u: %s\n", opt.queue_num, std::strerror(errno));
    nfq_close(h);
    return 1;
  }
  nfq_set_mode(q.handle, NFQNL_COPY_META, 0);
  nfq_set_queue_maxlen(q.handle, static_cast<std::uint32_t>(opt.max_pending));
  nfq_set_queue_flags(q.handle, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8u << 20);

  const int fd = nfq_fd(h);
  std::fprintf(stderr, "nfq_delay: queue %u, delay %lld ms\n", opt.queue_num,
               static_cast<long long>(opt.delay.count()));
  alignas(8) char buf[65536];
  std::uint64_t overruns = 0;
  while (stop_requested == 0) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, poll_timeout_ms(q));
    if (n > 0 && (p.revents & POLLIN) != 0) {
      // Drain what is there without blocking; each message is one packet.
      for (int burst = 0; burst < 256; ++burst) {
        const ssize_t len = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (len < 0) {
          if (errno == ENOBUFS) ++overruns;  // the kernel dropped messages; fail-open keeps flow
          break;
        }
        nfq_handle_packet(h, buf, static_cast<int>(len));
      }
    }
    q.release_due(steady::now());
  }
  q.release_all();
  std::fprintf(stderr, "nfq_delay: delayed %llu, passed at once %llu, overruns %llu\n",
               static_cast<unsigned long long>(q.delayed), static_cast<unsigned long long>(q.passed_at_once),
               static_cast<unsigned long long>(overruns));
  nfq_destroy_queue(q.handle);
  nfq_close(h);
  return 0;
}
