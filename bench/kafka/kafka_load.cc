// Load generator for bench/kafka/kafka_bench.py (issue 5 "Benchmark"): speaks the Kafka protocol
// with our own codec (kafka/protocol) and etcd's v3 HTTP gateway, one blocking connection per
// worker thread and one request in flight per connection, and prints one JSON line of figures.
//
//   kafka_load produce --broker IP:PORT --topic T --partitions P --record-bytes B
//                      --records-per-request R --concurrency C --seconds S [--rate REQ_PER_S]
//                      [--idempotent 1]  each worker an idempotent producer (KIP-98): its own
//                                        InitProducerId, and its producer id, epoch and sequence
//                                        numbers in every batch
//   kafka_load txn     --broker IP:PORT --topic T --partitions P --record-bytes B
//                      --records-per-request R --concurrency C --seconds S
//                                        each worker a transactional producer (KIP-98) writing
//                                        one partition: AddPartitionsToTxn, one Produce of a
//                                        transactional batch of R records, EndTxn(commit), one
//                                        transaction after the other; latencies per transaction
//   kafka_load consume --broker IP:PORT --topic T --partitions P --seconds S
//                      [--fetch-max-bytes B] [--partition-max-bytes B]   (Kafka's defaults:
//                                        50 MiB and 1 MiB) reads from offset 0 to the high
//                                        watermark, one connection per leader broker
//   kafka_load commit  --broker IP:PORT --topic T --partitions P --groups G --seconds S
//                                        one connection per group to its coordinator (found with
//                                        FindCoordinator), committing one offset per OffsetCommit
//                                        (v2, outside group membership) as fast as answers come
//   kafka_load coordinator --broker IP:PORT --group G   prints {"coordinator": "IP:PORT"}
//   kafka_load etcd    --endpoint IP:PORT --value-bytes B --concurrency C --seconds S
//   kafka_load login   --broker IP:PORT --concurrency C --seconds S
//                                        each worker connects, logs in (TLS, SASL), sends one
//                                        ApiVersions and closes, again and again: logins/s
//                                        (requests_per_s) and connect-to-answer latency
//   kafka_load loopback --seconds S      one TCP stream over 127.0.0.1, 1 MiB writes: the
//                                        loopback bandwidth consume is compared with
//
// Every Kafka mode also takes a client's security settings (kafka_conn.h), as librdkafka's
// security.protocol, ssl.ca.location, sasl.mechanisms, sasl.username and sasl.password:
//   --security-protocol PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL  --ca CA.pem
//   --sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512  --sasl-username U  --sasl-password P
// produce makes and logs in every connection before its clock starts.
//
// Latencies are per request, send to answer. --rate paces the whole run (for "p50/p99 at half of
// peak"); without it every worker sends as fast as answers come back.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <httplib.h>

#include "base/crc32c.h"
#include "bench/kafka/kafka_conn.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/add_partitions_to_txn.h"
#include "kafka/protocol/messages/end_txn.h"
#include "kafka/protocol/messages/fetch.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/init_producer_id.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/messages/offset_commit.h"
#include "kafka/protocol/messages/produce.h"
#include "kafka/protocol/record_batch.h"

