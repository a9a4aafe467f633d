#include <gtest/gtest.h>

#include "adapters/sandbox/egress_request.hpp"

using namespace aetherium;
using namespace aetherium::sandbox;

namespace {

std::vector<ip_address> ips(const std::vector<const char*>& texts) {
  std::vector<ip_address> out;
  for (const char* t : texts) out.push_back(*parse_ip(t));
  return out;
}

std::vector<std::string> texts(const std::vector<ip_address>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(to_string(a));
  return out;
}

proxy_request parsed(const std::string& head) {
  auto r = parse_proxy_request(head);
  EXPECT_TRUE(r.ok()) << head << ": " << (r ? "" : r.err().detail);
  return r ? *r : proxy_request{};
}

} // namespace

TEST(egress_request, rewrites_an_absolute_uri_request_for_the_origin) {
  auto r = parsed("GET http://Allowed.Test:8080/a/b?c=d#frag HTTP/1.1\r\n"
                  "Host: elsewhere.test\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n"
                  "Accept: */*\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(r.tunnel);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.host, "Allowed.Test");
  EXPECT_EQ(r.port, 8080);
  EXPECT_EQ(r.upstream_head, "GET /a/b?c=d HTTP/1.1\r\nHost: allowed.test:8080\r\nAccept: */*\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(egress_request, defaults_the_port_and_the_path) {
  auto r = parsed("POST http://example.com HTTP/1.0\n\n");
  EXPECT_EQ(r.port, 80);
  EXPECT_EQ(r.upstream_head, "POST / HTTP/1.0\r\nHost: example.com\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(parsed("GET HTTP://example.com?q=1 HTTP/1.1\r\n\r\n").upstream_head,
            "GET /?q=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

TEST(egress_request, reads_connect_targets) {
  auto r = parsed("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n");
  EXPECT_TRUE(r.tunnel);
  EXPECT_EQ(r.host, "api.example.com");
  EXPECT_EQ(r.port, 443);
  EXPECT_TRUE(r.upstream_head.empty());
  EXPECT_EQ(parsed("CONNECT [::1]:443 HTTP/1.1\r\n\r\n").host, "::1");
}

TEST(egress_request, refuses_malformed_and_unsupported_requests) {
  for (const char* bad : {"", "\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET https://x.test/ HTTP/1.1\r\n\r\n",
                          "GET ftp://x.test/ HTTP/1.1\r\n\r\n", "CONNECT x.test HTTP/1.1\r\n\r\n",
                          "CONNECT x.test:0 HTTP/1.1\r\n\r\n", "CONNECT x.test:65536 HTTP/1.1\r\n\r\n",
                          "CONNECT x.test:44a HTTP/1.1\r\n\r\n", "GET http://user@x.test/ HTTP/1.1\r\n\r\n",
                          "GET http://x.test@127.0.0.1/ HTTP/1.1\r\n\r\n", "GET http://x.test/ HTTP/2.0\r\n\r\n",
                          "GET  http://x.test/ HTTP/1.1\r\n\r\n", "GET http:///x HTTP/1.1\r\n\r\n",
                          "GET http://[::1/ HTTP/1.1\r\n\r\n", "GET http://x.test/ HTTP/1.1\r\nNoColon\r\n\r\n",
                          "GET http://x.test/ HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
                          "GET http://x.test/ HTTP/1.1\r\nHost : x.test\r\n\r\n",
                          "GET http://x.test/ HTTP/1.1\r\nA: b\rc\r\n\r\n", "G/T http://x.test/ HTTP/1.1\r\n\r\n"}) {
    auto r = parse_proxy_request(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r) {
      EXPECT_EQ(r.err().code, errc::invalid_argument) << bad;
    }
  }
}

TEST(egress_request, admits_allowed_names_and_connect_to_443_only) {
  std::vector<std::string> allowed = {"allowed.test", "127.0.0.1", "2130706433"};
  auto check = [&](const std::string& head) { return check_request(parsed(head), allowed); };
  EXPECT_TRUE(check("GET http://allowed.test/ HTTP/1.1\r\n\r\n").ok());
  EXPECT_TRUE(check("GET http://ALLOWED.test:8080/ HTTP/1.1\r\n\r\n").ok());
  EXPECT_TRUE(check("CONNECT allowed.test:443 HTTP/1.1\r\n\r\n").ok());
  for (const char* refused : {"GET http://denied.test/ HTTP/1.1\r\n\r\n", "CONNECT allowed.test:80 HTTP/1.1\r\n\r\n",
                              "CONNECT allowed.test:22 HTTP/1.1\r\n\r\n", "GET http://127.0.0.1/ HTTP/1.1\r\n\r\n",
                              "GET http://2130706433/ HTTP/1.1\r\n\r\n", "GET http://[::1]/ HTTP/1.1\r\n\r\n",
                              "CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n"}) {
    auto r = check(refused);
    EXPECT_FALSE(r.ok()) << refused;
    if (!r) {
      EXPECT_EQ(r.err().code, errc::forbidden) << refused;
    }
  }
}

TEST(egress_request, refuses_a_name_when_any_of_its_addresses_is_not_public) {
  EXPECT_TRUE(check_addresses("a.test", ips({"93.184.215.14", "2606:4700::1111"}), {}).ok());
  auto mixed = check_addresses("a.test", ips({"93.184.215.14", "127.0.0.1"}), {});
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.err().code, errc::forbidden);
  EXPECT_NE(mixed.err().detail.find("127.0.0.1"), std::string::npos) << mixed.err().detail;
  EXPECT_NE(mixed.err().detail.find("(loopback)"), std::string::npos) << mixed.err().detail;
  auto none = check_addresses("a.test", {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.err().code, errc::unavailable);
  auto upstream = ips({"169.254.200.2"});
  EXPECT_FALSE(check_addresses("a.test", upstream, {}).ok());
  EXPECT_TRUE(check_addresses("a.test", upstream, *parse_cidrs({"169.254.200.0/30"})).ok());
}

TEST(egress_request, looks_names_up_in_a_hosts_file) {
  std::string hosts = "127.0.0.1 localhost\n# 10.0.0.1 allowed.test\n"
                      "169.254.200.2\tallowed.test denied.test # comment\n::1 allowed.test\n"
                      "169.254.200.2 ALLOWED.test\nbogus allowed.test\n";
  EXPECT_EQ(texts(hosts_file_lookup(hosts, "allowed.test")), (std::vector<std::string>{"169.254.200.2", "::1"}));
  EXPECT_EQ(texts(hosts_file_lookup(hosts, "Denied.Test")), (std::vector<std::string>{"169.254.200.2"}));
  EXPECT_TRUE(hosts_file_lookup(hosts, "comment").empty());
  EXPECT_TRUE(hosts_file_lookup(hosts, "missing.test").empty());
}

TEST(egress_request, reads_back_the_settings_it_writes) {
  egress_proxy_config config;
  config.listen_address = "169.254.64.1";
  config.port = 3128;
  config.allowed_hosts = {"allowed.test", ".example.com"};
  config.allowed_private_ranges = {"169.254.200.0/30", "fd00::/8"};
  config.hosts_file = "/tmp/a dir/hosts";
  auto back = parse_proxy_config(format_proxy_config(config));
  ASSERT_TRUE(back.ok()) << back.err().detail;
  EXPECT_EQ(back->listen_address, config.listen_address);
  EXPECT_EQ(back->port, 3128);
  EXPECT_EQ(back->allowed_hosts, config.allowed_hosts);
  EXPECT_EQ(back->allowed_private_ranges, config.allowed_private_ranges);
  EXPECT_EQ(back->hosts_file, config.hosts_file);
  for (const char* bad : {"listen 169.254.64.1:3128\n", "allow-host a.test\n",
                          "listen 169.254.64.1:3128\nallow-host a..test\n",
                          "listen 169.254.64.1:3128\nallow-host a.test\nallow-private 10.0.0.1/8\n",
                          "listen ::1:3128\nallow-host a.test\n", "listen 169.254.64.1\nallow-host a.test\n",
                          "listen 169.254.64.1:3128\nallow-host a.test\nfilter x\n"})
    EXPECT_FALSE(parse_proxy_config(bad).ok()) << bad;
}

TEST(egress_request, reads_back_a_gateway_which_may_stand_without_allowed_hosts) {
  egress_proxy_config config;
  config.listen_address = "169.254.64.1";
  config.gateway_socket = "/run/aetherium/gateway/task 1.sock";
  config.gateway_port = 3129;
  auto back = parse_proxy_config(format_proxy_config(config));
  ASSERT_TRUE(back.ok()) << back.err().detail;
  EXPECT_TRUE(back->allowed_hosts.empty());
  EXPECT_EQ(back->gateway_socket, config.gateway_socket);
  EXPECT_EQ(back->gateway_port, 3129);
  auto without = parse_proxy_config("listen 169.254.64.1:3128\nallow-host a.test\n");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->gateway_socket, "");
  for (const char* bad : {"listen 169.254.64.1:3128\ngateway 3129 relative.sock\n",
                          "listen 169.254.64.1:3128\ngateway 3129\n",
                          "listen 169.254.64.1:3128\ngateway x /run/g.sock\n",
                          "listen 169.254.64.1:3128\ngateway 3128 /run/g.sock\n",
                          "listen 169.254.64.1:3128\ngateway 0 /run/g.sock\n"})
    EXPECT_FALSE(parse_proxy_config(bad).ok()) << bad;
}

TEST(egress_request, takes_only_absolute_socket_paths_that_fit_an_address) {
  EXPECT_TRUE(valid_gateway_socket("/run/aetherium/gateway/t-1.sock"));
  EXPECT_TRUE(valid_gateway_socket("/" + std::string(106, 'a')));
  EXPECT_FALSE(valid_gateway_socket("/" + std::string(107, 'a'))) << "sun_path holds 107 bytes and a NUL";
  for (const char* bad : {"", "gw.sock", "./gw.sock", "/run/g\nallow-host x.test", "/run/g\tx"})
    EXPECT_FALSE(valid_gateway_socket(bad)) << bad;
}

TEST(egress_request, answers_refusals_with_a_complete_response) {
  EXPECT_EQ(error_response("403 Forbidden", "no"),
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n"
            "Connection: close\r\n\r\naetherium egress proxy: no\n");
}
