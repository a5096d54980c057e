// CPU count through sched_getaffinity, which honours taskset and cpusets where
// hardware_concurrency (all online CPUs) does not.
#include "core/util/cpus.hpp"

#include <sched.h>

#include <thread>

#include <fmt/format.h>

namespace netlab::cpus {

unsigned available() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) {
      return static_cast<unsigned>(count);
    }
  }
  unsigned online = std::thread::hardware_concurrency();
  return online > 0 ? online : 1;
}

std::optional<std::string> oversubscribed(std::string_view option, unsigned workers, unsigned cpus) {
  if (workers <= cpus) {
    return std::nullopt;
  }
  return fmt::format("warning: {} {} exceeds the {} CPU{} available; more workers than CPUs usually slows it down",
                     option, workers, cpus, cpus == 1 ? "" : "s");
}

} // namespace netlab::cpus
