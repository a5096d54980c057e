// The one way netlab words a failed system or libuv call: "ACTION OBJECT: reason", the reason in
// lower case as libuv writes it ("bind 127.0.0.1:80: permission denied"), never "failed to".
#pragma once

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab {

// strerror(err) with its first letter lower-cased ("No such file or directory" -> "no such file
// or directory"); the rest is kept, so "Input/output error" stays one phrase.
std::string sys_reason(int err);
// uv_strerror(uv_code) (a negative UV_E* value) under the same rule.
std::string uv_reason(int uv_code);

// "ACTION OBJECT: reason". An empty `object` gives "ACTION: reason", an empty `action`
// "OBJECT: reason"; both empty, the reason alone. `err` is an errno value.
std::string sys_message(std::string_view action, std::string_view object, int err);
// The same for a libuv status (`uv_code` < 0).
std::string uv_message(std::string_view action, std::string_view object, int uv_code);

// Failures carrying those messages. sys_failure's code is `err` (test it against ETIMEDOUT...);
// uv_failure's is `uv_code` itself (test it against UV_ENOENT...).
Failure sys_failure(std::string_view action, std::string_view object, int err);
Failure uv_failure(std::string_view action, std::string_view object, int uv_code);

} // namespace netlab
