#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/json/event_log_node_registry.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/support/pg_test_database.hpp"
#include "tests/support/run_command.hpp"

using namespace aetherium;
using aetherium::testing::run_command;

namespace {

std::string aetherium_cmd(const std::string& url, const std::string& args) {
  return "AETHERIUM_DATABASE_URL='" + url + "' " AETHERIUM_BINARY " " + args;
}

TEST(cli, migrate_reports_status_and_applies_pending_migrations) {
  aetherium::testing::pg_test_database db;
  auto known = postgres::migrate_status(db.url());
  ASSERT_TRUE(known.ok()) << known.err().detail;
  ASSERT_TRUE(postgres::migrate_down(db.url(), 100).ok());
  auto status = run_command(aetherium_cmd(db.url(), "migrate status"));
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("pending"), std::string::npos) << status.output;
  auto up = run_command(aetherium_cmd(db.url(), "migrate up"));
  EXPECT_EQ(up.exit_code, 0) << up.output;
  auto applied = "applied " + std::to_string(known->size()) + " migration";
  EXPECT_NE(up.output.find(applied), std::string::npos) << up.output;
  auto again = run_command(aetherium_cmd(db.url(), "migrate status"));
  EXPECT_EQ(again.output.find("pending"), std::string::npos) << again.output;
}

TEST(cli, events_verify_passes_an_intact_log_and_names_the_tampered_position) {
  aetherium::testing::pg_test_database db;
  auto store = make_postgres_event_store(db.url());
  ASSERT_TRUE(store.ok());
  auto ids = make_random_id_generator();
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE((*store)->append({stream_id{"task-1"}, expected_version::any(),
                                  {{event_id{ids->next_uuid()}, "test.happened", 1, "{}", {}}}}).ok());
  auto ok = run_command(aetherium_cmd(db.url(), "events verify"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("intact: 6 events"), std::string::npos) << ok.output;

  db.exec_as_superuser("ALTER TABLE events DISABLE TRIGGER events_no_update;"
                       "UPDATE events SET type = 'forged' WHERE position = 4;"
                       "ALTER TABLE events ENABLE TRIGGER events_no_update;");
  auto broken = run_command(aetherium_cmd(db.url(), "events verify"));
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("BROKEN at position 4"), std::string::npos) << broken.output;
}

TEST(cli, usage_errors_exit_2_and_unreachable_databases_exit_1) {
  EXPECT_EQ(run_command(AETHERIUM_BINARY " frobnicate").exit_code, 2);
  EXPECT_EQ(run_command(AETHERIUM_BINARY " migrate sideways --database-url x").exit_code, 2);
  EXPECT_EQ(run_command("env -u AETHERIUM_DATABASE_URL " AETHERIUM_BINARY " migrate up").exit_code, 2);
  auto down = run_command(aetherium_cmd("host=127.0.0.1 port=1 connect_timeout=2", "events verify"));
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_NE(down.output.find("unavailable"), std::string::npos) << down.output;
}

/// The JSON object `out` printed last.
nlohmann::json printed(const std::string& out) {
  auto at = out.rfind("\n{");
  return nlohmann::json::parse(out.substr(at == std::string::npos ? out.find('{') : at + 1));
}

TEST(cli, tenants_are_created_read_and_given_quotas_with_clear_errors) {
  aetherium::testing::pg_test_database db;
  auto made = run_command(aetherium_cmd(db.url(), "admin tenant create --tenant acme --name Acme --max-sandboxes 2"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_NE(made.output.find("max_sandboxes     2"), std::string::npos) << made.output;
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant create --tenant acme")).exit_code, 1);

  auto set = run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant acme --max-live-tasks 3 --max-memory 1g"));
  ASSERT_EQ(set.exit_code, 0) << set.output;
  auto got = run_command(aetherium_cmd(db.url(), "admin tenant get --tenant acme --json"));
  ASSERT_EQ(got.exit_code, 0) << got.output;
  auto t = printed(got.output);
  EXPECT_EQ(t.at("name"), "Acme");
  EXPECT_EQ(t.at("quotas").at("max_live_tasks"), 3);
  EXPECT_EQ(t.at("quotas").at("max_sandboxes"), 2) << "options not given keep their values";
  EXPECT_EQ(t.at("quotas").at("max_memory_bytes"), 1ull << 30);
  ASSERT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant acme --max-live-tasks unlimited "
                                                "--max-sandboxes default")).exit_code, 0);
  t = printed(run_command(aetherium_cmd(db.url(), "admin tenant get --tenant acme --json")).output);
  EXPECT_EQ(t.at("quotas").at("max_live_tasks"), 0);
  EXPECT_TRUE(t.at("quotas").at("max_sandboxes").is_null());

  auto unknown = run_command(aetherium_cmd(db.url(), "admin tenant get --tenant nobody"));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("not_found: no tenant nobody"), std::string::npos) << unknown.output;
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant nobody --max-live-tasks 1")).exit_code, 1);
  auto bad = run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant acme --max-live-tasks -1"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--max-live-tasks: '-1' is not a number"), std::string::npos) << bad.output;
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant acme --max-memory 12x")).exit_code, 2);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant set-quota --tenant acme")).exit_code, 2);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant get")).exit_code, 2);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin tenant rename --tenant acme")).exit_code, 2);
}

