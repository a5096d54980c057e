#include "core/ssh/sftp_names.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

namespace netlab::ssh {

Result<void> check_listing_name(std::string_view name) {
  if (name.empty()) {
    return fail("an empty name");
  }
  if (name == "." || name == "..") {
    return fail("a name that points at a folder itself");
  }
  if (name.find('/') != std::string_view::npos) {
    return fail("a name with '/' in it (more than one path component)");
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail("a name with a NUL byte in it");
  }
  return {};
}

std::string quote_name(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string temporary_name() {
  static constexpr std::string_view k_alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::array<unsigned char, 12> random{};
  std::size_t got = 0;
  while (got < random.size()) {
    ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break; // cannot happen on Linux 3.17+; the exclusive create still keeps it safe
    }
    got += static_cast<std::size_t>(n);
  }
  std::string name(k_temporary_prefix);
  for (auto byte : random) {
    name.push_back(k_alphabet[byte % k_alphabet.size()]);
  }
  return name;
}

} // namespace netlab::ssh
