#include <gtest/gtest.h>

#include "adapters/sandbox/cgroups.hpp"

using namespace aetherium::sandbox;

TEST(cgroups, classifies_a_unified_root_as_v2) {
  auto mode = classify_cgroups(fs_kind::cgroup2, fs_kind::missing);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, cgroup_mode::v2);
}

TEST(cgroups, classifies_a_tmpfs_root_with_a_unified_mount_as_hybrid) {
  auto mode = classify_cgroups(fs_kind::tmpfs, fs_kind::cgroup2);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, cgroup_mode::hybrid);
}

TEST(cgroups, classifies_a_tmpfs_root_without_unified_as_v1) {
  auto mode = classify_cgroups(fs_kind::tmpfs, fs_kind::missing);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, cgroup_mode::v1);
}

TEST(cgroups, reports_a_host_without_cgroups_as_unavailable) {
  auto mode = classify_cgroups(fs_kind::missing, fs_kind::missing);
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.err().code, aetherium::errc::unavailable);
}

TEST(cgroups, only_hybrid_hosts_need_the_unified_mount_hidden_from_crun) {
  EXPECT_TRUE(cgroup_layout(cgroup_mode::hybrid, "/r", {"memory"}).crun_needs_unified_detached());
  EXPECT_FALSE(cgroup_layout(cgroup_mode::v1, "/r", {"memory"}).crun_needs_unified_detached());
  EXPECT_FALSE(cgroup_layout(cgroup_mode::v2, "/r", {}).crun_needs_unified_detached());
}

TEST(cgroups, lists_one_directory_per_v1_hierarchy) {
  cgroup_layout layout(cgroup_mode::hybrid, "/sys/fs/cgroup", {"memory", "pids", "unified"});
  auto dirs = layout.directories("/aetherium/ae-1");
  ASSERT_EQ(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], "/sys/fs/cgroup/memory/aetherium/ae-1");
  EXPECT_EQ(dirs[2], "/sys/fs/cgroup/unified/aetherium/ae-1");
  EXPECT_EQ(layout.controller_dir("pids", "/a"), "/sys/fs/cgroup/pids/a");
}

TEST(cgroups, lists_one_directory_on_v2) {
  cgroup_layout layout(cgroup_mode::v2, "/sys/fs/cgroup", {});
  EXPECT_EQ(layout.directories("/a/b"), std::vector<std::string>{"/sys/fs/cgroup/a/b"});
  EXPECT_EQ(layout.controller_dir("memory", "/a/b"), "/sys/fs/cgroup/a/b");
}

TEST(cgroups, parses_keyed_counters) {
  std::string oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
  EXPECT_EQ(parse_keyed_value(oom_control, "oom_kill"), 3u);
  EXPECT_EQ(parse_keyed_value(oom_control, "oom"), 0u);
  EXPECT_EQ(parse_keyed_value("usage_usec 1500\nuser_usec 1000\n", "usage_usec"), 1500u);
}

TEST(cgroups, refuses_to_remove_the_root_group) {
  cgroup_layout layout(cgroup_mode::v2, "/nonexistent", {});
  auto removed = remove_cgroup(layout, "/", std::chrono::steady_clock::now());
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.err().code, aetherium::errc::invalid_argument);
}
