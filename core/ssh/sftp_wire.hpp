// The SFTP v3 packets a transfer exchanges (draft-ietf-secsh-filexfer-02), as bytes: building the
// requests and taking the server's answers apart. No I/O here, so a hostile server's bytes can be
// fuzzed without one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::ssh::sftp_wire {

enum : std::uint8_t {
  k_init = 1,
  k_version = 2,
  k_open = 3,
  k_close = 4,
  k_read = 5,
  k_write = 6,
  k_opendir = 11,
  k_readdir = 12,
  k_remove = 13,
  k_rename = 18,
  k_extended = 200,
  k_status = 101,
  k_handle = 102,
  k_data = 103,
  k_name = 104,
};

// Status codes with a meaning here.
inline constexpr std::uint32_t k_ok = 0;
inline constexpr std::uint32_t k_eof = 1;

// Answers to these requests are a status or a handle: small. A length past this is not one.
inline constexpr std::uint32_t k_max_answer = 256 * 1024;

// The extension that renames over an existing file in one step (rename(2) on the server).
inline constexpr std::string_view k_posix_rename = "posix-rename@openssh.com";

std::string init_request();
// Opens for writing, created with `mode` if new, truncated if not.
std::string open_request(std::uint32_t id, std::string_view path, std::uint32_t mode);
// The head of a write request: everything but the data, which follows it on the wire.
std::string write_head(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::size_t data_size);
std::string close_request(std::uint32_t id, std::string_view handle);
// Creates a new file for writing with `mode`; fails if the name exists (O_EXCL on the server).
std::string open_new_request(std::uint32_t id, std::string_view path, std::uint32_t mode);
// Opens an existing file for reading.
std::string open_read_request(std::uint32_t id, std::string_view path);
std::string read_request(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::uint32_t length);

std::string opendir_request(std::uint32_t id, std::string_view path);
std::string readdir_request(std::uint32_t id, std::string_view handle);
std::string remove_request(std::uint32_t id, std::string_view path);
// The plain SFTP v3 rename: OpenSSH's server refuses it when `to` exists.
std::string rename_request(std::uint32_t id, std::string_view from, std::string_view to);
// posix-rename@openssh.com: replaces `to` atomically.
std::string posix_rename_request(std::uint32_t id, std::string_view from, std::string_view to);

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

// A file's attributes, each present only when the server sent it.
struct Attributes {
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> permissions; // with the file type bits (S_IFMT), as stat(2)
  std::optional<std::uint32_t> atime;       // seconds since 1970
  std::optional<std::uint32_t> mtime;
};

// One entry of a folder listing: the name exactly as sent (it may hold any byte, NUL and '/'
// included: checking it is the caller's job) and its attributes.
struct NameEntry {
  std::string name;
  Attributes attributes;
};

// A name answer (to readdir): the request id and its entries; nothing if any field is cut short.
std::optional<std::pair<std::uint32_t, std::vector<NameEntry>>> parse_names(std::string_view body);

// The version answer: the version and the extensions the server offers (name, data).
struct Version {
  std::uint32_t version = 0;
  std::vector<std::pair<std::string, std::string>> extensions;
};
std::optional<Version> parse_version(std::string_view body);

// The codes whose meaning is plain without the server's message, in words.
std::optional<std::string_view> status_name(std::uint32_t code);
// The status code in words: its name, else the server's own message, else the number.
std::string status_text(std::uint32_t code, const std::string& message);

} // namespace netlab::ssh::sftp_wire
