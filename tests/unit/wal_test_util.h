// Helpers shared by the WAL tests: a scratch directory, entry builders, and a printable dump of
// everything a wal holds, so "recovered the same state" is one string comparison.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "consensus/storage/wal.h"

namespace chronik::consensus::testing {

class scratch_dir {
 public:
  scratch_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chronik-wal-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? std::filesystem::path(tmpl) : std::filesystem::path();
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path raft() const { return path_ / "raft"; }

 private:
  std::filesystem::path path_;
};

inline entry make_entry(std::uint64_t index, std::uint64_t term, std::string data) {
  return entry{term_id{term}, log_index{index}, entry_type::normal, std::move(data)};
}

// `count` entries from `first`, payload naming group, index and term so mix-ups show.
inline std::vector<entry> make_entries(std::uint64_t group, std::uint64_t first, std::size_t count,
                                       std::uint64_t term, std::size_t pad = 0) {
  std::vector<entry> out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t idx = first + i;
    out.push_back(make_entry(idx, term,
                             "g" + std::to_string(group) + "i" + std::to_string(idx) + "t" +
                                 std::to_string(term) + std::string(pad, 'x')));
  }
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string segment_path_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return "wal-" + std::string(16 - digits.size(), '0') + digits + ".log";
}

// Every group's hard state, bounds, snapshot point and entries, as text.
inline std::string dump(const wal& w) {
  std::string out;
  for (group_id g : w.groups()) {
    auto r = w.reader(g);
    const hard_state hs = r->initial_hard_state();
    out += "group " + std::to_string(g.value) + " hs " + std::to_string(hs.term.value) + "/" +
           std::to_string(hs.vote.value()) + "/" + std::to_string(hs.commit.value) + " first " +
           std::to_string(r->first_index().value) + " last " +
           std::to_string(r->last_index().value);
    auto t = r->term(r->first_index().prev());
    out += " prevterm " + (t ? std::to_string(t->value) : std::string("?")) + "\n";
    if (r->last_index() >= r->first_index()) {
      auto es = r->entries(r->first_index(), r->last_index().next(), UINT64_MAX);
      if (!es) {
        out += "  read error\n";
        continue;
      }
      for (const entry& e : *es) {
        out += "  " + std::to_string(e.index.value) + "@" + std::to_string(e.term.value) + " " +
               e.data.str() + "\n";
      }
    }
  }
  return out;
}

}  // namespace chronik::consensus::testing
