#pragma once

// Internal to adapters/postgres.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pqxx/pqxx>

#include "events/append_planner.hpp"
#include "events/clock.hpp"
#include "events/event_store.hpp"

namespace aetherium::postgres {

/// Group commit: one thread drains every append waiting in its queue into one transaction
/// (one lock of the log head, one version lookup, one id lookup, one INSERT, one COMMIT),
/// then answers each caller. Appends of one caller keep their order.
class pg_appender {
public:
  pg_appender(std::string conninfo, std::shared_ptr<clock> clk, std::size_t max_batch_events);
  ~pg_appender();

  /// Queues a normalized request; `done` runs on the appender thread after commit.
  void submit(append_request request, event_store::append_callback done);

private:
  struct pending {
    append_request request;
    event_store::append_callback done;
  };
  using outcome = std::vector<result<append_result>>;

  void run();
  std::vector<pending> take_batch();
  outcome commit(const std::vector<pending>& batch);
  /// One attempt; `stale` tells that it failed on a connection opened before it (so a
  /// fresh one may succeed).
  outcome commit_once(const std::vector<pending>& batch, bool& stale);
  outcome commit_one_by_one(const std::vector<pending>& batch);
  outcome write(pqxx::nontransaction& tx, const std::vector<pending>& batch);

  std::string conninfo_;
  std::shared_ptr<clock> clock_;
  std::size_t max_batch_events_;
  std::unique_ptr<pqxx::connection> conn_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  std::size_t last_batch_requests_ = 0;
  long gather_us_ = 0; ///< Longest wait for callers of the last batch to come back.
  std::thread thread_;
};

} // namespace aetherium::postgres
