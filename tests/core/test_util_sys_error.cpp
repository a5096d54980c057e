// Unit tests for core/util/sys_error: the one wording of a failed system or libuv call.
#include <catch2/catch.hpp>

#include <cerrno>

#include <uv.h>

#include "core/util/sys_error.hpp"

using namespace netlab;

TEST_CASE("sys_message: action, object, then strerror with its first letter lower-cased", "[util]") {
  CHECK(sys_message("open", "/nope", ENOENT) == "open /nope: no such file or directory");
  CHECK(sys_message("bind", "127.0.0.1:80", EACCES) == "bind 127.0.0.1:80: permission denied");
  CHECK(sys_message("connect", "127.0.0.1:1", ECONNREFUSED) == "connect 127.0.0.1:1: connection refused");
}

TEST_CASE("sys_message: an empty object or action leaves no stray space", "[util]") {
  CHECK(sys_message("pipe", "", EMFILE) == "pipe: too many open files");
  CHECK(sys_message("", "/tmp/x", EISDIR) == "/tmp/x: is a directory");
  CHECK(sys_message("", "", EPIPE) == "broken pipe");
}

TEST_CASE("uv_message: libuv's text under the same rule, whatever libuv's case", "[util]") {
  CHECK(uv_message("bind", "127.0.0.1:9", UV_EADDRINUSE) == "bind 127.0.0.1:9: address already in use");
  CHECK(uv_message("spawn", "x", UV_ENOENT) == "spawn x: no such file or directory");
  CHECK(uv_message("event loop", "", UV_EINVAL) == "event loop: invalid argument");
  CHECK(uv_message("read", "stdin", UV_EOF) == "read stdin: end of file");
}

TEST_CASE("sys_reason/uv_reason: only a sentence-case capital is lowered", "[util]") {
  CHECK(sys_reason(EIO) == "input/output error");
  CHECK(sys_reason(ENOENT) == "no such file or directory");
  CHECK(uv_reason(UV_ECONNRESET) == "connection reset by peer");
  // An unknown errno still reads as a phrase, not an empty string.
  CHECK_FALSE(sys_reason(99999).empty());
}

TEST_CASE("sys_failure/uv_failure: the message plus the code callers branch on", "[util]") {
  Failure sys = sys_failure("receive", "", ETIMEDOUT);
  CHECK(sys.message == "receive: connection timed out");
  CHECK(sys.code == ETIMEDOUT);
  CHECK(sys.exit_code == k_exit_failure);
  Failure uv = uv_failure("spawn", "nope", UV_ENOENT);
  CHECK(uv.message == "spawn nope: no such file or directory");
  CHECK(uv.code == UV_ENOENT);
}
