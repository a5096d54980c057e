// Names of process signals, as pool-run's joblog, exec's exit reports and the servers print them.
// Spawning lives in core/loop/spawn.hpp.
#pragma once

#include <string>

namespace netlab::loop {

// Name of a signal without "SIG" ("TERM"), or its number as text if unknown.
std::string signal_name(int signum);
// Parses "TERM", "SIGTERM" or "15"; 0 if unknown.
int signal_number(const std::string& name);

} // namespace netlab::loop
