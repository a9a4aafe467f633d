// The commands that work on the event log directly: migrate and events.
#include <cstdlib>
#include <iostream>

#include "adapters/json/json_board_codec.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "adapters/postgres/postgres_projection_snapshot_store.hpp"
#include "events/log_verifier.hpp"
#include "events/read_model/board_checkpoint.hpp"
#include "events/read_model/task_board.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

/// The parts of a task's view that replay must reproduce exactly.
std::string summary_of(const api::task_view& v) {
  std::string out = v.id.str() + "|" + api::to_string(v.status) + "|" + std::to_string(v.version) + "|"
                    + v.failure_reason + "|" + v.pr_url + "|" + v.node + "|" + std::to_string(v.updated_at_us);
  if (v.diff)
    out += "|" + std::to_string(v.diff->files_changed) + "+" + std::to_string(v.diff->insertions) + "-"
           + std::to_string(v.diff->deletions);
  return out;
}

/// Folds the log after the board's position into it, page by page, up to position `until`
/// (the head when negative).
result<std::int64_t> replay_into(event_store& store, read_model::task_board& board, std::int64_t until = -1) {
  std::int64_t events = 0;
  for (;;) {
    auto page = store.read_all(board.position(), 10000);
    if (!page)
      return page.err();
    if (page->empty())
      return events;
    for (auto& e : *page) {
      if (until >= 0 && e.position > until)
        return events;
      board.apply(e);
      board.advance(e.position);
      ++events;
    }
  }
}

/// Rebuilds every task the way its actor does (its own stream, through evolve) and
/// compares it with the projection. Returns the mismatches.
result<std::vector<std::string>> compare_with_aggregates(event_store& store, const read_model::task_board& board,
                                                         const domain::task_codec& codec) {
  std::vector<std::string> mismatches;
  for (auto& id : board.all_task_ids()) {
    auto stream = store.read_stream(domain::task::stream_of(id.str()));
    if (!stream)
      return stream.err();
    read_model::task_entry rebuilt;
    for (auto& e : *stream) {
      auto decoded = codec.decode(e);
      if (!decoded)
        return decoded.err();
      rebuilt.state = domain::task::evolve(std::move(rebuilt.state), *decoded);
      rebuilt.version = e.stream_version;
    }
    auto a = summary_of(read_model::to_view(*board.find_task(id)));
    auto b = summary_of(read_model::to_view(rebuilt));
    if (a != b)
      mismatches.push_back("task " + id.str() + ": projection " + a + " != aggregate " + b);
  }
  return mismatches;
}

/// The differences between the board rebuilt from the log and a checkpoint's state at the
/// same position: tasks (id, status, version and the rest of summary_of), projects and the
/// pull-request index.
std::vector<std::string> compare_with_checkpoint(const read_model::task_board& rebuilt,
                                                 const read_model::board_state& saved) {
  std::vector<std::string> out;
  auto& mine = rebuilt.state();
  for (auto& [id, entry] : mine.tasks) {
    auto it = saved.tasks.find(id);
    if (it == saved.tasks.end()) {
      out.push_back("task " + id + ": in the log, missing from the checkpoint");
      continue;
    }
    auto a = summary_of(read_model::to_view(entry));
    auto b = summary_of(read_model::to_view(it->second));
    if (a != b || entry.requested_at != it->second.requested_at)
      out.push_back("task " + id + ": rebuilt " + a + " != checkpoint " + b);
  }
  for (auto& [id, entry] : saved.tasks)
    if (!mine.tasks.count(id))
      out.push_back("task " + id + ": in the checkpoint, not in the log");
  for (auto& [id, p] : mine.projects)
    if (!saved.projects.count(id) || saved.projects.at(id).fields.tenant != p.fields.tenant)
      out.push_back("project " + id + ": differs from the checkpoint");
  if (saved.projects.size() != mine.projects.size())
    out.push_back("projects: " + std::to_string(mine.projects.size()) + " rebuilt, "
                  + std::to_string(saved.projects.size()) + " in the checkpoint");
  if (saved.pull_requests != mine.pull_requests)
    out.push_back("the pull-request index differs from the checkpoint");
  return out;
}

/// The latest checkpoint when it can be compared, with a line saying what was found; `ok`
/// turns false for a checkpoint that is there but unreadable.
std::optional<projection_snapshot> checkpoint_to_compare(const config& cfg, const read_model::board_state_codec& codec,
                                                         bool& ok) {
  auto snapshots = make_postgres_projection_snapshot_store(cfg.database_url);
  if (!snapshots) {
    std::cout << "no checkpoint compared: " << snapshots.err().detail << "\n";
    return std::nullopt;
  }
  auto latest = (*snapshots)->load_latest(read_model::board_snapshot_name);
  if (!latest) {
    std::cout << "CHECKPOINT UNREADABLE: " << latest.err().detail << "\n";
    ok = false;
    return std::nullopt;
  }
  if (!*latest) {
    std::cout << "no checkpoint saved: nothing to compare\n";
    return std::nullopt;
  }
  if ((*latest)->format_version != codec.format_version()) {
    std::cout << "checkpoint at position " << (*latest)->position << " has format " << (*latest)->format_version
              << ", this build reads " << codec.format_version() << ": not compared (a server rebuilds it)\n";
    return std::nullopt;
  }
  return *latest;
}

