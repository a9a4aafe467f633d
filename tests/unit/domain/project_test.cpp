#include <gtest/gtest.h>

#include "events/domain/project.hpp"

using namespace aetherium;
using namespace aetherium::domain;

namespace {

create_project valid() {
  return {project_id{"p1"}, tenant_id{"acme"}, "widgets", "/srv/git/widgets.git", "main", "make test", 5};
}

TEST(project, create_records_every_field) {
  auto events = project::decide({}, valid());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto& e = std::get<project_created>(events->front());
  EXPECT_EQ(e.name, "widgets");
  EXPECT_EQ(e.verify_command, "make test");
  auto s = project::evolve({}, events->front());
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.fields.repo, "/srv/git/widgets.git");
}

TEST(project, create_twice_is_a_conflict) {
  auto s = project::evolve({}, project::decide({}, valid())->front());
  auto again = project::decide(s, valid());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::conflict);
}

TEST(project, empty_or_oversized_fields_are_rejected_with_the_field) {
  auto c = valid();
  c.name = "";
  EXPECT_EQ(project::decide({}, c).err().field, "name");
  c = valid();
  c.repo = std::string(3000, 'r');
  EXPECT_EQ(project::decide({}, c).err().field, "repo");
  c = valid();
  c.default_base_ref = "";
  EXPECT_EQ(project::decide({}, c).err().field, "default_base_ref");
  c = valid();
  c.verify_command = std::string(5000, 'v');
  EXPECT_EQ(project::decide({}, c).err().field, "verify_command");
}

} // namespace
