// The exec protocol's messages (protocol.md §3) as pure functions: validation of what a client
// sends, and the headers a server sends back. No I/O, so every rule is unit-testable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/frame/frame.hpp"
#include "core/util/result.hpp"

namespace netlab::exec {

inline constexpr int k_protocol_version = 1;
// The classic teaching client sends a command in one recv(8096).
inline constexpr std::size_t k_legacy_max_command = 8096;
// The largest frame body a server that wants a token reads before the peer has authenticated.
inline constexpr std::size_t k_pre_auth_max_body = 4096;

// What a server lets a client run.
struct Policy {
  bool allow_shell = false;
  // Programs a request may name as argv[0], compared exactly; empty allows any.
  std::vector<std::string> allow;
  // Seconds; a request's own timeout is capped to it. 0 means no limit.
  double max_timeout = 0;
};

struct Request {
  std::int64_t id = 0;
  // What is spawned: the request's argv, or {"/bin/sh", "-c", shell}.
  std::vector<std::string> argv;
  bool shell = false;
  // Seconds, 0 for none; already capped by the policy.
  double timeout = 0;
  // Added to (or replacing in) the server's environment, as "KEY=VALUE".
  std::vector<std::string> env;
  std::optional<std::string> cwd;
  std::string stdin_data;
};

// An `error` frame's payload (protocol.md §3.6).
struct RequestError {
  std::string code;
  std::string message;
};

// The id of a frame when it carries an integer one, else null (for error frames' "id").
nlohmann::json frame_id(const nlohmann::json& header);

// Validates an `exec` frame against `policy`; takes the frame's body as stdin.
std::variant<Request, RequestError> parse_exec(frame::Frame&& frame, const Policy& policy);

struct SignalRequest {
  std::int64_t id = 0;
  int signum = 0;
};

// Validates a `signal` frame: only INT, TERM and KILL may be forwarded.
std::variant<SignalRequest, RequestError> parse_signal(const frame::Frame& frame);

// The MAC a client proves it holds the token with: hex HMAC-SHA256(key=token, msg=nonce text).
std::string auth_mac(std::string_view token, std::string_view nonce_hex);
// Checks an `auth` frame in constant time.
bool check_auth(const frame::Frame& frame, std::string_view token, std::string_view nonce_hex);

nlohmann::json hello_header(bool requires_auth, const std::string& nonce_hex);
nlohmann::json error_header(const nlohmann::json& id, std::string_view code, std::string_view message);

// How a command ended, as the `exit` frame reports it.
struct ExitInfo {
  std::int64_t exit_code = 0;
  int term_signal = 0; // 0: exited normally
  bool timed_out = false;
  bool truncated = false;
  std::uint64_t stdout_size = 0;
  std::uint64_t stderr_size = 0;
  double duration_ms = 0;
};

nlohmann::json exit_header(std::int64_t id, const ExitInfo& info);

// The exit status a client reports for an `exit` frame: the remote code, 128+N for a signal,
// 124 for a timeout.
int exit_status_for(const nlohmann::json& exit_frame_header);

// Splits a line into words the way a POSIX shell would for a simple command: blanks separate,
// '...' is literal, "..." honours \\ \" \$ \` and backslash-newline, a bare backslash quotes the
// next character. No expansion of any kind. Fails on an unterminated quote.
Result<std::vector<std::string>> split_words(std::string_view line);

// Reads a token from `file` (trailing whitespace dropped) or, when `file` is empty, from
// `env_value`. Returns an empty string when neither is given; fails on an unreadable or empty
// token.
Result<std::string> load_token(const std::string& file, const char* env_value);

} // namespace netlab::exec
