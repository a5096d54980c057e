// Input sources for the pool.
#include "core/pool/input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "core/util/fs.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

CrossProduct::CrossProduct(std::vector<std::vector<std::string>> groups, std::vector<bool> linked)
    : m_groups(std::move(groups)) {
  for (std::size_t i = 0; i < m_groups.size(); ++i) {
    bool joins = i > 0 && i < linked.size() && linked[i];
    if (joins) {
      m_dimensions.back().push_back(i);
      m_lengths.back() = std::min(m_lengths.back(), m_groups[i].size());
    } else {
      m_dimensions.push_back({i});
      m_lengths.push_back(m_groups[i].size());
    }
  }
  m_size = m_groups.empty() ? 0 : 1;
  for (std::size_t length : m_lengths) {
    if (length == 0) {
      m_size = 0;
      break;
    }
    if (m_size > std::numeric_limits<std::uint64_t>::max() / length) {
      m_size = std::numeric_limits<std::uint64_t>::max();
    } else if (m_size != std::numeric_limits<std::uint64_t>::max()) {
      m_size *= length;
    }
  }
}

void CrossProduct::at(std::uint64_t index, std::vector<std::string>& out) const {
  out.resize(m_groups.size());
  // Mixed-radix digits of `index`, the last dimension varying fastest.
  for (std::size_t d = m_dimensions.size(); d-- > 0;) {
    std::size_t digit = index % m_lengths[d];
    for (std::size_t group : m_dimensions[d]) {
      out[group].assign(m_groups[group][digit]);
    }
    index /= m_lengths[d];
  }
}

bool GroupSource::next(std::vector<std::string>& out) {
  if (m_next >= m_product.size()) {
    return false;
  }
  m_product.at(m_next++, out);
  return true;
}

Result<std::unique_ptr<StreamSource>> StreamSource::open(loop::Loop& loop, int fd, char separator) {
  std::unique_ptr<StreamSource> source(new StreamSource(fd, separator));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(sys_message("read input", "", errno));
  }
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
    // libuv closes the descriptor it wraps; give it a copy and leave our stdin alone.
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
      return fail(sys_message("read input", "", errno));
    }
    source->m_pipe = loop::Pipe::create(loop);
    int rc = source->m_pipe->open(copy);
    if (rc != 0) {
      ::close(copy);
      source->m_pipe->close();
      return fail(uv_message("read input", "", rc));
    }
    auto* self = source.get();
    source->m_pipe->on_data([self](std::string_view data) {
      self->add(data);
      if (self->m_records.size() >= k_high_water) {
        self->m_pipe->read_stop();
      }
      if (self->m_on_ready) {
        self->m_on_ready();
      }
    });
    auto finish = [self] {
      self->m_splitter.finish([self](std::string record) { self->m_records.push_back(std::move(record)); });
      self->m_eof = true;
      self->m_pipe->close();
      if (self->m_on_ready) {
        self->m_on_ready();
      }
    };
    source->m_pipe->on_end(finish);
    source->m_pipe->on_error([finish](int) { finish(); });
    source->m_pipe->read_start();
  }
  return source;
}

StreamSource::~StreamSource() { close(); }

void StreamSource::close() {
  if (m_pipe) {
    m_pipe->on_data(nullptr);
    m_pipe->on_end(nullptr);
    m_pipe->on_error(nullptr);
    m_pipe->close();
    m_pipe.reset();
  }
  m_eof = true;
}

void StreamSource::add(std::string_view data) {
  m_splitter.feed(data, [this](std::string record) { m_records.push_back(std::move(record)); });
}

void StreamSource::read_blocking() {
  char buffer[64 * 1024];
  while (m_records.empty() && !m_eof) {
    ssize_t n = ::read(m_fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      m_splitter.finish([this](std::string record) { m_records.push_back(std::move(record)); });
      m_eof = true;
      break;
    }
    add(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

bool StreamSource::next(std::vector<std::string>& out) {
  if (m_records.empty() && !m_pipe && !m_eof) {
    read_blocking();
  }
  if (m_records.empty()) {
    return false;
  }
  out.resize(1);
  out[0] = std::move(m_records.front());
  m_records.pop_front();
  ++m_taken;
  if (m_pipe && !m_pipe->reading() && !m_eof && m_records.size() < k_high_water / 4) {
    m_pipe->read_start();
  }
  return true;
}

Result<std::vector<std::string>> read_records_file(const std::string& path, char separator) {
  std::string content;
  if (path == "-") {
    char buffer[64 * 1024];
    while (true) {
      ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return fail(sys_message("read stdin", "", errno));
      }
      if (n == 0) {
        break;
      }
      content.append(buffer, static_cast<std::size_t>(n));
    }
  } else {
    NETLAB_TRY(content, fs::read_file(path));
  }
  std::vector<std::string> records;
  RecordSplitter splitter(separator);
  auto push = [&](std::string record) { records.push_back(std::move(record)); };
  splitter.feed(content, push);
  splitter.finish(push);
  return records;
}

} // namespace netlab::pool
