// Sessions: target resolution, connect, host-key policy and the authentication chain.
#include "core/ssh/session.hpp"

#include "core/util/env.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/ssh/known_hosts.hpp"
#include "core/util/fd.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::ssh {
namespace {

// Appending to known_hosts is the one write sessions share; serialising it (and re-checking
// inside the lock) keeps 20 sessions to one new host from adding 20 lines.
std::mutex g_known_hosts_mutex;

std::string local_user() {
  if (const auto* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return "root";
}

std::string key_type_name(ssh_key key) {
  std::string type = ssh_key_type_to_char(ssh_key_type(key)) ? ssh_key_type_to_char(ssh_key_type(key)) : "unknown";
  // "ssh-ed25519" → "ED25519", the way OpenSSH names keys in its prompts.
  if (type.starts_with("ssh-")) {
    type = type.substr(4);
  } else if (type.starts_with("ecdsa-sha2-")) {
    type = "ECDSA";
  }
  for (auto& c : type) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return type;
}

std::string where(const Target& target) {
  return target.port == 22 ? fmt::format("{}@{}", target.user, target.hostname)
                           : fmt::format("{}@{}:{}", target.user, target.hostname, target.port);
}

// known_hosts files as read for one session: the user's file, then the global one, as ssh
// reads them. `sources` point into `texts`.
struct KnownHostsFiles {
  std::vector<std::string> texts;
  std::vector<known_hosts::Source> sources;
};

// Reads a known_hosts file through symbolic links, as ssh does. Missing: nothing to read. A
// folder is an error, not an empty file, so a wrong path is not taken for "host not known"; a
// device (`/dev/null`) or a FIFO reads as empty. `lenient` (the global file) also takes an
// unreadable file as empty, as ssh does.
Result<std::optional<std::string>> read_known_hosts(const std::string& path, bool lenient) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR || (lenient && error == EACCES)) {
      return std::optional<std::string>{};
    }
    return fail(sys_message("read known_hosts", path, error));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      return fail(fmt::format("known_hosts {} is a folder, not a file", path));
    }
    return std::optional<std::string>{std::string{}};
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail(sys_message("read known_hosts", path, errno));
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return std::optional<std::string>{std::move(text)};
}

Result<KnownHostsFiles> read_known_hosts_files(const ConnectConfig& options) {
  KnownHostsFiles files;
  std::vector<std::string> names;
  NETLAB_TRY(auto user, read_known_hosts(options.known_hosts, false));
  if (user) {
    files.texts.push_back(std::move(*user));
    names.push_back(options.known_hosts);
  }
  if (!options.global_known_hosts.empty()) {
    NETLAB_TRY(auto global, read_known_hosts(options.global_known_hosts, true));
    if (global) {
      files.texts.push_back(std::move(*global));
      names.push_back(options.global_known_hosts);
    }
  }
  for (std::size_t i = 0; i < files.texts.size(); ++i) {
    files.sources.push_back(known_hosts::Source{names[i], files.texts[i]});
  }
  return files;
}

// Creates each missing folder of `folder` with mode 0700, as ssh creates ~/.ssh.
Result<void> make_private_folders(const std::filesystem::path& folder) {
  if (folder.empty()) {
    return {};
  }
  struct stat st {};
  if (::stat(folder.c_str(), &st) == 0) {
    return {};
  }
  NETLAB_TRY_VOID(make_private_folders(folder.parent_path()));
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(sys_message("create folder", folder.string(), errno));
  }
  return {};
}

// Appends `line` to the known_hosts file at `path` with one write() on an O_APPEND descriptor,
// so concurrent writers (other netlab or ssh processes) never interleave inside a line. A new
// file is created 0600. A symbolic link is not followed: appending would write wherever it
// points, so the user is told where it points and the key is not added.
Result<void> append_known_host(const std::string& path, const std::string& line) {
  NETLAB_TRY_VOID(make_private_folders(std::filesystem::path(path).parent_path()));
  Fd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600));
  if (!fd) {
    int error = errno;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(path, ec);
      return fail(fmt::format("add host key to {}: it is a symbolic link (to {}); netlab does not append through "
                              "links: point --known-hosts at the file itself, or add the key yourself",
                              path, ec ? std::string("?") : target.string()));
    }
    if (error == EISDIR) {
      return fail(fmt::format("known_hosts {} is a folder, not a file", path));
    }
    return fail(sys_message("add host key to", path, error));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(fmt::format("add host key to {}: not a regular file", path));
  }
  std::string data = line;
  char last = '\n';
  if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') {
    // Never glue the new line onto an unterminated last one. (Two processes doing this at once
    // leave an empty line, which readers skip.)
    data.insert(data.begin(), '\n');
  }
  ssize_t written = ::write(fd.get(), data.data(), data.size());
  int error = errno;
  if (written == static_cast<ssize_t>(data.size()) && ::fsync(fd.get()) != 0) {
    error = errno;
    written = -1;
  }
  if (written != static_cast<ssize_t>(data.size())) {
    return fail(
        fmt::format("add host key to {}: {}", path, written < 0 ? sys_reason(error) : std::string("short write")));
  }
  return {};
}

