// The projector is fed by a subscription thread, so this test uses CAF's threaded
// scheduler and waits for replies (never sleeps): (get_atom, position) answers once the
// model has folded that far.
#include "actors/projector.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "events/clock.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::projection_query)

using namespace aetherium;
using namespace aetherium::actors;

namespace {

struct counting_model : projection {
  void apply(const recorded_event& e) override { ++by_type[e.type]; }
  std::map<std::string, int> by_type;
};

class projector_test : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() { set("scheduler.max-threads", 2); }
  };

  void append(const std::string& type, int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(store_->append({stream_id{"task-1"}, expected_version::any(),
                                  {{event_id{ids_->next_uuid()}, type, 1, "{}", {}}}}).ok());
  }

  std::int64_t wait_for(const caf::actor& projector, std::int64_t position) {
    std::int64_t reached = -1;
    self_->request(projector, std::chrono::seconds(10), get_atom::value, position)
      .receive([&](std::int64_t p) { reached = p; },
               [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
    return reached;
  }

  std::map<std::string, int> counts(const caf::actor& projector) {
    std::map<std::string, int> out;
    self_->send(projector, get_atom::value, projection_query{[&](const projection& p) {
                  out = static_cast<const counting_model&>(p).by_type;
                }});
    wait_for(projector, 0); // mailbox order: the query ran before this reply
    return out;
  }

  config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor self_{sys_};
  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
};

TEST_F(projector_test, replays_the_log_at_start_then_follows_new_events) {
  append("task.requested", 3);
  append("task.scheduled", 2);
  auto projector = spawn_projector(sys_, store_, std::make_unique<counting_model>());
  EXPECT_EQ(wait_for(projector, 5), 5);
  EXPECT_EQ(counts(projector), (std::map<std::string, int>{{"task.requested", 3}, {"task.scheduled", 2}}));
  append("task.started", 2);
  EXPECT_EQ(wait_for(projector, 7), 7);
  EXPECT_EQ(counts(projector)["task.started"], 2);
  self_->send_exit(projector, caf::exit_reason::user_shutdown);
}

TEST_F(projector_test, a_model_restored_at_a_position_folds_only_what_follows) {
  append("task.requested", 4);
  auto model = std::make_unique<counting_model>();
  model->advance(3);
  auto projector = spawn_projector(sys_, store_, std::move(model));
  EXPECT_EQ(wait_for(projector, 4), 4);
  EXPECT_EQ(counts(projector)["task.requested"], 1);
  self_->send_exit(projector, caf::exit_reason::user_shutdown);
}

/// Positions saved by a checkpoint policy's jobs, and the threads they ran on.
struct saved_positions {
  std::mutex mtx;
  std::vector<std::int64_t> positions;
  std::vector<std::int64_t> all() {
    std::lock_guard<std::mutex> guard{mtx};
    return positions;
  }
};

checkpoint_policy saving_into(std::shared_ptr<saved_positions> saved, std::size_t every_events) {
  checkpoint_policy policy;
  policy.every_events = every_events;
  policy.capture = [saved](const projection& p) -> std::function<void()> {
    auto at = p.position(); // the copy: taken in the projector
    return [saved, at] {
      std::lock_guard<std::mutex> guard{saved->mtx};
      saved->positions.push_back(at);
    };
  };
  return policy;
}

TEST_F(projector_test, checkpoints_every_n_events_and_when_asked) {
  auto saved = std::make_shared<saved_positions>();
  auto projector = spawn_readable_projector(sys_, store_, std::make_unique<counting_model>(), saving_into(saved, 4)).first;
  append("task.requested", 9);
  EXPECT_EQ(wait_for(projector, 9), 9);
  bool answered = false;
  self_->request(projector, std::chrono::seconds(10), checkpoint_atom::value)
    .receive([&](bool ok) { answered = ok; }, [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
  EXPECT_TRUE(answered);
  auto positions = saved->all();
  ASSERT_GE(positions.size(), 2u) << "at least one save by count, and the one asked for";
  EXPECT_EQ(positions.back(), 9) << "a checkpoint asked for covers everything folded";
  for (std::size_t i = 1; i < positions.size(); ++i)
    EXPECT_LT(positions[i - 1], positions[i]);
  // Nothing folded since: asking again saves nothing more.
  self_->request(projector, std::chrono::seconds(10), checkpoint_atom::value).receive([](bool) {}, [](caf::error&) {});
  EXPECT_EQ(saved->all().size(), positions.size());
  self_->send_exit(projector, caf::exit_reason::user_shutdown);
}

TEST_F(projector_test, without_a_policy_a_checkpoint_asked_for_answers_false) {
  auto projector = spawn_projector(sys_, store_, std::make_unique<counting_model>());
  bool answered = true;
  self_->request(projector, std::chrono::seconds(10), checkpoint_atom::value)
    .receive([&](bool ok) { answered = ok; }, [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
  EXPECT_FALSE(answered);
  self_->send_exit(projector, caf::exit_reason::user_shutdown);
}

} // namespace
