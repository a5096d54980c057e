// Joblog and JSON formatting.
#include "core/pool/joblog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/loop/process.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

Result<int> open_joblog(const std::string& path) {
  constexpr int k_flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = ::open(path.c_str(), k_flags | O_NOFOLLOW, 0644);
  if (fd >= 0) {
    return fd;
  }
  int saved = errno;
  struct stat st {};
  if (saved == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    if (st.st_uid != ::geteuid()) {
      return fail(fmt::format("joblog {}: is a symbolic link owned by uid {}, not by this user; refusing to follow it "
                              "(remove it or name another file)",
                              path, st.st_uid));
    }
    fd = ::open(path.c_str(), k_flags, 0644);
    if (fd >= 0) {
      return fd;
    }
    saved = errno;
  }
  return sys_failure("joblog", path, saved);
}

std::string joblog_header() { return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"; }

std::string joblog_line(const JobRecord& record) {
  // Tabs and newlines in a command would break the TSV; GNU parallel has the same limitation
  // but we keep the row parseable.
  std::string command = record.command;
  for (char& c : command) {
    if (c == '\t' || c == '\n') {
      c = ' ';
    }
  }
  return fmt::format("{}\t{}\t{:.3f}\t{:10.3f}\t{}\t{}\t{}\t{}\t{}\n", record.seq, record.host, record.start_time,
                     record.runtime, record.sent, record.received, record.exit_code, record.signal, command);
}

std::string json_line(const JobRecord& record, const std::string& out, const std::string& err) {
  nlohmann::ordered_json object;
  object["seq"] = record.seq;
  std::string joined;
  if (record.inputs != nullptr) {
    for (const auto& input : *record.inputs) {
      joined.append(joined.empty() ? "" : " ").append(input);
    }
    object["input"] = joined;
    object["inputs"] = *record.inputs;
  }
  object["command"] = record.command;
  object["host"] = record.host;
  object["exit"] = record.exit_code;
  // The name, as ssh-exec and the exec protocol give it; the joblog keeps GNU parallel's number.
  object["signal"] =
      record.signal != 0 ? nlohmann::ordered_json(loop::signal_name(record.signal)) : nlohmann::ordered_json(nullptr);
  object["timeout"] = record.timed_out;
  object["duration"] = record.runtime;
  object["stdout"] = out;
  object["stderr"] = err;
  object["error"] = record.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(record.error);
  if (record.bytes_transferred) {
    object["bytes_transferred"] = *record.bytes_transferred;
  }
  if (record.files_transferred) {
    object["files_transferred"] = *record.files_transferred;
  }
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace netlab::pool
