#include "adapters/postgres/pg_appender.hpp"

#include <unordered_set>

#include "adapters/postgres/pg_support.hpp"
#include "events/hash_chain.hpp"

namespace aetherium::postgres {

namespace {

/// What the database already holds for the streams and ids of one batch; the batch's own
/// writes are added as it is planned so later requests in it see earlier ones.
struct batch_view {
  std::unordered_map<std::string, std::int64_t> versions;
  std::unordered_map<std::string, stored_event_ref> ids;
  std::int64_t head_position = 0;
  std::string head_hash;
};

// Opens the transaction, takes the head lock and reads what the batch needs in one round
// trip. Each statement of a multi-statement query gets its own snapshot, so the reads after
// the lock see every commit made before it.
batch_view load_view(pqxx::nontransaction& tx, const std::vector<append_request*>& requests) {
  std::vector<std::string> streams, ids;
  std::unordered_set<std::string> seen;
  for (auto* r : requests) {
    if (seen.insert(r->stream.str()).second)
      streams.push_back(r->stream.str());
    for (auto& e : r->events)
      ids.push_back(e.id.str());
  }
  auto rows = tx.exec(
    "BEGIN; SELECT 1 FROM event_log_head FOR UPDATE; "
    "SELECT 0, last_position, last_hash, NULL::text, NULL::bigint FROM event_log_head "
    // LATERAL lookups keep to the indexes even before the table has statistics.
    "UNION ALL SELECT 1, v.m, s.id, NULL, NULL FROM unnest(" + tx.quote(text_array_literal(streams))
    + "::text[]) s(id) CROSS JOIN LATERAL (SELECT max(stream_version) m FROM events "
    "WHERE stream_id = s.id) v WHERE v.m IS NOT NULL "
    "UNION ALL SELECT 2, e.stream_version, e.stream_id, e.event_id::text, e.position FROM unnest("
    + tx.quote(text_array_literal(ids)) + "::uuid[]) u(id) CROSS JOIN LATERAL (SELECT stream_version, "
    "stream_id, event_id, position FROM events WHERE event_id = u.id) e");
  batch_view view;
  for (auto row : rows) {
    switch (row[0].as<int>()) {
      case 0:
        view.head_position = row[1].as<std::int64_t>();
        view.head_hash = row[2].as<std::string>();
        break;
      case 1:
        view.versions[row[2].as<std::string>()] = row[1].as<std::int64_t>();
        break;
      default:
        view.ids[row[3].as<std::string>()] = stored_event_ref{
          stream_id{row[2].as<std::string>()}, row[1].as<std::int64_t>(), row[4].as<std::int64_t>()};
    }
  }
  return view;
}

void append_values(pqxx::nontransaction& tx, std::string& sql, const recorded_event& e) {
  sql += sql.back() == ')' ? ",(" : "(";
  sql += std::to_string(e.position) + ',' + tx.quote(e.id.str()) + ',' + tx.quote(e.stream.str())
         + ',' + std::to_string(e.stream_version) + ',' + tx.quote(e.type) + ','
         + std::to_string(e.schema_version) + ',' + tx.quote(e.payload) + ','
         + tx.quote(metadata_json(e.metadata)) + ',' + tx.quote(timestamp_literal(e.recorded_at_us))
         + ',' + tx.quote(e.prev_hash) + ',' + tx.quote(e.hash) + ')';
}

} // namespace

pg_appender::pg_appender(std::string conninfo, std::shared_ptr<clock> clk,
                         std::size_t max_batch_events)
  : conninfo_(std::move(conninfo)), clock_(std::move(clk)), max_batch_events_(max_batch_events) {
  thread_ = std::thread{[this] { run(); }};
}

pg_appender::~pg_appender() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void pg_appender::submit(append_request request, event_store::append_callback done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      queue_.push_back({std::move(request), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(make_error(errc::unavailable, "the event store is shutting down"));
}

std::vector<pg_appender::pending> pg_appender::take_batch() {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  // The callers answered by the previous batch are likely to come back at once: give them
  // a moment (bounded by one commit's worth of time) so they share the next transaction.
  auto expected = std::min<std::size_t>(last_batch_requests_, 512);
  if (expected > 1)
    cv_.wait_for(lock, std::chrono::microseconds(gather_us_),
                 [&] { return stopping_ || queue_.size() >= expected; });
  std::vector<pending> batch;
  std::size_t events = 0;
  while (!queue_.empty() && (batch.empty() || events + queue_.front().request.events.size() <= max_batch_events_)) {
    events += queue_.front().request.events.size();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  last_batch_requests_ = batch.size();
  return batch;
}

void pg_appender::run() {
  for (;;) {
    auto batch = take_batch();
    if (batch.empty())
      return; // stopping and drained
    auto results = commit(batch);
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].done(std::move(results[i]));
  }
}

pg_appender::outcome pg_appender::commit(const std::vector<pending>& batch) {
  // A connection the server dropped (a restart, an idle timeout) fails the first statement:
  // the batch is sent once more on a fresh connection. Even when the first attempt did
  // commit, the second finds its event ids and answers them as duplicates.
  bool stale = false;
  auto first = commit_once(batch, stale);
  return stale ? commit_once(batch, stale) : first;
}

pg_appender::outcome pg_appender::commit_once(const std::vector<pending>& batch, bool& stale) {
  bool reused = conn_ != nullptr;
  stale = false;
  try {
    if (!conn_ || !conn_->is_open()) {
      conn_ = std::make_unique<pqxx::connection>(conninfo_);
      conn_->set_variable("application_name", "'aetherium-appender'");
    }
    // Explicit BEGIN/COMMIT inside two multi-statement round trips instead of six.
    pqxx::nontransaction tx{*conn_};
    try {
      return write(tx, batch);
    } catch (const pqxx::sql_error&) {
      tx.exec("ROLLBACK");
      throw;
    }
  } catch (const pqxx::broken_connection& e) {
    stale = reused;
    conn_.reset();
    return outcome(batch.size(), translate(e));
  } catch (const pqxx::in_doubt_error& e) {
    stale = reused;
    conn_.reset();
    return outcome(batch.size(), translate(e));
  } catch (const pqxx::sql_error& e) {
    // One bad request must not fail the others waiting with it.
    if (batch.size() > 1)
      return commit_one_by_one(batch);
    return outcome(1, translate(e));
  } catch (const std::exception& e) {
    conn_.reset();
    return outcome(batch.size(), translate(e));
  }
}

pg_appender::outcome pg_appender::commit_one_by_one(const std::vector<pending>& batch) {
  outcome results;
  for (auto& p : batch) {
    std::vector<pending> single;
    single.push_back({p.request, nullptr});
    results.push_back(std::move(commit(single).front()));
  }
  return results;
}

pg_appender::outcome pg_appender::write(pqxx::nontransaction& tx, const std::vector<pending>& batch) {
  std::vector<append_request*> requests;
  for (auto& p : batch)
    requests.push_back(const_cast<append_request*>(&p.request));
  auto view = load_view(tx, requests);
  auto now = clock_->now_us();
  std::string sql = "INSERT INTO events (position, event_id, stream_id, stream_version, type, "
                    "schema_version, payload, metadata, recorded_at, prev_hash, hash) VALUES ";
  bool any = false;
  outcome results;
  for (auto* req : requests) {
    std::vector<std::optional<stored_event_ref>> existing;
    for (auto& e : req->events) {
      auto it = view.ids.find(e.id.str());
      existing.push_back(it == view.ids.end() ? std::nullopt : std::optional{it->second});
    }
    auto& version = view.versions[req->stream.str()];
    auto plan = plan_append(*req, version, existing);
    if (!plan || plan->duplicate) {
      results.push_back(plan ? result<append_result>{plan->existing} : plan.err());
      continue;
    }
    auto sealed = seal(*req, *plan, view.head_position + 1, view.head_hash, now);
    for (auto& e : sealed) {
      append_values(tx, sql, e);
      view.ids[e.id.str()] = stored_event_ref{e.stream, e.stream_version, e.position};
    }
    view.head_position = sealed.back().position;
    view.head_hash = sealed.back().hash;
    version = sealed.back().stream_version;
    results.push_back(append_result{sealed.front().position, sealed.back().position, version, false});
    any = true;
  }
  tx.exec(any ? sql + "; COMMIT" : std::string{"COMMIT"});
  return results;
}

} // namespace aetherium::postgres
