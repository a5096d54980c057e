// The netlab frame (protocol.md §1): u32 big-endian header length, JSON header, body of header["size"].
// Protocol code only: it consumes and produces bytes and never touches a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/result.hpp"

namespace netlab::frame {

inline constexpr std::size_t k_prefix_size = 4;
inline constexpr std::size_t k_max_header = 65536;
inline constexpr std::size_t k_default_max_body = 16 * 1024 * 1024;

struct Limits {
  std::size_t max_header = k_max_header;
  std::size_t max_body = k_default_max_body;
  // A tighter body limit for the first frame only: a server that wants authentication first
  // should not buffer megabytes for a peer that has not proved anything yet.
  std::size_t first_max_body = static_cast<std::size_t>(-1);
};

struct Frame {
  nlohmann::json header;
  std::string body;
  // Where the frame starts in the stream the decoder read, for messages that name it.
  std::uint64_t offset = 0;

  std::string type() const { return header.value("type", std::string()); }
};

// Serialises `header` (a JSON object; its "size" is set to body.size()) and appends the whole
// frame to `out`. With `with_sha256` the header also carries the body's SHA-256.
void encode_to(std::string& out, nlohmann::json header, std::string_view body, bool with_sha256 = false);

std::string encode(nlohmann::json header, std::string_view body = {}, bool with_sha256 = false);

// Only the length prefix and header, for callers that write a large body separately.
std::string encode_head(nlohmann::json header, std::size_t body_size);

// Incremental decoder: bytes go in, in pieces of any size, complete frames come out. The same
// byte stream yields the same frames however it is split. Memory is bounded by the limits.
class Decoder {
public:
  explicit Decoder(Limits limits = {});

  // Consumes all of `data`, appending each complete frame to `out`. After a protocol error the
  // decoder stays failed and every later call returns the same error.
  Result<void> feed(std::string_view data, std::vector<Frame>& out);

  // At end of stream: fails if a frame was cut off part-way.
  Result<void> finish() const;

  // True when no partial frame is buffered.
  bool idle() const { return m_state == State::length && m_have == 0; }
  bool failed() const { return m_state == State::failed; }
  // Number of frames yielded so far, and bytes consumed so far.
  std::size_t frames() const { return m_frames; }
  std::uint64_t offset() const { return m_offset; }
  // Offset at which the frame now being read (or the failed one) starts.
  std::uint64_t frame_offset() const { return m_frame_offset; }

private:
  enum class State { length, header, body, failed };

  Result<void> error(const std::string& what);
  Result<void> take_header();
  Result<void> take_body(std::vector<Frame>& out);

  Limits m_limits;
  State m_state = State::length;
  unsigned char m_prefix[k_prefix_size] = {};
  std::size_t m_have = 0; // bytes of the current part (prefix/header/body) received
  std::size_t m_need = 0; // bytes the current part needs in all
  std::string m_buffer;   // header text being accumulated
  Frame m_frame;
  std::size_t m_frames = 0;
  std::uint64_t m_offset = 0;
  std::uint64_t m_frame_offset = 0;
  std::string m_error;
};

} // namespace netlab::frame