namespace {

using namespace chronik::kafka;
using chronik::crc32c;
using chronik::crc32c_extend;
using clock_type = std::chrono::steady_clock;
using chronik::bench::kafka_conn;

struct options {
  std::string mode, broker, topic, endpoint, group;
  int partitions = 1, record_bytes = 1024, records_per_request = 1, concurrency = 1, value_bytes = 1024;
  std::int32_t fetch_max_bytes = 50 << 20, partition_max_bytes = 1 << 20;  // Kafka consumer defaults
  double seconds = 5, rate = 0;
  bool idempotent = false;
  chronik::bench::client_security security;  // every Kafka connection's TLS and SASL settings
};

// Partition -> leader's Kafka address, from a Metadata v1 request.
std::map<int, std::string> leaders(const options& o) {
  kafka_conn c(o.broker, o.security);
  metadata_request req;
  req.topics = std::vector<metadata_request_topic>{{.name = o.topic}};
  writer w;
  encode_metadata_request(req, 1, w);
  reader r(c.call(api_key::metadata, 1, w.take()));
  auto resp = decode_metadata_response(r, 1);
  if (!resp) throw std::runtime_error("bad metadata response");
  std::map<int, std::string> addr_of, out;
  for (const auto& b : resp->brokers) addr_of[b.node_id] = b.host + ":" + std::to_string(b.port);
  for (const auto& t : resp->topics)
    for (const auto& p : t.partitions)
      if (p.leader_id >= 0) out[p.partition_index] = addr_of[p.leader_id];
  return out;
}

void put_varint(std::string& out, std::int64_t v) {
  std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<char>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
}

// A magic-v2 batch of `count` records of `bytes` each (no key, no headers).
std::string make_batch(int count, int bytes, std::int16_t attributes = 0) {
  std::string payload;
  const std::string value(static_cast<std::size_t>(bytes), 'x');
  for (int i = 0; i < count; ++i) {
    std::string rec;
    rec.push_back(0);       // attributes
    put_varint(rec, 0);     // timestamp delta
    put_varint(rec, i);     // offset delta
    put_varint(rec, -1);    // null key
    put_varint(rec, bytes);
    rec += value;
    put_varint(rec, 0);     // headers
    put_varint(payload, static_cast<std::int64_t>(rec.size()));
    payload += rec;
  }
  record_batch_header h;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  h.attributes = attributes;
  h.last_offset_delta = count - 1;
  h.base_timestamp = now;
  h.max_timestamp = now;
  h.records_count = count;
  return build_record_batch(h, payload);
}

// An idempotent producer's request (KIP-98): the encoded Produce body of one batch whose producer
// id, epoch and base sequence change from request to request. The CRC covers them, but only the
// 40 header bytes after the CRC change, so the new CRC is the CRC of those bytes carried past the
// fixed records (a linear map over 32-bit values, tabulated once) combined with the records' own
// CRC, as zlib's crc32_combine does. A pass over the 256 KiB batch per request would add load
// generator work the plain row does not have, on the 2 cores the brokers use.
class sequenced_body {
 public:
  sequenced_body(std::string body, std::string_view batch) : body_(std::move(body)) {
    const auto at = body_.rfind(batch);
    if (at == std::string::npos) throw std::runtime_error("batch not found in the produce body");
    batch_at_ = at;
    const std::string_view records = batch.substr(record_batch_header_size);
    records_crc_ = crc32c(records);
    // carry_[b]: the CRC register holding only bit b, after the records' length of zero bytes.
    // Over zero bytes the register update is linear, so any register is the XOR of its bits' images.
    const std::string zeros(records.size(), '\0');
    for (int b = 0; b < 32; ++b)
      carry_[static_cast<std::size_t>(b)] = ~crc32c_extend(~(std::uint32_t{1} << b), zeros.data(), zeros.size());
  }

  // The body for `producer_id`/`epoch` with base sequence `sequence`; checked against a full CRC
  // pass on the first call, so a wrong combination stops the bench instead of drawing errors.
  const std::string& at(std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence) {
    put(43, static_cast<std::uint64_t>(producer_id), 8);
    put(51, static_cast<std::uint16_t>(epoch), 2);
    put(53, static_cast<std::uint32_t>(sequence), 4);
    const std::string_view head = std::string_view(body_).substr(batch_at_ + record_batch_attributes_offset,
                                                                 record_batch_header_size - record_batch_attributes_offset);
    std::uint32_t crc = records_crc_;
    const std::uint32_t head_crc = crc32c(head);
    for (std::size_t b = 0; b < 32; ++b)
      if ((head_crc >> b) & 1u) crc ^= carry_[b];
    put(record_batch_crc_offset, crc, 4);
    if (!checked_) {
      const auto size = parse_record_batch_header(std::string_view(body_).substr(batch_at_))->size_bytes();
      if (compute_record_batch_crc(std::string_view(body_).substr(batch_at_, size)) != crc)
        throw std::runtime_error("combined batch CRC differs from a full pass");
      checked_ = true;
    }
    return body_;
  }

