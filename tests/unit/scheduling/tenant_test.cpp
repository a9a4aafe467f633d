// Given events, when a command, then events or an error: every tenant transition and
// rejection.
#include <gtest/gtest.h>

#include "events/scheduling/tenant.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

const tenant_quotas quotas{10, 8000, 16ull << 30};

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

TEST(tenant, invalid_fields_and_zero_quotas_are_named) {
  auto c = create();
  c.id = tenant_id{};
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:id");
  c = create();
  c.name = "";
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:name");
  c = create();
  c.quotas.max_concurrent_tasks = 0;
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:max_concurrent_tasks");
  c = create();
  c.quotas.cpu_millis = 0;
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:cpu_millis");
  c = create();
  c.quotas.memory_bytes = 0;
  EXPECT_EQ(then_type({}, c), "error:invalid_argument:memory_bytes");
}

TEST(tenant, quotas_change_only_when_they_differ) {
  EXPECT_EQ(then_type({}, change_quotas{quotas, 8}), "error:not_found:");
  auto s = created();
  EXPECT_EQ(then_type(s, change_quotas{quotas, 8}), "none");
  tenant_quotas more{20, 16000, 32ull << 30};
  EXPECT_EQ(then_type(s, change_quotas{more, 8}), "tenant.quotas_changed");
  s = tenant::evolve(s, tenant_quotas_changed{more, 8});
  EXPECT_EQ(s.quotas, more);
  EXPECT_EQ(s.updated_at_us, 8);
  EXPECT_EQ(s.created_at_us, 7);
  EXPECT_EQ(then_type(s, change_quotas{{20, 0, 1}, 9}), "error:invalid_argument:cpu_millis");
}

TEST(tenant, unlimited_quotas_never_bind) {
  auto q = unlimited_quotas();
  EXPECT_TRUE(validate_quotas(q).ok());
  EXPECT_GT(q.max_concurrent_tasks, 1'000'000u);
}

} // namespace
