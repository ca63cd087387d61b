#include "daemon/node_identity.h"

#include "daemon/durable_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

namespace chronik::daemon {

namespace {

constexpr std::string_view file_name = "node_uuid";
constexpr char hex_digits[] = "0123456789abcdef";

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::expected<void, std::string> write_atomically(const std::filesystem::path& dir,
                                                  std::string_view contents) {
  auto r = write_file_durably(dir, file_name, contents);
  if (!r) return std::unexpected("node_uuid: " + r.error());
  return {};
}

std::expected<node_uuid, std::string> read_existing(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("node_uuid: cannot read " + path.string());
  // Read a little more than a valid file holds so that trailing garbage is noticed.
  std::string text(64, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  std::string_view body = text;
  if (body.ends_with('\n')) body.remove_suffix(1);
  auto uuid = node_uuid::from_hex(body);
  if (!uuid) {
    return std::unexpected("node_uuid: " + path.string() +
                           " is corrupt (expected 32 hex characters); it is left untouched: restore it, "
                           "or delete it only if this data directory should join as a new node");
  }
  return *uuid;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(hex_digits[b >> 4]);
    out.push_back(hex_digits[b & 0x0f]);
  }
  return out;
}

std::string node_uuid::hex() const { return to_hex(raw()); }

std::string node_uuid::raw() const { return std::string(bytes.begin(), bytes.end()); }

std::optional<node_uuid> node_uuid::from_hex(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  node_uuid id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return id;
}

std::expected<node_uuid, std::string> node_uuid::random() {
  node_uuid id;
  std::size_t filled = 0;
  // getrandom blocks only until the kernel pool is first seeded; bounded retries cover EINTR.
  for (int attempt = 0; attempt < 16 && filled < id.bytes.size(); ++attempt) {
    const ssize_t n = ::getrandom(id.bytes.data() + filled, id.bytes.size() - filled, 0);
    if (n < 0 && errno != EINTR) return std::unexpected("node_uuid: getrandom failed: " + errno_text(errno));
    if (n > 0) filled += static_cast<std::size_t>(n);
  }
  if (filled < id.bytes.size()) return std::unexpected("node_uuid: getrandom returned too few bytes");
  return id;
}

std::expected<node_uuid, std::string> load_or_create_node_uuid(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return std::unexpected("node_uuid: cannot create data_dir " + data_dir.string() + ": " + ec.message());
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return std::unexpected("node_uuid: data_dir " + data_dir.string() + " is not a directory");
  }
  const auto path = data_dir / file_name;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return read_existing(path);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return std::unexpected("node_uuid: cannot stat " + path.string() + ": " + ec.message());
  }

  auto id = node_uuid::random();
  if (!id) return id;
  if (auto w = write_atomically(data_dir, id->hex() + "\n"); !w) return std::unexpected(w.error());
  return id;
}

std::expected<data_dir_lock, std::string> data_dir_lock::acquire(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return std::unexpected("data_dir: cannot create " + data_dir.string() + ": " + ec.message());
  const auto path = data_dir / "lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected("data_dir: cannot open " + path.string() + ": " + errno_text(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return std::unexpected("data_dir: " + data_dir.string() + " is in use by another chronik-server");
    }
    return std::unexpected("data_dir: cannot lock " + path.string() + ": " + errno_text(err));
  }
  return data_dir_lock(fd);
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace chronik::daemon