 private:
  void put(std::size_t field, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      body_[batch_at_ + field + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
  }

  std::string body_;
  std::size_t batch_at_ = 0;
  std::uint32_t records_crc_ = 0;
  std::array<std::uint32_t, 32> carry_{};
  bool checked_ = false;
};

// A fresh producer id and epoch for an idempotent producer (no transactional id), asked on `c`.
std::pair<std::int64_t, std::int16_t> init_producer_id(kafka_conn& c) {
  writer w;
  encode_init_producer_id_request({}, 1, w);
  reader r(c.call(api_key::init_producer_id, 1, w.take()));
  auto resp = decode_init_producer_id_response(r, 1);
  if (!resp || resp->error != error_code::none) throw std::runtime_error("InitProducerId failed");
  return {resp->producer_id, resp->producer_epoch};
}

struct stats {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::uint64_t requests = 0, records = 0, bytes = 0, errors = 0;
  std::atomic<std::uint64_t> reconnects{0};  // produce: connections remade after NOT_LEADER_OR_FOLLOWER
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Paces the run at `rate` requests per second over all workers (0: unpaced).
class pacer {
 public:
  explicit pacer(double rate) : rate_(rate), start_(clock_type::now()) {}
  void wait() {
    if (rate_ <= 0) return;
    const auto n = next_.fetch_add(1);
    std::this_thread::sleep_until(start_ + std::chrono::duration<double>(static_cast<double>(n) / rate_));
  }

