// Unit tests for core/exec/request: validation and message building, no sockets.
#include <csignal>

#include <catch2/catch.hpp>
#include <uv.h>

#include "core/crypto/digest.hpp"
#include "core/exec/exec_service.hpp"
#include "core/exec/request.hpp"

using netlab::exec::parse_exec;
using netlab::exec::Policy;
using netlab::exec::Request;
using netlab::exec::RequestError;
using nlohmann::json;

namespace {

netlab::frame::Frame exec_frame(json header, std::string body = {}) {
  header["type"] = "exec";
  header["size"] = body.size();
  return netlab::frame::Frame{std::move(header), std::move(body)};
}

std::string error_code(json header, const Policy& policy = {}) {
  auto parsed = parse_exec(exec_frame(std::move(header)), policy);
  auto* error = std::get_if<RequestError>(&parsed);
  return error != nullptr ? error->code : "ok";
}

} // namespace

TEST_CASE("exec::parse_exec: argv, shell, timeout, env, cwd and stdin reach the request as sent", "[exec]") {
  Policy policy;
  policy.allow_shell = true;
  auto parsed = parse_exec(exec_frame({{"id", 7},
                                       {"argv", {"ls", "-l"}},
                                       {"timeout", 2.5},
                                       {"env", {{"A", "1"}}},
                                       {"cwd", "/tmp"}},
                                      "input"),
                           policy);
  REQUIRE(std::holds_alternative<Request>(parsed));
  auto& request = std::get<Request>(parsed);
  CHECK(request.id == 7);
  CHECK(request.argv == std::vector<std::string>{"ls", "-l"});
  CHECK_FALSE(request.shell);
  CHECK(request.timeout == netlab::Seconds(2.5));
  CHECK(request.env == std::vector<std::string>{"A=1"});
  CHECK(request.cwd == "/tmp");
  CHECK(request.stdin_data == "input");

  auto shell = parse_exec(exec_frame({{"id", 1}, {"shell", "ls | wc -l"}}), policy);
  REQUIRE(std::holds_alternative<Request>(shell));
  CHECK(std::get<Request>(shell).argv == std::vector<std::string>{"/bin/sh", "-c", "ls | wc -l"});
}

