#include "kafka/server/connection.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/ssl/error.hpp>
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

client_stream open_stream(asio::ip::tcp::socket socket, asio::ssl::context* tls) {
  if (tls != nullptr) return client_stream(std::move(socket), *tls);
  return client_stream(std::move(socket));
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, std::uint64_t id, const listener_spec& listener,
                       asio::ssl::context* tls, shared env, closed_fn on_closed)
    : stream_(open_stream(std::move(socket), tls)),
      handshake_timer_(stream_.socket().get_executor()),
      tls_failures_(env.tls_failures),
      cfg_(env.cfg),
      handler_(env.handler),
      budget_(env.budget),
      log_(std::move(env.log)),
      on_closed_(std::move(on_closed)),
      slow_auth_(env.slow_auth) {
  client_.connection_id = id;
  client_.peer = peer_of(stream_.socket());
  client_.listener = listener.name;
  client_.protocol = listener.protocol;
  if (uses_sasl(listener.protocol)) {
    sasl_pending_ = true;
    auth_ = handler_.new_authenticator(client_);
  }
}

void connection::start() {
  asio::error_code ec;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);  // answers are small and latency-bound
  if (stream_.tls()) {
    handshake();
    return;
  }
  read_size();
}

void connection::handshake() {
  handshaking_ = true;
  handshake_timer_.expires_after(std::chrono::milliseconds(cfg_.tls.handshake_timeout_ms));
  handshake_timer_.async_wait([weak = std::weak_ptr<connection>(shared_from_this())](asio::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_ || !self->handshaking_) return;
    self->on_handshake(asio::error::timed_out);
  });
  stream_.async_handshake([self = shared_from_this()](asio::error_code ec) { self->on_handshake(ec); });
}

void connection::on_handshake(asio::error_code ec) {
  if (closed_ || !handshaking_) return;
  handshaking_ = false;
  handshake_timer_.cancel();
  if (ec) {
    // Whatever the client sent (plaintext Kafka, HTTP, random bytes, a certificate the CA did
    // not sign) ends here. One line a second at most: a scanner must not flood the log.
    if (auto held = tls_failures_.allow(clock::now())) {
      log_->info("kafka: TLS handshake on listener {} from {} failed: {}; closing ({} similar lines suppressed)",
                 client_.listener, client_.peer, ec == asio::error::timed_out ? "timed out" : ec.message(), *held);
    }
    close();
    return;
  }
  last_activity_ = clock::now();
  if (auto cn = stream_.peer_common_name()) client_.principal = "User:" + *cn;
  read_size();
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  handshake_timer_.cancel();
  stream_.close();
  std::size_t requests = 0;
  for (const auto& s : slots_) requests += s.request_bytes;
  // frame_ holds the bytes arrived plus the chunk reserved for the outstanding read, which
  // completes with an error after this and touches nothing.
  budget_.forget(client_.connection_id, frame_.size(), requests);
  reserved_ = 0;
  budget_paused_ = false;
  frame_ = std::string();
  slots_.clear();
  if (on_closed_) on_closed_(client_.connection_id);
}

void connection::fail(const std::string& why) {
  if (closed_) return;
  log_->warn("kafka: closing connection {} from {}: {}", client_.connection_id, client_.peer, why);
  close();
}

void connection::read_size() {
  // frame_size_ != 0: a frame is half read and waits for budget; resume() goes on with it.
  if (closed_ || reading_ || handshaking_ || auth_busy_ || frame_size_ != 0 || close_after_seq_) return;
  // Backpressure: at the in-flight bound, stop reading until an answer leaves.
  if (slots_.size() >= cfg_.max_in_flight) return;
  reading_ = true;
  stream_.async_read_exact(asio::buffer(size_buf_), [self = shared_from_this()](asio::error_code ec, std::size_t) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) {
      // A client closing its side is the normal end of a connection.
      if (ec != asio::error::eof && ec != asio::error::connection_reset && ec != asio::ssl::error::stream_truncated) {
        self->log_->debug("kafka: connection {} read error: {}", self->client_.connection_id, ec.message());
      }
      self->close();
      return;
    }
    const std::uint32_t size = big_endian_u32(self->size_buf_);
    // The smallest request header (api key, version, correlation id, client id length) is 10 bytes;
    // a raw SASL token may be empty. Before SASL authentication frames are bounded tighter.
    const bool raw_token = self->sasl_pending_ && self->next_frame_ == frame_kind::sasl_token;
    const std::size_t least = raw_token ? 0 : 10;
    const std::size_t most = self->sasl_pending_ ? std::min(self->cfg_.max_request_bytes, max_unauthenticated_frame_bytes)
                                                 : self->cfg_.max_request_bytes;
    if (size < least || size > most) {
      self->fail("request size " + std::to_string(size) + " outside " + std::to_string(least) + ".." +
                 std::to_string(most) + (self->sasl_pending_ ? " before SASL authentication" : ""));
      return;
    }
    self->last_activity_ = clock::now();
    if (size == 0) {
      self->frame_complete();  // an empty token: nothing to read
      return;
    }
    self->frame_size_ = size;
    self->read_body();
  });
}

