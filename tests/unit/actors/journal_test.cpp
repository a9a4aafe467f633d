#include "actors/journal.hpp"

#include "actors/messages.hpp"
#include "events/clock.hpp"
#include "tests/unit/actors/actor_test_fixture.hpp"

using namespace aetherium;
using namespace aetherium::actors;

namespace {

class journal_test : public aetherium::testing::actor_test_fixture {
protected:
  append_request request(const std::string& stream, expected_version expected) {
    return {stream_id{stream}, expected, {{event_id{ids_->next_uuid()}, "test.happened", 1, "{}", {}}}};
  }

  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  caf::actor journal_ = spawn_journal(sys_, store_, {false});
};

TEST_F(journal_test, append_replies_after_the_store_has_the_events) {
  auto outcome = ask<append_outcome>(journal_, append_atom::value,
                                     request("task-1", expected_version::no_stream()));
  ASSERT_TRUE(outcome.ok()) << outcome.err().detail;
  EXPECT_EQ(outcome->last_position, 1);
  EXPECT_EQ(store_->read_stream(stream_id{"task-1"})->size(), 1u);
}

TEST_F(journal_test, append_passes_conflicts_back_as_values) {
  (void)ask<append_outcome>(journal_, append_atom::value, request("task-1", expected_version::no_stream()));
  auto outcome = ask<append_outcome>(journal_, append_atom::value,
                                     request("task-1", expected_version::no_stream()));
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.err().code, errc::conflict);
}

TEST_F(journal_test, load_returns_the_stream_in_order) {
  for (int i = 0; i < 3; ++i)
    (void)ask<append_outcome>(journal_, append_atom::value, request("task-9", expected_version::any()));
  auto loaded = ask<load_outcome>(journal_, load_atom::value, stream_id{"task-9"});
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[2].stream_version, 3);
}

} // namespace
