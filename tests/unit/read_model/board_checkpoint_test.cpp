// A checkpoint plus the tail of the log must give the board a full replay gives, on a
// generated log of many task lifecycles; a damaged or foreign checkpoint must be refused.
#include <gtest/gtest.h>

#include <random>

#include "adapters/json/json_board_codec.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "events/read_model/board_checkpoint.hpp"

using namespace aetherium;
using namespace aetherium::read_model;

namespace {

/// A log of `tasks` tasks over 3 projects and 2 tenants, their events interleaved: some
/// complete with a pull request, some fail, some are cancelled, some stay live.
std::vector<recorded_event> generated_log(int tasks, unsigned seed) {
  auto tc = make_json_task_codec();
  auto pc = make_json_project_codec();
  std::vector<recorded_event> log;
  std::map<std::string, std::int64_t> versions;
  auto add = [&](const std::string& stream, const new_event& n) {
    log.push_back({n.id, stream_id{stream}, ++versions[stream], n.type, n.schema_version, n.payload, n.metadata,
                   static_cast<std::int64_t>(log.size()) * 10, static_cast<std::int64_t>(log.size()) + 1, "", ""});
  };
  auto tenant_of = [](int i) { return i % 2 ? std::string{"acme"} : std::string{"globex"}; };
  for (int p = 0; p < 3; ++p) {
    auto t = tenant_of(p);
    domain::project_created c{project_id{"p" + std::to_string(p)}, tenant_id{t}, "proj" + std::to_string(p),
                              "https://github.com/octo/r" + std::to_string(p) + ".git", "main", "make test", 1};
    add("project-p" + std::to_string(p), pc->encode(c, "pe" + std::to_string(p), {t, "", "", "", ""}));
  }
  // Each task's remaining lifecycle; tasks take turns so their events interleave.
  std::mt19937 rng{seed};
  std::vector<std::pair<std::string, std::vector<domain::task_event>>> pending;
  for (int i = 0; i < tasks; ++i) {
    auto id = "t" + std::to_string(i);
    domain::task_spec spec;
    spec.agent_type = "script";
    spec.prompt = "p" + std::to_string(i);
    spec.repo = "https://github.com/octo/r" + std::to_string(i % 3) + ".git";
    std::vector<domain::task_event> life{
      domain::task_requested{task_id{id}, tenant_id{tenant_of(i % 3)}, project_id{"p" + std::to_string(i % 3)},
                             i > 0 && i % 5 == 0 ? std::optional<task_id>{task_id{"t" + std::to_string(i - 1)}}
                                                 : std::nullopt,
                             spec, i},
      domain::task_scheduled{node_id{"local"}, i + 1}};
    switch (rng() % 4) {
    case 0:
      life.push_back(domain::task_sandbox_provisioned{"sb-" + id, i + 2});
      life.push_back(domain::task_started{i + 3});
      life.push_back(domain::task_output_collected{{2, 10, 3, 99, 0, 1234, "abc", "summary", "sha256:x"}, i + 4});
      life.push_back(domain::task_verified{true, 0, "ok", i + 5});
      life.push_back(domain::task_pr_recorded{i % 2 == 1, {"https://github.com/octo/r/pull/" + std::to_string(i % 7),
                                                           i % 7, "aetherium/task-" + id, "c"}, i + 6});
      life.push_back(domain::task_completed{i + 7});
      break;
    case 1:
      life.push_back(domain::task_failed{domain::failure_reason::timeout, "too slow", i + 2});
      break;
    case 2:
      life.push_back(domain::task_cancel_requested{"me", i + 2});
      life.push_back(domain::task_terminated{i + 3});
      break;
    default:
      break; // stays live
    }
    pending.emplace_back(id, std::move(life));
  }
  std::vector<std::size_t> next(pending.size(), 0);
  for (bool any = true; any;) {
    any = false;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (next[k] == pending[k].second.size() || rng() % 3 == 0) {
        any = any || next[k] < pending[k].second.size();
        continue;
      }
      any = true;
      auto& [id, life] = pending[k];
      auto& e = life[next[k]++];
      add("task-" + id, tc->encode(e, id + "-" + std::to_string(next[k]), {tenant_of(static_cast<int>(k) % 3), "", "", "", ""}));
    }
  }
  return log;
}

