// The pure scheduling core: what each strategy picks, quotas by each dimension, release,
// nodes down or drained, the runtime filter and every placement error.
#include <gtest/gtest.h>

#include "events/scheduling/scheduler.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

constexpr std::uint64_t gib = 1ull << 30;

node_registration node(const char* id, std::uint32_t cpu, std::uint64_t mem_gib, std::uint32_t slots,
                       std::vector<std::string> runtimes = {"crun"}) {
  return {node_id{id}, {cpu, mem_gib * gib, slots}, std::move(runtimes), ""};
}

placement_request req(const std::string& task, std::uint32_t cpu = 1000, std::uint64_t mem = gib,
                      const char* tenant = "acme", const char* runtime = "crun") {
  return {task_id{task}, tenant_id{tenant}, runtime, cpu, mem};
}

/// Where the request went, or "error:<code>:<field>".
std::string place(scheduler_core& core, const placement_request& r) {
  auto out = core.place(r);
  if (!out)
    return std::string{"error:"} + to_string(out.err().code) + ":" + out.err().field;
  return out->str();
}

scheduler_core three_nodes(strategy s) {
  scheduler_core core{s};
  for (auto id : {"a", "b", "c"})
    core.add_node(node(id, 4000, 8, 10));
  return core;
}

/// A big node half full, then an empty middle and an empty small node.
scheduler_core mixed_nodes(strategy s) {
  scheduler_core core{s};
  core.add_node(node("big", 16000, 32, 100));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(place(core, req("pre" + std::to_string(i), 1000, 2 * gib)), "big");
  core.add_node(node("mid", 4000, 8, 10));
  core.add_node(node("small", 2000, 4, 10));
  return core;
}

TEST(scheduler_core, bin_pack_fills_the_most_loaded_node_first) {
  auto core = three_nodes(strategy::bin_pack);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(place(core, req("t" + std::to_string(i))), "a");
  EXPECT_EQ(place(core, req("t4")), "b") << "a is full";
  EXPECT_EQ(place(core, req("t5", 500)), "b") << "b is more loaded than the empty c";
  EXPECT_EQ(core.summary().nodes_in_use(), 2u);
  auto mixed = mixed_nodes(strategy::bin_pack);
  EXPECT_EQ(place(mixed, req("probe")), "big");
}

TEST(scheduler_core, spread_picks_the_least_loaded_node) {
  auto core = three_nodes(strategy::spread);
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, req("t2")), "b");
  EXPECT_EQ(place(core, req("t3")), "c");
  EXPECT_EQ(place(core, req("t4", 500)), "a");
  EXPECT_EQ(place(core, req("t5")), "b") << "a holds 1500, b and c 1000";
  EXPECT_EQ(core.summary().nodes_in_use(), 3u);
  auto mixed = mixed_nodes(strategy::spread);
  EXPECT_EQ(place(mixed, req("probe")), "mid");
}

TEST(scheduler_core, best_fit_picks_the_node_the_task_fills_most_tightly) {
  auto core = mixed_nodes(strategy::best_fit);
  EXPECT_EQ(place(core, req("probe")), "small") << "one more fits on small, 3 on mid, 7 on big";
  EXPECT_EQ(place(core, req("probe2")), "small") << "small now fits exactly";
  EXPECT_EQ(place(core, req("probe3")), "mid") << "small is full";
}

TEST(scheduler_core, equal_scores_go_to_the_larger_node_then_the_first_registered) {
  scheduler_core core{strategy::bin_pack};
  core.add_node(node("small", 2000, 4, 10));
  core.add_node(node("big", 16000, 32, 100));
  core.add_node(node("big2", 16000, 32, 100));
  EXPECT_EQ(place(core, req("t1")), "big") << "every node is empty";
}

TEST(scheduler_core, packing_keeps_nodes_with_scarce_runtimes_for_the_sandboxes_needing_them) {
  for (auto s : {strategy::bin_pack, strategy::best_fit}) {
    scheduler_core core{s};
    core.add_node(node("gvisor", 4000, 8, 10, {"crun", "runsc"}));
    core.add_node(node("plain", 4000, 8, 10, {"crun"}));
    EXPECT_EQ(place(core, req("t1")), "plain") << to_string(s);
    EXPECT_EQ(place(core, req("t2", 1000, gib, "acme", "runsc")), "gvisor") << to_string(s);
    for (int i = 3; i < 6; ++i)
      EXPECT_EQ(place(core, req("t" + std::to_string(i))), "plain") << to_string(s);
    EXPECT_EQ(place(core, req("t6")), "gvisor") << "only when the plain node is full";
  }
  scheduler_core spread{strategy::spread};
  spread.add_node(node("gvisor", 4000, 8, 10, {"crun", "runsc"}));
  spread.add_node(node("plain", 4000, 8, 10, {"crun"}));
  EXPECT_EQ(place(spread, req("t1")), "gvisor") << "spread only evens the load";
  EXPECT_EQ(place(spread, req("t2")), "plain");
}

