// libFuzzer target: the frame-file name rules. A name check_name accepts must stay strictly
// inside the target folder once joined to it, and be already normal (what the packer would store
// for it is the name itself); a name the packer stores must pass the unpacker's check and come
// out of a frame header unchanged, and check_storable refuses exactly the names a header changes.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/frame/frame.hpp"
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

// The name as the unpacker reads it back from a file frame netlab wrote.
std::string header_round_trip(std::string_view name) {
  auto bytes = netlab::frame::encode({{"type", "file"}, {"name", std::string(name)}});
  netlab::frame::Decoder decoder;
  std::vector<netlab::frame::Frame> frames;
  require(decoder.feed(bytes, frames).ok() && frames.size() == 1);
  return frames[0].header["name"].get<std::string>();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), size);
  auto checked = netlab::framefile::check_name(name);
  if (checked) {
    require(!name.empty() && name.size() <= 4096 && name.find('\0') == std::string_view::npos);
    require(stays_inside(name));
    // A name from a header is valid UTF-8; check_name itself looks only at its components.
    auto stored = netlab::framefile::stored_name(name);
    require(stored ? *stored == name : !netlab::framefile::check_storable(name).ok());
  } else {
    require(!checked.error().empty());
  }

  auto stored = netlab::framefile::stored_name(name);
  if (stored && *stored != "." && stored->size() <= 4096 && stored->find('\0') == std::string::npos) {
    require(netlab::framefile::check_name(*stored).ok());
  }
  if (stored && *stored != ".") {
    // The stored name reaches the unpacker unchanged through a frame header.
    require(header_round_trip(*stored) == *stored);
  }
  // check_storable refuses exactly the names a header would change.
  require(netlab::framefile::check_storable(name).ok() == (header_round_trip(name) == name));
  return 0;
}