// The refusal for a verdict that is not ok, one line.
std::string refusal(const known_hosts::Verdict& verdict, const Target& target, const std::string& print,
                    const std::string& file) {
  std::string notes;
  if (verdict.malformed != 0) {
    notes += fmt::format("; {} line{} that could not be read {} skipped, as ssh does", verdict.malformed,
                         verdict.malformed == 1 ? "" : "s", verdict.malformed == 1 ? "was" : "were");
  }
  if (!verdict.cert_authority.empty()) {
    notes += fmt::format("; {} names a certificate authority for it (@cert-authority), but netlab does not "
                         "support host certificates, so that line cannot accept it",
                         verdict.cert_authority.text());
  }
  switch (verdict.status) {
  case known_hosts::Status::revoked:
    return fmt::format("host key of {} is REVOKED: its {} is marked @revoked in {}; refusing to connect, and "
                       "--accept-new never adds it{}",
                       where(target), print, verdict.place.text(), notes);
  case known_hosts::Status::changed:
    return fmt::format("HOST KEY CHANGED for {}: it now offers {}, which does not match the key in {}; someone may "
                       "be intercepting the connection, or the host was reinstalled; refusing to connect (if the "
                       "change is expected, remove the old line from {}){}",
                       target.hostname, print, verdict.place.text(), verdict.place.file, notes);
  default:
    break;
  }
  if (!verdict.portless_other.empty()) {
    notes += fmt::format("; {} holds another key for {} on port 22, which ssh does not use for port {}",
                         verdict.portless_other.text(), target.hostname, target.port);
  }
  return fmt::format("host {} is not in {}: its {}; verify it and rerun with --accept-new to add it{}", where(target),
                     file, print, notes);
}

Result<void> check_host_key(ssh_session session, const Target& target, const ConnectConfig& options,
                            const KnownHostsFiles& files) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK) {
    return fail(fmt::format("host key of {}: {}", where(target), last_error(session)));
  }
  KeyPtr key(raw);
  std::string print = fmt::format("{} key {}", key_type_name(key.get()), fingerprint(key.get()));
  const auto& file = options.known_hosts;

  auto verdict = known_hosts::check(files.sources, target.hostname, target.port, key.get());
  if (verdict.status == known_hosts::Status::ok) {
    return {};
  }
  if (verdict.status != known_hosts::Status::unknown || !options.accept_new) {
    return fail(refusal(verdict, target, print, file));
  }
  // Read again under the lock: another session may have added this host meanwhile (then one
  // line, not twenty), or someone may have added another key for it (then it is refused).
  std::lock_guard lock(g_known_hosts_mutex);
  NETLAB_TRY(auto fresh, read_known_hosts_files(options));
  verdict = known_hosts::check(fresh.sources, target.hostname, target.port, key.get());
  if (verdict.status == known_hosts::Status::ok) {
    return {};
  }
  if (verdict.status != known_hosts::Status::unknown) {
    return fail(refusal(verdict, target, print, file));
  }
  std::string line = known_hosts::entry_line(target.hostname, target.port, key.get());
  if (line.empty()) {
    return fail(fmt::format("add {} to {}: cannot encode its {}", where(target), file, print));
  }
  NETLAB_TRY_VOID(append_known_host(file, line));
  log::info("added {} ({}) to {}", where(target), print, file);
  if (!verdict.cert_authority.empty()) {
    log::info("note: {} names a certificate authority for {} (@cert-authority), which netlab does not use",
              verdict.cert_authority.text(), target.hostname);
  }
  return {};
}

