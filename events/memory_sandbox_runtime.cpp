#include "events/memory_sandbox_runtime.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace aetherium {

namespace {

struct memory_sandbox {
  sandbox_spec spec;
  std::map<std::string, std::string> files;
  bool cancelled = false;
  int pending_signal = 0;    ///< A catchable signal sent to the running commands.
  std::uint64_t signals = 0; ///< How many were sent, so each ends the sleeps running then.
};

class memory_sandbox_runtime : public sandbox_runtime {
public:
  result<sandbox_handle> provision(const sandbox_spec& spec) override {
    if (spec.uid == 0)
      return make_error(errc::invalid_argument, "sandboxes never run as root", "uid");
    if (spec.rootfs_dir.empty())
      return make_error(errc::invalid_argument, "rootfs_dir is required", "rootfs_dir");
    if (!spec.gateway_socket.empty() && spec.gateway_socket[0] != '/')
      return make_error(errc::invalid_argument, "gateway_socket must be an absolute path", "gateway_socket");
    std::lock_guard<std::mutex> guard{mtx_};
    sandbox_handle h{"mem-" + std::to_string(++next_), spec.runtime};
    boxes_[h.id] = memory_sandbox{spec, {}, false};
    return h;
  }

  result<exit_status> exec(const sandbox_handle& h, const exec_request& req) override {
    if (req.argv.empty())
      return make_error(errc::invalid_argument, "argv must not be empty", "argv");
    std::unique_lock<std::mutex> lock{mtx_};
    auto it = boxes_.find(h.id);
    if (it == boxes_.end())
      return make_error(errc::not_found, "no sandbox " + h.id);
    if (it->second.cancelled)
      return make_error(errc::invalid_transition, "sandbox " + h.id + " was killed");
    auto& cmd = req.argv[0];
    auto say = [&](output_stream s, const std::string& text) {
      if (req.on_output)
        req.on_output(s, text);
    };
    exit_status st;
    st.exit_code = 0;
    if (cmd == "echo") {
      std::string line;
      for (std::size_t i = 1; i < req.argv.size(); ++i)
        line += (i > 1 ? " " : "") + req.argv[i];
      lock.unlock();
      say(output_stream::out, line + "\n");
    } else if (cmd == "env") {
      std::string text;
      for (const auto& [name, value] : environment(it->second.spec, req))
        text += name + "=" + value + "\n";
      lock.unlock();
      say(output_stream::out, text);
    } else if (cmd == "false") {
      st.exit_code = 1;
    } else if (cmd == "exit") {
      st.exit_code = req.argv.size() > 1 ? std::atoi(req.argv[1].c_str()) : 0;
    } else if (cmd == "write" && req.argv.size() == 3) {
      it->second.files[req.argv[1]] = req.argv[2];
    } else if (cmd == "sleep") {
      auto box = h.id;
      auto signals_before = it->second.signals;
      bool woke = cv_.wait_until(lock, req.deadline, [&] {
        return boxes_.count(box) == 0 || boxes_[box].cancelled || boxes_[box].signals != signals_before;
      });
      if (woke && boxes_.count(box) && !boxes_[box].cancelled) { // a catchable signal ends the command only
        st.signal = boxes_[box].pending_signal;
        st.exit_code = 128 + st.signal;
        return st;
      }
      st.exit_code = 137;
      st.signal = 9;
      (woke ? st.cancelled : st.timed_out) = true;
      // Like a real sandbox, one killed by its deadline takes no more commands.
      if (auto still = boxes_.find(box); still != boxes_.end())
        still->second.cancelled = true;
    } else if (cmd != "true") {
      st.exit_code = 127;
      st.not_executed = true;
      lock.unlock();
      say(output_stream::err, cmd + ": command not found\n");
    }
    return st;
  }

  result<void> copy_in(const sandbox_handle& h, const std::string& path, std::string_view bytes,
                       std::uint32_t) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = boxes_.find(h.id);
    if (it == boxes_.end())
      return make_error(errc::not_found, "no sandbox " + h.id);
    if (path.rfind("/workspace/", 0) != 0)
      return make_error(errc::invalid_argument, "path must be under /workspace", "path");
    it->second.files[path] = std::string{bytes};
    return {};
  }

  result<std::string> copy_out(const sandbox_handle& h, const std::string& path, std::uint64_t max) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = boxes_.find(h.id);
    if (it == boxes_.end())
      return make_error(errc::not_found, "no sandbox " + h.id);
    auto f = it->second.files.find(path);
    if (f == it->second.files.end())
      return make_error(errc::not_found, "no file " + path);
    if (f->second.size() > max)
      return make_error(errc::invalid_argument, "file is larger than max_bytes", "max_bytes");
    return f->second;
  }

  result<void> signal(const sandbox_handle& h, int sig) override {
    if (sig == 9)
      return cancel(h);
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = boxes_.find(h.id);
    if (it == boxes_.end())
      return make_error(errc::not_found, "no sandbox " + h.id);
    it->second.pending_signal = sig;
    ++it->second.signals;
    cv_.notify_all();
    return {};
  }

  result<void> cancel(const sandbox_handle& h) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = boxes_.find(h.id);
    if (it == boxes_.end())
      return make_error(errc::not_found, "no sandbox " + h.id);
    it->second.cancelled = true;
    cv_.notify_all();
    return {};
  }

  result<void> destroy(const sandbox_handle& h) override {
    std::lock_guard<std::mutex> guard{mtx_};
    boxes_.erase(h.id);
    cv_.notify_all();
    return {};
  }

  result<sandbox_stats> stats(const sandbox_handle& h) override {
    if (auto ok = exists(h); !ok)
      return ok.err();
    return sandbox_stats{};
  }

  result<std::vector<sandbox_info>> list() override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<sandbox_info> out;
    for (auto& [id, box] : boxes_)
      out.push_back({{id, box.spec.runtime}, box.spec.labels, !box.cancelled});
    return out;
  }

private:
  /// What a command sees: the request's variables, and the gateway a real sandbox would
  /// reach over TCP named here by its socket.
  static std::map<std::string, std::string> environment(const sandbox_spec& spec, const exec_request& req) {
    auto env = req.env;
    if (!spec.gateway_socket.empty())
      env["AETHERIUM_MODEL_GATEWAY"] = "unix:" + spec.gateway_socket;
    return env;
  }

  result<void> exists(const sandbox_handle& h) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!boxes_.count(h.id))
      return make_error(errc::not_found, "no sandbox " + h.id);
    return {};
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, memory_sandbox> boxes_;
  int next_ = 0;
};

} // namespace

std::shared_ptr<sandbox_runtime> make_memory_sandbox_runtime() {
  return std::make_shared<memory_sandbox_runtime>();
}

} // namespace aetherium