TEST(scheduler_core, load_is_the_dominant_share_of_cpu_memory_and_slots) {
  scheduler_core core{strategy::spread};
  core.add_node(node("a", 10000, 10, 4));
  ASSERT_EQ(place(core, req("t1", 100, gib / 2)), "a");
  auto n = core.summary().nodes.front();
  EXPECT_DOUBLE_EQ(n.load, 0.25) << "one of 4 slots outweighs 1% cpu and 5% memory";
  EXPECT_EQ(n.used.sandboxes, 1u);
  EXPECT_EQ(n.used.cpu_millis, 100u);
}

TEST(scheduler_core, sandbox_slots_bound_a_node) {
  scheduler_core core{strategy::bin_pack};
  core.add_node(node("a", 4000, 8, 2));
  core.add_node(node("b", 4000, 8, 2));
  EXPECT_EQ(place(core, req("t1", 10)), "a");
  EXPECT_EQ(place(core, req("t2", 10)), "a");
  EXPECT_EQ(place(core, req("t3", 10)), "b");
}

TEST(scheduler_core, quotas_bind_by_sandboxes) {
  auto core = three_nodes(strategy::spread);
  core.set_quotas(tenant_id{"acme"}, {2, 100000, 100 * gib});
  EXPECT_EQ(place(core, req("t1", 100)), "a");
  EXPECT_EQ(place(core, req("t2", 100)), "b");
  auto refused = core.place(req("t3", 100));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::quota_exceeded);
  EXPECT_EQ(refused.err().field, "max_sandboxes");
  EXPECT_NE(refused.err().detail.find("sandboxes (2)"), std::string::npos) << refused.err().detail;
  EXPECT_EQ(refused.err().limit, std::optional<std::uint64_t>{2});
  EXPECT_EQ(place(core, req("u1", 100, gib, "globex")), "c") << "other tenants are not bound";
  ASSERT_TRUE(core.release(task_id{"t1"}).ok());
  EXPECT_EQ(place(core, req("t3", 100)), "a") << "a release gives the quota back";
}

TEST(scheduler_core, quotas_bind_by_cpu_and_by_memory) {
  auto core = three_nodes(strategy::spread);
  core.set_quotas(tenant_id{"acme"}, {10, 3000, 3 * gib});
  EXPECT_EQ(place(core, req("t1", 2000, gib)), "a");
  EXPECT_EQ(place(core, req("t2", 1500, gib)), "error:quota_exceeded:cpu_millis");
  EXPECT_EQ(place(core, req("t2", 1000, 3 * gib)), "error:quota_exceeded:max_memory_bytes");
  EXPECT_EQ(place(core, req("t2", 1000, 2 * gib)), "b") << "exactly at the quota is allowed";
  auto acme = core.summary().tenants.front();
  EXPECT_EQ(acme.id.str(), "acme");
  EXPECT_EQ(acme.used.cpu_millis, 3000u);
  EXPECT_EQ(acme.used.memory_bytes, 3 * gib);
  EXPECT_EQ(acme.used.sandboxes, 2u);
}

TEST(scheduler_core, tenants_without_quotas_of_their_own_get_the_default) {
  scheduler_core core{strategy::bin_pack, {1, 100000, 100 * gib}};
  core.add_node(node("a", 4000, 8, 10));
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, req("t2")), "error:quota_exceeded:max_sandboxes");
  core.set_quotas(tenant_id{"acme"}, {5, 100000, 100 * gib});
  EXPECT_EQ(place(core, req("t2")), "a");
}

