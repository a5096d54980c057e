#include "core/ssh/transfer_progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace netlab::ssh {

TransferProgress::TransferProgress(std::mutex& output_mutex, std::size_t hosts, std::uint64_t expected, bool enabled)
    : m_output_mutex(output_mutex), m_transferring(hosts), m_expected(expected) {
  if (enabled && hosts > 0) {
    m_status.emplace(STDERR_FILENO, output_mutex, std::chrono::milliseconds(250), [this]() -> std::string {
      if (m_done.load()) {
        return "";
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
      return render(m_meter.bytes.load(), m_meter.files.load(), m_expected, seconds);
    });
  }
}

void TransferProgress::host_done() {
  if (--m_transferring == 0) {
    m_done = true;
    if (m_status) {
      std::lock_guard lock(m_output_mutex);
      m_status->clear();
    }
  }
}

void TransferProgress::clear_locked() {
  if (m_status) {
    m_status->clear();
  }
}

std::string TransferProgress::render(std::uint64_t bytes, std::uint64_t files, std::uint64_t expected, double seconds) {
  constexpr double k_mb = 1e6;
  std::string line = "sftp: ";
  if (expected > 0) {
    double share = static_cast<double>(std::min(bytes, expected)) / static_cast<double>(expected);
    constexpr int k_width = 20;
    int filled = static_cast<int>(share * k_width);
    line += fmt::format("[{}{}] {:3.0f}% {:.1f}/{:.1f} MB", std::string(static_cast<std::size_t>(filled), '#'),
                        std::string(static_cast<std::size_t>(k_width - filled), '.'), share * 100,
                        static_cast<double>(bytes) / k_mb, static_cast<double>(expected) / k_mb);
  } else {
    line += fmt::format("{:.1f} MB", static_cast<double>(bytes) / k_mb);
  }
  if (seconds > 0) {
    line += fmt::format(", {:.1f} MB/s", static_cast<double>(bytes) / k_mb / seconds);
  }
  line += fmt::format(", {} file{} done", files, files == 1 ? "" : "s");
  return line;
}

} // namespace netlab::ssh
