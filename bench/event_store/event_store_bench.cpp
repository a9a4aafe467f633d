// Append and replay rates of the PostgreSQL event store, each beside a floor measured in
// the same run on the same server: raw multi-row INSERT, COPY in, COPY out.
//
//   bench_event_store "<admin conninfo>" [events per figure, default 20000]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "bench/bench_support.hpp"

#include "events/clock.hpp"

using namespace aetherium;
using bench::clock_type;
using bench::fresh_database;
using bench::seconds_since;

namespace {

const std::string payload = R"({"prompt": "add a test for the parser", "repo": "acme/widgets", "n": 42})";

const char* floor_table = "CREATE TABLE floor_events (position bigint PRIMARY KEY, event_id uuid UNIQUE, "
                          "stream_id text, stream_version bigint, type text, schema_version int, "
                          "payload jsonb, metadata jsonb, recorded_at timestamptz, prev_hash text, hash text, "
                          "UNIQUE (stream_id, stream_version))";

std::string row_values(pqxx::work& tx, long i, id_generator& ids) {
  return "(" + std::to_string(i) + ",'" + ids.next_uuid() + "','task-" + std::to_string(i % 1000) + "',"
         + std::to_string(i / 1000 + 1) + ",'task.requested',1," + tx.quote(payload)
         + ",'{\"tenant\": \"acme\"}',now(),'" + std::string(64, 'a') + "','" + std::string(64, 'b') + "')";
}

double insert_floor(const std::string& url, long n) {
  pqxx::connection conn{url};
  { pqxx::work tx{conn}; tx.exec0(floor_table); tx.commit(); }
  auto ids = make_random_id_generator();
  auto start = clock_type::now();
  for (long i = 0; i < n; i += 100) {
    pqxx::work tx{conn};
    std::string sql = "INSERT INTO floor_events VALUES ";
    for (long j = i; j < i + 100; ++j)
      sql += (j == i ? "" : ",") + row_values(tx, j, *ids);
    tx.exec0(sql);
    tx.commit();
  }
  return n / seconds_since(start);
}

double copy_in_floor(const std::string& url, long n) {
  pqxx::connection conn{url};
  { pqxx::work tx{conn}; tx.exec0("DROP TABLE floor_events"); tx.exec0(floor_table); tx.commit(); }
  auto ids = make_random_id_generator();
  auto start = clock_type::now();
  for (long i = 0; i < n; i += 10000) {
    pqxx::work tx{conn};
    pqxx::stream_to copy{tx, "floor_events"};
    for (long j = i; j < i + 10000 && j < n; ++j)
      copy << std::make_tuple(j, ids->next_uuid(), "task-" + std::to_string(j % 1000), j / 1000 + 1,
                              "task.requested", 1, payload, "{\"tenant\": \"acme\"}",
                              "2026-01-01 00:00:00+00", std::string(64, 'a'), std::string(64, 'b'));
    copy.complete();
    tx.commit();
  }
  return n / seconds_since(start);
}

double copy_out_floor(const std::string& url) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  auto start = clock_type::now();
  long rows = 0;
  pqxx::stream_from copy{tx, "events"};
  std::tuple<long, std::string, std::string, long, std::string, int, std::string, std::string,
             std::string, std::string, std::string> row;
  while (copy >> row)
    ++rows;
  copy.complete();
  return rows / seconds_since(start);
}

/// `callers` appends in flight at all times, as actors issue them: a completion hands the
/// caller back to two driver threads (standing in for the actor scheduler's threads),
/// which issue its next append. No thread per caller, no work on the store's thread.
double adapter_appends(event_store& store, int callers, long n) {
  std::mutex mtx;
  std::condition_variable cv;
  long ready = callers, done = 0;
  auto start = clock_type::now();
  auto drive = [&] {
    auto ids = make_random_id_generator();
    std::unique_lock<std::mutex> lock{mtx};
    for (;;) {
      cv.wait(lock, [&] { return ready > 0 || done >= n; });
      if (done >= n)
        return;
      --ready;
      lock.unlock();
      store.append_async({stream_id{"task-" + ids->next_uuid()}, expected_version::no_stream(),
                          {{event_id{ids->next_uuid()}, "task.requested", 1, payload, {"acme"}}}},
                         [&](result<append_result> res) {
                           if (!res.ok()) {
                             std::fprintf(stderr, "append failed: %s\n", res.err().detail.c_str());
                             std::exit(1);
                           }
                           std::lock_guard<std::mutex> guard{mtx};
                           ++done;
                           if (done + callers <= n)
                             ++ready;
                           cv.notify_all();
                         });
      lock.lock();
    }
  };
  std::thread a{drive}, b{drive};
  a.join();
  b.join();
  return n / seconds_since(start);
}

double adapter_replay(event_store& store) {
  auto start = clock_type::now();
  long rows = 0, after = 0;
  for (;;) {
    auto page = store.read_all(after, 10000);
    if (!page.ok() || page->empty())
      break;
    rows += static_cast<long>(page->size());
    after = page->back().position;
  }
  return rows / seconds_since(start);
}

void line(const char* what, double value, double floor, const char* floor_name) {
  std::printf("%-34s %10.0f /s   floor %-22s %10.0f /s   ratio %5.1f%%\n", what, value, floor_name,
              floor, 100.0 * value / floor);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_event_store '<admin conninfo>' [events]\n");
    return 2;
  }
  std::string admin = argv[1];
  long n = argc > 2 ? std::atol(argv[2]) : 20000;
  auto url = fresh_database(admin, "aetherium_bench");
  auto store = bench::open_store(url);
  std::printf("events per figure: %ld, payload %zu bytes, fsync on\n", n, payload.size());
  double insert = insert_floor(url, n);
  double copy_in = copy_in_floor(url, n);
  std::printf("%-34s %10.0f /s\n%-34s %10.0f /s\n", "floor: multi-row INSERT (100/tx)", insert,
              "floor: COPY in (10000/tx)", copy_in);
  for (int callers : {1, 8, 64}) {
    auto what = "append, " + std::to_string(callers) + " caller(s) in flight";
    line(what.c_str(), adapter_appends(*store, callers, callers == 1 ? n / 4 : n), insert,
         "multi-row INSERT");
  }
  double replay = adapter_replay(*store);
  double copy_out = copy_out_floor(url);
  line("replay: read_all pages of 10000", replay, copy_out, "COPY out");
  return 0;
}