TEST(cli, a_key_for_an_unknown_tenant_creates_the_tenant_and_is_revoked_only_through_it) {
  aetherium::testing::pg_test_database db;
  auto key = run_command(aetherium_cmd(db.url(), "admin create-key --tenant globex --role admin --json"));
  ASSERT_EQ(key.exit_code, 0) << key.output;
  auto id = printed(key.output).at("id").get<std::string>();
  auto tenant = run_command(aetherium_cmd(db.url(), "admin tenant get --tenant globex --json"));
  ASSERT_EQ(tenant.exit_code, 0) << tenant.output;
  EXPECT_EQ(printed(tenant.output).at("name"), "globex");
  EXPECT_TRUE(printed(tenant.output).at("quotas").at("max_live_tasks").is_null()) << "the server's default";

  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin revoke-key --tenant acme --id " + id)).exit_code, 1);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin revoke-key --tenant globex")).exit_code, 2);
  auto revoked = run_command(aetherium_cmd(db.url(), "admin revoke-key --tenant globex --id " + id));
  EXPECT_EQ(revoked.exit_code, 0) << revoked.output;
  auto listed = run_command(aetherium_cmd(db.url(), "admin list-keys --tenant globex"));
  EXPECT_NE(listed.output.find("revoked"), std::string::npos) << listed.output;
}

TEST(cli, node_tokens_are_issued_once_listed_and_revoked) {
  aetherium::testing::pg_test_database db;
  // The text alone on stdout, the id alone on stderr.
  auto text_only = run_command("(" + aetherium_cmd(db.url(), "admin node-token --note 'rack 3' --ttl 3600") + " 2>/dev/null)");
  ASSERT_EQ(text_only.exit_code, 0) << text_only.output;
  ASSERT_EQ(text_only.output.rfind("aetj_", 0), 0u) << text_only.output;
  EXPECT_EQ(text_only.output.find('\n'), text_only.output.size() - 1) << "one line";
  auto text = text_only.output.substr(0, text_only.output.size() - 1);
  auto id = text.substr(5, 16);
  auto id_only = run_command("(" + aetherium_cmd(db.url(), "admin node-token") + " >/dev/null)");
  ASSERT_EQ(id_only.exit_code, 0) << id_only.output;
  EXPECT_EQ(id_only.output.find("aetj_"), std::string::npos) << "the text is not on stderr";
  EXPECT_NE(id_only.output.find("node token id "), std::string::npos) << id_only.output;

  auto store = make_postgres_event_store(db.url());
  ASSERT_TRUE(store.ok());
  auto nodes = make_event_log_node_registry(*store, make_system_clock(), make_random_id_generator());
  auto checked = nodes->check_token(text);
  ASSERT_TRUE(checked.ok()) << checked.err().detail;
  EXPECT_EQ(*checked, id);

  auto listed = run_command(aetherium_cmd(db.url(), "admin node-tokens"));
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(id + "\tactive\t"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("\track 3\n"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("\tnever\t"), std::string::npos) << "the second token never expires";

  auto revoked = run_command(aetherium_cmd(db.url(), "admin node-token --revoke " + id));
  EXPECT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_EQ(nodes->check_token(text).err().code, errc::unauthorized);
  auto json_list = run_command("(" + aetherium_cmd(db.url(), "admin node-tokens --json") + " 2>/dev/null)");
  ASSERT_EQ(json_list.exit_code, 0) << json_list.output;
  auto tokens = nlohmann::json::parse(json_list.output);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].at("id"), id);
  EXPECT_EQ(tokens[0].at("state"), "revoked");
  EXPECT_EQ(tokens[1].at("state"), "active");

  auto unknown = run_command(aetherium_cmd(db.url(), "admin node-token --revoke 0000000000000000"));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("not_found"), std::string::npos) << unknown.output;
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin node-token --ttl soon")).exit_code, 2);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin node-token --revoke " + id + " --note x")).exit_code, 2);
  EXPECT_EQ(run_command(aetherium_cmd(db.url(), "admin node-tokens --note x")).exit_code, 2);
  auto verified = run_command(aetherium_cmd(db.url(), "events verify"));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("intact: 3 events"), std::string::npos) << verified.output;
}

} // namespace
