#include "cluster/node_agent.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <unistd.h>
#include <unordered_map>

#include <caf/all.hpp>

#include "cluster/cluster_messages.hpp"
#include "adapters/sandbox/workspace_tree.hpp"

namespace aetherium::cluster {

namespace {

namespace fs = std::filesystem;

/// A sandbox of this node and the folder that is its workspace.
struct box {
  std::string dir;
  std::uint32_t uid = 65534, gid = 65534;
  sandbox_runtime_kind kind = sandbox_runtime_kind::crun;
};

/// What the agent and its workers share.
struct shared {
  node_agent_options options;
  std::mutex mu;
  std::unordered_map<std::string, box> boxes;

  bool find(const std::string& id, box& out) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = boxes.find(id);
    if (it == boxes.end())
      return false;
    out = it->second;
    return true;
  }
};

wire_reply error_reply(const error& e) {
  wire_reply r;
  r.error = to_wire(e);
  return r;
}

wire_reply provision(shared& s, const wire_spec& w) {
  auto spec = from_wire(w);
  if (!spec)
    return error_reply(spec.err());
  std::string dir = s.options.workspace_root + "/ws-XXXXXX";
  if (!::mkdtemp(dir.data()))
    return error_reply(make_error(errc::unavailable, "cannot make a workspace under " + s.options.workspace_root));
  if (::chown(dir.c_str(), spec->uid, spec->gid) != 0) {
    fs::remove_all(dir);
    return error_reply(make_error(errc::unavailable, "cannot give the workspace to the sandbox user"));
  }
  spec->rootfs_dir = s.options.rootfs;
  spec->workspace_dir = dir;
  auto made = s.options.runtime->provision(*spec);
  if (!made) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    return error_reply(made.err());
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.boxes[made->id] = box{dir, spec->uid, spec->gid, made->runtime};
  }
  wire_reply r;
  r.text = made->id;
  return r;
}

/// The handle of a sandbox this agent made, or of one the runtime lists (left by an earlier process).
sandbox_handle handle_of(shared& s, const std::string& id) {
  sandbox_handle h{id, sandbox_runtime_kind::crun};
  if (box b; s.find(id, b)) {
    h.runtime = b.kind;
    return h;
  }
  if (auto listed = s.options.runtime->list())
    for (auto& info : *listed)
      if (info.handle.id == id)
        h.runtime = info.handle.runtime;
  return h;
}

void exec(shared& s, const wire_exec& w, const caf::actor& requester) {
  wire_exit out;
  box b;
  if (!s.find(w.sandbox, b)) {
    out.error = to_wire(make_error(errc::not_found, "no sandbox " + w.sandbox));
    return caf::anon_send(requester, exited_atom::value, std::move(out));
  }
  if (w.push)
    if (auto written = sandbox::replace_tree(b.dir, w.tree, b.uid, b.gid, s.options.max_workspace_bytes); !written) {
      out.error = to_wire(written.err());
      return caf::anon_send(requester, exited_atom::value, std::move(out));
    }
  auto request = from_wire(w);
  request.on_output = [requester](output_stream stream, std::string_view text) {
    caf::anon_send(requester, output_atom::value, std::int32_t{stream == output_stream::err ? 1 : 0}, std::string{text});
  };
  auto status = s.options.runtime->exec(handle_of(s, w.sandbox), request);
  if (!status) {
    out.error = to_wire(status.err());
    return caf::anon_send(requester, exited_atom::value, std::move(out));
  }
  out = to_wire(*status);
  auto tree = sandbox::read_tree(b.dir, s.options.max_workspace_bytes);
  if (!tree)
    out.error = to_wire(tree.err());
  else
    out.tree = std::move(*tree);
  caf::anon_send(requester, exited_atom::value, std::move(out));
}

