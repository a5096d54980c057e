// How many CPUs this process may run on, and the warning for asking more threads than that.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace netlab::cpus {

// CPUs in this process's affinity mask (taskset, cpusets), else std::thread::hardware_concurrency,
// else 1. Never 0.
unsigned available();

// The warning for `workers` worker threads on `cpus` CPUs, or nothing when workers <= cpus:
// "warning: --workers 4 exceeds the 2 CPUs available; more workers than CPUs usually slows it
// down". `option` names the option as the user typed it.
std::optional<std::string> oversubscribed(std::string_view option, unsigned workers, unsigned cpus);

} // namespace netlab::cpus
