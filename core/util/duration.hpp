// Durations in core: std::chrono types, turned into the integer milliseconds libuv timers and
// poll(2) take in one place, so every deadline rounds, clamps and overflows the same way.
#pragma once

#include <chrono>
#include <cstdint>

namespace netlab {

// Seconds as people give them (--timeout 1.5, 250ms; the exec protocol's "timeout": 0.25): a
// fractional count. Whole milliseconds that no user types fractionally use
// std::chrono::milliseconds, which converts to Seconds implicitly and exactly.
using Seconds = std::chrono::duration<double>;

// The longest wait handed to libuv or poll: 1e9 s (about 31 years). A user or a client may ask for
// any finite duration, and converting an out-of-range double to an integer is undefined.
inline constexpr Seconds k_max_wait{1e9};

// Milliseconds for loop::Timer::start (uv_timer_start): rounded to the nearest millisecond;
// negative and NaN give 0 (the timer fires on the next loop turn); beyond k_max_wait, +inf
// included, gives k_max_wait (1e12).
std::uint64_t timer_ms(Seconds duration);

// A poll(2)/epoll_wait timeout in milliseconds: as timer_ms, capped at INT_MAX (about 24 days).
// Never -1: "no limit" is the caller's decision.
int poll_ms(Seconds duration);

} // namespace netlab
