// libFuzzer target: exec-server's session state machine (protocol.md §2). The input is a
// script of client actions in any order: raw bytes, auth with the right or a wrong MAC, exec
// (argv, env, cwd, stdin), signal, half-close. Properties of what the server sends back:
//  - it is a valid frame stream that starts with a hello offering hmac-sha256 and a 64-hex nonce;
//  - nothing of a command (stdout, stderr, exit) comes before auth-ok;
//  - after an error that ends the conversation (protocol, auth-*), nothing follows;
//  - a protocol error is sent only for bytes that are not a valid frame stream.
// Programs never run: the only allowed one does not exist, so an exec at most fails to spawn.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto/digest.hpp"
#include "core/exec/request.hpp"
#include "core/frame/frame.hpp"
#include "exec_harness.hpp"

namespace {

using nlohmann::json;
constexpr const char* k_token = "fuzz-token-0123456789";

struct Reader {
  const std::uint8_t* data;
  std::size_t size;
  std::uint8_t byte() { return size == 0 ? 0 : (--size, *data++); }
  std::string bytes(std::size_t n) {
    n = std::min(n, size);
    std::string out(reinterpret_cast<const char*>(data), n);
    data += n;
    size -= n;
    return out;
  }
};

std::string nonce_of(const std::string& received) {
  netlab::frame::Decoder decoder;
  std::vector<netlab::frame::Frame> frames;
  (void)decoder.feed(received, frames);
  if (frames.empty() || frames[0].type() != "hello") {
    __builtin_trap();
  }
  auto nonce = frames[0].header.value("nonce", std::string());
  if (frames[0].header.value("auth", std::string()) != "hmac-sha256" || !netlab::crypto::is_sha256_hex(nonce)) {
    __builtin_trap();
  }
  return nonce;
}

void check(const std::string& received) {
  netlab::frame::Decoder decoder;
  std::vector<netlab::frame::Frame> frames;
  if (!decoder.feed(received, frames)) {
    __builtin_trap(); // the server sent something that is not a frame
  }
  bool authed = false;
  bool ended = false;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& frame = frames[i];
    auto type = frame.type();
    if (ended || (i == 0) != (type == "hello")) {
      __builtin_trap();
    }
    if (type == "auth-ok") {
      authed = true;
    } else if ((type == "stdout" || type == "stderr" || type == "exit") && !authed) {
      __builtin_trap();
    } else if (type == "error") {
      auto code = frame.header.value("code", std::string());
      if (code == "protocol" || code.rfind("auth-", 0) == 0) {
        ended = true;
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  netlab::exec::ExecServiceConfig options;
  options.token = k_token;
  options.policy.allow = {"prog"};
  options.policy.allow_paths = {"/nonexistent/netlab-fuzz-prog"};
  options.policy.allow_env = {"SAFE"};
  options.auth_interval = netlab::Seconds(0); // no throttling delays inside one process's iterations
  options.max_queued = 4;
  options.limits.max_body = 1 << 16;
  fuzz_exec::Harness harness(options, false);
  harness.run(0);
  auto nonce = nonce_of(harness.received());
  Reader in{data, size};
  for (int step = 0; step < 64 && in.size > 0 && !harness.server_closed(); ++step) {
    auto op = in.byte() % 8;
    auto n = in.byte();
    auto payload = in.bytes(n);
    std::int64_t id = static_cast<std::int8_t>(n);
    switch (op) {
    case 0:
      harness.send(payload);
      break;
    case 1:
      harness.send(netlab::frame::encode(json{{"type", "auth"}, {"mac", netlab::exec::auth_mac(k_token, nonce)}}));
      break;
    case 2:
      harness.send(netlab::frame::encode(json{{"type", "auth"}, {"mac", payload}}));
      break;
    case 3: {
      json argv = json::array({n % 2 == 0 ? "prog" : "other"});
      for (std::size_t at = 0; at < payload.size(); at += 4) {
        argv.push_back(payload.substr(at, 4));
      }
      json header{{"type", "exec"}, {"id", id}, {"argv", argv}};
      if (n % 3 == 0) {
        header["env"] = json{{n % 5 == 0 ? "SAFE" : "PATH", payload}};
      }
      if (n % 7 == 0) {
        header["cwd"] = "/";
      }
      harness.send(netlab::frame::encode(header, payload, n % 11 == 0));
      break;
    }
    case 4: {
      static const char* names[] = {"INT", "TERM", "KILL", "STOP", "", "HUP"};
      harness.send(netlab::frame::encode(json{{"type", "signal"}, {"id", id}, {"signal", names[n % 6]}}));
      break;
    }
    case 5:
      harness.send(netlab::frame::encode(json{{"type", "exec"}, {"id", id}, {"shell", payload}}));
      break;
    case 6:
      harness.send(netlab::frame::encode(json{{"type", payload}}));
      break;
    case 7:
      harness.half_close();
      harness.run(5);
      break;
    }
  }
  harness.half_close();
  harness.run(300);
  check(harness.received());
  return 0;
}
