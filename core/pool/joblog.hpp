// Per-job reports: GNU parallel's joblog line and the --json object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::pool {

// What is known about a job once it finished for good.
struct JobRecord {
  std::uint64_t seq = 0;
  std::string host = ":"; // GNU parallel's name for the local machine
  double start_time = 0;  // seconds since the epoch
  double runtime = 0;     // seconds
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::int64_t exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  std::string command;
  const std::vector<std::string>* inputs = nullptr;
  std::string error; // JobOutcome::start_error; "error" in --json (null when empty)
  std::optional<std::uint64_t> bytes_transferred;
  std::optional<std::uint64_t> files_transferred;
};

// Opens (creates or truncates) the joblog at `path` for writing; returns the descriptor. A final
// symbolic link is followed only if it belongs to this user (the one who runs pool-run made it,
// so it points where they want): one planted by another user, say in /tmp, is refused rather
// than letting it aim the truncation at one of this user's files (O_NOFOLLOW, then lstat).
Result<int> open_joblog(const std::string& path);

// The same header and columns as `parallel --joblog`, so tools written for it read ours.
std::string joblog_header();
std::string joblog_line(const JobRecord& record);

// One line of JSON: seq, input, inputs, command, host, exit, signal (a name such as "TERM", or
// null), timeout, duration, stdout, stderr, error (null or a one-line reason), and
// bytes_transferred/files_transferred when the record has them.
// Bytes that are not UTF-8 are replaced rather than making the line invalid.
std::string json_line(const JobRecord& record, const std::string& out, const std::string& err);

} // namespace netlab::pool
