// RAII over libssh sessions, channels and SFTP handles, plus the one way to get a usable session:
// connect, check the host key against known_hosts, authenticate in OpenSSH's order.
//
// Threads: libssh is blocking, so fan-out runs one session per thread. A session and everything
// made from it stay on the thread that connected it; nothing here is shared between sessions
// except `Credentials` (read-only after loading, the password prompt behind a mutex) and the
// known_hosts append (behind a mutex, so two sessions accepting the same new key add one line).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include "core/ssh/host.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

// ssh_init() before the first session and ssh_finalize() after the last; one per process, held by
// the command that uses SSH, so threads never race libssh's lazy initialisation.
class Library {
public:
  Library();
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

struct SessionDeleter {
  void operator()(ssh_session session) const;
};
struct ChannelDeleter {
  void operator()(ssh_channel channel) const;
};
struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
struct SftpDeleter {
  void operator()(sftp_session sftp) const { sftp_free(sftp); }
};
struct SftpFileDeleter {
  void operator()(sftp_file file) const { sftp_close(file); }
};
struct SftpDirDeleter {
  void operator()(sftp_dir dir) const { sftp_closedir(dir); }
};
struct SftpAttributesDeleter {
  void operator()(sftp_attributes attributes) const { sftp_attributes_free(attributes); }
};

using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;
using SftpPtr = std::unique_ptr<sftp_session_struct, SftpDeleter>;
using SftpFilePtr = std::unique_ptr<sftp_file_struct, SftpFileDeleter>;
using SftpDirPtr = std::unique_ptr<sftp_dir_struct, SftpDirDeleter>;
using SftpAttributesPtr = std::unique_ptr<sftp_attributes_struct, SftpAttributesDeleter>;

// Where secrets may come from. Passwords are never taken from argv: only an environment
// variable, a file, or a prompt on the terminal.
struct CredentialConfig {
  std::vector<std::string> identity_files; // -i, in order; replace the defaults like ssh
  std::string passphrase_env;              // read once, then removed from the environment (take_env_secret)
  std::string password_env;                // likewise
  std::string password_file;               // refused when group or others may read it (fs::read_private_file)
  bool use_agent = true;
  bool may_prompt = false; // a terminal is there to ask on
};

// The value of environment variable `name`, then removed from this process's environment and
// wiped from the environment block, so neither children nor /proc/PID/environ see it; nullopt
// when unset. Not thread-safe (unsetenv): call before any thread starts.
std::optional<std::string> take_env_secret(const std::string& name);

// A private key read once, before any thread starts, so an encrypted key asks for its passphrase
// once instead of once per host. Each session imports its own libssh key object from the text.
struct IdentityKey {
  std::string path;
  std::string text;
  std::string passphrase;
};

class Credentials {
public:
  // Reads the key files in `paths` (missing default keys are skipped; a missing -i key is an
  // error) and the password from the environment or a file when given.
  static Result<std::shared_ptr<Credentials>> load(const CredentialConfig& options,
                                                   const std::vector<std::string>& paths);

  bool use_agent() const { return m_use_agent; }
  const IdentityKey* key(const std::string& path) const;
  // The password, prompting once on the terminal if allowed and nothing else supplied one.
  std::optional<std::string> password(const std::string& prompt_for) const;

private:
  bool m_use_agent = true;
  bool m_may_prompt = false;
  std::vector<IdentityKey> m_keys;
  mutable std::mutex m_password_mutex;
  mutable std::optional<std::string> m_password;
  mutable bool m_password_asked = false;
};

struct ConnectConfig {
  std::string default_user; // --user
  int default_port = 0;     // --port
  std::string known_hosts;  // file checked and, with accept_new, appended to
  // Read after `known_hosts`, never written; empty: none. Missing or unreadable counts as empty.
  std::string global_known_hosts = "/etc/ssh/ssh_known_hosts";
  bool accept_new = false;                 // add unknown hosts; never a changed or revoked key
  Seconds connect_timeout{10};             // TCP connect + banner + key exchange
  std::string config_text;                 // ssh_config contents; empty: none
  std::string home;                        // for `~/` in IdentityFile
  std::vector<std::string> identity_files; // -i
  std::shared_ptr<const Credentials> credentials;
};

// Where a host spec ends up after the config file and defaults: the target and the keys to offer.
struct Target {
  std::string user;
  std::string hostname;
  int port = 22;
  std::vector<std::string> identity_files;
  std::string label;
};

// Order: `user@`/`:port` in the spec, then --user/--port, then the config file, then the local
// user and port 22. Keys: -i then config IdentityFile, else the default ~/.ssh/id_* files.
Result<Target> resolve_target(const HostSpec& spec, const ConnectConfig& options);

// A connected, host-key-verified, authenticated session, or a one-line reason (every such
// failure is exit 255 for the caller). Never throws.
struct Connected {
  SessionPtr session;
  std::string auth_method;
};
Result<Connected> connect(const Target& target, const ConnectConfig& options);

// "SHA256:..." for a key, as ssh-keygen -lf prints it.
std::string fingerprint(ssh_key key);

// The last libssh error of `session` as one line.
std::string last_error(ssh_session session);

} // namespace netlab::ssh
