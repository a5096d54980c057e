// libFuzzer target: the frame decoder must never crash, and feeding the same bytes in different
// pieces must give the same frames and the same error (protocol.md §1's split rule).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/frame/frame.hpp"

namespace {

struct Outcome {
  std::vector<netlab::frame::Frame> frames;
  std::string error;
};

Outcome decode(std::string_view data, std::size_t piece) {
  netlab::frame::Decoder decoder(netlab::frame::Limits{.max_header = 4096, .max_body = 1 << 16});
  Outcome outcome;
  for (std::size_t at = 0; at < data.size(); at += piece) {
    auto fed = decoder.feed(data.substr(at, piece), outcome.frames);
    if (!fed) {
      outcome.error = fed.error();
      return outcome;
    }
  }
  auto end = decoder.finish();
  if (!end) {
    outcome.error = end.error();
  }
  return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::size_t piece = 1 + data[0] % 13;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto whole = decode(bytes, bytes.size() + 1);
  auto split = decode(bytes, piece);
  if (whole.error != split.error || whole.frames.size() != split.frames.size()) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < whole.frames.size(); ++i) {
    if (whole.frames[i].header != split.frames[i].header || whole.frames[i].body != split.frames[i].body) {
      __builtin_trap();
    }
    // Whatever decodes must encode back to a frame that decodes the same.
    auto again = netlab::frame::encode(whole.frames[i].header, whole.frames[i].body);
    auto round = decode(again, again.size() + 1);
    if (!round.error.empty() || round.frames.size() != 1 || round.frames[0].body != whole.frames[i].body) {
      __builtin_trap();
    }
  }
  return 0;
}
