// Incremental frame decoding with every malformed case of protocol.md §1 reported.
#include <algorithm>

#include <fmt/format.h>

#include "core/crypto/digest.hpp"
#include "core/frame/frame.hpp"
#include "core/util/escape.hpp"

namespace netlab::frame {
namespace {

// Growing the body as bytes arrive, rather than reserving the declared size, means a peer that
// announces a large body and sends nothing costs nothing.
constexpr std::size_t k_initial_reserve = 64 * 1024;

} // namespace

Decoder::Decoder(Limits limits) : m_limits(limits) { m_need = k_prefix_size; }

Result<void> Decoder::error(const std::string& what) {
  m_error = fmt::format("frame {} at offset {}: {}", m_frames + 1, m_frame_offset, what);
  m_state = State::failed;
  return fail(m_error);
}

Result<void> Decoder::feed(std::string_view data, std::vector<Frame>& out) {
  while (true) {
    if (m_state == State::failed) {
      return fail(m_error);
    }
    if (data.empty()) {
      return {};
    }
    std::size_t take = std::min(data.size(), m_need - m_have);
    switch (m_state) {
    case State::length:
      std::copy_n(data.data(), take, m_prefix + m_have);
      break;
    case State::header:
      m_buffer.append(data.data(), take);
      break;
    case State::body:
      m_frame.body.append(data.data(), take);
      break;
    case State::failed:
      break;
    }
    m_have += take;
    m_offset += take;
    data.remove_prefix(take);
    if (m_have < m_need) {
      continue;
    }
    switch (m_state) {
    case State::length: {
      std::size_t length = (std::size_t{m_prefix[0]} << 24) | (std::size_t{m_prefix[1]} << 16) |
                           (std::size_t{m_prefix[2]} << 8) | std::size_t{m_prefix[3]};
      if (length == 0) {
        return error("header length 0 (must be 1 to 65536)");
      }
      if (length > m_limits.max_header) {
        return error(fmt::format("header length {} over the limit of {}", length, m_limits.max_header));
      }
      m_state = State::header;
      m_need = length;
      m_have = 0;
      m_buffer.clear();
      m_buffer.reserve(length);
      break;
    }
    case State::header:
      NETLAB_TRY_VOID(take_header());
      if (m_state == State::body && m_need == 0) {
        NETLAB_TRY_VOID(take_body(out));
      }
      break;
    case State::body:
      NETLAB_TRY_VOID(take_body(out));
      break;
    case State::failed:
      break;
    }
  }
}

Result<void> Decoder::take_header() {
  // nlohmann/json would stop at a NUL (taking what follows for the end of input), skip a UTF-8
  // byte order mark and let the last of two equal keys win: a header is exactly one JSON object,
  // so each of these is an error rather than a second reading of the same bytes.
  if (m_buffer.find('\0') != std::string::npos) {
    return error("header contains a NUL byte");
  }
  if (m_buffer.rfind("\xEF\xBB\xBF", 0) == 0) {
    return error("header starts with a byte order mark");
  }
  std::vector<std::vector<std::string>> keys; // per open object, the keys seen so far
  std::string duplicate;
  auto header = nlohmann::json::parse(
      m_buffer,
      [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (event == nlohmann::json::parse_event_t::object_start) {
          keys.emplace_back();
        } else if (event == nlohmann::json::parse_event_t::object_end && !keys.empty()) {
          keys.pop_back();
        } else if (event == nlohmann::json::parse_event_t::key && !keys.empty()) {
          const auto& key = parsed.get_ref<const std::string&>();
          auto& seen = keys.back();
          if (duplicate.empty() && std::find(seen.begin(), seen.end(), key) != seen.end()) {
            duplicate = key;
          }
          seen.push_back(key);
        }
        return true;
      },
      false);
  if (header.is_discarded()) {
    return error("header is not valid JSON");
  }
  if (!duplicate.empty()) {
    return error(fmt::format("header has the key \"{}\" twice", escape_text(duplicate)));
  }
  if (!header.is_object()) {
    return error("header is not a JSON object");
  }
  auto type = header.find("type");
  if (type == header.end() || !type->is_string()) {
    return error("header has no \"type\" string");
  }
  auto size = header.find("size");
  if (size == header.end()) {
    return error("header has no \"size\"");
  }
  if (!size->is_number_integer()) {
    return error("header \"size\" is not an integer");
  }
  if (size->is_number_unsigned() ? false : size->get<std::int64_t>() < 0) {
    return error("header \"size\" is negative");
  }
  auto body_size = size->get<std::uint64_t>();
  if (body_size > m_limits.max_body) {
    return error(fmt::format("body size {} over the limit of {}", body_size, m_limits.max_body));
  }
  if (m_frames == 0 && body_size > m_limits.first_max_body) {
    return error(fmt::format("body size {} over the first frame's limit of {} (authenticate first)", body_size,
                             m_limits.first_max_body));
  }
  auto sha = header.find("sha256");
  if (sha != header.end() && !(sha->is_string() && crypto::is_sha256_hex(sha->get<std::string>()))) {
    return error("header \"sha256\" is not 64 lowercase hex digits");
  }
  m_frame.header = std::move(header);
  m_frame.body.clear();
  m_frame.body.reserve(std::min<std::size_t>(body_size, k_initial_reserve));
  m_state = State::body;
  m_need = static_cast<std::size_t>(body_size);
  m_have = 0;
  m_buffer.clear();
  m_buffer.shrink_to_fit();
  return {};
}

Result<void> Decoder::take_body(std::vector<Frame>& out) {
  auto sha = m_frame.header.find("sha256");
  if (sha != m_frame.header.end() && crypto::sha256_hex(m_frame.body) != sha->get<std::string>()) {
    return error("body does not match its sha256");
  }
  m_frame.offset = m_frame_offset;
  out.push_back(std::move(m_frame));
  m_frame = Frame{};
  ++m_frames;
  m_frame_offset = m_offset;
  m_state = State::length;
  m_need = k_prefix_size;
  m_have = 0;
  return {};
}

Result<void> Decoder::finish() const {
  if (m_state == State::failed) {
    return fail(m_error);
  }
  if (!idle()) {
    const char* part = m_state == State::length ? "length prefix" : m_state == State::header ? "header" : "body";
    return fail(fmt::format("frame {} at offset {}: stream ends inside the {} ({} of {} bytes)", m_frames + 1,
                            m_frame_offset, part, m_have, m_need));
  }
  return {};
}

} // namespace netlab::frame
