// Blocking-style client sockets with deadlines, for the simple clients (echo-client, probe).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/net/address.hpp"
#include "core/util/duration.hpp"
#include "core/util/fd.hpp"
#include "core/util/result.hpp"

namespace netlab::net {

using Clock = std::chrono::steady_clock;

// No deadline when empty.
using Deadline = std::optional<Clock::time_point>;

// `duration` from now, to the microsecond; none for 0 or less (and NaN). A longer duration than
// k_max_wait (+inf included) counts as k_max_wait: any finite number a user types is a deadline in
// the future, never an overflowed one in the past.
Deadline deadline_after(Seconds duration);

// Now plus `duration` clamped to [0, k_max_wait] (NaN: 0): a time point that never overflows.
Clock::time_point time_after(Seconds duration);

// Milliseconds left until `deadline` for poll(2): -1 when there is none, 0 when it has passed.
int poll_timeout(const Deadline& deadline);

// Connects to the first endpoint of `address` that accepts. The descriptor is non-blocking.
// Failures carry ETIMEDOUT when the deadline passed, else the last connect error.
Result<int> connect_stream(const Address& address, const Deadline& deadline);

// Sends all of `data` before the deadline (ETIMEDOUT) or fails with the socket's error.
Result<void> send_all(int fd, std::string_view data, const Deadline& deadline);

// Waits until `fd` has any of `events` (POLLIN/POLLOUT); false on timeout.
bool wait_for(int fd, short events, const Deadline& deadline);

} // namespace netlab::net
