// The generic aggregate shell, driven with a toy counter aggregate on CAF's deterministic
// test scheduler and the in-memory event store.
#include "actors/aggregate_actor.hpp"

#include <atomic>

#include "actors/journal.hpp"
#include "tests/unit/actors/actor_test_fixture.hpp"

using namespace aetherium;
using namespace aetherium::actors;

namespace {

struct counter {
  struct state {
    int value = 0;
  };
  struct added {
    int n = 0;
  };
  struct add {
    int n = 0;
  };
  using event = added;
  using command = add;

  static stream_id stream_of(const std::string& id) { return stream_id{"counter-" + id}; }

  static result<std::vector<event>> decide(const state& s, const command& c) {
    if (c.n == 0)
      return std::vector<event>{};
    if (c.n < 0)
      return make_error(errc::invalid_argument, "n must be positive", "n");
    if (s.value + c.n > 10)
      return make_error(errc::quota_exceeded, "a counter stops at 10");
    return std::vector<event>{added{c.n}};
  }

  static state evolve(state s, const event& e) {
    s.value += e.n;
    return s;
  }

};

struct counter_codec {
  new_event encode(const counter::event& e, const std::string& id, const event_metadata& md) const {
    return {event_id{id}, "counter.added", 1, "{\"n\": " + std::to_string(e.n) + "}", md};
  }
  result<counter::event> decode(const recorded_event& r) const {
    if (r.type != "counter.added")
      return make_error(errc::corrupt, "unknown type " + r.type);
    return counter::added{std::atoi(r.payload.c_str() + r.payload.find(':') + 1)};
  }
};

using reply = command_reply<counter>;

/// The same counter, but every command may create it: decided before its stream is read.
struct creating_counter : counter {
  static bool creates(const command&) { return true; }
};
using creating_reply = command_reply<creating_counter>;

/// Counts stream reads: the loads an actor did.
class counting_store : public event_store {
public:
  explicit counting_store(std::shared_ptr<event_store> inner) : inner_(std::move(inner)) {}
  void append_async(append_request r, append_callback done) override { inner_->append_async(std::move(r), std::move(done)); }
  result<std::vector<recorded_event>> read_stream(const stream_id& s, std::int64_t after) override {
    ++stream_reads;
    return inner_->read_stream(s, after);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after, std::size_t n) override { return inner_->read_all(after, n); }
  result<std::int64_t> head_position() override { return inner_->head_position(); }
  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler h) override {
    return inner_->subscribe(after, std::move(h));
  }
  std::atomic<int> stream_reads{0};

private:
  std::shared_ptr<event_store> inner_;
};

/// Stores an append and then reports it unavailable when `lose_next` is set: a commit
/// whose answer was lost with the connection.
class lossy_store : public event_store {
public:
  explicit lossy_store(std::shared_ptr<event_store> inner) : inner_(std::move(inner)) {}
  void append_async(append_request r, append_callback done) override {
    if (!lose_next.exchange(false))
      return inner_->append_async(std::move(r), std::move(done));
    inner_->append_async(std::move(r), [done = std::move(done)](result<append_result>) {
      done(make_error(errc::unavailable, "commit outcome unknown"));
    });
  }
  result<std::vector<recorded_event>> read_stream(const stream_id& s, std::int64_t after) override {
    if (unreadable > 0) {
      --unreadable;
      return make_error(errc::unavailable, "database unreachable");
    }
    return inner_->read_stream(s, after);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after, std::size_t n) override { return inner_->read_all(after, n); }
  result<std::int64_t> head_position() override { return inner_->head_position(); }
  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler h) override {
    return inner_->subscribe(after, std::move(h));
  }
  std::atomic<bool> lose_next{false};
  std::atomic<int> unreadable{0}; ///< Stream reads still to fail as unavailable.

