// Writes a log of N events for the read-model bench to stdout, in PostgreSQL's COPY text
// format for the events table, hash chain included (computed by the store's own code):
//   read_model_make_log EVENTS TASKS
// TASKS tasks of one project each run a whole lifecycle (8 events); every other event is
// on one of 8 long "bench-<k>" streams that no read model folds. So two logs with the same
// TASKS and different EVENTS hold the same tasks, and differ only in length.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "adapters/json/json_domain_codec.hpp"
#include "events/canonical_json.hpp"
#include "events/hash_chain.hpp"

using namespace aetherium;

namespace {

std::string uuid(std::int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012lld", static_cast<long long>(n));
  return buf;
}

std::string timestamp(std::int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char day[32], out[64];
  std::strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(out, sizeof out, "%s.%06lld+00", day, static_cast<long long>(us % 1000000));
  return out;
}

/// COPY text format: backslash, tab, newline and carriage return escaped.
std::string copy_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::vector<domain::task_event> lifecycle(const std::string& id, std::int64_t at) {
  domain::task_spec spec;
  spec.agent_type = "script";
  spec.prompt = "echo " + id;
  spec.repo = "/srv/repos/acme/sample.git";
  spec.base_ref = "main";
  return {domain::task_requested{task_id{id}, tenant_id{"acme"}, project_id{"bench"}, {}, spec, at},
          domain::task_scheduled{node_id{"local"}, at + 1},
          domain::task_sandbox_provisioned{"sb-" + id, at + 2},
          domain::task_started{at + 3},
          domain::task_output_collected{{1, 1, 1, 10, 0, 100, "abc", "done", "sha256:none"}, at + 4},
          domain::task_verified{true, 0, "ok", at + 5},
          domain::task_pr_recorded{false, {"/srv/repos/acme/sample.git#" + id, 1, "aetherium/task-" + id, "c"}, at + 6},
          domain::task_completed{at + 7}};
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: read_model_make_log EVENTS TASKS\n";
    return 2;
  }
  std::int64_t events = std::atoll(argv[1]);
  std::int64_t tasks = std::atoll(argv[2]);
  if (tasks * 8 + 1 > events) {
    std::cerr << "EVENTS must be at least 8 * TASKS + 1\n";
    return 2;
  }
  auto codec = make_json_task_codec();
  auto projects = make_json_project_codec();
  std::int64_t position = 0, base_us = 1'700'000'000'000'000;
  std::string prev;
  std::vector<std::int64_t> filler_versions(8, 0);
  std::int64_t next_task = 0;
  std::size_t next_step = 0;
  std::vector<domain::task_event> life;
  // Task events are spread evenly through the log, one lifecycle after another.
  std::int64_t task_every = (events - 1) / (tasks * 8 > 0 ? tasks * 8 : 1);
  auto emit = [&](const std::string& stream, std::int64_t version, const new_event& n) {
    recorded_event r{n.id, stream_id{stream}, version, n.type, n.schema_version, n.payload, n.metadata,
                     base_us + position * 1000, ++position, prev, ""};
    r.hash = chain_hash(prev, r);
    std::cout << r.position << '\t' << r.id.str() << '\t' << copy_text(stream) << '\t' << version << '\t' << r.type
              << '\t' << r.schema_version << '\t' << copy_text(r.payload) << '\t'
              << copy_text(metadata_json(r.metadata)) << '\t' << timestamp(r.recorded_at_us) << '\t' << r.prev_hash
              << '\t' << r.hash << '\n';
    prev = r.hash;
  };
  domain::project_created p{project_id{"bench"}, tenant_id{"acme"}, "bench", "/srv/repos/acme/sample.git", "main", "", base_us};
  emit("project-bench", 1, projects->encode(p, uuid(1), {"acme", "bench", "", "", ""}));
  while (position < events) {
    bool task_turn = next_task < tasks && (task_every <= 1 || position % task_every == 0);
    if (task_turn) {
      auto id = "t" + std::to_string(next_task);
      if (next_step == 0)
        life = lifecycle(id, base_us + position);
      auto n = codec->encode(life[next_step], uuid(position + 1), {"acme", "bench", "", "", ""});
      emit("task-" + id, static_cast<std::int64_t>(next_step) + 1, n);
      if (++next_step == life.size()) {
        next_step = 0;
        ++next_task;
      }
      continue;
    }
    auto k = position % 8;
    auto payload = canonical_json("{\"n\":" + std::to_string(position) + ",\"note\":\"filler event of the read-model bench\"}");
    new_event n{event_id{uuid(position + 1)}, "bench.filler_recorded", 1, *payload, {"acme", "bench", "", "", ""}};
    emit("bench-" + std::to_string(k), ++filler_versions[static_cast<std::size_t>(k)], n);
  }
  return next_task == tasks ? 0 : 1;
}