TEST(scheduler_core, release_frees_the_node_and_the_tenant) {
  scheduler_core core{strategy::bin_pack};
  core.add_node(node("a", 1000, 1, 1));
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, req("t2")), "error:unavailable:");
  auto freed = core.release(task_id{"t1"});
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->node.str(), "a");
  EXPECT_EQ(freed->request.cpu_millis, 1000u);
  EXPECT_EQ(core.live_tasks(), 0u);
  EXPECT_EQ(core.summary().nodes.front().used.cpu_millis, 0u);
  EXPECT_EQ(core.summary().tenants.front().used.sandboxes, 0u);
  EXPECT_EQ(place(core, req("t2")), "a");
  EXPECT_EQ(core.release(task_id{"t1"}).err().code, errc::not_found) << "released twice";
  EXPECT_EQ(core.release(task_id{"nope"}).err().code, errc::not_found);
}

TEST(scheduler_core, a_down_node_takes_nothing_and_its_tasks_move) {
  auto core = three_nodes(strategy::bin_pack);
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, req("t2")), "a");
  auto moved = core.mark_down(node_id{"a"});
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[0].request.task.str(), "t1") << "oldest first";
  EXPECT_EQ(moved[0].from.str(), "a");
  ASSERT_TRUE(moved[0].to.ok());
  EXPECT_EQ(moved[0].to->str(), "b");
  EXPECT_EQ(moved[1].to->str(), "b");
  EXPECT_EQ(core.node_of(task_id{"t1"})->str(), "b");
  EXPECT_EQ(core.status_of(node_id{"a"}), node_status::down);
  EXPECT_EQ(place(core, req("t3")), "b");
  EXPECT_TRUE(core.mark_down(node_id{"a"}).empty()) << "already down";
  EXPECT_TRUE(core.mark_down(node_id{"zz"}).empty()) << "unknown";
  core.add_node(node("a", 4000, 8, 10));
  EXPECT_EQ(core.status_of(node_id{"a"}), node_status::up);
  EXPECT_EQ(core.summary().nodes.front().used.sandboxes, 0u);
}

TEST(scheduler_core, a_task_that_cannot_move_is_dropped_with_the_reason) {
  scheduler_core core{strategy::bin_pack, {1, 100000, 100 * gib}};
  core.add_node(node("a", 4000, 8, 10));
  EXPECT_EQ(place(core, req("t1")), "a");
  auto moved = core.mark_down(node_id{"a"});
  ASSERT_EQ(moved.size(), 1u);
  ASSERT_FALSE(moved[0].to.ok());
  EXPECT_EQ(moved[0].to.err().code, errc::unavailable);
  EXPECT_EQ(core.live_tasks(), 0u);
  EXPECT_FALSE(core.node_of(task_id{"t1"}));
  core.add_node(node("b", 4000, 8, 10));
  EXPECT_EQ(place(core, req("t2")), "b") << "the dropped task no longer counts against the quota";
}

TEST(scheduler_core, a_drained_node_keeps_its_tasks_but_takes_no_new_ones) {
  auto core = three_nodes(strategy::bin_pack);
  EXPECT_EQ(place(core, req("t1")), "a");
  core.drain(node_id{"a"});
  EXPECT_EQ(core.status_of(node_id{"a"}), node_status::drained);
  EXPECT_EQ(place(core, req("t2")), "b");
  EXPECT_EQ(core.node_of(task_id{"t1"})->str(), "a");
  EXPECT_TRUE(core.release(task_id{"t1"}).ok());
}

TEST(scheduler_core, only_nodes_offering_the_runtime_are_considered) {
  scheduler_core core{strategy::bin_pack};
  core.add_node(node("a", 4000, 8, 10, {"crun", "runc"}));
  core.add_node(node("b", 4000, 8, 10, {"runsc"}));
  EXPECT_EQ(place(core, req("t1", 1000, gib, "acme", "runsc")), "b");
  EXPECT_EQ(place(core, req("t2", 1000, gib, "acme", "runc")), "a");
  EXPECT_EQ(place(core, req("t3", 1000, gib, "acme", "microvm")), "error:invalid_argument:runtime");
  core.mark_down(node_id{"b"});
  EXPECT_EQ(place(core, req("t4", 1000, gib, "acme", "runsc")), "error:unavailable:")
    << "the runsc node may come back";
}

