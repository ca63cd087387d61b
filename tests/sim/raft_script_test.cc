// Golden scenario scripts for the Raft core (the etcd-io/raft testdata/*.txt idea): each file in
// tests/sim/testdata/ is a list of commands, each followed by "----" and the expected output, then
// a blank line. Run with CHRONIK_REWRITE=1 to rewrite the expected output from the actual one.
//
// Commands (ids are node ids):
//   net n=N [voters=V] [prevote=0|1] [checkquorum=0|1] [chunk=BYTES] [msgbytes=BYTES]
//   campaign ID | tick ID [N] | propose ID DATA | read ID CONTEXT | transfer FROM TO
//   add-voter LEADER ID | add-learner LEADER ID | remove LEADER ID
//   stabilize | deliver (one round: collect readies, deliver queued messages) | drop (queued)
//   isolate ID | cut A B | heal | crash ID | restart ID | compact ID
//   status | log ID | applied ID | reads ID
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/raft_test_net.h"

namespace chronik::consensus::testing {
namespace {

struct command {
  std::string comments;  // the "#" lines before the command, kept on rewrite
  std::string line;
  std::string expected;
};

std::vector<command> parse(const std::string& text) {
  std::vector<command> out;
  std::istringstream in(text);
  std::string line, comments;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      comments += line + "\n";
      continue;
    }
    command c{std::move(comments), line, {}};
    comments.clear();
    std::string sep;
    std::getline(in, sep);  // "----"
    while (std::getline(in, line) && !line.empty()) c.expected += line + "\n";
    out.push_back(std::move(c));
  }
  return out;
}

class script_runner {
 public:
  std::string run(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    std::vector<std::string> args;
    for (std::string a; in >> a;) args.push_back(a);
    auto num = [&](std::size_t i) { return static_cast<std::uint64_t>(std::stoull(args.at(i))); };
    if (cmd == "net") return make_net(args);
    raft_net& n = *net_;
    if (cmd == "campaign") n.node(num(0)).campaign();
    else if (cmd == "tick") n.tick(num(0), args.size() > 1 ? static_cast<int>(num(1)) : 1);
    else if (cmd == "propose") return result(n.node(num(0)).propose(args.at(1)));
    else if (cmd == "read") n.node(num(0)).read_index(args.at(1));
    else if (cmd == "transfer") {
      auto r = n.node(num(0)).transfer_leadership(nid(num(1)));
      if (!r) return std::string(to_string(r.error())) + "\n";
    } else if (cmd == "add-voter") return result(n.node(num(0)).propose_conf_change({conf_change::kind::add_voter, nid(num(1))}));
    else if (cmd == "add-learner") return result(n.node(num(0)).propose_conf_change({conf_change::kind::add_learner, nid(num(1))}));
    else if (cmd == "remove") return result(n.node(num(0)).propose_conf_change({conf_change::kind::remove, nid(num(1))}));
    else if (cmd == "stabilize") n.stabilize();
    else if (cmd == "deliver") {
      n.collect();
      const std::size_t count = n.queue().size();
      n.deliver_all();
      return std::to_string(count) + " messages\n";
    } else if (cmd == "drop") n.drop_queued();
    else if (cmd == "isolate") n.isolate(num(0));
    else if (cmd == "cut") n.cut(num(0), num(1));
    else if (cmd == "heal") n.heal();
    else if (cmd == "crash") n.crash(num(0));
    else if (cmd == "restart") n.start(num(0));
    else if (cmd == "compact") {
      const log_index applied = n.node(num(0)).log().applied();
      n.disk(num(0)).compact(applied, "snapshot-" + std::to_string(applied.value), n.node(num(0)).conf());
      return "compacted to " + std::to_string(applied.value) + "\n";
    } else if (cmd == "status") return status();
    else if (cmd == "log") return log(num(0));
    else if (cmd == "applied") return applied(num(0));
    else if (cmd == "reads") return reads(num(0));
    else return "unknown command " + cmd + "\n";
    return "ok\n";
  }

