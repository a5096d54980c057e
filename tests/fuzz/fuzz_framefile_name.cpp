// libFuzzer target: the frame-file name rules. A name check_name accepts must stay strictly
// inside the target folder once joined to it, and be already normal (what the packer would store
// for it is the name itself); a name the packer stores must pass the unpacker's check.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/framefile/names.hpp"

namespace {

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Lexically, without touching the disk: symbolic links are the reader's own check (make_parents).
bool stays_inside(std::string_view name) {
  std::filesystem::path dest("/dest");
  auto joined = (dest / std::filesystem::path(name)).lexically_normal();
  auto relative = joined.lexically_relative(dest);
  if (relative.empty() || relative == ".") {
    return false;
  }
  for (const auto& part : relative) {
    if (part == "..") {
      return false;
    }
  }
  return joined.string().starts_with("/dest/");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), size);
  auto checked = netlab::framefile::check_name(name);
  if (checked) {
    require(!name.empty() && name.size() <= 4096 && name.find('\0') == std::string_view::npos);
    require(stays_inside(name));
    auto stored = netlab::framefile::stored_name(name);
    require(stored && *stored == name);
  } else {
    require(!checked.error().empty());
  }

  auto stored = netlab::framefile::stored_name(name);
  if (stored && *stored != "." && stored->size() <= 4096 && stored->find('\0') == std::string::npos) {
    require(netlab::framefile::check_name(*stored).ok());
  }
  return 0;
}
