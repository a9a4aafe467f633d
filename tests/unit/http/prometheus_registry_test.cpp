#include <gtest/gtest.h>

#include <thread>

#include "adapters/http/metrics/prometheus_registry.hpp"

namespace aetherium::testing {
namespace {

TEST(prometheus_registry, renders_counters_gauges_and_cumulative_histograms) {
  auto r = http::make_prometheus_registry();
  r->get_counter("jobs_total", "Jobs.", {{"kind", "a\"b"}})->inc(2);
  r->get_gauge("queue_depth", "Depth.")->set(4.5);
  auto h = r->get_histogram("latency_seconds", "Latency.", {}, {0.1, 1});
  h->observe(0.05);
  h->observe(0.5);
  h->observe(5);
  auto text = r->render();
  for (auto* line : {"# HELP jobs_total Jobs.", "# TYPE jobs_total counter", "jobs_total{kind=\"a\\\"b\"} 2",
                     "# TYPE queue_depth gauge", "queue_depth 4.5", "# TYPE latency_seconds histogram",
                     "latency_seconds_bucket{le=\"0.1\"} 1", "latency_seconds_bucket{le=\"1\"} 2",
                     "latency_seconds_bucket{le=\"+Inf\"} 3", "latency_seconds_sum 5.55", "latency_seconds_count 3"})
    EXPECT_NE(text.find(std::string{line} + "\n"), std::string::npos) << line << "\n" << text;
}

TEST(prometheus_registry, the_same_name_and_labels_give_the_same_series) {
  auto r = http::make_prometheus_registry();
  r->get_counter("c", "C.", {{"x", "1"}})->inc();
  r->get_counter("c", "C.", {{"x", "1"}})->inc();
  r->get_counter("c", "C.", {{"x", "2"}})->inc(-5); // ignored: counters only go up
  auto text = r->render();
  EXPECT_NE(text.find("c{x=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("c{x=\"2\"} 0\n"), std::string::npos) << text;
  r->get_gauge("c", "clash")->set(9); // another kind under the same name is not rendered
  EXPECT_EQ(r->render(), text);
}

TEST(prometheus_registry, concurrent_updates_are_not_lost) {
  auto r = http::make_prometheus_registry();
  auto c = r->get_counter("n", "N.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        c->inc();
    });
  for (auto& t : threads)
    t.join();
  EXPECT_NE(r->render().find("n 40000\n"), std::string::npos);
}

} // namespace
} // namespace aetherium::testing
