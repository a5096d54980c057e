// ssh-exec's SFTP progress line on a terminal: bytes moved by every host so far, the rate, and
// for uploads the share of the total, drawn while any host is still transferring.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/ssh/sftp.hpp"
#include "core/util/status_line.hpp"

namespace netlab::ssh {

class TransferProgress {
public:
  // `expected`: bytes the run will move, 0 when unknown (downloads). Draws nothing unless
  // `enabled`. Every other writer to the terminal holds `output_mutex` and calls
  // clear_locked() before writing.
  TransferProgress(std::mutex& output_mutex, std::size_t hosts, std::uint64_t expected, bool enabled);

  TransferMeter* meter() { return &m_meter; }
  // A host finished its transfers (or failed them): when none is left, the line goes away at
  // once, before any command output can follow it.
  void host_done();
  // With output_mutex held.
  void clear_locked();

  // The line's text, or "" when there is nothing to show; public for the unit test.
  static std::string render(std::uint64_t bytes, std::uint64_t files, std::uint64_t expected, double seconds);

private:
  std::mutex& m_output_mutex;
  TransferMeter m_meter;
  std::atomic<std::size_t> m_transferring;
  std::uint64_t m_expected;
  std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
  std::atomic<bool> m_done{false};
  std::optional<PeriodicStatus> m_status; // last: its thread reads the members above
};

} // namespace netlab::ssh