private:
  std::shared_ptr<event_store> inner_;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(counter::command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(creating_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::command_context)

namespace {

class aggregate_actor_test : public aetherium::testing::actor_test_fixture {
protected:
  caf::actor spawn_counter(const std::string& id) {
    return sys_.spawn(aggregate_actor<counter, counter_codec>, id, journal_, ids_, codec_, std::chrono::milliseconds(60000));
  }
  reply add(const caf::actor& a, int n) {
    return ask<reply>(a, command_atom::value, counter::add{n}, command_context{{"acme", "alice"}});
  }

  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<const counter_codec> codec_ = std::make_shared<counter_codec>();
  caf::actor journal_ = spawn_journal(sys_, store_, {false});
};

TEST_F(aggregate_actor_test, a_command_is_persisted_before_the_reply_and_applied) {
  auto a = spawn_counter("1");
  auto r = add(a, 3);
  ASSERT_TRUE(r.events.ok());
  ASSERT_EQ(r.events->size(), 1u);
  EXPECT_EQ(r.state.value, 3);
  EXPECT_EQ(r.version, 1);
  auto stored = store_->read_stream(stream_id{"counter-1"});
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].payload, "{\"n\": 3}");
  EXPECT_EQ((*stored)[0].metadata.tenant, "acme");
  EXPECT_EQ((*stored)[0].metadata.principal, "alice");
}

TEST_F(aggregate_actor_test, a_rejected_command_persists_nothing_and_keeps_the_state) {
  auto a = spawn_counter("1");
  add(a, 8);
  auto r = add(a, 5);
  ASSERT_FALSE(r.events.ok());
  EXPECT_EQ(r.events.err().code, errc::quota_exceeded);
  EXPECT_EQ(r.state.value, 8);
  auto none = add(a, 0);
  ASSERT_TRUE(none.events.ok());
  EXPECT_TRUE(none.events->empty());
  EXPECT_EQ(store_->read_stream(stream_id{"counter-1"})->size(), 1u);
}

TEST_F(aggregate_actor_test, a_new_incarnation_rebuilds_its_state_from_the_log) {
  auto first = spawn_counter("7");
  add(first, 2);
  add(first, 4);
  self_->send_exit(first, caf::exit_reason::kill);
  run();
  auto second = spawn_counter("7");
  auto r = ask<reply>(second, get_atom::value);
  EXPECT_EQ(r.state.value, 6);
  EXPECT_EQ(r.version, 2);
  EXPECT_EQ(add(second, 1).version, 3);
}

TEST_F(aggregate_actor_test, a_write_by_someone_else_is_read_before_the_command_is_decided_again) {
  auto a = spawn_counter("1");
  add(a, 1);
  // Another writer (an integration recording its result) appends behind the actor's back.
  ASSERT_TRUE(store_->append({stream_id{"counter-1"}, expected_version::any(),
                              {codec_->encode({5}, ids_->next_uuid(), {})}}).ok());
  auto r = add(a, 1);
  ASSERT_TRUE(r.events.ok()) << r.events.err().detail;
  EXPECT_EQ(r.state.value, 7) << "decided on a state without the other writer's event";
  EXPECT_EQ(r.version, 3);
  EXPECT_EQ(store_->read_stream(stream_id{"counter-1"})->size(), 3u) << "an event was overwritten or lost";
}

TEST_F(aggregate_actor_test, a_get_answers_what_another_writer_appended_too) {
  auto a = spawn_counter("2");
  add(a, 1);
  ASSERT_TRUE(store_->append({stream_id{"counter-2"}, expected_version::any(),
                              {codec_->encode({5}, ids_->next_uuid(), {})}}).ok());
  auto r = ask<reply>(a, get_atom::value);
  EXPECT_EQ(r.state.value, 6) << "the actor answered from what it decided itself";
  EXPECT_EQ(r.version, 2);
}

