// Frame encoding.
#include <stdexcept>

#include "core/crypto/digest.hpp"
#include "core/frame/frame.hpp"

namespace netlab::frame {
namespace {

void append_prefix(std::string& out, std::size_t length) {
  out.push_back(static_cast<char>((length >> 24) & 0xff));
  out.push_back(static_cast<char>((length >> 16) & 0xff));
  out.push_back(static_cast<char>((length >> 8) & 0xff));
  out.push_back(static_cast<char>(length & 0xff));
}

std::string header_text(nlohmann::json& header, std::size_t body_size) {
  if (!header.is_object()) {
    throw std::invalid_argument("frame header must be a JSON object");
  }
  header["size"] = body_size;
  // Invalid UTF-8 in a string is replaced rather than thrown: a header must always encode.
  auto text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > k_max_header) {
    throw std::length_error("frame header longer than 65536 bytes");
  }
  return text;
}

} // namespace

void encode_to(std::string& out, nlohmann::json header, std::string_view body, bool with_sha256) {
  if (with_sha256) {
    header["sha256"] = crypto::sha256_hex(body);
  }
  auto text = header_text(header, body.size());
  out.reserve(out.size() + k_prefix_size + text.size() + body.size());
  append_prefix(out, text.size());
  out += text;
  out.append(body.data(), body.size());
}

std::string encode(nlohmann::json header, std::string_view body, bool with_sha256) {
  std::string out;
  encode_to(out, std::move(header), body, with_sha256);
  return out;
}

std::string encode_head(nlohmann::json header, std::size_t body_size) {
  auto text = header_text(header, body_size);
  std::string out;
  out.reserve(k_prefix_size + text.size());
  append_prefix(out, text.size());
  out += text;
  return out;
}

} // namespace netlab::frame
