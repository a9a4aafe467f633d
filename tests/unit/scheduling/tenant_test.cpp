// Given events, when a command, then events or an error: every tenant transition and
// rejection.
#include <gtest/gtest.h>

#include "events/scheduling/tenant.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

const tenant_quotas quotas{10, std::nullopt, 16ull << 30};

create_tenant create() { return {tenant_id{"acme"}, "Acme", quotas, 7}; }

tenant_state created() {
  auto events = tenant::decide({}, create());
  EXPECT_TRUE(events.ok());
  return tenant::evolve({}, events->front());
}

std::string then_type(const tenant_state& s, const tenant_command& c) {
  auto events = tenant::decide(s, c);
  if (!events.ok())
    return std::string{"error:"} + to_string(events.err().code) + ":" + events.err().field;
  if (events->empty())
    return "none";
  return type_name(events->front());
}

TEST(tenant, creation_records_its_quotas) {
  EXPECT_EQ(tenant::stream_of("acme").str(), "tenant-acme");
  EXPECT_EQ(then_type({}, create()), "tenant.created");
  auto s = created();
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.id.str(), "acme");
  EXPECT_EQ(s.name, "Acme");
  EXPECT_EQ(s.quotas, quotas);
  EXPECT_EQ(s.created_at_us, 7);
}

TEST(tenant, creating_twice_is_a_conflict) {
  EXPECT_EQ(then_type(created(), create()), "error:conflict:");
}

TEST(tenant, invalid_fields_are_named) {
  auto c = create();
  c.id = tenant_id{};
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:id");
  c = create();
  c.name = "";
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:name");
}

TEST(tenant, a_tenant_may_be_created_without_quotas_or_with_unlimited_ones) {
  auto c = create();
  c.quotas = {};
  EXPECT_EQ(then_type({}, c), "tenant.created");
  c.quotas = {0, 0, 0};
  EXPECT_EQ(then_type({}, c), "tenant.created");
}

TEST(tenant, quotas_change_only_when_they_differ) {
  EXPECT_EQ(then_type({}, change_quotas{quotas, 8}), "error:not_found:");
  auto s = created();
  EXPECT_EQ(then_type(s, change_quotas{quotas, 8}), "none");
  tenant_quotas more{20, 4, 32ull << 30};
  EXPECT_EQ(then_type(s, change_quotas{more, 8}), "tenant.quotas_changed");
  s = tenant::evolve(s, tenant_quotas_changed{more, 8});
  EXPECT_EQ(s.quotas, more);
  EXPECT_EQ(s.updated_at_us, 8);
  EXPECT_EQ(s.created_at_us, 7);
  tenant_quotas unset_again{20, std::nullopt, 32ull << 30};
  EXPECT_EQ(then_type(s, change_quotas{unset_again, 9}), "tenant.quotas_changed");
}

TEST(tenant, unset_quotas_take_the_defaults_and_zero_is_unlimited) {
  tenant_quotas own{std::nullopt, 0, 1024};
  auto q = with_defaults(own, {5, 6, 7});
  EXPECT_EQ(q, (tenant_quotas{5, 0, 1024}));
  EXPECT_EQ(limit_of(q.max_live_tasks), std::optional<std::uint64_t>{5});
  EXPECT_EQ(limit_of(q.max_sandboxes), std::nullopt);
  EXPECT_EQ(limit_of(std::nullopt), std::nullopt);
}

TEST(tenant, placement_quotas_bind_only_the_quotas_that_are_set) {
  EXPECT_EQ(placement_quotas_of({}), unlimited_quotas());
  EXPECT_EQ(placement_quotas_of({1, 0, 0}), unlimited_quotas()) << "live tasks bind at request time, not placement";
  auto p = placement_quotas_of({std::nullopt, 3, 2048});
  EXPECT_EQ(p.max_sandboxes, 3u);
  EXPECT_EQ(p.memory_bytes, 2048u);
  EXPECT_EQ(p.cpu_millis, unlimited_quotas().cpu_millis);
  EXPECT_TRUE(validate_quotas(p).ok());
}

TEST(tenant, unlimited_quotas_never_bind) {
  auto q = unlimited_quotas();
  EXPECT_TRUE(validate_quotas(q).ok());
  EXPECT_GT(q.max_sandboxes, 1'000'000u);
  EXPECT_EQ(validate_quotas({0, 1, 1}).err().field, "max_sandboxes");
}

} // namespace
