#include "events/api/memory_task_log.hpp"

#include <map>
#include <mutex>

namespace aetherium::api {

namespace {

struct follower {
  task_log::chunk_handler on_chunk;
  task_log::end_handler on_end;
  bool stopped = false;
};

struct entry {
  std::vector<log_chunk> chunks;
  std::uint64_t size = 0;
  bool closed = false;
  bool truncated = false;
  std::map<std::uint64_t, std::shared_ptr<follower>> followers;
};

/// The tail of `c` from `from` on (all of it when `from` is at or before its start).
log_chunk tail(const log_chunk& c, std::uint64_t from) {
  if (from <= c.offset)
    return c;
  auto skip = static_cast<std::size_t>(from - c.offset);
  return log_chunk{from, c.stream, c.text.substr(skip)};
}

class memory_task_log : public task_log, public std::enable_shared_from_this<memory_task_log> {
public:
  explicit memory_task_log(std::uint64_t max) : max_(max) {}

  result<void> append(const task_id& task, std::string_view stream, std::string_view text) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    auto& e = entries_[task.str()];
    if (e.closed)
      return make_error(errc::invalid_transition, "the log of task " + task.str() + " is closed");
    if (e.truncated || text.empty())
      return {};
    if (e.size + text.size() > max_) {
      add(e, stream, text.substr(0, static_cast<std::size_t>(max_ - e.size)));
      add(e, "system", "[log truncated: the limit of " + std::to_string(max_) + " bytes was reached]\n");
      e.truncated = true;
      return {};
    }
    add(e, stream, text);
    return {};
  }

  void close(const task_id& task) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    auto& e = entries_[task.str()];
    if (e.closed)
      return;
    e.closed = true;
    auto followers = std::move(e.followers);
    for (auto& [id, f] : followers)
      if (!f->stopped && f->on_end)
        f->on_end();
  }

  std::vector<log_chunk> read(const task_id& task, std::uint64_t from, std::size_t max_bytes) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    std::vector<log_chunk> out;
    std::size_t bytes = 0;
    for (auto& c : entries_[task.str()].chunks) {
      if (c.offset + c.text.size() <= from)
        continue;
      if (!out.empty() && bytes + c.text.size() > max_bytes)
        break;
      out.push_back(tail(c, from));
      bytes += out.back().text.size();
    }
    return out;
  }

  std::unique_ptr<subscription> follow(const task_id& task, std::uint64_t from, chunk_handler on_chunk,
                                       end_handler on_end) override;

  void unfollow(const std::string& task, std::uint64_t id, const std::shared_ptr<follower>& f) {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    f->stopped = true;
    entries_[task].followers.erase(id);
  }

private:
  void add(entry& e, std::string_view stream, std::string_view text) {
    log_chunk c{e.size, std::string{stream}, std::string{text}};
    e.size += text.size();
    e.chunks.push_back(c);
    auto followers = e.followers;
    for (auto& [id, f] : followers)
      if (!f->stopped)
        f->on_chunk(c);
  }

  std::uint64_t max_;
  std::recursive_mutex mtx_;
  std::map<std::string, entry> entries_;
  std::uint64_t next_id_ = 0;
};

class memory_follow : public subscription {
public:
  memory_follow(std::weak_ptr<memory_task_log> log, std::string task, std::uint64_t id, std::shared_ptr<follower> f)
    : log_(std::move(log)), task_(std::move(task)), id_(id), follower_(std::move(f)) {}
  ~memory_follow() override { stop(); }

  void stop() override {
    if (auto log = log_.lock())
      log->unfollow(task_, id_, follower_);
    log_.reset();
  }

private:
  std::weak_ptr<memory_task_log> log_;
  std::string task_;
  std::uint64_t id_;
  std::shared_ptr<follower> follower_;
};

std::unique_ptr<subscription> memory_task_log::follow(const task_id& task, std::uint64_t from,
                                                      chunk_handler on_chunk, end_handler on_end) {
  std::lock_guard<std::recursive_mutex> guard{mtx_};
  auto& e = entries_[task.str()];
  auto f = std::make_shared<follower>(follower{std::move(on_chunk), std::move(on_end)});
  auto id = ++next_id_;
  auto handle = std::make_unique<memory_follow>(weak_from_this(), task.str(), id, f);
  auto history = e.chunks;
  for (auto& c : history)
    if (c.offset + c.text.size() > from && !f->stopped)
      f->on_chunk(tail(c, from));
  if (f->stopped)
    return handle;
  if (e.closed) {
    if (f->on_end)
      f->on_end();
  } else {
    e.followers.emplace(id, f);
  }
  return handle;
}

} // namespace

std::shared_ptr<task_log> make_memory_task_log(std::uint64_t max_bytes_per_task) {
  return std::make_shared<memory_task_log>(max_bytes_per_task);
}

} // namespace aetherium::api
