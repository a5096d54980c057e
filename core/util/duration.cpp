// Seconds to the integer milliseconds of libuv and poll(2).
#include "core/util/duration.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace netlab {

std::uint64_t timer_ms(Seconds duration) {
  double seconds = duration.count();
  if (!(seconds > 0)) {
    return 0; // negative, zero and NaN
  }
  return static_cast<std::uint64_t>(std::llround(std::min(seconds, k_max_wait.count()) * 1000));
}

int poll_ms(Seconds duration) { return static_cast<int>(std::min<std::uint64_t>(timer_ms(duration), INT_MAX)); }

} // namespace netlab