void connection::resume() {
  if (closed_ || !budget_paused_) return;
  budget_paused_ = false;
  read_body();
}

void connection::read_body() {
  if (closed_ || reading_) return;
  const std::size_t have = frame_.size();
  const std::size_t chunk = std::min(server_config::read_chunk_bytes, frame_size_ - have);
  if (!budget_.reserve(client_.connection_id, chunk)) {
    budget_paused_ = true;  // resume() comes once answers free room
    return;
  }
  reserved_ = chunk;
  // The buffer grows by what may arrive now, not by what the prefix announced: a client that
  // announces 100 MiB and sends nothing costs one chunk. std::string grows geometrically, so
  // the copies of a large frame add up to about its size. The new room is not zero-filled
  // (resize would): the read writes it and on_body trims what did not arrive. Over TLS a read
  // returns one record (at most 16 KiB), so zero-filling a 64 KiB chunk per read cost 4 bytes of
  // memset per byte received (docs/performance.md "Kafka over TLS and SASL").
  // (The size comes from the capture: GCC 12's resize_and_overwrite passes the grown capacity.)
  frame_.resize_and_overwrite(have + chunk, [size = have + chunk](char*, std::size_t) { return size; });
  reading_ = true;
  stream_.async_read_some(asio::buffer(frame_.data() + have, chunk),
                          [self = shared_from_this(), chunk](asio::error_code ec, std::size_t n) {
                            self->on_body(chunk, n, ec);
                          });
}

void connection::on_body(std::size_t reserved, std::size_t arrived, asio::error_code ec) {
  reading_ = false;
  if (closed_) return;  // close() gave the reservation back
  reserved_ = 0;
  frame_.resize(frame_.size() - reserved + arrived);
  budget_.settle(reserved, arrived);
  if (ec) {
    close();
    return;
  }
  last_activity_ = clock::now();
  if (frame_.size() < frame_size_) {
    read_body();
    return;
  }
  frame_complete();
}

void connection::frame_complete() {
  const std::uint64_t seq = next_seq_++;
  slots_.push_back({std::nullopt, frame_size_});
  budget_.complete(client_.connection_id, std::exchange(frame_size_, 0));
  if (sasl_pending_) {
    authenticate(seq, std::exchange(frame_, std::string()));
    read_size();
    return;
  }
  std::weak_ptr<connection> weak = shared_from_this();
  handler_.handle(client_, std::exchange(frame_, std::string()), [weak, seq](handler_reply reply) {
    if (auto c = weak.lock()) c->on_reply(seq, std::move(reply));
  });
  read_size();
}

void connection::authenticate(std::uint64_t seq, std::string frame) {
  if (!auth_) return fail("listener " + client_.listener + " requires SASL, which this node does not run");
  auth_decision d = auth_->on_frame(client_, next_frame_, frame);
  apply_auth(seq, std::move(d), std::move(frame));
}

void connection::apply_auth(std::uint64_t seq, auth_decision d, std::string frame) {
  if (d.what == auth_decision::action::defer) {
    assert(d.deferred && d.deferred->work && d.deferred->finish);
    return defer_auth(seq, std::move(*d.deferred));
  }
  next_frame_ = d.next;
  if (d.principal) {
    client_.principal = std::move(*d.principal);
    sasl_pending_ = false;
    auth_.reset();
    log_->debug("kafka: connection {} from {} authenticated as {}", client_.connection_id, client_.peer, client_.principal);
  }
  switch (d.what) {
    case auth_decision::action::defer: break;  // handled above
    case auth_decision::action::forward: {
      std::weak_ptr<connection> weak = shared_from_this();
      handler_.handle(client_, std::move(frame), [weak, seq](handler_reply reply) {
        if (auto c = weak.lock()) c->on_reply(seq, std::move(reply));
      });
      return;
    }
    case auth_decision::action::respond: return on_reply(seq, std::move(d.reply));
    case auth_decision::action::close:
      // Kafka answers a failed SASL step (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM)
      // and then closes; nothing after this frame is read.
      if (d.reply.what != handler_reply::kind::respond) return fail(d.reply.why);
      close_after_seq_ = seq;
      return on_reply(seq, std::move(d.reply));
  }
}

