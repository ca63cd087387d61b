#include "tests/fuzz/wal_recovery_fuzz_entry.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/crc32c.h"
#include "consensus/storage/wal.h"

namespace chronik::consensus::fuzz {
namespace {

// One scratch directory per process, on tmpfs when there is one: fsync there costs nothing.
class scratch {
 public:
  scratch() {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                  : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "chronik-wal-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
};

std::uint32_t load_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void fix_crcs(std::string& s) {
  std::size_t at = 0;
  while (at + 8 <= s.size()) {
    const std::uint32_t length = load_u32(s, at);
    if (length > s.size() - at - 8) return;
    const std::uint32_t crc = crc32c(s.data() + at + 8, length);
    for (int i = 0; i < 4; ++i) s[at + 4 + i] = static_cast<char>(crc >> (8 * i));
    at += 8 + length;
  }
}

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "wal_recovery_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Everything observable through the public API, as text.
std::string observe(const wal& w) {
  std::string out;
  for (group_id g : w.groups()) {
    auto r = w.reader(g);
    const hard_state hs = r->initial_hard_state();
    out += std::to_string(g.value) + ":" + std::to_string(hs.term.value) + "/" +
           std::to_string(hs.vote.value()) + "/" + std::to_string(hs.commit.value) + " [" +
           std::to_string(r->first_index().value) + "," + std::to_string(r->last_index().value) +
           "]";
    if (!r->term(r->first_index().prev())) fail("term", "no term for the compaction point");
    if (r->last_index() >= r->first_index()) {
      auto es = r->entries(r->first_index(), r->last_index().next(), 1u << 20);
      if (!es || es->empty()) fail("entries", "live entries cannot be read");
      for (const entry& e : *es) out += " " + std::to_string(e.term.value) + ":" + e.data.str();
    }
    out += "\n";
  }
  return out;
}

}  // namespace

int wal_recovery_one(const std::uint8_t* data, std::size_t size) {
  wal_recovery_run(data, size);
  return 0;
}

outcome wal_recovery_run(const std::uint8_t* data, std::size_t size) {
  static scratch s;
  if (size == 0) return outcome::empty;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1u) fix_crcs(bytes);

  const auto raft = s.dir / "raft";
  std::error_code ec;
  std::filesystem::remove_all(raft, ec);
  std::filesystem::create_directories(raft, ec);
  {
    std::ofstream out(raft / "wal-0000000000000001.log", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  wal_options options;
  options.segment_bytes = 4096;
  options.max_record_bytes = 1u << 20;
  std::string before;
  bool appended = false;
  {
    auto w = wal::open(s.dir, options);
    if (!w) return outcome::refused;  // an error, not a crash: fine
    const std::string seen = observe(**w);
    auto r = (*w)->reader(group_id{1});
    const term_id t = r->term(r->last_index()).value_or(term_id{});
    const log_index next = r->last_index().next();
    const group_write more{group_id{1}, std::nullopt,
                           {entry{t, next, entry_type::normal, "fuzz"}}, std::nullopt};
    if (auto a = (*w)->append_batch(std::span(&more, 1));
        !a && a.error().code != storage_errc::invalid_argument) {
      fail("append after recovery", a.error().text);
    } else {
      appended = a.has_value();
    }
    before = observe(**w);
    if (before.size() < seen.size()) fail("append", "state shrank");
  }
  auto again = wal::open(s.dir, options);
  if (!again) fail("reopen after append", again.error().text);
  if (observe(**again) != before) fail("reopen", "state differs from before the restart");
  return appended ? outcome::appended : outcome::opened;
}

}  // namespace chronik::consensus::fuzz