/// Every field of every task, spelled out here so that a field the codec forgot shows.
std::vector<std::string> described(const task_board& b) {
  std::vector<std::string> out;
  for (auto& [id, t] : b.state().tasks) {
    auto& s = t.state;
    std::string d = id + "|" + std::to_string(s.exists) + "|" + s.tenant.str() + "|" + s.project.str() + "|"
                    + (s.parent ? s.parent->str() : "-") + "|" + s.spec.prompt + "|" + s.spec.repo + "|"
                    + domain::to_string(s.status) + "|" + s.node.str() + "|" + s.sandbox_id + "|"
                    + (s.verification_passed ? std::to_string(*s.verification_passed) : "-") + "|"
                    + s.verification_tail + "|" + (s.failure ? domain::to_string(*s.failure) : "-") + "|"
                    + s.failure_detail + "|" + std::to_string(s.created_at_us) + "|" + std::to_string(s.updated_at_us)
                    + "|" + std::to_string(s.started_at_us) + "|" + std::to_string(s.finished_at_us) + "|"
                    + std::to_string(t.version) + "|" + std::to_string(t.requested_at);
    if (s.output)
      d += "|" + std::to_string(s.output->files_changed) + "," + std::to_string(s.output->insertions) + ","
           + std::to_string(s.output->deletions) + "," + std::to_string(s.output->changed_bytes) + ","
           + s.output->summary + "," + s.output->patch_ref + "," + s.output->base_commit;
    if (s.pr)
      d += "|" + s.pr->url + "," + std::to_string(s.pr->number) + "," + s.pr->branch + "," + s.pr->commit;
    out.push_back(d);
  }
  for (auto& [id, p] : b.state().projects)
    out.push_back(id + "|" + p.fields.tenant.str() + "|" + p.fields.name + "|" + p.fields.repo + "|"
                  + p.fields.verify_command);
  for (auto& [key, task] : b.state().pull_requests)
    out.push_back(key.first + "#" + std::to_string(key.second) + "=" + task);
  return out;
}

class board_checkpoint_test : public ::testing::Test {
protected:
  std::unique_ptr<task_board> board() {
    return std::make_unique<task_board>(make_json_task_codec(), make_json_project_codec(), make_json_tenant_codec());
  }
  static void fold(task_board& b, const std::vector<recorded_event>& log, std::size_t from, std::size_t to) {
    for (auto i = from; i < to; ++i) {
      b.apply(log[i]);
      b.advance(log[i].position);
    }
  }
  std::vector<std::string> listed(const task_board& b, const std::string& tenant) {
    api::task_filter f;
    f.limit = 500;
    std::vector<std::string> out;
    auto page = b.list_tasks(tenant_id{tenant}, f);
    for (auto& t : page->tasks)
      out.push_back(t.id.str() + ":" + api::to_string(t.status) + ":" + std::to_string(t.version));
    return out;
  }

  std::shared_ptr<const board_state_codec> codec_ = make_json_board_codec();
  std::shared_ptr<projection_snapshot_store> snapshots_ = make_memory_projection_snapshot_store();
};

