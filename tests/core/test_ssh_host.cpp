// Unit tests for core/ssh/host: host arguments, hosts files and the ssh_config subset.
#include <catch2/catch.hpp>

#include "core/ssh/host.hpp"

using netlab::ssh::match_pattern;
using netlab::ssh::parse_host;
using netlab::ssh::parse_hosts_file;
using netlab::ssh::resolve_config;

TEST_CASE("ssh::parse_host: user@host:port splits into user, host and port") {
  auto plain = parse_host("web1");
  REQUIRE(plain);
  CHECK(plain->user.empty());
  CHECK(plain->host == "web1");
  CHECK(plain->port == 0);
  CHECK(plain->label == "web1");

  auto full = parse_host("deploy@10.0.0.5:2222");
  REQUIRE(full);
  CHECK(full->user == "deploy");
  CHECK(full->host == "10.0.0.5");
  CHECK(full->port == 2222);
  CHECK(full->label == "deploy@10.0.0.5:2222");

  auto user_only = parse_host("root@db.example.org");
  REQUIRE(user_only);
  CHECK(user_only->user == "root");
  CHECK(user_only->host == "db.example.org");
}

TEST_CASE("ssh::parse_host: IPv6 hosts bracketed with a port, bare with a zone, or bracketed alone") {
  auto bracketed = parse_host("admin@[::1]:2200");
  REQUIRE(bracketed);
  CHECK(bracketed->user == "admin");
  CHECK(bracketed->host == "::1");
  CHECK(bracketed->port == 2200);

  auto bare = parse_host("fe80::1%eth0");
  REQUIRE(bare);
  CHECK(bare->host == "fe80::1%eth0");
  CHECK(bare->port == 0);

  auto no_port = parse_host("[::1]");
  REQUIRE(no_port);
  CHECK(no_port->host == "::1");
}

TEST_CASE("ssh::parse_host: rejects bad input with the host in the message") {
  for (const char* bad : {"", "host:0", "host:65536", "host:x", "@host", "user@", "[::1", "[::1]x", "a b", "h/ost"}) {
    INFO(bad);
    auto parsed = parse_host(bad);
    REQUIRE_FALSE(parsed);
  }
  CHECK(parse_host("web:99999").error() == "host 'web:99999': port must be 1-65535");
}

TEST_CASE("ssh::parse_hosts_file: comments, blanks, line numbers") {
  auto hosts = parse_hosts_file("# fleet\nweb1\n\n  root@web2:2222  # the odd one\r\n\t\n[::1]:22\n");
  REQUIRE(hosts);
  REQUIRE(hosts->size() == 3);
  CHECK((*hosts)[0].host == "web1");
  CHECK((*hosts)[1].user == "root");
  CHECK((*hosts)[1].port == 2222);
  CHECK((*hosts)[1].label == "root@web2:2222");
  CHECK((*hosts)[2].host == "::1");

  auto empty = parse_hosts_file("");
  REQUIRE(empty);
  CHECK(empty->empty());

  auto bad = parse_hosts_file("web1\nweb2:nope\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "line 2: host 'web2:nope': port must be 1-65535");
}

TEST_CASE("ssh::match_pattern: * and ? globs match whole host names, case-insensitively") {
  CHECK(match_pattern("*", "anything"));
  CHECK(match_pattern("web?", "web1"));
  CHECK_FALSE(match_pattern("web?", "web10"));
  CHECK(match_pattern("*.example.org", "db.example.org"));
  CHECK(match_pattern("*.EXAMPLE.org", "db.example.ORG"));
  CHECK_FALSE(match_pattern("*.example.org", "example.org"));
  CHECK(match_pattern("a*b*c", "aXXbYYc"));
  CHECK_FALSE(match_pattern("a*b*c", "aXXbYY"));
  CHECK(match_pattern("", ""));
  CHECK_FALSE(match_pattern("", "x"));
}

TEST_CASE("ssh::resolve_config: first value wins, identities accumulate") {
  const char* config = R"(# global
IdentityFile ~/.ssh/global_key

Host web* !web-old
  HostName %h.internal
  User deploy
  Port 2222
  IdentityFile ~/.ssh/web_%h

Host *
  User nobody
  Port 22
  IdentityFile=/etc/keys/fallback

Match exec "true"
  User matched
)";
  auto web = resolve_config(config, "web1", "/home/me");
  REQUIRE(web);
  CHECK(web->hostname == "web1.internal");
  CHECK(web->user == "deploy");
  CHECK(web->port == 2222);
  REQUIRE(web->identity_files.size() == 3);
  CHECK(web->identity_files[0] == "/home/me/.ssh/global_key");
  CHECK(web->identity_files[1] == "/home/me/.ssh/web_web1");
  CHECK(web->identity_files[2] == "/etc/keys/fallback");

  auto old = resolve_config(config, "web-old", "/home/me");
  REQUIRE(old);
  CHECK(old->hostname.empty());
  CHECK(old->user == "nobody");
  CHECK(old->port == 22);

  auto keywords = resolve_config("HOST db\n  hostname = 10.1.2.3\n  USER=\"ops\"\n", "db", "/h");
  REQUIRE(keywords);
  CHECK(keywords->hostname == "10.1.2.3");
  CHECK(keywords->user == "ops");

  auto bad_port = resolve_config("Host *\n Port 0\n", "x", "/h");
  REQUIRE_FALSE(bad_port);
  CHECK(bad_port.error() == "line 2: Port 0: must be 1-65535");
}

TEST_CASE("ssh::match_pattern: a star stays a wildcard next to a literal '*'") {
  // Found by fuzz_ssh_config: "*" against a text starting with '*' was compared as a literal.
  CHECK(match_pattern("*", "*anr"));
  CHECK(match_pattern("*a", "*xa"));
  CHECK(match_pattern("a*", "a*b"));
  auto config = resolve_config("Host *\n  User deploy\n", "*host", "/home/u");
  REQUIRE(config);
  CHECK(config->user == "deploy");
}