result<void> destroy(shared& s, const std::string& id) {
  auto done = s.options.runtime->destroy(handle_of(s, id));
  if (!done)
    return done;
  box b;
  if (s.find(id, b)) {
    std::error_code ec;
    fs::remove_all(b.dir, ec);
    std::lock_guard<std::mutex> lock(s.mu);
    s.boxes.erase(id);
  }
  return {};
}

/// Destroys every sandbox the runtime holds and empties the workspace root.
wire_reply leave(shared& s) {
  auto listed = s.options.runtime->list();
  if (!listed)
    return error_reply(listed.err());
  for (auto& info : *listed)
    if (auto gone = s.options.runtime->destroy(info.handle); !gone)
      return error_reply(gone.err());
  std::lock_guard<std::mutex> lock(s.mu);
  s.boxes.clear();
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(s.options.workspace_root, ec))
    fs::remove_all(entry.path(), ec);
  return {};
}

wire_reply list(shared& s) {
  auto listed = s.options.runtime->list();
  if (!listed)
    return error_reply(listed.err());
  wire_reply r;
  for (auto& info : *listed)
    r.sandboxes.push_back({info.handle.id, to_string(info.handle.runtime), info.labels, info.running});
  return r;
}

wire_reply stats(shared& s, const std::string& id) {
  auto got = s.options.runtime->stats(handle_of(s, id));
  if (!got)
    return error_reply(got.err());
  wire_reply r;
  r.numbers = {got->memory_bytes, got->cpu_ns, got->pids, got->oom_kills};
  return r;
}

wire_reply copy_out(shared& s, const std::string& id, const std::string& path, std::uint64_t max) {
  auto got = s.options.runtime->copy_out(handle_of(s, id), path, max);
  if (!got)
    return error_reply(got.err());
  wire_reply r;
  r.text = std::move(*got);
  return r;
}

caf::behavior node_agent(caf::event_based_actor* self, std::shared_ptr<shared> s) {
  // Runs `f` on a worker of its own (every runtime call blocks) and answers with its reply.
  auto off = [self, s](auto f) {
    auto promise = self->make_response_promise<wire_reply>();
    self->spawn<caf::detached>([s, f, promise](caf::blocking_actor*) mutable { promise.deliver(f(*s)); });
    return promise;
  };
  return {
    [off](provision_atom, wire_spec& w) { return off([w](shared& s) { return provision(s, w); }); },
    [self, s](exec_atom, wire_exec& w, caf::actor& requester) {
      self->spawn<caf::detached>([s, w, requester](caf::blocking_actor*) { exec(*s, w, requester); });
    },
    [off](copy_in_atom, std::string& id, std::string& path, std::string& bytes, std::uint32_t mode) {
      return off([id, path, bytes, mode](shared& s) {
        return reply_of(s.options.runtime->copy_in(handle_of(s, id), path, bytes, mode));
      });
    },
    [off](copy_out_atom, std::string& id, std::string& path, std::uint64_t max) {
      return off([id, path, max](shared& s) { return copy_out(s, id, path, max); });
    },
    [off](signal_atom, std::string& id, std::int32_t sig) {
      return off([id, sig](shared& s) { return reply_of(s.options.runtime->signal(handle_of(s, id), sig)); });
    },
    [off](kill_atom, std::string& id) {
      return off([id](shared& s) { return reply_of(s.options.runtime->cancel(handle_of(s, id))); });
    },
    [off](destroy_atom, std::string& id) { return off([id](shared& s) { return reply_of(destroy(s, id)); }); },
    [off](stats_atom, std::string& id) { return off([id](shared& s) { return stats(s, id); }); },
    [off](list_atom) { return off([](shared& s) { return list(s); }); },
    [off](leave_atom) { return off([](shared& s) { return leave(s); }); },
  };
}

} // namespace

caf::actor spawn_node_agent(caf::actor_system& sys, node_agent_options options) {
  auto s = std::make_shared<shared>();
  s->options = std::move(options);
  std::error_code ec;
  fs::create_directories(s->options.workspace_root, ec);
  return sys.spawn(node_agent, std::move(s));
}

} // namespace aetherium::cluster
