// libFuzzer target: exec-server's handling of request frames. The input is a frame stream as a
// client would send it (the first byte picks the server's policy). Whatever parse_exec accepts
// must satisfy every rule of protocol.md §2, since the server spawns it without further checks;
// whatever it refuses must yield an error frame the server can encode.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/exec/request.hpp"
#include "core/frame/frame.hpp"

namespace {

using netlab::exec::Policy;
using netlab::exec::Request;
using netlab::exec::RequestError;
using nlohmann::json;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool has_nul(const std::string& text) { return text.find('\0') != std::string::npos; }

Policy policy_for(std::uint8_t bits) {
  Policy policy;
  policy.allow_shell = (bits & 1) != 0;
  if ((bits & 2) != 0) {
    policy.allow = {"echo", "ls"};
  }
  policy.max_timeout = netlab::Seconds((bits & 4) != 0 ? 5.0 : 0.0);
  return policy;
}

void check_accepted(const json& header, const std::string& body, const Request& request, const Policy& policy) {
  require(header.at("id").is_number_integer() && header.at("id").get<std::int64_t>() == request.id);
  require(!request.argv.empty() && !request.argv[0].empty());
  for (const auto& word : request.argv) {
    require(!has_nul(word));
  }
  if (request.shell) {
    require(policy.allow_shell && request.argv.size() == 3 && request.argv[0] == "/bin/sh" && request.argv[1] == "-c" &&
            !request.argv[2].empty() && !header.contains("argv"));
  } else {
    require(!header.contains("shell"));
    require(policy.allow.empty() ||
            std::find(policy.allow.begin(), policy.allow.end(), request.argv[0]) != policy.allow.end());
  }
  require(std::isfinite(request.timeout.count()) && request.timeout.count() >= 0);
  require(policy.max_timeout.count() == 0 || (request.timeout.count() > 0 && request.timeout <= policy.max_timeout));
  for (const auto& entry : request.env) {
    auto equals = entry.find('=');
    require(equals != std::string::npos && equals > 0 && !has_nul(entry));
  }
  require(!request.cwd || (!request.cwd->empty() && !has_nul(*request.cwd)));
  require(request.stdin_data == body);
}

// What exec-client does with a line: the words it splits must survive quoting and splitting again.
void check_split(const std::string& line) {
  auto words = netlab::exec::split_words(line);
  if (!words) {
    require(!words.error().empty());
    return;
  }
  std::string quoted;
  for (const auto& word : *words) {
    quoted += " '";
    for (char c : word) {
      quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    quoted += "'";
  }
  auto again = netlab::exec::split_words(quoted);
  require(again && *again == *words);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  Policy policy = policy_for(data[0]);
  netlab::frame::Decoder decoder(netlab::frame::Limits{.max_header = 65536, .max_body = 1 << 16});
  std::vector<netlab::frame::Frame> frames;
  (void)decoder.feed(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), frames);
  for (auto& frame : frames) {
    auto id = netlab::exec::frame_id(frame.header);
    require(id.is_null() || id.is_number_integer());
    try {
      int status = netlab::exec::exit_status_from(frame.header).shell_status();
      require(status >= 0 && status <= 255);
    } catch (const nlohmann::json::exception&) {
      // A key of the wrong type: run_exec_client turns this into a protocol error by design.
    }
    if (auto shell = frame.header.find("shell"); shell != frame.header.end() && shell->is_string()) {
      check_split(shell->get<std::string>());
    }

    auto type = frame.type();
    std::variant<Request, RequestError> parsed = RequestError{};
    if (type == "exec") {
      json header = frame.header;
      std::string body = frame.body;
      parsed = netlab::exec::parse_exec(std::move(frame), policy);
      if (auto* request = std::get_if<Request>(&parsed)) {
        check_accepted(header, body, *request, policy);
        continue;
      }
    } else if (type == "signal") {
      auto signal = netlab::exec::parse_signal(frame);
      if (auto* request = std::get_if<netlab::exec::SignalRequest>(&signal)) {
        require(request->signum > 0);
        continue;
      }
      parsed = std::get<RequestError>(signal);
    } else {
      (void)netlab::exec::check_auth(frame, "token", "00ff");
      continue;
    }
    const auto& error = std::get<RequestError>(parsed);
    require((error.code == "bad-request" || error.code == "not-allowed") && !error.message.empty());
    // The server sends this frame back; encoding it must not throw on any message.
    auto reply = netlab::frame::encode(netlab::exec::error_header(id, error.code, error.message));
    require(reply.size() > netlab::frame::k_prefix_size);
  }
  return 0;
}