TEST_F(aggregate_actor_test, a_stream_that_cannot_be_read_answers_the_waiting_command_with_the_error) {
  auto lossy = std::make_shared<lossy_store>(store_);
  auto journal = spawn_journal(sys_, lossy, {false});
  auto spawn = [&] {
    return sys_.spawn(aggregate_actor<counter, counter_codec>, std::string{"5"}, journal, ids_, codec_,
                      std::chrono::milliseconds(60000));
  };
  add(spawn(), 2);
  lossy->unreadable = 1;
  auto refused = add(spawn(), 1); // a fresh incarnation must read its stream first
  ASSERT_FALSE(refused.events.ok()) << "the command was answered without its state";
  EXPECT_EQ(refused.events.err().code, errc::unavailable);
  auto later = add(spawn(), 1);
  ASSERT_TRUE(later.events.ok()) << later.events.err().detail;
  EXPECT_EQ(later.state.value, 3);
}

TEST_F(aggregate_actor_test, a_retried_command_whose_first_answer_was_lost_is_recorded_once) {
  auto lossy = std::make_shared<lossy_store>(store_);
  auto journal = spawn_journal(sys_, lossy, {false});
  auto a = sys_.spawn(aggregate_actor<counter, counter_codec>, std::string{"9"}, journal, ids_, codec_,
                      std::chrono::milliseconds(60000));
  event_metadata md{"acme", "runner"};
  md.causation_id = "step-1";
  add(a, 1);
  lossy->lose_next = true;
  auto lost = ask<reply>(a, command_atom::value, counter::add{3}, command_context{md});
  ASSERT_FALSE(lost.events.ok());
  EXPECT_EQ(lost.events.err().code, errc::unavailable);
  auto retried = ask<reply>(a, command_atom::value, counter::add{3}, command_context{md});
  ASSERT_TRUE(retried.events.ok()) << retried.events.err().detail;
  EXPECT_TRUE(retried.events->empty()) << "the retry was recorded a second time";
  EXPECT_EQ(retried.state.value, 4);
  EXPECT_EQ(store_->read_stream(stream_id{"counter-9"})->size(), 2u);
  md.causation_id = "step-2";
  auto next = ask<reply>(a, command_atom::value, counter::add{3}, command_context{md});
  ASSERT_TRUE(next.events.ok());
  EXPECT_EQ(next.state.value, 7);
  EXPECT_EQ(next.version, 3);
}

TEST_F(aggregate_actor_test, a_command_without_a_correlation_id_continues_the_request_that_created_the_stream) {
  auto a = spawn_counter("c");
  event_metadata md{"acme", "alice"};
  md.correlation_id = "req-1";
  (void)ask<reply>(a, command_atom::value, counter::add{1}, command_context{md});
  add(a, 1);
  md.correlation_id = "req-2";
  (void)ask<reply>(a, command_atom::value, counter::add{1}, command_context{md});
  self_->send_exit(a, caf::exit_reason::kill);
  run();
  add(spawn_counter("c"), 1); // a new incarnation reads it from the stream
  add(spawn_counter("d"), 1);
  auto stored = store_->read_stream(stream_id{"counter-c"});
  ASSERT_TRUE(stored.ok());
  std::vector<std::string> seen;
  for (auto& e : *stored)
    seen.push_back(e.metadata.correlation_id);
  EXPECT_EQ(seen, (std::vector<std::string>{"req-1", "req-1", "req-2", "req-1"}));
  EXPECT_EQ(store_->read_stream(stream_id{"counter-d"})->front().metadata.correlation_id, "d")
    << "a stream created without one is correlated by its id";
}

