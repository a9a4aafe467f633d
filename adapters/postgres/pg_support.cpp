#include "adapters/postgres/pg_support.hpp"

#include <ctime>

namespace aetherium::postgres {

const char* const event_columns =
  "position, event_id::text, stream_id, stream_version, type, schema_version, payload::text, "
  "metadata->>'tenant', metadata->>'principal', metadata->>'correlation_id', "
  "metadata->>'causation_id', metadata->>'trace_id', "
  "(extract(epoch from recorded_at) * 1000000)::bigint, prev_hash, hash";

result<recorded_event> decode_event(const pqxx::row& row) {
  auto position = row[0].as<std::int64_t>(0);
  try {
    recorded_event e;
    e.position = position;
    e.id = event_id{row[1].as<std::string>()};
    e.stream = stream_id{row[2].as<std::string>()};
    e.stream_version = row[3].as<std::int64_t>();
    e.type = row[4].as<std::string>();
    e.schema_version = row[5].as<int>();
    e.payload = row[6].as<std::string>();
    e.metadata.tenant = row[7].as<std::string>("");
    e.metadata.principal = row[8].as<std::string>("");
    e.metadata.correlation_id = row[9].as<std::string>("");
    e.metadata.causation_id = row[10].as<std::string>("");
    e.metadata.trace_id = row[11].as<std::string>("");
    e.recorded_at_us = row[12].as<std::int64_t>();
    e.prev_hash = row[13].as<std::string>();
    e.hash = row[14].as<std::string>();
    return e;
  } catch (const std::exception& ex) {
    return make_error(errc::corrupt, "event at position " + std::to_string(position)
                                       + " cannot be decoded: " + ex.what());
  }
}

std::string text_array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string timestamp_literal(std::int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  auto frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%06lld+00", buf, static_cast<long long>(frac));
  return out;
}

error translate(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e))
    return make_error(errc::unavailable, std::string{"database unreachable: "} + e.what());
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e))
    return make_error(errc::unavailable,
                      std::string{"commit outcome unknown, retry with the same event ids: "} + e.what());
  if (auto sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    auto state = sql->sqlstate();
    if (state == "23505" || state == "40001" || state == "40P01" || state.rfind("AE", 0) == 0)
      return make_error(errc::conflict, sql->what());
    if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0)
      return make_error(errc::invalid_argument, sql->what());
    if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0 || state == "53300")
      return make_error(errc::unavailable, sql->what());
  }
  return make_error(errc::internal, e.what());
}

connection_pool::connection_pool(std::string conninfo, std::size_t size)
  : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size) {}

connection_pool::lease::~lease() {
  if (pool_)
    pool_->give_back(std::move(conn_));
}

connection_pool::lease connection_pool::acquire() {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait(lock, [this] { return !idle_.empty() || out_ < size_; });
  ++out_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return lease{this, std::move(conn)};
  }
  lock.unlock();
  try {
    return lease{this, std::make_unique<pqxx::connection>(conninfo_)};
  } catch (...) {
    give_back(nullptr);
    throw;
  }
}

void connection_pool::give_back(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard<std::mutex> guard{mtx_};
  --out_;
  if (conn && conn->is_open())
    idle_.push_back(std::move(conn));
  cv_.notify_one();
}

} // namespace aetherium::postgres
