// Parsing --halt.
#include "core/pool/halt.hpp"

#include <charconv>

#include <fmt/format.h>

namespace netlab::pool {

Result<HaltPolicy> HaltPolicy::parse(std::string_view text) {
  HaltPolicy policy;
  auto comma = text.find(',');
  std::string_view when = text.substr(0, comma);
  if (when == "never" && comma == std::string_view::npos) {
    return policy;
  }
  if (when == "soon") {
    policy.when = When::soon;
  } else if (when == "now") {
    policy.when = When::now;
  } else {
    return fail(fmt::format("--halt '{}': expected never, soon or now, then optionally ,fail=N or ,success=N", text));
  }
  if (comma == std::string_view::npos) {
    return policy;
  }
  std::string_view rule = text.substr(comma + 1);
  auto equals = rule.find('=');
  std::string_view kind = rule.substr(0, equals);
  if (kind == "fail") {
    policy.on = On::fail;
  } else if (kind == "success") {
    policy.on = On::success;
  } else {
    return fail(fmt::format("--halt '{}': expected fail=N or success=N after '{},'", text, when));
  }
  std::string_view number = equals == std::string_view::npos ? std::string_view() : rule.substr(equals + 1);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), policy.count);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || policy.count == 0) {
    return fail(fmt::format("--halt '{}': {} needs a positive count, as in {}=1", text, kind, kind));
  }
  return policy;
}

} // namespace netlab::pool
