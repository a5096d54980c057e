// Stats formatting.
#include "core/models/stats.hpp"

#include <sys/resource.h>

#include <fmt/format.h>

namespace netlab::models {

CpuTime process_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return CpuTime{seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

std::string Stats::summary(std::string_view model) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  double per = elapsed > 0 ? 1.0 / elapsed : 0;
  auto cpu = process_cpu_time();
  std::string traffic = fmt::format("{} reads ({:.0f}/s), {:.3f} MB in ({:.3f} MB/s), {:.3f} MB out, ", reads(),
                                    reads() * per, bytes_in() / 1e6, bytes_in() / 1e6 * per, bytes_out() / 1e6);
  std::string idle = m_counts_idle ? fmt::format("{} idle-closed, ", idle_closes()) : std::string();
  return fmt::format("stats: model {}, {:.2f} s, {} connections ({:.1f}/s), {} refused, {}{}cpu {:.2f} s user + "
                     "{:.2f} s sys ({:.0f}% of one core)",
                     model, elapsed, connections(), connections() * per, refusals(), idle, traffic, cpu.user,
                     cpu.system, elapsed > 0 ? (cpu.user + cpu.system) * 100 / elapsed : 0.0);
}

} // namespace netlab::models
