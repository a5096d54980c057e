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
#include "core/util/duration.hpp"
#include "core/util/exit_status.hpp"
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
  // allow[i] resolved to an absolute path at start-up (resolve_program): what is executed, so
  // neither the request's PATH nor its cwd can substitute another program.
  std::vector<std::string> allow_paths;
  // Environment keys a request may set in addition to (with `allow`: instead of) the default
  // rule; see env_key_allowed.
  std::vector<std::string> allow_env;
  // A request's own timeout is capped to it. 0 means no limit.
  Seconds max_timeout{0};
};

// Keys that make a program run code or load libraries of the caller's choosing (the dynamic
// loader's LD_*, shells' BASH_ENV/ENV/BASH_FUNC_*, PATH, interpreters' startup hooks...).
bool is_dangerous_env_key(std::string_view key);

// Whether a request may set `key`: a key named in allow_env always; with an --allow list, no
// other; otherwise any key but the dangerous ones, and with --shell (which grants everything
// anyway) those too.
bool env_key_allowed(std::string_view key, const Policy& policy);

// Finds `name` the way exec would, once, at start-up: a name with a slash is made absolute (it
// must exist and be executable), any other is looked up in `path_env` (":"-separated; the
// default path when null). Fails with a message naming the program.
Result<std::string> resolve_program(const std::string& name, const char* path_env);

struct Request {
  std::int64_t id = 0;
  // What is spawned: the request's argv, or {"/bin/sh", "-c", shell}.
  std::vector<std::string> argv;
  // The file executed when it is not argv[0] looked up in PATH: the --allow'ed program's path.
  std::optional<std::string> program;
  bool shell = false;
  // 0 for none; already capped by the policy. On the wire, "timeout" in seconds (a number).
  Seconds timeout{0};
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

// The status a shell gives a command it could not start, from Process::spawn's libuv code: 127
// when the program (or the working directory) was not found, 126 for any other failure to
// execute (no permission, no descriptors left). A `spawn-failed` error carries it as "status",
// and exec-client exits with it.
int spawn_failure_status(int uv_code);

nlohmann::json hello_header(bool requires_auth, const std::string& nonce_hex);
nlohmann::json error_header(const nlohmann::json& id, std::string_view code, std::string_view message);

// What the `exit` frame reports: how the command ended, and what the server did with its output.
struct ExitInfo {
  ExitStatus ending; // never Kind::unknown from a server; the frame says "exit_code" or "signal"
  bool truncated = false;
  std::uint64_t stdout_size = 0;
  std::uint64_t stderr_size = 0;
  double duration_ms = 0;
};

nlohmann::json exit_header(std::int64_t id, const ExitInfo& info);

// How the command ended, as an `exit` frame's header says it: "timed_out" (a bool when present),
// then "signal" (a name; one this system does not know is Kind::unknown), else "exit_code" (an
// integer), else Kind::unknown. The status a client reports is its shell_status(). Throws
// nlohmann::json::type_error when "timed_out" is not a bool.
ExitStatus exit_status_from(const nlohmann::json& exit_frame_header);

// Splits a line into words the way a POSIX shell would for a simple command: blanks separate,
// '...' is literal, "..." honours \\ \" \$ \` and backslash-newline, a bare backslash quotes the
// next character. No expansion of any kind. Fails on an unterminated quote.
Result<std::vector<std::string>> split_words(std::string_view line);

// The shortest token accepted, in bytes.
inline constexpr std::size_t k_min_token_size = 16;

// Reads a token from `file` (trailing whitespace dropped) or, when `file` is empty, from
// `env_value` (the token itself, not a file name). Returns an empty string when neither is
// given; fails on an unreadable token file, one that is not a regular file or that group or
// others have any permission on (fs::read_private_file), and a token shorter than
// k_min_token_size.
Result<std::string> load_token(const std::string& file, const char* env_value);

} // namespace netlab::exec
