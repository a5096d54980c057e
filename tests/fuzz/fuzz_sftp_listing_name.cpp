// libFuzzer target: the names an SFTP server's folder listing holds, on their way to becoming
// local file names. The input is a name answer's body (parse_names) and also, whole, one name.
// Checked: a name check_listing_name accepts never leaves the folder it is joined to (lexically
// it is exactly one entry of that folder) and holds no NUL; a refused name says why; a parsed
// answer never holds more entries than its bytes can carry; quote_name output is printable ASCII.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/ssh/sftp_names.hpp"
#include "core/ssh/sftp_wire.hpp"

namespace {

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void check_name(std::string_view name) {
  auto checked = netlab::ssh::check_listing_name(name);
  if (checked) {
    require(!name.empty() && name.find('\0') == std::string_view::npos);
    std::filesystem::path folder("/dest/folder");
    auto joined = (folder / std::filesystem::path(std::string(name))).lexically_normal();
    require(joined.parent_path() == folder);
    require(joined.filename().string() == name);
  } else {
    require(!checked.error().empty());
  }
  for (char c : netlab::ssh::quote_name(name)) {
    require(c >= 0x20 && c < 0x7f);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_name(input);
  if (auto names = netlab::ssh::sftp_wire::parse_names(input)) {
    // id and count take 8 bytes; each entry at least 12 (two lengths and the attribute flags).
    require(8 + names->second.size() * 12 <= size);
    for (const auto& entry : names->second) {
      check_name(entry.name);
    }
  }
  return 0;
}
