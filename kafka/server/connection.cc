#include "kafka/server/connection.h"

#include <utility>
#include <vector>

#include <asio/read.hpp>
#include <asio/write.hpp>

namespace chronik::kafka {
namespace {

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

void put_size(std::uint8_t (&out)[4], std::size_t size) {
  const auto n = static_cast<std::uint32_t>(size);
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
}

std::string peer_of(const asio::ip::tcp::socket& s) {
  asio::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, std::uint64_t id, const server_config& cfg,
                       request_handler& handler, std::shared_ptr<spdlog::logger> log, closed_fn on_closed)
    : socket_(std::move(socket)), cfg_(cfg), handler_(handler), log_(std::move(log)), on_closed_(std::move(on_closed)) {
  client_.connection_id = id;
  client_.peer = peer_of(socket_);
}

void connection::start() {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // answers are small and latency-bound
  read_size();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  slots_.clear();
  if (on_closed_) on_closed_(client_.connection_id);
}

void connection::fail(const std::string& why) {
  if (closed_) return;
  log_->warn("kafka: closing connection {} from {}: {}", client_.connection_id, client_.peer, why);
  close();
}

void connection::read_size() {
  if (closed_ || reading_) return;
  // Backpressure: at the in-flight bound, stop reading until an answer leaves.
  if (slots_.size() >= cfg_.max_in_flight) return;
  reading_ = true;
  asio::async_read(socket_, asio::buffer(size_buf_), [self = shared_from_this()](asio::error_code ec, std::size_t) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) {
      // A client closing its side is the normal end of a connection.
      if (ec != asio::error::eof && ec != asio::error::connection_reset) {
        self->log_->debug("kafka: connection {} read error: {}", self->client_.connection_id, ec.message());
      }
      self->close();
      return;
    }
    const std::uint32_t size = big_endian_u32(self->size_buf_);
    // The smallest request header (api key, version, correlation id, client id length) is 10 bytes.
    if (size < 10 || size > self->cfg_.max_request_bytes) {
      self->fail("request size " + std::to_string(size) + " outside 10.." + std::to_string(self->cfg_.max_request_bytes));
      return;
    }
    self->read_frame(size);
  });
}

void connection::read_frame(std::uint32_t size) {
  frame_.assign(size, '\0');
  reading_ = true;
  asio::async_read(socket_, asio::buffer(frame_), [self = shared_from_this()](asio::error_code ec, std::size_t) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) {
      self->close();
      return;
    }
    const std::uint64_t seq = self->next_seq_++;
    self->slots_.push_back({});
    std::weak_ptr<connection> weak = self;
    self->handler_.handle(self->client_, std::move(self->frame_), [weak, seq](handler_reply reply) {
      if (auto c = weak.lock()) c->on_reply(seq, std::move(reply));
    });
    self->read_size();
  });
}

void connection::on_reply(std::uint64_t seq, handler_reply reply) {
  if (closed_ || seq < first_seq_ || seq >= first_seq_ + slots_.size()) return;
  auto& s = slots_[seq - first_seq_];
  if (s.reply) return;  // answered twice: the first answer stands
  if (reply.what == handler_reply::kind::close) {
    fail(reply.why);
    return;
  }
  s.reply = std::move(reply);
  flush();
}

void connection::flush() {
  if (closed_ || writing_) return;
  // Drop answered slots without a response; write the first answered response.
  while (!slots_.empty() && slots_.front().reply) {
    handler_reply r = std::move(*slots_.front().reply);
    slots_.pop_front();
    ++first_seq_;
    if (r.what != handler_reply::kind::respond) continue;
    // The size, the response header and the body's pieces go out as buffers of one gathering
    // write: a Fetch answer of megabytes is not copied again, neither to put a few bytes in
    // front of it nor to join the record batches it references.
    out_prefix_ = std::move(r.prefix);
    out_ = std::move(r.frame);
    put_size(out_size_, out_prefix_.size() + out_.size());
    writing_ = true;
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(2 + out_.pieces().size());
    buffers.push_back(asio::buffer(out_size_));
    if (!out_prefix_.empty()) buffers.push_back(asio::buffer(out_prefix_));
    for (const auto& p : out_.pieces()) buffers.push_back(asio::buffer(p.view.data(), p.view.size()));
    asio::async_write(socket_, buffers, [self = shared_from_this()](asio::error_code ec, std::size_t) {
      self->writing_ = false;
      self->out_ = byte_chain();  // lets go of shared record batches now, not at the next answer
      if (self->closed_) return;
      if (ec) {
        self->close();
        return;
      }
      self->flush();
    });
    break;
  }
  read_size();  // a slot may have freed up
}

}  // namespace chronik::kafka
