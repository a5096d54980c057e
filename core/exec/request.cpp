// Exec protocol messages. Validation errors name the key and say what was expected, because the
// client on the other side may be a hand-written script whose author reads them.
#include "core/exec/request.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <uv.h>

#include "core/crypto/digest.hpp"
#include "core/loop/process.hpp"
#include "core/util/exit_code.hpp"
#include "core/util/fs.hpp"

namespace netlab::exec {
namespace {

using nlohmann::json;

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

RequestError bad(std::string message) { return RequestError{"bad-request", std::move(message)}; }

} // namespace

json frame_id(const json& header) {
  auto id = header.find("id");
  if (id != header.end() && id->is_number_integer()) {
    return *id;
  }
  return nullptr;
}

std::variant<Request, RequestError> parse_exec(frame::Frame&& frame, const Policy& policy) {
  const auto& header = frame.header;
  Request request;
  auto id = header.find("id");
  if (id == header.end() || !id->is_number_integer() ||
      (id->is_number_unsigned() && id->get<std::uint64_t>() > INT64_MAX)) {
    return bad("\"id\" must be an integer");
  }
  request.id = id->get<std::int64_t>();

  auto argv = header.find("argv");
  auto shell = header.find("shell");
  if ((argv == header.end()) == (shell == header.end())) {
    return bad("give exactly one of \"argv\" (array of strings) and \"shell\" (string)");
  }
  if (argv != header.end()) {
    if (!argv->is_array() || argv->empty()) {
      return bad("\"argv\" must be a non-empty array of strings");
    }
    for (const auto& word : *argv) {
      if (!word.is_string() || has_nul(word.get_ref<const std::string&>())) {
        return bad("\"argv\" must hold strings without NUL bytes");
      }
      request.argv.push_back(word.get<std::string>());
    }
    if (request.argv[0].empty()) {
      return bad("\"argv\"[0] is empty");
    }
    if (!policy.allow.empty()) {
      auto found = std::find(policy.allow.begin(), policy.allow.end(), request.argv[0]);
      if (found == policy.allow.end()) {
        return RequestError{"not-allowed", fmt::format("'{}' is not on the server's --allow list", request.argv[0])};
      }
      auto index = static_cast<std::size_t>(found - policy.allow.begin());
      if (index < policy.allow_paths.size()) {
        request.program = policy.allow_paths[index];
      }
    }
  } else {
    if (!shell->is_string() || shell->get_ref<const std::string&>().empty() ||
        has_nul(shell->get_ref<const std::string&>())) {
      return bad("\"shell\" must be a non-empty string without NUL bytes");
    }
    if (!policy.allow_shell) {
      return RequestError{"not-allowed",
                          "shell commands are disabled on this server (it was not started with --shell)"};
    }
    request.shell = true;
    request.argv = {"/bin/sh", "-c", shell->get<std::string>()};
  }

  request.timeout = policy.max_timeout;
  if (auto timeout = header.find("timeout"); timeout != header.end() && !timeout->is_null()) {
    if (!timeout->is_number() || !std::isfinite(timeout->get<double>()) || timeout->get<double>() <= 0) {
      return bad("\"timeout\" must be a positive number of seconds");
    }
    Seconds asked{timeout->get<double>()};
    request.timeout = policy.max_timeout > Seconds::zero() ? std::min(asked, policy.max_timeout) : asked;
  }

  if (auto env = header.find("env"); env != header.end() && !env->is_null()) {
    if (!env->is_object()) {
      return bad("\"env\" must be an object of strings");
    }
    for (const auto& [key, value] : env->items()) {
      if (key.empty() || key.find('=') != std::string::npos || has_nul(key)) {
        return bad(fmt::format("\"env\" key '{}' is not a variable name", key));
      }
      if (!value.is_string() || has_nul(value.get_ref<const std::string&>())) {
        return bad(fmt::format("\"env\".{} must be a string without NUL bytes", key));
      }
      if (!env_key_allowed(key, policy)) {
        return RequestError{"not-allowed", fmt::format("\"env\" key '{}' is not allowed on this server (it would need "
                                                       "--allow-env {})",
                                                       key, key)};
      }
      request.env.push_back(key + "=" + value.get<std::string>());
    }
  }

  if (auto cwd = header.find("cwd"); cwd != header.end() && !cwd->is_null()) {
    if (!cwd->is_string() || cwd->get_ref<const std::string&>().empty() ||
        has_nul(cwd->get_ref<const std::string&>())) {
      return bad("\"cwd\" must be a non-empty string");
    }
    request.cwd = cwd->get<std::string>();
  }
  request.stdin_data = std::move(frame.body);
  return request;
}

bool is_dangerous_env_key(std::string_view key) {
  static constexpr std::string_view prefixes[] = {"LD_", "BASH_FUNC_"};
  static constexpr std::string_view names[] =
      {// Where programs are found, and shells' start-up files and parsing.
       "PATH", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "CDPATH", "GLOBIGNORE",
       // glibc's list of variables unsafe for set-id programs (besides LD_* and TMPDIR/TZDIR).
       "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE",
       "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS",
       // Interpreters that load code named by the environment.
       "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB",
       "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"};
  for (auto prefix : prefixes) {
    if (key.substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

bool env_key_allowed(std::string_view key, const Policy& policy) {
  if (std::find(policy.allow_env.begin(), policy.allow_env.end(), key) != policy.allow_env.end()) {
    return true;
  }
  if (!policy.allow.empty()) {
    return false;
  }
  return policy.allow_shell || !is_dangerous_env_key(key);
}

Result<std::string> resolve_program(const std::string& name, const char* path_env) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (name.empty()) {
    return fail("--allow: empty program name");
  }
  if (name.find('/') != std::string::npos) {
    std::string path = name;
    if (name[0] != '/') {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
        return fail(fmt::format("--allow {}: cannot tell the current directory", name));
      }
      path = std::string(cwd) + "/" + name;
    }
    if (!executable(path)) {
      return fail(fmt::format("--allow {}: not an executable file", name));
    }
    return path;
  }
  std::string_view search = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = search.find(':');
    auto dir = search.substr(0, colon);
    // An empty entry means the current directory, which a server must not trust: skipped.
    if (!dir.empty() && dir[0] == '/') {
      auto path = std::string(dir) + "/" + name;
      if (executable(path)) {
        return path;
      }
    }
    if (colon == std::string_view::npos) {
      break;
    }
    search.remove_prefix(colon + 1);
  }
  return fail(fmt::format("--allow {}: not found in PATH", name));
}

std::variant<SignalRequest, RequestError> parse_signal(const frame::Frame& frame) {
  const auto& header = frame.header;
  auto id = header.find("id");
  if (id == header.end() || !id->is_number_integer()) {
    return bad("\"id\" must be an integer");
  }
  auto name = header.find("signal");
  if (name == header.end() || !name->is_string()) {
    return bad("\"signal\" must be one of INT, TERM, KILL");
  }
  const auto& text = name->get_ref<const std::string&>();
  if (text != "INT" && text != "TERM" && text != "KILL") {
    return bad(fmt::format("signal '{}' cannot be forwarded (INT, TERM or KILL)", text));
  }
  return SignalRequest{id->get<std::int64_t>(), loop::signal_number(text)};
}

std::string auth_mac(std::string_view token, std::string_view nonce_hex) {
  return crypto::hmac_sha256_hex(token, nonce_hex);
}

bool check_auth(const frame::Frame& frame, std::string_view token, std::string_view nonce_hex) {
  auto mac = frame.header.find("mac");
  if (mac == frame.header.end() || !mac->is_string()) {
    return false;
  }
  return crypto::constant_time_equal(mac->get_ref<const std::string&>(), auth_mac(token, nonce_hex));
}

int spawn_failure_status(int uv_code) { return uv_code == UV_ENOENT ? k_exit_not_found : k_exit_cannot_execute; }

json hello_header(bool requires_auth, const std::string& nonce_hex) {
  return json{{"type", "hello"},
              {"version", k_protocol_version},
              {"server", std::string("netlab/") + NETLAB_VERSION},
              {"auth", requires_auth ? "hmac-sha256" : "none"},
              {"nonce", nonce_hex}};
}

json error_header(const json& id, std::string_view code, std::string_view message) {
  return json{{"type", "error"}, {"id", id}, {"code", code}, {"message", message}};
}

json exit_header(std::int64_t id, const ExitInfo& info) {
  json header{{"type", "exit"},
              {"id", id},
              {"exit_code", nullptr},
              {"signal", nullptr},
              {"timed_out", info.ending.timed_out},
              {"truncated", info.truncated},
              {"stdout_size", info.stdout_size},
              {"stderr_size", info.stderr_size},
              {"duration_ms", std::round(info.duration_ms * 1000) / 1000}};
  if (int signum = info.ending.term_signal(); signum != 0) {
    header["signal"] = loop::signal_name(signum);
  } else if (info.ending.kind == ExitStatus::Kind::exited) {
    header["exit_code"] = info.ending.code;
  }
  return header;
}

ExitStatus exit_status_from(const json& header) {
  bool timed_out = header.value("timed_out", false);
  ExitStatus ending = ExitStatus::unknown();
  auto signal = header.find("signal");
  auto code = header.find("exit_code");
  if (signal != header.end() && signal->is_string()) {
    if (int number = loop::signal_number(signal->get<std::string>()); number > 0) {
      ending = ExitStatus::signaled(number);
    }
  } else if (code != header.end() && code->is_number_integer()) {
    ending = ExitStatus::exited(code->get<std::int64_t>());
  }
  ending.timed_out = timed_out;
  return ending;
}

Result<std::vector<std::string>> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 == line.size()) {
        return fail("line ends with a lone backslash");
      }
      if (line[++i] != '\n') {
        word.push_back(line[i]);
      }
    } else if (c == '\'') {
      auto end = line.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return fail("unterminated single quote");
      }
      word.append(line.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      bool closed = false;
      for (++i; i < line.size(); ++i) {
        char q = line[i];
        if (q == '"') {
          closed = true;
          break;
        }
        if (q == '\\' && i + 1 < line.size() &&
            (line[i + 1] == '\\' || line[i + 1] == '"' || line[i + 1] == '$' || line[i + 1] == '`' ||
             line[i + 1] == '\n')) {
          if (line[++i] != '\n') {
            word.push_back(line[i]);
          }
          continue;
        }
        word.push_back(q);
      }
      if (!closed) {
        return fail("unterminated double quote");
      }
    } else {
      word.push_back(c);
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

Result<std::string> load_token(const std::string& file, const char* env_value) {
  std::string token;
  std::string source;
  if (!file.empty()) {
    // Like ssh with private keys: a secret others can read is no secret, and one others can
    // write is theirs to choose. Checked on the descriptor that is read, and only for a regular
    // file: a FIFO (or a file swapped in after a check by name) would let another user write
    // the token.
    NETLAB_TRY(token, fs::read_private_file(file));
    source = "token file " + file;
  } else if (env_value != nullptr) {
    token = env_value;
    source = "NETLAB_TOKEN";
  } else {
    return std::string();
  }
  while (!token.empty() &&
         (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  if (token.empty()) {
    return fail(fmt::format("{} is empty", source));
  }
  if (token.size() < k_min_token_size) {
    return fail(fmt::format("{} holds {} bytes; a token needs at least {} (e.g. head -c 32 /dev/urandom | base64)",
                            source, token.size(), k_min_token_size));
  }
  return token;
}

} // namespace netlab::exec
