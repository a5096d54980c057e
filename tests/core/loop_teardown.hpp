// The one way a unit test that used a loop ends: close whatever is still open, let the close
// callbacks run, and fail the test unless uv_loop_close() succeeds. A handle leaked by a wrapper
// (never closed, or kept alive past its close callback) makes it fail, even where ASan is silent.
#pragma once

#include <catch2/catch.hpp>

#include "core/loop/loop.hpp"

namespace netlab::testing {

inline void require_clean_close(loop::Loop& loop) { REQUIRE(loop.close_all() == 0); }

} // namespace netlab::testing
