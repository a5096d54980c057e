// libFuzzer target: pool-run's input reader (the record splitter under stdin and `:::: FILE`).
// Input: one byte choosing the separator (newline or NUL, as -0) and piece sizes, then the
// stream. Checked: the records are the same however the stream is cut into reads; no record
// holds the separator; joining them back with it (and the final one, if the stream ended on a
// separator) gives the stream exactly, so nothing is lost, merged or cut; and with newline
// records, a record holding a NUL is exactly what pool-run refuses to run (it cannot be an
// argument), so such bytes are reported, never silently dropped.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/pool/input.hpp"

namespace {

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

std::vector<std::string> split(std::string_view data, char separator, std::size_t piece) {
  netlab::pool::RecordSplitter splitter(separator);
  std::vector<std::string> records;
  auto push = [&](std::string record) { records.push_back(std::move(record)); };
  while (!data.empty()) {
    auto take = std::min(piece, data.size());
    splitter.feed(data.substr(0, take), push);
    data.remove_prefix(take);
  }
  splitter.finish(push);
  return records;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  char separator = (data[0] & 1) != 0 ? '\0' : '\n';
  std::size_t piece = 1 + (data[0] >> 1);
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  auto whole = split(stream, separator, stream.size() + 1);
  require(split(stream, separator, piece) == whole);
  require(split(stream, separator, 1) == whole);

  std::string joined;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    require(whole[i].find(separator) == std::string::npos);
    if (i > 0) {
      joined.push_back(separator);
    }
    joined.append(whole[i]);
  }
  if (!stream.empty() && stream.back() == separator) {
    joined.push_back(separator);
  }
  require(joined == stream);

  if (separator == '\n') {
    std::size_t with_nul = 0;
    for (const auto& record : whole) {
      with_nul += record.find('\0') != std::string::npos ? 1 : 0;
    }
    // Every NUL of the stream sits in some record: counted there, it cannot vanish.
    require((with_nul == 0) == (stream.find('\0') == std::string_view::npos));
  }
  return 0;
}
