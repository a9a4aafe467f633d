#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdlib.h>

#include "adapters/sandbox/sandbox_state.hpp"

using aetherium::errc;
using aetherium::sandbox_runtime_kind;
using namespace aetherium::sandbox;

TEST(sandbox_state, makes_distinct_well_formed_ids) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_sandbox_id();
    EXPECT_TRUE(valid_sandbox_id(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  for (const char* bad : {"", "ae-", "ae-../../etc/x", "xx-0123456789ab", "ae-0123456789abc"})
    EXPECT_FALSE(valid_sandbox_id(bad)) << bad;
}

TEST(sandbox_state, round_trips_meta_through_the_state_directory) {
  char tmpl[] = "/tmp/meta-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  sandbox_meta meta;
  meta.id = "ae-00000000abcd";
  meta.runtime = sandbox_runtime_kind::runsc;
  meta.labels = {{"task", "t-1"}};
  meta.cgroup_path = "/aetherium/ae-00000000abcd";
  meta.workspace_root = "/ws";
  meta.uid = 1000;
  meta.pids = 64;
  meta.egress_proxy = true;
  meta.proxy_url = "http://169.254.64.1:3128";
  meta.gateway_socket = "/run/aetherium/gateway/t-1.sock";
  meta.gateway_url = "http://169.254.64.1:3129";
  ASSERT_TRUE(write_meta(dir, meta).ok());
  auto back = read_meta(dir);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, meta.id);
  EXPECT_EQ(back->runtime, sandbox_runtime_kind::runsc);
  EXPECT_EQ(back->labels.at("task"), "t-1");
  EXPECT_EQ(back->uid, 1000u);
  EXPECT_EQ(back->pids, 64u);
  EXPECT_TRUE(back->egress_proxy);
  EXPECT_EQ(back->proxy_url, meta.proxy_url);
  EXPECT_EQ(back->gateway_socket, meta.gateway_socket);
  EXPECT_EQ(back->gateway_url, meta.gateway_url);
  meta.labels["bad"] = std::string("\xff");
  EXPECT_EQ(write_meta(dir, meta).err().code, errc::invalid_argument);
  std::ofstream(dir + "/meta.json") << "{\"id\": \"../../etc\", \"runtime\": \"crun\"}";
  EXPECT_EQ(read_meta(dir).err().code, errc::corrupt);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(read_meta(dir).err().code, errc::not_found);
}
