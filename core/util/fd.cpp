#include "core/util/fd.hpp"

#include <unistd.h>

namespace netlab {

void Fd::reset(int fd) {
  if (m_fd >= 0 && m_fd != fd) {
    ::close(m_fd);
  }
  m_fd = fd;
}

} // namespace netlab
