// libFuzzer target: what an SFTP server sends back to netlab's upload channel. The input is fed
// to take_packet in pieces (the first byte picks the piece size) and every packet is parsed as a
// status, a handle and a data answer. Checked: no crash or over-read; the bytes consumed are exactly the
// packets' lengths plus their prefixes; a refused length is one no answer may have; a parsed
// status, handle or data answer, written back in wire form, parses to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ssh/sftp_wire.hpp"

namespace {

using namespace netlab::ssh::sftp_wire;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void check_packet(const Packet& packet) {
  if (auto status = parse_status(packet.body)) {
    std::string again =
        u32(status->id) + u32(status->code) + u32(static_cast<std::uint32_t>(status->message.size())) + status->message;
    auto reparsed = parse_status(again);
    require(reparsed && reparsed->id == status->id && reparsed->code == status->code &&
            reparsed->message == status->message);
    require(!status_text(status->code, status->message).empty());
  }
  if (auto data = parse_data(packet.body)) {
    require(data->second.size() + 8 <= packet.body.size());
    auto reparsed = parse_data(u32(data->first) + u32(static_cast<std::uint32_t>(data->second.size())) + data->second);
    require(reparsed && *reparsed == *data);
  }
  if (auto handle = parse_handle(packet.body)) {
    require(!handle->second.empty() && handle->second.size() + 8 <= packet.body.size());
    auto reparsed =
        parse_handle(u32(handle->first) + u32(static_cast<std::uint32_t>(handle->second.size())) + handle->second);
    require(reparsed && *reparsed == *handle);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  std::size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string in;
  std::size_t fed = 0;
  std::size_t consumed = 0;
  while (fed < input.size()) {
    auto n = std::min(piece, input.size() - fed);
    in.append(input.substr(fed, n));
    fed += n;
    while (true) {
      std::size_t before = in.size();
      auto taken = take_packet(in);
      if (!taken) {
        std::uint32_t length = static_cast<std::uint8_t>(in[0]) << 24 | static_cast<std::uint8_t>(in[1]) << 16 |
                               static_cast<std::uint8_t>(in[2]) << 8 | static_cast<std::uint8_t>(in[3]);
        require(length == 0 || length > k_max_answer);
        return 0;
      }
      if (!*taken) {
        break;
      }
      require(before - in.size() == 5 + (*taken)->body.size());
      consumed += before - in.size();
      check_packet(**taken);
    }
  }
  require(consumed + in.size() == input.size());
  return 0;
}
