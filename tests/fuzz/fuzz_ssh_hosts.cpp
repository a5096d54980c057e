// libFuzzer target: ssh-exec's host arguments and hosts files. The input is read both as one
// host argument and as a hosts file. Checked: an accepted host is well formed and, written back
// as [user@]host[:port] (bracketed when the host has a colon), parses to the same user, host and
// port; an accepted hosts file written back as one label per line reads back the same.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ssh/host.hpp"

namespace {

using netlab::ssh::HostSpec;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void check_host(const HostSpec& spec) {
  require(!spec.host.empty() && spec.port >= 0 && spec.port <= 65535);
  require(!spec.label.empty() && !is_blank(spec.label.front()) && !is_blank(spec.label.back()));
  for (unsigned char c : spec.host) {
    require(std::isalnum(c) || std::string_view(".-_:%").find(static_cast<char>(c)) != std::string_view::npos);
  }
  std::string text = spec.user.empty() ? "" : spec.user + "@";
  text += spec.host.find(':') == std::string::npos ? spec.host : "[" + spec.host + "]";
  if (spec.port != 0) {
    text += ":" + std::to_string(spec.port);
  }
  auto again = netlab::ssh::parse_host(text);
  require(again && again->user == spec.user && again->host == spec.host && again->port == spec.port);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto host = netlab::ssh::parse_host(text)) {
    check_host(*host);
  }

  auto hosts = netlab::ssh::parse_hosts_file(text);
  if (!hosts) {
    require(hosts.error().starts_with("line "));
    return 0;
  }
  std::string written;
  for (const auto& host : *hosts) {
    check_host(host);
    require(host.label.find('#') == std::string::npos && host.label.find('\n') == std::string::npos);
    written += host.label + "\n";
  }
  auto again = netlab::ssh::parse_hosts_file(written);
  require(again && again->size() == hosts->size());
  for (std::size_t i = 0; i < hosts->size(); ++i) {
    const auto& a = (*hosts)[i];
    const auto& b = (*again)[i];
    require(a.user == b.user && a.host == b.host && a.port == b.port && a.label == b.label);
  }
  return 0;
}