Result<void> authenticate(ssh_session session, const Target& target, const Credentials& credentials,
                          std::string& method) {
  int rc = ssh_userauth_none(session, nullptr);
  if (rc == SSH_AUTH_SUCCESS) {
    method = "none";
    return {};
  }
  if (rc == SSH_AUTH_ERROR) {
    return fail(fmt::format("authenticate {}: {}", where(target), last_error(session)));
  }
  int methods = ssh_userauth_list(session, nullptr);
  std::vector<std::string> tried;

  if ((methods & SSH_AUTH_METHOD_PUBLICKEY) != 0) {
    if (credentials.use_agent() && std::getenv("SSH_AUTH_SOCK") != nullptr) {
      tried.push_back("agent");
      rc = ssh_userauth_agent(session, nullptr);
      if (rc == SSH_AUTH_SUCCESS) {
        method = "agent";
        return {};
      }
      if (rc == SSH_AUTH_ERROR) {
        // An unreachable agent is not fatal for ssh either: fall through to the key files.
        tried.back() = fmt::format("agent ({})", last_error(session));
      }
    }
    for (const auto& path : target.identity_files) {
      const auto* identity = credentials.key(path);
      if (identity == nullptr) {
        continue;
      }
      tried.push_back(path);
      ssh_key raw = nullptr;
      if (ssh_pki_import_privkey_base64(identity->text.c_str(),
                                        identity->passphrase.empty() ? nullptr : identity->passphrase.c_str(), nullptr,
                                        nullptr, &raw) != SSH_OK) {
        continue;
      }
      KeyPtr key(raw);
      rc = ssh_userauth_publickey(session, nullptr, key.get());
      if (rc == SSH_AUTH_SUCCESS) {
        method = "publickey";
        return {};
      }
      if (rc == SSH_AUTH_ERROR) {
        return fail(fmt::format("authenticate {}: {}", where(target), last_error(session)));
      }
    }
  }
  if ((methods & SSH_AUTH_METHOD_PASSWORD) != 0) {
    if (auto password = credentials.password(where(target))) {
      tried.push_back("password");
      rc = ssh_userauth_password(session, nullptr, password->c_str());
      if (rc == SSH_AUTH_SUCCESS) {
        method = "password";
        return {};
      }
    }
  }
  std::vector<std::string> offered;
  if ((methods & SSH_AUTH_METHOD_PUBLICKEY) != 0) {
    offered.push_back("publickey");
  }
  if ((methods & SSH_AUTH_METHOD_PASSWORD) != 0) {
    offered.push_back("password");
  }
  if ((methods & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
    offered.push_back("keyboard-interactive");
  }
  return fail(fmt::format("authenticate {}: permission denied (tried: {}; server accepts: {})", where(target),
                          tried.empty() ? "nothing usable" : fmt::format("{}", fmt::join(tried, ", ")),
                          offered.empty() ? "none we support" : fmt::format("{}", fmt::join(offered, ", "))));
}

} // namespace

Library::Library() { ssh_init(); }
Library::~Library() { ssh_finalize(); }

void SessionDeleter::operator()(ssh_session session) const {
  if (ssh_is_connected(session) != 0) {
    ssh_disconnect(session);
  }
  ssh_free(session);
}

void ChannelDeleter::operator()(ssh_channel channel) const {
  if (ssh_channel_is_open(channel) != 0) {
    ssh_channel_close(channel);
  }
  ssh_channel_free(channel);
}

std::string fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK) {
    return "SHA256:?";
  }
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  std::string out = text != nullptr ? text : "SHA256:?";
  ssh_string_free_char(text);
  return out;
}