TEST_CASE("exec::parse_exec: every bad request is named", "[exec]") {
  CHECK(error_code({{"argv", {"ls"}}}) == "bad-request");
  CHECK(error_code({{"id", "1"}, {"argv", {"ls"}}}) == "bad-request");
  CHECK(error_code({{"id", 1.5}, {"argv", {"ls"}}}) == "bad-request");
  CHECK(error_code({{"id", 1}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", json::array()}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", "ls"}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {""}}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls", 1}}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {std::string("l\0s", 3)}}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"shell", "ls"}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"timeout", 0}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"timeout", "5"}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"env", {{"A", 1}}}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"env", {{"A=B", "x"}}}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"env", json::array()}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}, {"cwd", 3}}) == "bad-request");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}}) == "ok");
}

TEST_CASE("exec::parse_exec: the policy refuses shells and programs off the allow list and caps the timeout",
          "[exec]") {
  CHECK(error_code({{"id", 1}, {"shell", "ls"}}) == "not-allowed");
  Policy allow;
  allow.allow = {"echo"};
  CHECK(error_code({{"id", 1}, {"argv", {"echo", "x"}}}, allow) == "ok");
  CHECK(error_code({{"id", 1}, {"argv", {"/bin/echo"}}}, allow) == "not-allowed");
  CHECK(error_code({{"id", 1}, {"argv", {"ls"}}}, allow) == "not-allowed");

  Policy capped;
  capped.max_timeout = netlab::Seconds(3);
  auto parsed = parse_exec(exec_frame({{"id", 1}, {"argv", {"ls"}}, {"timeout", 100}}), capped);
  CHECK(std::get<Request>(parsed).timeout == netlab::Seconds(3));
  auto defaulted = parse_exec(exec_frame({{"id", 1}, {"argv", {"ls"}}}), capped);
  CHECK(std::get<Request>(defaulted).timeout == netlab::Seconds(3));
}

TEST_CASE("exec::parse_signal: a known signal is its number; STOP and a frame without id are refused", "[exec]") {
  auto frame = [](json header) { return netlab::frame::Frame{std::move(header), {}}; };
  auto ok = netlab::exec::parse_signal(frame({{"type", "signal"}, {"id", 3}, {"signal", "TERM"}}));
  REQUIRE(std::holds_alternative<netlab::exec::SignalRequest>(ok));
  CHECK(std::get<netlab::exec::SignalRequest>(ok).signum == 15);
  CHECK(std::holds_alternative<RequestError>(
      netlab::exec::parse_signal(frame({{"type", "signal"}, {"id", 3}, {"signal", "STOP"}}))));
  CHECK(
      std::holds_alternative<RequestError>(netlab::exec::parse_signal(frame({{"type", "signal"}, {"signal", "INT"}}))));
}

TEST_CASE("exec::check_auth: HMAC of the nonce text, constant-time compared", "[exec]") {
  std::string nonce(64, 'a');
  auto mac = netlab::exec::auth_mac("token", nonce);
  CHECK(mac == netlab::crypto::hmac_sha256_hex("token", nonce));
  CHECK(netlab::exec::check_auth({{{"type", "auth"}, {"mac", mac}}, {}}, "token", nonce));
  CHECK_FALSE(netlab::exec::check_auth({{{"type", "auth"}, {"mac", mac}}, {}}, "token", std::string(64, 'b')));
  CHECK_FALSE(netlab::exec::check_auth({{{"type", "auth"}, {"mac", mac}}, {}}, "other", nonce));
  CHECK_FALSE(netlab::exec::check_auth({{{"type", "auth"}}, {}}, "token", nonce));
  CHECK_FALSE(netlab::exec::check_auth({{{"type", "auth"}, {"mac", 5}}, {}}, "token", nonce));
}

TEST_CASE("exec::exit_header and exit_status_from agree", "[exec]") {
  using netlab::ExitStatus;
  using netlab::exec::exit_status_from;
  netlab::exec::ExitInfo info;
  info.ending = ExitStatus::exited(3);
  info.stdout_size = 10;
  auto header = netlab::exec::exit_header(1, info);
  CHECK(header["exit_code"] == 3);
  CHECK(header["signal"].is_null());
  CHECK(header["truncated"] == false);
  CHECK(exit_status_from(header) == info.ending);
  CHECK(exit_status_from(header).shell_status() == 3);

  info.ending = ExitStatus::signaled(9);
  header = netlab::exec::exit_header(1, info);
  CHECK(header["exit_code"].is_null());
  CHECK(header["signal"] == "KILL");
  CHECK(exit_status_from(header) == info.ending);
  CHECK(exit_status_from(header).shell_status() == 137);

  // A terminal stop travels as the signal that ended it.
  info.ending = ExitStatus::stopped_for_terminal(SIGTTIN);
  CHECK(netlab::exec::exit_header(1, info)["signal"] == "TTIN");

  info.ending = ExitStatus::signaled(9);
  info.ending.timed_out = true;
  header = netlab::exec::exit_header(1, info);
  CHECK(header["timed_out"] == true);
  CHECK(exit_status_from(header) == info.ending);
  CHECK(exit_status_from(header).shell_status() == 124);
  CHECK(exit_status_from(json::object()) == ExitStatus::unknown());
  CHECK(exit_status_from(json::object()).shell_status() == 255);
}

TEST_CASE("exec::exit_status_from: what a stranger's exit frame can say", "[exec]") {
  using netlab::ExitStatus;
  using netlab::exec::exit_status_from;
  // A signal name, even beside an exit code, is the ending; one this system cannot name is unknown.
  CHECK(exit_status_from(json{{"signal", "TERM"}, {"exit_code", 0}}) == ExitStatus::signaled(SIGTERM));
  CHECK(exit_status_from(json{{"signal", "NOPE"}, {"exit_code", 0}}) == ExitStatus::unknown());
  // A code that is no byte is kept as sent; the status is its low byte, as exit(3) keeps it.
  CHECK(exit_status_from(json{{"exit_code", 256 + 7}}).shell_status() == 7);
  CHECK(exit_status_from(json{{"exit_code", -1}}).shell_status() == 255);
  // A code of the wrong type is no code.
  CHECK(exit_status_from(json{{"exit_code", "3"}}) == ExitStatus::unknown());
  // A "timed_out" that is not a bool is a protocol error for the caller.
  CHECK_THROWS_AS(exit_status_from(json{{"timed_out", 1}}), json::type_error);
}

TEST_CASE("exec::split_words: shell-style words without expansion", "[exec]") {
  using V = std::vector<std::string>;
  CHECK(*netlab::exec::split_words("ls -l  /tmp") == V{"ls", "-l", "/tmp"});
  CHECK(*netlab::exec::split_words("echo 'a b' \"c d\" e\\ f") == V{"echo", "a b", "c d", "e f"});
  CHECK(*netlab::exec::split_words("echo '$HOME' \"\\$x \\\" \\n\"") == V{"echo", "$HOME", "$x \" \\n"});
  CHECK(*netlab::exec::split_words("a''b \"\"") == V{"ab", ""});
  CHECK(netlab::exec::split_words("   ")->empty());
  CHECK_THAT(netlab::exec::split_words("echo 'x").error(), Catch::Contains("single quote"));
  CHECK_THAT(netlab::exec::split_words("echo \"x").error(), Catch::Contains("double quote"));
  CHECK_FALSE(netlab::exec::split_words("echo \\").ok());
}

TEST_CASE("exec::legacy_length_prefix is struct.pack('i', n)", "[exec]") {
  CHECK(netlab::exec::legacy_length_prefix(1) == std::string("\x01\x00\x00\x00", 4));
  CHECK(netlab::exec::legacy_length_prefix(0x01020304) == std::string("\x04\x03\x02\x01", 4));
}

TEST_CASE(
    "exec::load_token: the token from the environment or a file, refused when shorter than 16 bytes, empty or unreadable",
    "[exec]") {
  CHECK(netlab::exec::load_token("", nullptr)->empty());
  CHECK(*netlab::exec::load_token("", "0123456789abcdef\n") == "0123456789abcdef");
  CHECK_FALSE(netlab::exec::load_token("", "0123456789abcde\n").ok()); // 15 bytes
  CHECK_FALSE(netlab::exec::load_token("", "\n").ok());
  CHECK_FALSE(netlab::exec::load_token("/nonexistent/token", nullptr).ok());
}

TEST_CASE("exec::env_key_allowed: the --allow-env rule (issue 14 item 2)", "[exec]") {
  using netlab::exec::env_key_allowed;
  netlab::exec::Policy open;
  CHECK(env_key_allowed("LC_ALL", open));
  for (const char* key : {"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "BASH_FUNC_ls%%",
                          "GCONV_PATH", "PYTHONPATH", "NODE_OPTIONS"}) {
    CHECK_FALSE(env_key_allowed(key, open));
  }
  netlab::exec::Policy shell;
  shell.allow_shell = true;
  CHECK(env_key_allowed("LD_PRELOAD", shell));
  netlab::exec::Policy allow;
  allow.allow = {"ls"};
  CHECK_FALSE(env_key_allowed("LC_ALL", allow));
  CHECK_FALSE(env_key_allowed("PATH", allow));
  allow.allow_env = {"LC_ALL", "PATH"};
  CHECK(env_key_allowed("LC_ALL", allow));
  CHECK(env_key_allowed("PATH", allow));
  CHECK_FALSE(env_key_allowed("LD_PRELOAD", allow));
}

TEST_CASE("exec::resolve_program: absolute paths from PATH, never from the current directory", "[exec]") {
  using netlab::exec::resolve_program;
  auto sh = resolve_program("sh", "/nonexistent:/bin:/usr/bin");
  REQUIRE(sh.ok());
  CHECK(*sh == "/bin/sh");
  CHECK_FALSE(resolve_program("sh", "::.:relative").ok());
  CHECK_FALSE(resolve_program("netlab-no-such-program", "/bin:/usr/bin").ok());
  CHECK(*resolve_program("/bin/sh", nullptr) == "/bin/sh");
  CHECK_FALSE(resolve_program("/etc/passwd", nullptr).ok());
  CHECK_FALSE(resolve_program("", nullptr).ok());
}

TEST_CASE("exec::parse_exec: --allow runs the resolved path, env keys are checked", "[exec]") {
  netlab::exec::Policy policy;
  policy.allow = {"ls"};
  policy.allow_paths = {"/usr/bin/ls"};
  netlab::frame::Frame frame;
  frame.header = nlohmann::json{{"type", "exec"}, {"id", 1}, {"argv", {"ls", "/"}}};
  auto parsed = netlab::exec::parse_exec(netlab::frame::Frame(frame), policy);
  REQUIRE(std::holds_alternative<netlab::exec::Request>(parsed));
  CHECK(std::get<netlab::exec::Request>(parsed).program == std::optional<std::string>("/usr/bin/ls"));
  CHECK(std::get<netlab::exec::Request>(parsed).argv[0] == "ls");
  frame.header["env"] = {{"PATH", "/tmp"}};
  auto refused = netlab::exec::parse_exec(netlab::frame::Frame(frame), policy);
  REQUIRE(std::holds_alternative<netlab::exec::RequestError>(refused));
  CHECK(std::get<netlab::exec::RequestError>(refused).code == "not-allowed");
}

TEST_CASE("exec::spawn_failure_status: a shell's 127 for not found, 126 for found but not executable", "[exec]") {
  CHECK(netlab::exec::spawn_failure_status(UV_ENOENT) == 127);
  CHECK(netlab::exec::spawn_failure_status(UV_EACCES) == 126);
  CHECK(netlab::exec::spawn_failure_status(UV_EMFILE) == 126);
}
