#include "core/ssh/remote_digest.hpp"

#include <string_view>

#include "core/crypto/digest.hpp"
#include "core/ssh/remote_command.hpp"

namespace netlab::ssh {
namespace {

// Hashing 200 MB takes well under a second; a host that has not answered by then is stuck.
constexpr int k_wait_ms = 120 * 1000;
// The tools print one line; more is not a digest.
constexpr std::size_t k_max_output = 4096;

// Both tools print the digest, a space, and a name for stdin.
bool is_digest_line(std::string_view text) {
  return crypto::is_sha256_hex(text.substr(0, 64)) && (text.size() == 64 || text[64] == ' ');
}

} // namespace

std::string RemoteDigest::command(const std::string& path) {
  // Both tools read stdin, so no file name can be taken for an option; `-r` makes OpenSSL print
  // "<hex> *stdin" like coreutils' "<hex>  -". A missing openssl fails fast and quietly.
  auto file = shell_quote(path);
  return "openssl dgst -sha256 -r < " + file + " 2>/dev/null || sha256sum < " + file;
}

RemoteDigest::RemoteDigest(ssh_session session, const std::string& path) {
  ChannelPtr channel(ssh_channel_new(session));
  if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK ||
      ssh_channel_request_exec(channel.get(), command(path).c_str()) != SSH_OK) {
    return;
  }
  ssh_channel_send_eof(channel.get());
  m_channel = std::move(channel);
}

std::optional<std::string> RemoteDigest::finish() {
  if (!m_channel) {
    return std::nullopt;
  }
  ChannelPtr channel = std::move(m_channel);
  std::string out;
  char buffer[1024];
  while (true) {
    int n = ssh_channel_read_timeout(channel.get(), buffer, sizeof buffer, 0, k_wait_ms);
    if (n < 0) {
      return std::nullopt;
    }
    if (n == 0) {
      // Nothing within the wait, or the end of the output.
      if (ssh_channel_is_eof(channel.get()) == 0 && ssh_channel_is_closed(channel.get()) == 0) {
        return std::nullopt;
      }
      break;
    }
    if (out.size() < k_max_output) {
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }
  if (ssh_channel_get_exit_status(channel.get()) != 0 || !is_digest_line(out)) {
    return std::nullopt;
  }
  return out.substr(0, 64);
}

} // namespace netlab::ssh