void connection::defer_auth(std::uint64_t seq, deferred_auth deferred) {
  assert(!auth_busy_);
  auth_busy_ = true;
  auto executor = stream_.socket().get_executor();
  std::function<void()> job = [self = shared_from_this(), executor, seq, work = std::move(deferred.work),
                               finish = std::move(deferred.finish)]() mutable {
    work();
    // The connection goes back with the result, so the worker never holds its last reference.
    asio::post(executor, [self = std::move(self), seq, finish = std::move(finish)] { self->on_auth_done(seq, finish); });
  };
  if (!slow_auth_.submit(job)) {
    auth_busy_ = false;
    fail("too many logins waiting on this node (auth worker queue full)");
  }
}

void connection::on_auth_done(std::uint64_t seq, const std::function<auth_decision()>& finish) {
  assert(auth_busy_);
  auth_busy_ = false;
  if (closed_) return;
  apply_auth(seq, finish(), {});
  read_size();
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
    const std::size_t request_bytes = slots_.front().request_bytes;
    slots_.pop_front();
    ++first_seq_;
    // The answer leaves (or there is none): the request's bytes no longer count. This may
    // resume other connections, which only start reads; nothing re-enters this loop.
    budget_.release_request(request_bytes);
    if (r.what != handler_reply::kind::respond) continue;
    // The size, the response header and the body's pieces go out as buffers of one gathering
    // write: a Fetch answer of megabytes is not copied again, neither to put a few bytes in
    // front of it nor to join the record batches it references.
    out_prefix_ = std::move(r.prefix);
    out_ = std::move(r.frame);
    put_size(out_size_, out_prefix_.size() + out_.size());
    writing_ = true;
    out_buffers_.clear();
    out_buffers_.reserve(2 + out_.pieces().size());
    out_buffers_.push_back(asio::buffer(out_size_));
    if (!out_prefix_.empty()) out_buffers_.push_back(asio::buffer(out_prefix_));
    for (const auto& p : out_.pieces()) out_buffers_.push_back(asio::buffer(p.view.data(), p.view.size()));
    if (stream_.tls()) {
      out_index_ = 0;
      out_offset_ = 0;
      write_tls_chunk();
    } else {
      stream_.async_write_all(out_buffers_, [self = shared_from_this()](asio::error_code ec, std::size_t) {
        self->on_written(ec);
      });
    }
    break;
  }
  read_size();  // a slot may have freed up
}

void connection::write_tls_chunk() {
  // A piece of at least a chunk goes out from where it lies; smaller ones are gathered by copy.
  const asio::const_buffer* next = &out_buffers_[out_index_];
  if (next->size() - out_offset_ >= tls_chunk_bytes) {
    const asio::const_buffer whole = *next + out_offset_;
    ++out_index_;
    out_offset_ = 0;
    stream_.async_write_all(whole, [self = shared_from_this()](asio::error_code ec, std::size_t) {
      if (!ec && !self->closed_ && self->out_index_ < self->out_buffers_.size()) return self->write_tls_chunk();
      self->on_written(ec);
    });
    return;
  }
  tls_chunk_.clear();
  while (out_index_ < out_buffers_.size() && tls_chunk_.size() < tls_chunk_bytes) {
    const asio::const_buffer& b = out_buffers_[out_index_];
    const std::size_t take = std::min(b.size() - out_offset_, tls_chunk_bytes - tls_chunk_.size());
    tls_chunk_.append(static_cast<const char*>(b.data()) + out_offset_, take);
    out_offset_ += take;
    if (out_offset_ == b.size()) {
      ++out_index_;
      out_offset_ = 0;
    }
  }
  stream_.async_write_all(asio::buffer(tls_chunk_), [self = shared_from_this()](asio::error_code ec, std::size_t) {
    if (!ec && !self->closed_ && self->out_index_ < self->out_buffers_.size()) return self->write_tls_chunk();
    self->on_written(ec);
  });
}

void connection::on_written(asio::error_code ec) {
  writing_ = false;
  out_ = byte_chain();  // lets go of shared record batches now, not at the next answer
  out_buffers_.clear();
  if (closed_) return;
  last_activity_ = clock::now();
  // The answer before a SASL failure's close has left (its slot was popped when it was written).
  if (ec || (close_after_seq_ && first_seq_ > *close_after_seq_)) {
    close();
    return;
  }
  flush();
}

}  // namespace chronik::kafka
