// libFuzzer target: known_hosts files (core/ssh/known_hosts). The first byte picks the server's
// port (22 or 2222) and key (ed25519, ECDSA or RSA); the rest is the file, for host 127.0.0.1.
// Checked: the verdict is deterministic and names a real line; a malformed line for the host,
// added before the file or after its first line, never changes the status; a @revoked line for
// the key (its own name, or "*") always gives "revoked"; the line --accept-new would append
// always gives "ok" or "revoked"; a valid line for another host changes nothing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libssh/libssh.h>

#include "core/ssh/known_hosts.hpp"

namespace {

namespace kh = netlab::ssh::known_hosts;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

struct KeyFree {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<ssh_key_struct, KeyFree>;

Key import(const char* base64, ssh_keytypes_e type) {
  ssh_key raw = nullptr;
  require(ssh_pki_import_pubkey_base64(base64, type, &raw) == SSH_OK);
  return Key(raw);
}

struct Keys {
  Key ed25519 = import("AAAAC3NzaC1lZDI1NTE5AAAAID0CvufQH7bqeydIz7JRzLzaCbXcN7/CnCaYd8ZLHMiJ", SSH_KEYTYPE_ED25519);
  Key ecdsa = import("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMO/k2Ij1Y4V1Of+b7HUkGS3XRCCGUmW0p23pHeKdBEP"
                     "Dp2mnzvSVubho6N3r/6c2e/yfBHQPhTd1u/7eDItFhw=",
                     SSH_KEYTYPE_ECDSA_P256);
  Key rsa = import(
      "AAAAB3NzaC1yc2EAAAADAQABAAABgQCuC1vyhLTEsUlhz+LJjq+CqM8J5R8DXOArOq8H9K8l0xvOpXziYs/dl778zJcfX45N9H3I65CdZBOIiLE"
      "hLLWjLae0Gnp/Yq1v7wpdDLREoVHJ/x11wTDglZvF8LFREU9y2apiIY3FxsN8jJb7E64y7lgaLQX6HJIzWhPQTB36onGrVlebpIl0REtXU69UsJKw"
      "ScDcrSk6MvrSWag5SC12/cOIngCQoWCZIvuOGCIfk1WcMRcijKo9eQ30N1XcI1/34inegJ0ko/nUfxA5+XBvSOKdWVWQdfg5pLMi2KR1NHtYOg896"
      "ruSfdbA5hEIp62HKhJJrIsreXJ0ZPTh7cnKnTuypWX+FcfTSv1KFoT9YdCeubX0PnTW7+bRrQBtexeTzwS/vMqQXPybK0DmSuKm0Soo9hjDlP1SaL"
      "A9WsVnDAVOqTXKvYkIU8i5DWsHVusvVJdSxiK4wn8MgjsvnpaIQrId8ZUkSBNe1j0pvtIWTdKJISxDS8dnYaf33M7E3Ak=",
      SSH_KEYTYPE_RSA);
};

std::size_t count_lines(std::string_view text) {
  std::size_t lines = 0;
  while (!text.empty()) {
    ++lines;
    auto newline = text.find('\n');
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
  }
  return lines;
}

kh::Verdict run(const std::string& text, int port, ssh_key key) {
  return kh::check({kh::Source{"f", text}}, "127.0.0.1", port, key);
}

// `text` with `line` after it, on a line of its own.
std::string then(const std::string& text, const std::string& line) {
  return text.empty() || text.back() == '\n' ? text + line : text + "\n" + line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Keys keys;
  if (size == 0) {
    return 0;
  }
  const int port = (data[0] & 1) != 0 ? 2222 : 22;
  ssh_key key = (data[0] >> 1) % 3 == 0   ? keys.ed25519.get()
                : (data[0] >> 1) % 3 == 1 ? keys.ecdsa.get()
                                          : keys.rsa.get();
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string name = kh::lookup_name("127.0.0.1", port);

  auto verdict = run(text, port, key);
  auto again = run(text, port, key);
  require(verdict.status == again.status && verdict.place.line == again.place.line &&
          verdict.portless == again.portless && verdict.malformed == again.malformed);
  if (verdict.status != kh::Status::unknown) {
    require(verdict.place.line >= 1 && verdict.place.line <= count_lines(text) && verdict.place.file == "f");
  }

  // Malformed lines for the host: before everything, and after the first line.
  for (const std::string bad : {name + " ssh-ed25519 AAAA!!!!\n", name + " ssh-nope AAAAC3NzaC1lZDI1NTE5\n",
                                "@revoked " + name + " ssh-rsa AAAAB3NzaC1yc2E=\n", name + "\n"}) {
    require(run(bad + text, port, key).status == verdict.status);
    auto newline = text.find('\n');
    if (newline != std::string::npos) {
      require(run(text.substr(0, newline + 1) + bad + text.substr(newline + 1), port, key).status == verdict.status);
    }
  }

  std::string entry = kh::entry_line("127.0.0.1", port, key);
  require(!entry.empty() && entry.starts_with(name + " "));
  auto added = run(then(text, entry), port, key).status;
  require(added == kh::Status::ok || added == kh::Status::revoked);
  require(run(then(text, "@revoked " + entry), port, key).status == kh::Status::revoked);
  require(run("@revoked * " + entry.substr(name.size() + 1) + text, port, key).status == kh::Status::revoked);
  // A valid line for a name that is never looked up changes nothing.
  require(run(then(text, "unrelated.example" + entry.substr(name.size())), port, key).status == verdict.status);
  return 0;
}
