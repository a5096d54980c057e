// The SFTP v3 packets an upload exchanges (draft-ietf-secsh-filexfer-02), as bytes: building the
// requests and taking the server's answers apart. No I/O here, so a hostile server's bytes can be
// fuzzed without one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::ssh::sftp_wire {

enum : std::uint8_t {
  k_init = 1,
  k_version = 2,
  k_open = 3,
  k_close = 4,
  k_read = 5,
  k_write = 6,
  k_status = 101,
  k_handle = 102,
  k_data = 103,
};

// Status codes with a meaning here.
inline constexpr std::uint32_t k_ok = 0;
inline constexpr std::uint32_t k_eof = 1;

// Answers to these requests are a status or a handle: small. A length past this is not one.
inline constexpr std::uint32_t k_max_answer = 256 * 1024;

std::string init_request();
// Opens for writing, created with `mode` if new, truncated if not.
std::string open_request(std::uint32_t id, std::string_view path, std::uint32_t mode);
// The head of a write request: everything but the data, which follows it on the wire.
std::string write_head(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::size_t data_size);
std::string close_request(std::uint32_t id, std::string_view handle);
// Opens an existing file for reading.
std::string open_read_request(std::uint32_t id, std::string_view path);
std::string read_request(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::uint32_t length);

struct Packet {
  std::uint8_t type = 0;
  std::string body; // what follows the type byte
};

// Takes one whole packet off the front of `in`: nothing while it is incomplete, an error for a
// length no answer has (the stream is then out of step for good).
Result<std::optional<Packet>> take_packet(std::string& in);

struct Status {
  std::uint32_t id = 0;
  std::uint32_t code = 0;
  std::string message;
};
// A status answer's fields; nothing if the body is too short for them. The message is optional
// on the wire (version 3 servers may leave it out).
std::optional<Status> parse_status(std::string_view body);
// A handle answer: the request id and a non-empty handle.
std::optional<std::pair<std::uint32_t, std::string>> parse_handle(std::string_view body);

// The request id every answer starts with.
std::optional<std::uint32_t> answer_id(std::string_view body);
// A data answer: the request id and the bytes.
std::optional<std::pair<std::uint32_t, std::string>> parse_data(std::string_view body);

// The codes whose meaning is plain without the server's message, in words.
std::optional<std::string_view> status_name(std::uint32_t code);
// The status code in words: its name, else the server's own message, else the number.
std::string status_text(std::uint32_t code, const std::string& message);

} // namespace netlab::ssh::sftp_wire
