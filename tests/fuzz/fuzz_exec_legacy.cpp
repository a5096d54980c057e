// libFuzzer target: exec-server's legacy protocol (protocol.md §3): raw command bytes in any
// pieces; each answer is struct.pack('i', n), an n-byte JSON object and total_size bytes of output.
// Properties: every answer that arrived parses; total_size = stdout_size + stderr_size; answers
// follow each other exactly (the bytes after one are the next one's length). Commands run as
// arguments of /bin/echo, never through a shell.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "exec_harness.hpp"

namespace {

void check(const std::string& received) {
  std::size_t at = 0;
  while (at < received.size()) {
    if (received.size() - at < 4) {
      return; // the last answer may still be on its way when the harness stops listening
    }
    std::uint32_t length = 0;
    for (int i = 0; i < 4; ++i) {
      length |= static_cast<std::uint32_t>(static_cast<unsigned char>(received[at + i])) << (8 * i);
    }
    at += 4;
    if (length == 0 || length > 65536) {
      __builtin_trap();
    }
    if (received.size() - at < length) {
      return;
    }
    auto header = nlohmann::json::parse(received.substr(at, length), nullptr, false);
    at += length;
    if (!header.is_object() || !header["total_size"].is_number_unsigned() ||
        !header["stdout_size"].is_number_unsigned() || !header["stderr_size"].is_number_unsigned()) {
      __builtin_trap();
    }
    auto total = header["total_size"].get<std::uint64_t>();
    if (total != header["stdout_size"].get<std::uint64_t>() + header["stderr_size"].get<std::uint64_t>()) {
      __builtin_trap();
    }
    at += total;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  netlab::exec::ExecServiceConfig options;
  options.legacy_shell = {"/bin/echo"};
  options.max_running = 2;
  options.legacy_max_output = 1 << 16;
  options.legacy_max_held = 1 << 17;
  fuzz_exec::Harness harness(options, true);
  // The first byte sets the piece size, so one input explores one way of splitting the stream.
  std::size_t piece = size == 0 ? 1 : 1 + data[0] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  if (!rest.empty()) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && !harness.server_closed()) {
    auto n = std::min(piece, rest.size());
    harness.send(std::string(rest.substr(0, n)));
    rest.remove_prefix(n);
  }
  // Until the answers stop coming (a command is an /bin/echo: milliseconds).
  harness.run(30, true);
  check(harness.received());
  return 0;
}
