// --halt: when to give up on the remaining jobs, in GNU parallel's syntax.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::pool {

struct HaltPolicy {
  enum class When { never, soon, now };
  enum class On { fail, success };
  When when = When::never;
  On on = On::fail;
  std::uint64_t count = 1;

  // "never", "soon,fail=N", "now,success=N"; "now" and "soon" alone mean fail=1.
  static Result<HaltPolicy> parse(std::string_view text);

  // Whether the pool should halt after this many final failures and successes.
  bool triggered(std::uint64_t failed, std::uint64_t succeeded) const {
    if (when == When::never) {
      return false;
    }
    return (on == On::fail ? failed : succeeded) >= count;
  }
};

} // namespace netlab::pool