/// Replays up to the checkpoint's position, compares, and leaves the board there.
bool verify_checkpoint(event_store& store, read_model::task_board& board, const projection_snapshot& snap,
                       const read_model::board_state_codec& codec, std::int64_t& events) {
  auto saved = codec.decode(snap.state);
  if (!saved) {
    std::cout << "CHECKPOINT CORRUPT at position " << snap.position << ": " << saved.err().detail
              << " (a server ignores it and rebuilds from position 0)\n";
    return false;
  }
  auto replayed = replay_into(store, board, snap.position);
  if (!replayed) {
    std::cout << "CHECKPOINT NOT COMPARED: " << replayed.err().detail << "\n";
    return false;
  }
  events += *replayed;
  if (board.position() != snap.position) {
    std::cout << "CHECKPOINT MISMATCH: the checkpoint is at position " << snap.position << " but the log ends at "
              << board.position() << "\n";
    return false;
  }
  auto diffs = compare_with_checkpoint(board, *saved);
  for (auto& d : diffs)
    std::cout << "CHECKPOINT MISMATCH " << d << "\n";
  if (diffs.empty())
    std::cout << "checkpoint at position " << snap.position << " matches the log: " << saved->tasks.size()
              << " tasks\n";
  return diffs.empty();
}

} // namespace

int run_replay(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() != 1)
    return usage_error("replay takes no arguments; --verify also checks the hash chain");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return report_error(store.err());
  auto codec = make_json_task_codec();
  read_model::task_board board{codec, make_json_project_codec(), make_json_tenant_codec()};
  bool ok = true;
  std::int64_t replayed = 0;
  if (cmd.has("verify")) {
    auto board_codec = make_json_board_codec();
    if (auto snap = checkpoint_to_compare(cfg, *board_codec, ok))
      ok = verify_checkpoint(**store, board, *snap, *board_codec, replayed) && ok;
  }
  auto events = replay_into(**store, board);
  if (!events)
    return report_error(events.err());
  replayed += *events;
  std::cout << "replayed " << replayed << " events from position 0: " << board.all_task_ids().size() << " tasks\n";
  ok = ok && board.corrupt_events() == 0;
  if (!ok)
    std::cout << "CORRUPT: " << board.corrupt_events() << " events could not be decoded; last: "
              << board.last_corruption() << "\n";
  auto mismatches = compare_with_aggregates(**store, board, *codec);
  if (!mismatches)
    return report_error(mismatches.err());
  for (auto& m : *mismatches)
    std::cout << "MISMATCH " << m << "\n";
  ok = ok && mismatches->empty();
  if (mismatches->empty())
    std::cout << "projections match every task's own stream\n";
  if (cmd.has("verify")) {
    auto report = verify_log(**store);
    if (!report)
      return report_error(report.err());
    if (report->intact)
      std::cout << "hash chain intact: " << report->events_checked << " events\n";
    else
      std::cout << "hash chain BROKEN at position " << report->first_bad_position << ": " << report->reason << "\n";
    ok = ok && report->intact;
  }
  return ok ? exit_ok : exit_failure;
}

int run_migrate(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() != 2)
    return usage_error("migrate needs one of: up, down, status");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto& what = cmd.words[1];
  if (what == "up" || what == "down") {
    int steps = std::atoi(cmd.get("steps", "1").c_str());
    if (steps < 1)
      return usage_error("--steps must be a whole number >= 1");
    auto n = what == "up" ? postgres::migrate_up(cfg.database_url)
                          : postgres::migrate_down(cfg.database_url, steps);
    if (!n)
      return report_error(n.err());
    std::cout << (what == "up" ? "applied " : "reverted ") << *n << " migration(s)\n";
    return exit_ok;
  }
  if (what == "status") {
    auto status = postgres::migrate_status(cfg.database_url);
    if (!status)
      return report_error(status.err());
    for (auto& m : *status)
      std::cout << m.version << "\t" << (m.applied ? "applied" : "pending") << "\t" << m.name << "\n";
    return exit_ok;
  }
  return usage_error("migrate needs one of: up, down, status");
}

int run_events(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() != 2 || cmd.words[1] != "verify")
    return usage_error("events needs: verify");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return report_error(store.err());
  auto report = verify_log(**store);
  if (!report)
    return report_error(report.err());
  if (!report->intact) {
    std::cout << "BROKEN at position " << report->first_bad_position << ": " << report->reason
              << " (" << report->events_checked << " events verified before it)\n";
    return exit_failure;
  }
  std::cout << "intact: " << report->events_checked << " events, head position "
            << report->head_position << "\n";
  return exit_ok;
}

} // namespace aetherium::runtime
