#include "adapters/http/metrics/prometheus_registry.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

namespace aetherium::http {

namespace {

void atomic_add(std::atomic<double>& a, double delta) {
  auto old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + delta, std::memory_order_relaxed))
    ;
}

std::string number(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v))
    return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

/// {a="x",b="y"} with the exposition format's escapes; "" without labels.
std::string label_text(const api::metric_labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty())
    return {};
  std::string out = "{";
  for (auto& [k, v] : labels) {
    out += (out.size() > 1 ? "," : "") + k + "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"')
        out += '\\', out += c;
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  if (!extra.empty())
    out += (out.size() > 1 ? "," : "") + extra;
  return out + "}";
}

class counter_impl : public api::counter_metric {
public:
  void inc(double delta) override {
    if (delta > 0)
      atomic_add(value_, delta);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

class gauge_impl : public api::gauge_metric {
public:
  void set(double v) override { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) override { atomic_add(value_, delta); }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

class histogram_impl : public api::histogram_metric {
public:
  explicit histogram_impl(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void observe(double v) override {
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    atomic_add(sum_, v);
  }

  void render(std::string& out, const std::string& name, const api::metric_labels& labels) const {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      auto le = i < bounds_.size() ? number(bounds_[i]) : std::string{"+Inf"};
      out += name + "_bucket" + label_text(labels, "le=\"" + le + "\"") + " " + std::to_string(cumulative) + "\n";
    }
    out += name + "_sum" + label_text(labels) + " " + number(sum_.load(std::memory_order_relaxed)) + "\n";
    out += name + "_count" + label_text(labels) + " " + std::to_string(cumulative) + "\n";
  }

private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> counts_;
  std::atomic<double> sum_{0};
};

enum class kind { counter, gauge, histogram };

struct series {
  api::metric_labels labels;
  std::shared_ptr<counter_impl> counter;
  std::shared_ptr<gauge_impl> gauge;
  std::shared_ptr<histogram_impl> histogram;
};

struct family {
  kind type;
  std::string help;
  std::map<std::string, series> members; ///< By label text.
};

const char* kind_name(kind k) {
  return k == kind::counter ? "counter" : k == kind::gauge ? "gauge" : "histogram";
}

class prometheus_registry : public api::metrics_registry {
public:
  std::shared_ptr<api::counter_metric> get_counter(const std::string& name, const std::string& help,
                                                   const api::metric_labels& labels) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto* s = find(name, help, labels, kind::counter);
    if (!s)
      return std::make_shared<counter_impl>();
    if (!s->counter)
      s->counter = std::make_shared<counter_impl>();
    return s->counter;
  }

  std::shared_ptr<api::gauge_metric> get_gauge(const std::string& name, const std::string& help,
                                               const api::metric_labels& labels) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto* s = find(name, help, labels, kind::gauge);
    if (!s)
      return std::make_shared<gauge_impl>();
    if (!s->gauge)
      s->gauge = std::make_shared<gauge_impl>();
    return s->gauge;
  }

  std::shared_ptr<api::histogram_metric> get_histogram(const std::string& name, const std::string& help,
                                                       const api::metric_labels& labels,
                                                       std::vector<double> bounds) override {
    if (bounds.empty())
      bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    std::lock_guard<std::mutex> guard{mtx_};
    auto* s = find(name, help, labels, kind::histogram);
    if (!s)
      return std::make_shared<histogram_impl>(std::move(bounds));
    if (!s->histogram)
      s->histogram = std::make_shared<histogram_impl>(std::move(bounds));
    return s->histogram;
  }

  std::string render() override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::string out;
    for (auto& [name, f] : families_) {
      out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + kind_name(f.type) + "\n";
      for (auto& [text, s] : f.members) {
        if (s.counter)
          out += name + text + " " + number(s.counter->value()) + "\n";
        else if (s.gauge)
          out += name + text + " " + number(s.gauge->value()) + "\n";
        else if (s.histogram)
          s.histogram->render(out, name, s.labels);
      }
    }
    return out;
  }

private:
  /// The series of `name` and `labels`, created when new; null when `name` has another kind.
  series* find(const std::string& name, const std::string& help, const api::metric_labels& labels, kind type) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      std::string one_line_help;
      for (char c : help)
        one_line_help += c == '\n' ? ' ' : c;
      it = families_.emplace(name, family{type, one_line_help, {}}).first;
    }
    if (it->second.type != type)
      return nullptr;
    auto& s = it->second.members[label_text(labels)];
    s.labels = labels;
    return &s;
  }

  std::mutex mtx_;
  std::map<std::string, family> families_;
};

} // namespace

std::shared_ptr<api::metrics_registry> make_prometheus_registry() {
  return std::make_shared<prometheus_registry>();
}

} // namespace aetherium::http