TEST(scheduler_core, a_request_bound_to_one_node_goes_there_or_waits_for_it) {
  auto core = three_nodes(strategy::spread);
  auto bound = [](const std::string& task, const char* node) {
    auto r = req(task);
    r.only_on = node_id{node};
    return r;
  };
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, bound("t2", "a")), "a") << "spread would have picked b";
  EXPECT_EQ(place(core, bound("t3", "c")), "c");
  for (int i = 4; i < 6; ++i)
    EXPECT_EQ(place(core, bound("t" + std::to_string(i), "a")), "a");
  EXPECT_EQ(place(core, bound("t6", "a")), "error:unavailable:") << "a is full: it waits, b and c have room";
  EXPECT_EQ(place(core, bound("t2", "b")), "error:conflict:") << "placed already, bound elsewhere";
  core.drain(node_id{"c"});
  EXPECT_EQ(place(core, bound("t7", "c")), "error:unavailable:") << "a drained node may take it again";
  auto moved = core.mark_down(node_id{"a"});
  ASSERT_EQ(moved.size(), 4u);
  EXPECT_EQ(moved[0].to->str(), "b") << "the unbound task moves";
  for (std::size_t i = 1; i < moved.size(); ++i)
    EXPECT_FALSE(moved[i].to.ok()) << "a bound task cannot move: " << moved[i].request.task.str();
  auto unknown = core.place(bound("t8", "zz"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err().code, errc::invalid_argument);
  EXPECT_NE(unknown.err().detail.find("zz"), std::string::npos) << unknown.err().detail;
}

TEST(scheduler_core, a_request_larger_than_any_node_can_never_run) {
  scheduler_core core{strategy::bin_pack};
  core.add_node(node("cpu-heavy", 16000, 2, 10));
  core.add_node(node("mem-heavy", 2000, 64, 10));
  EXPECT_EQ(place(core, req("t1", 32000)), "error:invalid_argument:cpu_millis");
  EXPECT_EQ(place(core, req("t2", 1000, 128 * gib)), "error:invalid_argument:memory_bytes");
  auto both = core.place(req("t3", 8000, 32 * gib));
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.err().code, errc::invalid_argument) << "each fits somewhere, never both on one node";
  EXPECT_NE(both.err().detail.find("both"), std::string::npos);
}

TEST(scheduler_core, never_fitting_comes_before_quota_and_quota_before_no_room) {
  scheduler_core core{strategy::bin_pack, {1, 100000, 100 * gib}};
  core.add_node(node("a", 2000, 2, 1));
  EXPECT_EQ(place(core, req("t1", 2000)), "a");
  EXPECT_EQ(place(core, req("t2", 4000)), "error:invalid_argument:cpu_millis");
  EXPECT_EQ(place(core, req("t2", 1000)), "error:quota_exceeded:max_sandboxes");
  EXPECT_EQ(place(core, req("u1", 1000, gib, "globex")), "error:unavailable:");
}

TEST(scheduler_core, without_nodes_everything_waits) {
  scheduler_core core{strategy::spread};
  auto out = core.place(req("t1"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.err().code, errc::unavailable);
}

TEST(scheduler_core, placing_again_is_idempotent_other_resources_conflict) {
  auto core = three_nodes(strategy::spread);
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(place(core, req("t1")), "a");
  EXPECT_EQ(core.live_tasks(), 1u);
  EXPECT_EQ(place(core, req("t1", 2000)), "error:conflict:");
}

TEST(scheduler_core, an_invalid_request_names_the_field) {
  auto core = three_nodes(strategy::spread);
  EXPECT_EQ(place(core, req("")), "error:invalid_argument:task");
  EXPECT_EQ(place(core, req("t1", 1000, gib, "")), "error:invalid_argument:tenant");
  EXPECT_EQ(place(core, req("t1", 1000, gib, "acme", "")), "error:invalid_argument:runtime");
  EXPECT_EQ(place(core, req("t1", 0)), "error:invalid_argument:cpu_millis");
  EXPECT_EQ(place(core, req("t1", 1000, 0)), "error:invalid_argument:memory_bytes");
  EXPECT_EQ(core.live_tasks(), 0u);
}

TEST(scheduler_core, strategies_have_wire_names) {
  strategy s{};
  for (auto x : {strategy::bin_pack, strategy::spread, strategy::best_fit}) {
    ASSERT_TRUE(parse_strategy(to_string(x), s));
    EXPECT_EQ(s, x);
  }
  EXPECT_TRUE(parse_strategy("bin-pack", s));
  EXPECT_EQ(s, strategy::bin_pack);
  EXPECT_FALSE(parse_strategy("random", s));
}

} // namespace