 private:
  std::string make_net(const std::vector<std::string>& args) {
    raft_config cfg = test_config();
    std::size_t n = 3, voters = 0;
    for (const auto& a : args) {
      const auto eq = a.find('=');
      const std::string key = a.substr(0, eq);
      const std::uint64_t v = std::stoull(a.substr(eq + 1));
      if (key == "n") n = v;
      else if (key == "voters") voters = v;
      else if (key == "prevote") cfg.pre_vote = v != 0;
      else if (key == "checkquorum") cfg.check_quorum = v != 0;
      else if (key == "chunk") cfg.snapshot_chunk_bytes = v;
      else if (key == "msgbytes") cfg.max_msg_bytes = v;
    }
    net_ = std::make_unique<raft_net>(n, cfg, voters);
    ids_.clear();
    for (std::uint64_t i = 1; i <= n; ++i) ids_.push_back(i);
    return "ok\n";
  }

  static std::string result(const std::expected<log_index, raft_errc>& r) {
    if (!r) return std::string(to_string(r.error())) + "\n";
    return "index " + std::to_string(r->value) + "\n";
  }

  static std::string ids(const std::vector<node_id>& v) {
    std::string out;
    for (auto id : v) out += (out.empty() ? "" : ",") + std::to_string(id.value());
    return "(" + out + ")";
  }

  std::string status() {
    std::string out;
    for (std::uint64_t id : ids_) {
      if (!net_->has(id)) {
        out += std::to_string(id) + ": down\n";
        continue;
      }
      const auto s = net_->node(id).status();
      out += std::to_string(id) + ": " + std::string(to_string(s.state)) + " term=" + std::to_string(s.term.value) +
             " leader=" + std::to_string(s.leader.value()) + " commit=" + std::to_string(s.commit.value) +
             " last=" + std::to_string(s.last_index.value) + " voters=" + ids(s.conf.voters) +
             (s.conf.learners.empty() ? "" : " learners=" + ids(s.conf.learners)) + "\n";
    }
    return out;
  }

  // A conf-change entry's bytes are a binary record; the script shows what they say.
  static std::string conf_text(const std::string& data) {
    auto cc = conf_change::decode(data);
    return cc ? to_string(*cc) : std::string(to_string(cc.error()));
  }

  std::string log(std::uint64_t id) {
    const auto& l = net_->node(id).log();
    auto entries = l.slice(l.first_index(), l.last_index().next(), ~0ULL);
    std::string out;
    for (const auto& e : *entries)
      out += std::to_string(e.index.value) + "/" + std::to_string(e.term.value) +
             (e.type == entry_type::conf_change ? " conf " + conf_text(e.data.str()) : " " + e.data.str()) + "\n";
    return out.empty() ? "empty\n" : out;
  }

  std::string applied(std::uint64_t id) {
    std::string out;
    for (const auto& d : net_->applied_data(id)) out += d + " ";
    return out.empty() ? "none\n" : out.substr(0, out.size() - 1) + "\n";
  }

  std::string reads(std::uint64_t id) {
    std::string out;
    for (const auto& r : net_->reads(id)) out += r.context + "@" + std::to_string(r.index.value) + "\n";
    return out.empty() ? "none\n" : out;
  }

  std::unique_ptr<raft_net> net_;
  std::vector<std::uint64_t> ids_;
};

TEST(RaftScripts, GoldenOutputs) {
  const std::filesystem::path dir = std::filesystem::path(CHRONIK_SOURCE_DIR) / "tests/sim/testdata";
  const bool rewrite = std::getenv("CHRONIK_REWRITE") != nullptr;
  std::size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() != ".txt") continue;
    ++files;
    std::ifstream in(f.path());
    std::stringstream buf;
    buf << in.rdbuf();
    script_runner runner;
    std::string rewritten;
    for (const auto& c : parse(buf.str())) {
      const std::string actual = runner.run(c.line);
      rewritten += c.comments + c.line + "\n----\n" + actual + "\n";
      if (!rewrite) {
        EXPECT_EQ(actual, c.expected) << f.path().filename() << ": " << c.line;
      }
    }
    if (rewrite) std::ofstream(f.path()) << rewritten;
  }
  EXPECT_GT(files, 0u);
}

}  // namespace
}  // namespace chronik::consensus::testing
