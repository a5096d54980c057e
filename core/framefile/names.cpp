// Name normalisation and the unpacker's path-escape checks.
#include "core/framefile/names.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/escape.hpp"

namespace netlab::framefile {

Result<std::string> stored_name(std::string_view path) {
  if (path.empty()) {
    return fail("empty file name");
  }
  auto normal = std::filesystem::path(path).lexically_normal().relative_path();
  for (const auto& part : normal) {
    if (part == "..") {
      return fail(fmt::format("'{}' climbs out with '..'; run pack from a folder that contains it", escape_text(path)));
    }
  }
  auto text = normal.string();
  while (!text.empty() && text.back() == '/') {
    text.pop_back();
  }
  if (text.empty()) {
    return std::string(".");
  }
  NETLAB_TRY_VOID(check_storable(text));
  return text;
}

Result<void> check_storable(std::string_view name) {
  try {
    // The same serialisation frame::encode uses, but strict: it throws where encode would replace.
    (void)nlohmann::json(std::string(name)).dump();
  } catch (const nlohmann::json::type_error&) {
    return fail(fmt::format("'{}': file name is not valid UTF-8, which a frame file cannot carry (names are JSON "
                            "strings); rename it",
                            escape_text(name)));
  }
  return {};
}

Result<void> check_name(std::string_view name) {
  if (name.empty()) {
    return fail("empty file name");
  }
  if (name.size() > 4096) {
    return fail("file name longer than 4096 bytes");
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail("file name contains a NUL byte");
  }
  if (name.front() == '/') {
    return fail(fmt::format("refusing absolute path '{}'", escape_text(name)));
  }
  std::size_t start = 0;
  while (true) {
    auto end = name.find('/', start);
    auto part = name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part == "..") {
      return fail(fmt::format("refusing path with '..': '{}'", escape_text(name)));
    }
    if (part.empty() || part == ".") {
      return fail(fmt::format("refusing path with an empty or '.' component: '{}'", escape_text(name)));
    }
    if (end == std::string_view::npos) {
      return {};
    }
    start = end + 1;
  }
}

} // namespace netlab::framefile