TEST_F(aggregate_actor_test, a_creating_command_skips_the_read_and_falls_back_to_it_when_the_stream_exists) {
  auto counted = std::make_shared<counting_store>(store_);
  auto journal = spawn_journal(sys_, counted, {false});
  auto spawn = [&](const std::string& id) {
    return sys_.spawn(aggregate_actor<creating_counter, counter_codec>, id, journal, ids_, codec_,
                      std::chrono::milliseconds(60000));
  };
  auto fresh = ask<creating_reply>(spawn("new"), command_atom::value, counter::add{2}, command_context{{"acme", "a"}});
  ASSERT_TRUE(fresh.events.ok()) << fresh.events.err().detail;
  EXPECT_EQ(fresh.version, 1);
  EXPECT_EQ(counted->stream_reads, 0) << "a new stream needs no read";
  // Someone else created "old": the optimistic append is refused, the stream is read and
  // the command decided again against it.
  ASSERT_TRUE(store_->append({stream_id{"counter-old"}, expected_version::no_stream(),
                              {codec_->encode({5}, ids_->next_uuid(), {})}}).ok());
  auto old = ask<creating_reply>(spawn("old"), command_atom::value, counter::add{6}, command_context{{"acme", "a"}});
  ASSERT_FALSE(old.events.ok());
  EXPECT_EQ(old.events.err().code, errc::quota_exceeded) << "decided against the stored 5, not an empty state";
  EXPECT_EQ(old.state.value, 5);
  EXPECT_EQ(old.version, 1);
  EXPECT_EQ(counted->stream_reads, 1);
  EXPECT_EQ(store_->read_stream(stream_id{"counter-old"})->size(), 1u) << "nothing overwritten";
  self_->send_exit(journal, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(aggregate_actor_test, an_idle_actor_passivates_itself) {
  auto a = sys_.spawn(aggregate_actor<counter, counter_codec>, std::string{"1"}, journal_, ids_, codec_, std::chrono::milliseconds(100));
  add(a, 1);
  self_->monitor(a);
  sched_.advance_time(std::chrono::milliseconds(200));
  run();
  bool down = false;
  self_->receive([&](caf::down_msg&) { down = true; }, caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_TRUE(down);
}

TEST_F(aggregate_actor_test, the_registry_routes_by_id_and_restarts_a_crashed_actor_from_the_log) {
  auto registry = sys_.spawn(aggregate_registry<counter, counter_codec>, journal_, ids_, codec_, std::chrono::milliseconds(60000));
  auto via = [&](const std::string& id, int n) {
    return ask<reply>(registry, command_atom::value, id, counter::add{n}, command_context{});
  };
  EXPECT_EQ(via("a", 2).state.value, 2);
  EXPECT_EQ(via("b", 5).state.value, 5);
  EXPECT_EQ(via("a", 1).state.value, 3);
  // Kill the live actor of "a" behind the registry's back: the next command rebuilds it.
  auto before = ask<reply>(registry, get_atom::value, std::string{"a"});
  EXPECT_EQ(before.version, 2);
  auto a_actor = ask<caf::actor>(registry, actor_atom::value, std::string{"a"});
  self_->send_exit(a_actor, caf::exit_reason::kill);
  run();
  auto fresh = ask<caf::actor>(registry, actor_atom::value, std::string{"a"});
  EXPECT_NE(fresh, a_actor) << "the registry still routes to the dead actor";
  EXPECT_EQ(via("a", 4).state.value, 7);
  EXPECT_EQ(store_->read_stream(stream_id{"counter-a"})->size(), 3u);
  self_->send_exit(registry, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(aggregate_actor_test, stopping_the_registry_stops_its_live_actors_at_once) {
  auto registry = sys_.spawn(aggregate_registry<counter, counter_codec>, journal_, ids_, codec_, std::chrono::hours(1));
  ask<reply>(registry, command_atom::value, std::string{"a"}, counter::add{1}, command_context{});
  auto a_actor = ask<caf::actor>(registry, actor_atom::value, std::string{"a"});
  self_->monitor(a_actor);
  self_->send_exit(registry, caf::exit_reason::user_shutdown);
  run();
  bool down = false;
  self_->receive([&](caf::down_msg& m) { down = m.source == a_actor.address(); },
                 caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_TRUE(down) << "an idle aggregate actor outlived its registry";
}

} // namespace
