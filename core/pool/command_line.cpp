// pool-run's argument grammar and job cap (see command_line.hpp).
#include "core/pool/command_line.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <uv.h>

#include "core/pool/input.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"

namespace netlab::pool {

Result<CommandLine> parse_command_line(std::vector<std::string> words, char separator) {
  bool after_dashes = !words.empty() && words.front() == "--";
  if (after_dashes) {
    words.erase(words.begin());
  }
  CommandLine line;
  std::vector<std::string>* group = nullptr;
  bool from_file = false;
  for (auto& word : words) {
    if (word == ":::" || word == "::::" || word == ":::+" || word == "::::+") {
      bool linked = word.back() == '+';
      if (linked && line.groups.empty()) {
        return fail_exit(k_exit_usage,
                         fmt::format("'{}' links its inputs to the group before it, and none comes before it", word));
      }
      line.groups.emplace_back();
      line.linked.push_back(linked);
      group = &line.groups.back();
      from_file = word.starts_with("::::");
      continue;
    }
    if (group == nullptr) {
      line.command.push_back(std::move(word));
    } else if (from_file) {
      NETLAB_TRY(auto records, read_records_file(word, separator));
      group->insert(group->end(), records.begin(), records.end());
    } else {
      group->push_back(std::move(word));
    }
  }
  if (line.command.empty()) {
    return fail_exit(k_exit_usage,
                     "no command given; usage: netlab pool-run [OPTIONS] -- COMMAND [ARGS...] [::: INPUT...]");
  }
  if (line.command.front().starts_with("-") && !after_dashes) {
    return fail_exit(k_exit_usage,
                     fmt::format("unknown option '{}'; put the command after '--'", line.command.front()));
  }
  return line;
}

namespace {

// Kept for everything but the jobs: the loop, the watchdog, the joblog, the spill file...
constexpr unsigned long k_reserved_fds = 32;
// Two pipe ends per running job, and two more briefly while it is spawned.
constexpr unsigned long k_fds_per_job = 4;

} // namespace

unsigned job_cap(unsigned long open_files, bool unlimited) {
  if (unlimited) {
    return k_max_jobs;
  }
  // A limit below what is kept leaves one job: job_cap() raised the soft limit to the hard one
  // already, so a lower limit is what the user insists on, and jobs beyond it fail to get pipes.
  auto by_fds = static_cast<unsigned>(open_files > k_reserved_fds ? (open_files - k_reserved_fds) / k_fds_per_job : 0);
  return std::min(k_max_jobs, std::max(1U, by_fds));
}

std::size_t holding_pipe_cap(unsigned jobs, unsigned long open_files, bool unlimited) {
  if (unlimited) {
    return SIZE_MAX;
  }
  unsigned long kept = k_reserved_fds + k_fds_per_job * jobs;
  return open_files > kept ? static_cast<std::size_t>((open_files - kept) / 2) : 0;
}

std::size_t holding_pipe_cap(unsigned jobs) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  return holding_pipe_cap(jobs, static_cast<unsigned long>(limit.rlim_cur), limit.rlim_cur == RLIM_INFINITY);
}

unsigned job_cap() {
  fs::raise_fd_limit();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return k_max_jobs;
  }
  return job_cap(static_cast<unsigned long>(limit.rlim_cur), limit.rlim_cur == RLIM_INFINITY);
}

unsigned effective_jobs(int requested, unsigned cap) {
  if (requested == 0) {
    return cap;
  }
  if (requested < 0) {
    // One per CPU, but never past what the open-file limit holds: not asked for, so not said.
    return std::min(cap, std::max(1U, uv_available_parallelism()));
  }
  auto jobs = static_cast<unsigned>(requested);
  if (jobs > cap) {
    log::info("-j {}: only {} jobs fit in the open-file limit; running {} at once", jobs, cap, cap);
    return cap;
  }
  return jobs;
}

} // namespace netlab::pool