TEST_F(board_checkpoint_test, a_checkpoint_plus_the_tail_equals_a_full_replay) {
  auto log = generated_log(300, 7);
  ASSERT_GT(log.size(), 1000u);
  auto full = board();
  fold(*full, log, 0, log.size());
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, log.size() / 3, log.size() / 2 + 1, log.size()}) {
    auto head = board();
    fold(*head, log, 0, cut);
    ASSERT_TRUE(save_checkpoint(*snapshots_, *codec_, capture(*head)).ok());
    auto restored = board();
    auto loaded = load_checkpoint(*snapshots_, *codec_, *restored);
    EXPECT_FALSE(loaded.fallback) << loaded.note;
    EXPECT_EQ(loaded.position, static_cast<std::int64_t>(cut));
    fold(*restored, log, cut, log.size());
    EXPECT_EQ(restored->position(), full->position());
    EXPECT_EQ(described(*restored), described(*full)) << "cut at " << cut;
    EXPECT_EQ(codec_->encode(restored->state()), codec_->encode(full->state())) << "cut at " << cut;
    for (auto tenant : {"acme", "globex"})
      EXPECT_EQ(listed(*restored, tenant), listed(*full, tenant)) << "cut at " << cut;
    EXPECT_EQ(restored->live_task_ids().size(), full->live_task_ids().size());
    for (int n = 0; n < 7; ++n) {
      auto* a = restored->find_by_pull_request("octo/r", n);
      auto* b = full->find_by_pull_request("octo/r", n);
      ASSERT_EQ(a == nullptr, b == nullptr);
      if (a) {
        EXPECT_EQ(a->state.id, b->state.id);
      }
    }
  }
}

TEST_F(board_checkpoint_test, the_encoding_round_trips_every_field) {
  auto log = generated_log(60, 11);
  auto b = board();
  fold(*b, log, 0, log.size());
  auto bytes = codec_->encode(b->state());
  auto decoded = codec_->decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.err().detail;
  EXPECT_EQ(decoded->tasks.size(), b->state().tasks.size());
  EXPECT_EQ(decoded->pull_requests, b->state().pull_requests);
  EXPECT_EQ(codec_->encode(*decoded), bytes);
}

TEST_F(board_checkpoint_test, a_damaged_checkpoint_is_refused_and_the_board_rebuilds_from_zero) {
  auto log = generated_log(20, 3);
  auto b = board();
  fold(*b, log, 0, log.size());
  auto bytes = codec_->encode(b->state());
  // A flipped digit leaves valid JSON of the right shape: only the checksum sees it.
  auto digit = bytes.find("\"version\":") + 10;
  auto flipped = bytes;
  flipped[digit] = flipped[digit] == '1' ? '2' : '1';
  for (auto damaged : {bytes.substr(0, bytes.size() / 2), std::string{"garbage"}, std::string{}, flipped}) {
    EXPECT_EQ(codec_->decode(damaged).err().code, errc::corrupt);
    ASSERT_TRUE(snapshots_->save({board_snapshot_name, codec_->format_version(), 99, damaged}).ok());
    auto fresh = board();
    auto loaded = load_checkpoint(*snapshots_, *codec_, *fresh);
    EXPECT_TRUE(loaded.fallback);
    EXPECT_EQ(loaded.position, 0);
    EXPECT_EQ(fresh->position(), 0);
    EXPECT_TRUE(fresh->all_task_ids().empty());
    EXPECT_NE(loaded.note.find("corrupt"), std::string::npos) << loaded.note;
  }
}

TEST_F(board_checkpoint_test, a_checkpoint_of_another_format_is_ignored) {
  auto log = generated_log(20, 5);
  auto b = board();
  fold(*b, log, 0, log.size());
  auto bytes = codec_->encode(b->state());
  ASSERT_TRUE(snapshots_->save({board_snapshot_name, codec_->format_version() + 1, 50, bytes}).ok());
  auto fresh = board();
  auto loaded = load_checkpoint(*snapshots_, *codec_, *fresh);
  EXPECT_EQ(loaded.position, 0);
  EXPECT_TRUE(fresh->all_task_ids().empty());
  EXPECT_NE(loaded.note.find("format"), std::string::npos) << loaded.note;
}

TEST_F(board_checkpoint_test, without_a_checkpoint_the_board_starts_at_zero) {
  auto fresh = board();
  auto loaded = load_checkpoint(*snapshots_, *codec_, *fresh);
  EXPECT_FALSE(loaded.fallback);
  EXPECT_EQ(loaded.position, 0);
}

} // namespace
