// The TOML node config (daemon/config.h load_node_config). See fuzz_entries.h for the contract.
#include <stdlib.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/config.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

constexpr std::string_view target = "config";

// One config file per process, on tmpfs when there is one, rewritten for every input.
class scratch_file {
 public:
  scratch_file() {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "chronik-config-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
    path = dir_ / "node.toml";
  }
  ~scratch_file() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path path;

 private:
  std::filesystem::path dir_;
};

std::string summary(const daemon::node_config& c) {
  std::string out = std::to_string(c.node_id.value()) + " " + c.gossip_addr() + " " + c.rpc_addr() + " " +
                    c.kafka_addr() + " " + c.admin_addr() + " " + c.data_dir.string();
  for (const std::string& s : c.seeds) out += " " + s;
  return out;
}

std::expected<daemon::node_config, std::string> load(const std::filesystem::path& path) {
  // Any exception leaving load_node_config is a bug: it promises errors as values.
  try {
    return daemon::load_node_config(path, {});
  } catch (const std::exception& e) {
    oracle_failed(target, std::string("exception escaped load_node_config: ") + e.what());
  }
}

}  // namespace

verdict config_run(const std::uint8_t* data, std::size_t size) {
  static scratch_file file;
  {
    std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto first = load(file.path);
  if (!first) {
    if (first.error().empty()) oracle_failed(target, "refused without a message");
    return verdict::refused;
  }
  auto second = load(file.path);
  if (!second || summary(*second) != summary(*first)) oracle_failed(target, "a second load differs");
  return verdict::accepted;
}

}  // namespace chronik::fuzz
