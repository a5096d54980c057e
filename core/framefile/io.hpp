// Whole-buffer reads and writes on file descriptors, retried across EINTR and short counts.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::framefile {

// Writes all of `data` to `fd`; `what` names the target in the error ("write stdout: ...").
Result<void> write_all(int fd, std::string_view data, std::string_view what);

// Reads until `size` bytes are in `buffer` or the input ends; returns the count read.
Result<std::size_t> read_full(int fd, char* buffer, std::size_t size, std::string_view what);

} // namespace netlab::framefile
