#include "adapters/logs/file_task_log.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

namespace aetherium {

namespace fs = std::filesystem;

namespace {

struct follower {
  std::uint64_t next = 0;
  task_log::chunk_handler on_chunk;
  task_log::end_handler on_end;
};

struct task_entry {
  std::vector<log_chunk> chunks;
  std::uint64_t size = 0;
  bool closed = false;
  bool truncated = false;
  std::map<std::uint64_t, std::shared_ptr<follower>> followers;
};

class file_task_log;

class log_follow : public subscription {
public:
  log_follow(file_task_log* log, task_id task, std::uint64_t id) : log_(log), task_(std::move(task)), id_(id) {}
  ~log_follow() override { stop(); }
  void stop() override;

private:
  file_task_log* log_;
  task_id task_;
  std::uint64_t id_;
  bool stopped_ = false;
};

class file_task_log : public task_log, public std::enable_shared_from_this<file_task_log> {
public:
  file_task_log(std::string dir, std::uint64_t max) : dir_(std::move(dir)), max_(max) {
    fs::create_directories(dir_);
  }

  result<void> append(const task_id& task, std::string_view stream, std::string_view text) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    auto& e = entry(task);
    if (e.closed)
      return make_error(errc::invalid_transition, "the log of task " + task.str() + " is closed");
    if (e.truncated || text.empty())
      return {};
    if (e.size + text.size() > max_) {
      add(task, e, "stdout", text.substr(0, max_ - e.size));
      add(task, e, "system", "[log truncated: the limit of " + std::to_string(max_) + " bytes was reached]\n");
      e.truncated = true;
      return {};
    }
    add(task, e, stream, text);
    return {};
  }

  void close(const task_id& task) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    auto& e = entry(task);
    if (e.closed)
      return;
    e.closed = true;
    std::ofstream{file(task), std::ios::app | std::ios::binary} << "end 0\n";
    for (auto& [id, f] : e.followers)
      if (f->on_end)
        f->on_end();
  }

  std::vector<log_chunk> read(const task_id& task, std::uint64_t from, std::size_t max_bytes) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    std::vector<log_chunk> out;
    std::size_t bytes = 0;
    for (auto& c : entry(task).chunks) {
      if (c.offset + c.text.size() <= from)
        continue;
      if (!out.empty() && bytes + c.text.size() > max_bytes)
        break;
      out.push_back(c);
      bytes += c.text.size();
    }
    return out;
  }

  std::unique_ptr<subscription> follow(const task_id& task, std::uint64_t from, chunk_handler on_chunk,
                                       end_handler on_end) override {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    auto& e = entry(task);
    auto f = std::make_shared<follower>(follower{from, std::move(on_chunk), std::move(on_end)});
    for (auto& c : e.chunks)
      if (c.offset + c.text.size() > from)
        f->on_chunk(c);
    auto id = ++next_follower_;
    if (e.closed) {
      if (f->on_end)
        f->on_end();
    } else {
      e.followers.emplace(id, f);
    }
    return std::make_unique<log_follow>(this, task, id);
  }

  void unfollow(const task_id& task, std::uint64_t id) {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    entry(task).followers.erase(id);
  }

private:
  fs::path file(const task_id& task) const { return fs::path{dir_} / (task.str() + ".log"); }

  void add(const task_id& task, task_entry& e, std::string_view stream, std::string_view text) {
    log_chunk c{e.size, std::string{stream}, std::string{text}};
    std::ofstream{file(task), std::ios::app | std::ios::binary} << c.stream << ' ' << c.text.size() << '\n' << c.text;
    e.size += text.size();
    e.chunks.push_back(c);
    for (auto& [id, f] : e.followers)
      f->on_chunk(c);
  }

  /// The entry of `task`, loaded from its file the first time.
  task_entry& entry(const task_id& task) {
    auto it = tasks_.find(task.str());
    if (it != tasks_.end())
      return it->second;
    auto& e = tasks_[task.str()];
    std::ifstream in{file(task), std::ios::binary};
    std::string stream;
    std::size_t len = 0;
    while (in >> stream >> len && in.get() == '\n') {
      if (stream == "end") {
        e.closed = true;
        continue;
      }
      std::string text(len, '\0');
      if (!in.read(text.data(), static_cast<std::streamsize>(len)))
        break;
      e.chunks.push_back({e.size, stream, std::move(text)});
      e.size += len;
    }
    e.truncated = e.size >= max_;
    return e;
  }

  std::string dir_;
  std::uint64_t max_;
  std::recursive_mutex mtx_;
  std::map<std::string, task_entry> tasks_;
  std::uint64_t next_follower_ = 0;
};

void log_follow::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  log_->unfollow(task_, id_);
}

} // namespace

std::shared_ptr<task_log> make_file_task_log(std::string dir, std::uint64_t max_bytes_per_task) {
  return std::make_shared<file_task_log>(std::move(dir), max_bytes_per_task);
}

} // namespace aetherium
