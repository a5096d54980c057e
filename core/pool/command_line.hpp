// pool-run's own grammar and limits, apart from CLI11: the words after the options (COMMAND
// [ARGS...] then `:::` and `::::` groups) and how many jobs may run at once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::pool {

struct CommandLine {
  std::vector<std::string> command;
  // One entry per `:::` (the words after it) or `::::` (the records of the files after it).
  std::vector<std::vector<std::string>> groups;
  // Per group: opened by `:::+` or `::::+`, so paired with the group before it (see CrossProduct).
  std::vector<bool> linked;
};

// Splits the words after pool-run's options, a leading `--` included if one was typed: the
// command and its arguments up to the first `:::` or `::::`, then the groups; `:::+` and
// `::::+` open a group linked to the one before it, as in GNU parallel. The files of a
// `::::` group are read here, records split at `separator` ("-" is stdin). Fails with exit code
// 2 when there is no command, when it starts with '-' and no `--` came before it (a mistyped
// option), or when a linked group comes first; with 1 when a `::::` file cannot be read.
Result<CommandLine> parse_command_line(std::vector<std::string> words, char separator);

// Most children the pool runs at once: each costs two pipes and a process, and past a few
// hundred the machine, not the pool, is the limit.
constexpr unsigned k_max_jobs = 1024;

// How many jobs fit in an open-file limit of `open_files` descriptors (`unlimited`: no limit):
// two pipe ends per job stay open while it runs, plus two briefly during spawn, and 32 are kept
// for everything else. At least 1, at most k_max_jobs.
unsigned job_cap(unsigned long open_files, bool unlimited = false);

// The same for this process, after raising its soft open-file limit to the hard one.
unsigned job_cap();

// How many holding pipes (core/pool/capture.hpp), two descriptors each, fit beside `jobs`
// running jobs in an open-file limit of `open_files` (`unlimited`: no limit) once job_cap's
// count for those jobs is kept: held output must never take the descriptors the next job needs.
// 0 when nothing is left.
std::size_t holding_pipe_cap(unsigned jobs, unsigned long open_files, bool unlimited = false);

// The same for this process's current soft limit.
std::size_t holding_pipe_cap(unsigned jobs);

// What -j N means: N < 0 (not given) one per CPU, at most `cap`; 0 as many as fit (`cap`);
// else N, where more than `cap` runs `cap` and says so on stderr.
unsigned effective_jobs(int requested, unsigned cap);

} // namespace netlab::pool
