// Parsing and resolving netlab's address syntax.
#include "core/net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace netlab::net {
namespace {

Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole, const AddressRules& rules) {
  if (text.empty()) {
    return fail(fmt::format("address '{}': missing port", whole));
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc{} && end == text.data() + text.size() && value > 65535)) {
    return fail(fmt::format("address '{}': port {} out of range (0-65535)", whole, text));
  }
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return fail(fmt::format("address '{}': port '{}' is not a number", whole, text));
  }
  if (value == 0 && !rules.allow_port_zero) {
    return fail(fmt::format("address '{}': port 0 is only for servers", whole));
  }
  return static_cast<std::uint16_t>(value);
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

} // namespace

std::string Address::to_string() const {
  if (is_unix()) {
    return "unix:" + path;
  }
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

Result<Address> parse_address(std::string_view text, AddressRules rules) {
  Address address;
  if (text.empty()) {
    return fail("empty address (expected HOST:PORT, [IPv6]:PORT, PORT or unix:/path)");
  }
  if (text.starts_with("unix:")) {
    if (!rules.allow_unix) {
      return fail(fmt::format("address '{}': unix sockets are not supported here", text));
    }
    address.kind = Address::Kind::unix_path;
    address.path = std::string(text.substr(5));
    if (address.path.empty()) {
      return fail(fmt::format("address '{}': empty socket path", text));
    }
    if (address.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return fail(
          fmt::format("address '{}': socket path longer than {} bytes", text, sizeof(sockaddr_un::sun_path) - 1));
    }
    return address;
  }
  // Habits from other tools, named so the fix is obvious.
  if (auto scheme = text.find("://"); scheme != std::string_view::npos) {
    return fail(fmt::format("address '{}': no scheme here; write HOST:PORT, [IPv6]:PORT, PORT{}", text,
                            rules.allow_unix ? " or unix:/path" : ""));
  }
  if (text.front() == '/' || text.starts_with("./") || text.starts_with("../")) {
    if (rules.allow_unix) {
      return fail(fmt::format("address '{}': did you mean unix:{}?", text, text));
    }
    return fail(fmt::format("address '{}': a path; this command takes HOST:PORT, [IPv6]:PORT or PORT", text));
  }
  if (text.size() > 1 && text.back() == '/' && text.find(':') != std::string_view::npos) {
    return fail(fmt::format("address '{}': no path here; write {}", text, text.substr(0, text.size() - 1)));
  }
  if (all_digits(text)) {
    NETLAB_TRY(address.port, parse_port(text, text, rules));
    address.host = "127.0.0.1";
    return address;
  }
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(fmt::format("address '{}': missing ']' after IPv6 address", text));
    }
    address.host = std::string(text.substr(1, close - 1));
    if (address.host.empty()) {
      return fail(fmt::format("address '{}': empty host", text));
    }
    in6_addr probe{};
    if (inet_pton(AF_INET6, address.host.c_str(), &probe) != 1) {
      return fail(fmt::format("address '{}': '{}' is not an IPv6 address", text, address.host));
    }
    auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return fail(fmt::format("address '{}': expected ':PORT' after ']'", text));
    }
    NETLAB_TRY(address.port, parse_port(rest.substr(1), text, rules));
    return address;
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(fmt::format("address '{}': missing port (expected HOST:PORT)", text));
  }
  auto host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) {
    return fail(fmt::format("address '{}': IPv6 addresses need brackets, as in [::1]:PORT", text));
  }
  if (host.empty()) {
    return fail(fmt::format("address '{}': empty host", text));
  }
  address.host = std::string(host);
  NETLAB_TRY(address.port, parse_port(text.substr(colon + 1), text, rules));
  return address;
}

Result<std::vector<loop::Endpoint>> resolve(const Address& address, int socktype) {
  std::vector<loop::Endpoint> endpoints;
  if (address.is_unix()) {
    loop::Endpoint endpoint;
    auto* un = reinterpret_cast<sockaddr_un*>(&endpoint.storage);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.path.data(), address.path.size());
    endpoint.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
    endpoints.push_back(endpoint);
    return endpoints;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  auto port = std::to_string(address.port);
  int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &list);
  if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
    // AI_ADDRCONFIG hides ::1 on hosts without a global IPv6 address; retry without it.
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &list);
  }
  if (rc != 0) {
    return fail(fmt::format("resolve {}: {}", address.host, gai_strerror(rc)));
  }
  for (auto* ai = list; ai != nullptr; ai = ai->ai_next) {
    endpoints.push_back(loop::endpoint_from(ai->ai_addr, ai->ai_addrlen));
  }
  freeaddrinfo(list);
  if (endpoints.empty()) {
    return fail(fmt::format("resolve {}: no addresses", address.host));
  }
  return endpoints;
}

} // namespace netlab::net