 private:
  double rate_;
  clock_type::time_point start_;
  std::atomic<std::uint64_t> next_{0};
};

void run_workers(const options& o, stats& st, const std::function<void(int worker, const clock_type::time_point& end)>& fn) {
  const auto end = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int w = 0; w < o.concurrency; ++w) threads.emplace_back([&, w] { fn(w, end); });
  for (auto& t : threads) t.join();
  (void)st;
}

void print(const char* mode, const options& o, stats& st, double elapsed) {
  std::printf(
      "{\"mode\":\"%s\",\"concurrency\":%d,\"seconds\":%.3f,\"requests_per_s\":%.1f,\"records_per_s\":%.1f,"
      "\"mb_per_s\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%llu,\"reconnects\":%llu}\n",
      mode, o.concurrency, elapsed, static_cast<double>(st.requests) / elapsed, static_cast<double>(st.records) / elapsed,
      static_cast<double>(st.bytes) / elapsed / 1e6, percentile(st.latencies_ms, 0.5), percentile(st.latencies_ms, 0.99),
      static_cast<unsigned long long>(st.errors), static_cast<unsigned long long>(st.reconnects.load()));
}

int produce(const options& o) {
  const auto leader_of = leaders(o);
  if (static_cast<int>(leader_of.size()) < o.partitions) {
    std::fprintf(stderr, "not every partition has a leader\n");
    return 1;
  }
  // Every worker's connection is made (TLS handshake and SASL login included) before the clock
  // starts: the figure is steady-state produce, not connection setup.
  std::vector<std::unique_ptr<kafka_conn>> conns;
  for (int w = 0; w < o.concurrency; ++w) conns.push_back(std::make_unique<kafka_conn>(leader_of.at(w % o.partitions), o.security));
  stats st;
  pacer pace(o.rate);
  const auto start = clock_type::now();
  run_workers(o, st, [&](int w, const clock_type::time_point& end) {
    const int partition = w % o.partitions;
    auto& conn = conns[static_cast<std::size_t>(w)];
    const std::string batch = make_batch(o.records_per_request, o.record_bytes);
    produce_request req;
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topics.push_back({o.topic, {{partition, batch}}});
    writer w0;
    encode_produce_request(req, 7, w0);
    const std::string body = w0.take();
    // Idempotent: this worker is one producer writing one partition with one request in flight,
    // so its sequence only moves on once the previous batch is acknowledged (or was a duplicate).
    std::optional<sequenced_body> sequenced;
    std::pair<std::int64_t, std::int16_t> producer{-1, -1};
    std::int32_t sequence = 0;
    if (o.idempotent) {
      sequenced.emplace(body, batch);
      producer = init_producer_id(*conn);
    }
    std::vector<double> lat;
    std::uint64_t n = 0, acked = 0, errors = 0;
    while (clock_type::now() < end) {
      pace.wait();
      const std::string& out = sequenced ? sequenced->at(producer.first, producer.second, sequence) : body;
      const auto t0 = clock_type::now();
      reader r(conn->call(api_key::produce, 7, out));
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      auto resp = decode_produce_response(r, 7);
      const error_code e = !resp || resp->topics.empty() || resp->topics[0].partitions.empty()
                               ? error_code::unknown_server_error
                               : resp->topics[0].partitions[0].error;
      if (e == error_code::none || e == error_code::duplicate_sequence_number)
        sequence += o.records_per_request;
      if (e == error_code::none) ++acked;
      else ++errors;
      ++n;
      // The partition moved (an election on a busy machine): find its leader and connect there,
      // as a client does, instead of knocking at the old one for the rest of the run.
      if (e == error_code::not_leader_or_follower) {
        const auto now_leader_of = leaders(o);
        if (auto l = now_leader_of.find(partition); l != now_leader_of.end()) {
          conn = std::make_unique<kafka_conn>(l->second, o.security);
          ++st.reconnects;
        }
      }
    }
    std::lock_guard lock(st.mu);
    st.requests += n;
    st.errors += errors;
    // Only acknowledged records count as throughput.
    st.records += acked * static_cast<std::uint64_t>(o.records_per_request);
    st.bytes += acked * static_cast<std::uint64_t>(o.records_per_request) * static_cast<std::uint64_t>(o.record_bytes);
    st.latencies_ms.insert(st.latencies_ms.end(), lat.begin(), lat.end());
  });
  print(o.idempotent ? "produce-idempotent" : "produce", o, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

// Reads the topic from the start to the high watermark as a Kafka consumer does: one connection
// per leader broker, each fetch asking for all of that broker's partitions with Kafka's client
// defaults (fetch.max.bytes 50 MiB, max.partition.fetch.bytes 1 MiB, fetch.max.wait.ms 500,
// fetch.min.bytes 1), one fetch in flight per broker. Every answer is decoded in its receive
// buffer, records referenced rather than copied (as librdkafka hands them on), and its batch
// headers walked for the next offset; CRCs are not checked (librdkafka's check.crcs default).
int consume(const options& o) {
  const auto leader_of = leaders(o);
  std::map<std::string, std::vector<int>> by_broker;
  for (int p = 0; p < o.partitions; ++p) {
    if (!leader_of.contains(p)) {
      std::fprintf(stderr, "partition %d has no leader\n", p);
      return 1;
    }
    by_broker[leader_of.at(p)].push_back(p);
  }
  std::vector<std::pair<std::string, std::vector<int>>> brokers(by_broker.begin(), by_broker.end());
  stats st;
  options one = o;
  one.concurrency = static_cast<int>(brokers.size());
  const auto start = clock_type::now();
  run_workers(one, st, [&](int worker, const clock_type::time_point& end) {
    const auto& [addr, partitions] = brokers[static_cast<std::size_t>(worker)];
    kafka_conn c(addr, o.security);
    std::map<int, std::int64_t> offset;  // partitions not yet read to their high watermark
    for (int p : partitions) offset[p] = 0;
    std::uint64_t bytes = 0, n = 0, records = 0;
    while (!offset.empty() && clock_type::now() < end) {
      fetch_request req;
      req.max_wait_ms = 500;
      req.min_bytes = 1;
      req.max_bytes = o.fetch_max_bytes;
      fetch_topic t{.topic = o.topic};
      for (const auto& [p, at] : offset) t.partitions.push_back({p, -1, at, -1, -1, o.partition_max_bytes});
      req.topics.push_back(std::move(t));
      writer w;
      encode_fetch_request(req, 11, w);
      reader r(c.call(api_key::fetch, 11, w.take()));
      auto resp = decode_fetch_response(r, 11);
      ++n;
      if (!resp) throw std::runtime_error("bad fetch response");
      for (const auto& tr : resp->topics) {
        for (const auto& p : tr.partitions) {
          auto it = offset.find(p.partition_index);
          if (it == offset.end() || p.error != error_code::none) continue;
          const auto view = p.records ? p.records->contiguous() : std::optional<std::string_view>();
          if (view && !view->empty()) {
            bytes += view->size();
            auto batches = split_record_batches(*view, crc_check::skip, trailing_partial::ignore);
            if (batches && !batches->empty()) {
              for (const auto& b : *batches) records += static_cast<std::uint64_t>(b.header.records_count);
              it->second = batches->back().header.last_offset() + 1;
            }
          }
          // Done at the high watermark this very answer reports: one more fetch would only
          // long-poll for max_wait_ms and time the wait, not the reading.
          if (it->second >= p.high_watermark) offset.erase(it);
        }
      }
    }
    std::lock_guard lock(st.mu);
    st.bytes += bytes;
    st.records += records;
    st.requests += n;
  });
  print("consume", one, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

int etcd(const options& o) {
  stats st;
  pacer pace(o.rate);
  const auto colon = o.endpoint.rfind(':');
  const std::string host = o.endpoint.substr(0, colon);
  const int port = std::stoi(o.endpoint.substr(colon + 1));
  // The v3 gateway takes base64 keys and values; a value of 'x's encodes to a run of "eHh4".
  std::string value_b64;
  for (int i = 0; i < o.value_bytes / 3; ++i) value_b64 += "eHh4";
  const auto start = clock_type::now();
  run_workers(o, st, [&](int w, const clock_type::time_point& end) {
    httplib::Client cli(host, port);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);  // else Nagle and delayed ACKs add 40 ms to every put
    std::vector<double> lat;
    std::uint64_t n = 0, errors = 0;
    while (clock_type::now() < end) {
      pace.wait();
      const std::string body = "{\"key\":\"" + std::string(w % 2 ? "a2V5MQ==" : "a2V5Mg==") + "\",\"value\":\"" + value_b64 + "\"}";
      const auto t0 = clock_type::now();
      auto res = cli.Post("/v3/kv/put", body, "application/json");
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      if (!res || res->status != 200) ++errors;
      ++n;
    }
    std::lock_guard lock(st.mu);
    st.requests += n;
    st.records += n;
    st.errors += errors;
    st.latencies_ms.insert(st.latencies_ms.end(), lat.begin(), lat.end());
  });
  print("etcd", o, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

// Connects, logs in (TLS handshake and SASL exchange as --security-protocol says) and closes, as
// fast as the broker lets it, from --concurrency threads: what a reconnect storm costs the broker.
// The connection's first request after the login (ApiVersions, as every client sends) proves it
// is served. Latency: connect to answered ApiVersions.
int login(const options& o) {
  stats st;
  const auto start = clock_type::now();
  run_workers(o, st, [&](int, const clock_type::time_point& end) {
    std::vector<double> lat;
    std::uint64_t n = 0, errors = 0;
    while (clock_type::now() < end) {
      const auto t0 = clock_type::now();
      try {
        kafka_conn c(o.broker, o.security);
        reader r(c.call(api_key::api_versions, 0, std::string()));
        ++n;
      } catch (const std::exception&) {
        ++errors;
      }
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
    std::lock_guard lock(st.mu);
    st.requests += n;
    st.errors += errors;
    st.latencies_ms.insert(st.latencies_ms.end(), lat.begin(), lat.end());
  });
  print("login", o, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

int loopback(const options& o) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  std::uint64_t received = 0;
  std::thread reader([&] {
    asio::ip::tcp::socket s(io);
    acceptor.accept(s);
    std::vector<char> buf(1 << 20);
    asio::error_code ec;
    while (!ec) received += s.read_some(asio::buffer(buf), ec);
  });
  asio::io_context cio;
  asio::ip::tcp::socket s(cio);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const std::vector<char> block(1 << 20, 'x');
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  while (clock_type::now() < end) asio::write(s, asio::buffer(block));
  s.close();
  reader.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("{\"mode\":\"loopback\",\"mb_per_s\":%.2f}\n", static_cast<double>(received) / elapsed / 1e6);
  return 0;
}

std::optional<options> parse(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--broker") o.broker = v;
    else if (k == "--topic") o.topic = v;
    else if (k == "--endpoint") o.endpoint = v;
    else if (k == "--partitions") o.partitions = std::stoi(v);
    else if (k == "--group") o.group = v;
    else if (k == "--record-bytes") o.record_bytes = std::stoi(v);
    else if (k == "--records-per-request") o.records_per_request = std::stoi(v);
    else if (k == "--concurrency" || k == "--groups") o.concurrency = std::stoi(v);
    else if (k == "--value-bytes") o.value_bytes = std::stoi(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--rate") o.rate = std::stod(v);
    else if (k == "--idempotent") o.idempotent = v == "1";
    else if (k == "--fetch-max-bytes") o.fetch_max_bytes = std::stoi(v);
    else if (k == "--partition-max-bytes") o.partition_max_bytes = std::stoi(v);
    else if (k == "--security-protocol") o.security.protocol = v;
    else if (k == "--ca") o.security.ca_file = v;
    else if (k == "--sasl-mechanism") o.security.sasl_mechanism = v;
    else if (k == "--sasl-username") o.security.sasl_username = v;
    else if (k == "--sasl-password") o.security.sasl_password = v;
    else return std::nullopt;
  }
  return o;
}

// The coordinator's Kafka address for `key` (a group, or with key_type 1 a transactional id), asked
// of `broker` until it answers one (the first FindCoordinator of a kind creates `__consumer_offsets`
// or `__transaction_state`, whose partitions then elect leaders), at most 30 s.
std::string coordinator_of(const options& o, const std::string& broker, const std::string& group,
                           std::int8_t key_type = 0) {
  kafka_conn c(broker, o.security);
  find_coordinator_request req;
  req.key = group;
  req.key_type = key_type;
  writer w;
  encode_find_coordinator_request(req, 1, w);
  const std::string body = w.take();
  const auto deadline = clock_type::now() + std::chrono::seconds(30);
  while (clock_type::now() < deadline) {
    reader r(c.call(api_key::find_coordinator, 1, body));
    auto resp = decode_find_coordinator_response(r, 1);
    if (resp && resp->error == error_code::none) return resp->host + ":" + std::to_string(resp->port);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("no coordinator for " + group + " within 30 s");
}

int commit(const options& o) {
  stats st;
  // Coordinators first, so the run measures commits, not the offsets topic's creation.
  std::vector<std::string> coordinator(static_cast<std::size_t>(o.concurrency));
  for (int g = 0; g < o.concurrency; ++g) coordinator[static_cast<std::size_t>(g)] = coordinator_of(o, o.broker, "bench-group-" + std::to_string(g));
  const auto start = clock_type::now();
  run_workers(o, st, [&](int g, const clock_type::time_point& end) {
    kafka_conn c(coordinator[static_cast<std::size_t>(g)], o.security);
    offset_commit_request req;
    req.group_id = "bench-group-" + std::to_string(g);
    req.topics.push_back({o.topic, {{g % o.partitions, 0, -1, -1, std::string()}}});
    std::vector<double> lat;
    std::uint64_t n = 0, errors = 0;
    while (clock_type::now() < end) {
      req.topics[0].partitions[0].committed_offset = static_cast<std::int64_t>(n);
      writer w;
      encode_offset_commit_request(req, 2, w);
      const auto t0 = clock_type::now();
      reader r(c.call(api_key::offset_commit, 2, w.take()));
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      auto resp = decode_offset_commit_response(r, 2);
      if (!resp || resp->topics.empty() || resp->topics[0].partitions.empty() ||
          resp->topics[0].partitions[0].error != error_code::none)
        ++errors;
      ++n;
    }
    std::lock_guard lock(st.mu);
    st.requests += n;
    st.records += n;
    st.errors += errors;
    st.latencies_ms.insert(st.latencies_ms.end(), lat.begin(), lat.end());
  });
  print("commit", o, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

// A coordinator request `call` (its error code), again while the coordinator answers that an
// earlier transition is still completing (CONCURRENT_TRANSACTIONS: the previous transaction's
// markers are being written; clients retry it after a short backoff, as here) or that it is
// loading, for at most 10 s.
error_code until_settled(const std::function<error_code()>& call) {
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  error_code e = call();
  while ((e == error_code::concurrent_transactions || e == error_code::coordinator_load_in_progress) &&
         clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    e = call();
  }
  return e;
}

int transactional(const options& o) {
  const auto leader_of = leaders(o);
  if (static_cast<int>(leader_of.size()) < o.partitions) {
    std::fprintf(stderr, "not every partition has a leader\n");
    return 1;
  }
  // Coordinators first, so the run measures transactions, not `__transaction_state`'s creation.
  std::vector<std::string> ids, coordinator;
  for (int w = 0; w < o.concurrency; ++w) {
    ids.push_back("kafka_load-" + std::to_string(::getpid()) + "-" + std::to_string(w));
    coordinator.push_back(coordinator_of(o, o.broker, ids.back(), 1));
  }
  stats st;
  const auto start = clock_type::now();
  run_workers(o, st, [&](int w, const clock_type::time_point& end) {
    const int partition = w % o.partitions;
    const std::string& id = ids[static_cast<std::size_t>(w)];
    kafka_conn coord(coordinator[static_cast<std::size_t>(w)], o.security);
    kafka_conn data(leader_of.at(partition), o.security);
    init_producer_id_response producer;
    const error_code init = until_settled([&] {
      init_producer_id_request req;
      req.transactional_id = id;
      req.transaction_timeout_ms = 60'000;
      writer wr;
      encode_init_producer_id_request(req, 1, wr);
      reader r(coord.call(api_key::init_producer_id, 1, wr.take()));
      auto resp = decode_init_producer_id_response(r, 1);
      if (!resp) return error_code::unknown_server_error;
      producer = *resp;
      return resp->error;
    });
    if (init != error_code::none) throw std::runtime_error("InitProducerId for " + id + " failed");
    const std::string batch = make_batch(o.records_per_request, o.record_bytes, 0x10);  // transactional
    produce_request preq;
    preq.transactional_id = id;
    preq.acks = -1;
    preq.timeout_ms = 30000;
    preq.topics.push_back({o.topic, {{partition, batch}}});
    writer w0;
    encode_produce_request(preq, 7, w0);
    sequenced_body sequenced(w0.take(), batch);
    add_partitions_to_txn_request add;
    add.transactional_id = id;
    add.producer_id = producer.producer_id;
    add.producer_epoch = producer.producer_epoch;
    add.topics.push_back({o.topic, {partition}});
    writer wa;
    encode_add_partitions_to_txn_request(add, 1, wa);
    const std::string add_body = wa.take();
    end_txn_request commit;
    commit.transactional_id = id;
    commit.producer_id = producer.producer_id;
    commit.producer_epoch = producer.producer_epoch;
    std::vector<double> lat;
    std::uint64_t n = 0, errors = 0;
    std::int32_t sequence = 0;
    while (clock_type::now() < end) {
      const auto t0 = clock_type::now();
      const error_code added = until_settled([&] {
        reader r(coord.call(api_key::add_partitions_to_txn, 1, add_body));
        auto resp = decode_add_partitions_to_txn_response(r, 1);
        return !resp || resp->results.empty() || resp->results[0].results.empty()
                   ? error_code::unknown_server_error
                   : resp->results[0].results[0].error;
      });
      error_code written = error_code::unknown_server_error;
      if (added == error_code::none) {
        reader r(data.call(api_key::produce, 7, sequenced.at(producer.producer_id, producer.producer_epoch, sequence)));
        auto resp = decode_produce_response(r, 7);
        written = !resp || resp->topics.empty() || resp->topics[0].partitions.empty()
                      ? error_code::unknown_server_error
                      : resp->topics[0].partitions[0].error;
        if (written == error_code::none) sequence += o.records_per_request;
      }
      // A transaction whose write failed is aborted, as a client must.
      commit.committed = written == error_code::none;
      const error_code ended = until_settled([&] {
        writer we;
        encode_end_txn_request(commit, 1, we);
        reader r(coord.call(api_key::end_txn, 1, we.take()));
        auto resp = decode_end_txn_response(r, 1);
        return resp ? resp->error : error_code::unknown_server_error;
      });
      lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      if (commit.committed && ended == error_code::none) {
        ++n;
      } else {
        ++errors;
        if (added != error_code::none && added != error_code::concurrent_transactions) break;
      }
    }
    std::lock_guard lock(st.mu);
    st.requests += n;
    st.errors += errors;
    st.records += n * static_cast<std::uint64_t>(o.records_per_request);
    st.bytes += n * static_cast<std::uint64_t>(o.records_per_request) * static_cast<std::uint64_t>(o.record_bytes);
    st.latencies_ms.insert(st.latencies_ms.end(), lat.begin(), lat.end());
  });
  print("txn", o, st, std::chrono::duration<double>(clock_type::now() - start).count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    std::fprintf(stderr, "usage: kafka_load produce|txn|consume|commit|login|etcd|loopback --key value ... (see the header comment)\n");
    return 2;
  }
  try {
    if (o->mode == "produce") return produce(*o);
    if (o->mode == "consume") return consume(*o);
    if (o->mode == "commit") return commit(*o);
    if (o->mode == "txn") return transactional(*o);
    if (o->mode == "coordinator") {
      std::printf("{\"coordinator\":\"%s\"}\n", coordinator_of(*o, o->broker, o->group).c_str());
      return 0;
    }
    if (o->mode == "etcd") return etcd(*o);
    if (o->mode == "loopback") return loopback(*o);
    if (o->mode == "login") return login(*o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kafka_load: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "unknown mode %s\n", o->mode.c_str());
  return 2;
}
