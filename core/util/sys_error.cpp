#include "core/util/sys_error.hpp"

#include <cstring>

#include <uv.h>

namespace netlab {
namespace {

std::string lowered(const char* text) {
  std::string out = text != nullptr ? text : "unknown error";
  // Only the sentence-case capital: "No such file" -> "no such file"; an acronym ("EOF", "I/O")
  // keeps its case because its second letter is upper-case too.
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && (out.size() < 2 || !(out[1] >= 'A' && out[1] <= 'Z'))) {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  return out;
}

std::string joined(std::string_view action, std::string_view object, const std::string& reason) {
  std::string out;
  out.reserve(action.size() + object.size() + reason.size() + 3);
  out.append(action);
  if (!action.empty() && !object.empty()) {
    out.push_back(' ');
  }
  out.append(object);
  if (!out.empty()) {
    out.append(": ");
  }
  out.append(reason);
  return out;
}

} // namespace

std::string sys_reason(int err) { return lowered(std::strerror(err)); }

std::string uv_reason(int uv_code) { return lowered(uv_strerror(uv_code)); }

std::string sys_message(std::string_view action, std::string_view object, int err) {
  return joined(action, object, sys_reason(err));
}

std::string uv_message(std::string_view action, std::string_view object, int uv_code) {
  return joined(action, object, uv_reason(uv_code));
}

Failure sys_failure(std::string_view action, std::string_view object, int err) {
  return fail(sys_message(action, object, err), err);
}

Failure uv_failure(std::string_view action, std::string_view object, int uv_code) {
  return fail(uv_message(action, object, uv_code), uv_code);
}

} // namespace netlab