std::string last_error(ssh_session session) {
  std::string text = ssh_get_error(session);
  for (auto& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text.empty() ? "unknown libssh error" : text;
}

std::optional<std::string> take_env_secret(const std::string& name) { return env::take_secret(name); }

const IdentityKey* Credentials::key(const std::string& path) const {
  for (const auto& identity : m_keys) {
    if (identity.path == path) {
      return &identity;
    }
  }
  return nullptr;
}

std::optional<std::string> Credentials::password(const std::string& prompt_for) const {
  std::lock_guard lock(m_password_mutex);
  if (!m_password && m_may_prompt && !m_password_asked) {
    m_password_asked = true;
    char buffer[1024] = {};
    auto prompt = fmt::format("{}'s password: ", prompt_for);
    if (ssh_getpass(prompt.c_str(), buffer, sizeof(buffer), 0, 0) == 0) {
      m_password = std::string(buffer);
    }
    explicit_bzero(buffer, sizeof(buffer));
  }
  return m_password;
}

Result<std::shared_ptr<Credentials>> Credentials::load(const CredentialConfig& options,
                                                       const std::vector<std::string>& paths) {
  auto credentials = std::make_shared<Credentials>();
  credentials->m_use_agent = options.use_agent;
  credentials->m_may_prompt = options.may_prompt;

  std::string env_passphrase;
  if (!options.passphrase_env.empty()) {
    auto value = take_env_secret(options.passphrase_env);
    if (!value) {
      return fail(fmt::format("--passphrase-env {}: variable not set", options.passphrase_env));
    }
    env_passphrase = std::move(*value);
  }
  for (const auto& path : paths) {
    if (credentials->key(path) != nullptr) {
      continue;
    }
    bool explicit_key =
        std::find(options.identity_files.begin(), options.identity_files.end(), path) != options.identity_files.end();
    auto text = fs::read_file(path);
    if (!text) {
      if (explicit_key) {
        return fail(fmt::format("identity {}", text.error()));
      }
      continue; // a default or config key that does not exist, as ssh skips them
    }
    IdentityKey identity{path, std::move(*text), {}};
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_base64(identity.text.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK) {
      // Most likely encrypted: try the passphrase from the environment, then ask on the terminal.
      std::string passphrase = env_passphrase;
      if (passphrase.empty() && options.may_prompt) {
        char buffer[1024] = {};
        auto prompt = fmt::format("Enter passphrase for key '{}': ", path);
        if (ssh_getpass(prompt.c_str(), buffer, sizeof(buffer), 0, 0) == 0) {
          passphrase = buffer;
        }
        explicit_bzero(buffer, sizeof(buffer));
      }
      if (passphrase.empty() ||
          ssh_pki_import_privkey_base64(identity.text.c_str(), passphrase.c_str(), nullptr, nullptr, &raw) != SSH_OK) {
        log::info("identity {}: cannot load (encrypted without a passphrase, a wrong passphrase, or not a "
                  "private key); skipping it",
                  path);
        continue;
      }
      identity.passphrase = std::move(passphrase);
    }
    ssh_key_free(raw);
    credentials->m_keys.push_back(std::move(identity));
  }

  if (!options.password_env.empty()) {
    auto value = take_env_secret(options.password_env);
    if (!value) {
      return fail(fmt::format("--password-env {}: variable not set", options.password_env));
    }
    credentials->m_password = std::move(*value);
  } else if (!options.password_file.empty()) {
    auto text = fs::read_private_file(options.password_file);
    if (!text) {
      return fail(fmt::format("--password-file {}", text.error()));
    }
    std::string password = text->substr(0, text->find('\n'));
    if (!password.empty() && password.back() == '\r') {
      password.pop_back();
    }
    credentials->m_password = std::move(password);
  }
  return credentials;
}

Result<Target> resolve_target(const HostSpec& spec, const ConnectConfig& options) {
  HostConfig config;
  if (!options.config_text.empty()) {
    auto resolved = resolve_config(options.config_text, spec.host, options.home);
    if (!resolved) {
      return fail(fmt::format("config: {}", resolved.error()));
    }
    config = std::move(*resolved);
  }
  Target target;
  target.label = spec.label;
  target.hostname = config.hostname.empty() ? spec.host : config.hostname;
  target.user = !spec.user.empty()              ? spec.user
                : !options.default_user.empty() ? options.default_user
                : !config.user.empty()          ? config.user
                                                : local_user();
  target.port = spec.port != 0              ? spec.port
                : options.default_port != 0 ? options.default_port
                : config.port != 0          ? config.port
                                            : 22;
  target.identity_files = options.identity_files;
  target.identity_files.insert(target.identity_files.end(), config.identity_files.begin(), config.identity_files.end());
  if (target.identity_files.empty()) {
    for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
      target.identity_files.push_back(fmt::format("{}/.ssh/{}", options.home, name));
    }
  }
  return target;
}

Result<Connected> connect(const Target& target, const ConnectConfig& options) {
  SessionPtr session(ssh_new());
  if (!session) {
    return fail("ssh_new: out of memory");
  }
  ssh_session s = session.get();
  // known_hosts is read here, by netlab's own matcher (core/ssh/known_hosts), never by libssh:
  // libssh is pointed at /dev/null so that its reader, which ignores @revoked lines, negated
  // patterns and port-less lines, neither judges the key nor orders the algorithms.
  NETLAB_TRY(auto known, read_known_hosts_files(options));
  std::string algorithms = known_hosts::preferred_algorithms(known.sources, target.hostname, target.port);
  long timeout_sec = static_cast<long>(options.connect_timeout.count());
  long timeout_usec = static_cast<long>((options.connect_timeout.count() - static_cast<double>(timeout_sec)) * 1e6);
  unsigned int port = static_cast<unsigned int>(target.port);
  int no = 0;
  int yes = 1;
  // Our own config reading decides user, port and keys; libssh reading ~/.ssh/config and
  // /etc/ssh/ssh_config on top would make the result depend on files the user did not name.
  if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_HOST, target.hostname.c_str()) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str()) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, algorithms.c_str()) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_sec) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &timeout_usec) != SSH_OK ||
      // Without it every synchronous SFTP write waits on Nagle plus delayed ACK (97 s vs 1.3 s
      // for 200 MB, toolchain.md), and short exec round trips pay the same 40 ms.
      ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes) != SSH_OK) {
    return fail(fmt::format("set options for {}: {}", where(target), last_error(s)));
  }
  if (ssh_connect(s) != SSH_OK) {
    return fail(fmt::format("connect {}: {}", where(target), last_error(s)));
  }
  NETLAB_TRY_VOID(check_host_key(s, target, options, known));
  Connected connected;
  NETLAB_TRY_VOID(authenticate(s, target, *options.credentials, connected.auth_method));
  connected.session = std::move(session);
  return connected;
}

} // namespace netlab::ssh
