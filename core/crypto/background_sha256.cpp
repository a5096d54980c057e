#include "core/crypto/background_sha256.hpp"

namespace netlab::crypto {

BackgroundSha256::BackgroundSha256(std::size_t buffer_size, std::size_t buffers)
    : m_buffer_size(buffer_size), m_buffers(buffers < 1 ? 1 : buffers), m_worker([this] { work(); }) {}

BackgroundSha256::~BackgroundSha256() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_queued.clear();
  }
  m_changed.notify_all();
  m_worker.join();
}

std::vector<char> BackgroundSha256::take() {
  std::unique_lock lock(m_mutex);
  if (m_free.empty() && m_allocated < m_buffers) {
    ++m_allocated;
    lock.unlock();
    return std::vector<char>(m_buffer_size);
  }
  m_changed.wait(lock, [this] { return !m_free.empty(); });
  auto buffer = std::move(m_free.back());
  m_free.pop_back();
  return buffer;
}

void BackgroundSha256::hash(std::vector<char>&& buffer, std::size_t size) {
  {
    std::lock_guard lock(m_mutex);
    m_queued.push_back({std::move(buffer), size < m_buffer_size ? size : m_buffer_size});
  }
  m_changed.notify_all();
}

std::string BackgroundSha256::finish_hex() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return m_queued.empty() && !m_hashing; });
  return m_digest.finish_hex();
}

void BackgroundSha256::work() {
  std::unique_lock lock(m_mutex);
  while (true) {
    m_changed.wait(lock, [this] { return m_stop || !m_queued.empty(); });
    if (m_stop) {
      return;
    }
    auto chunk = std::move(m_queued.front());
    m_queued.pop_front();
    m_hashing = true;
    lock.unlock();
    m_digest.update(chunk.data.data(), chunk.size);
    lock.lock();
    m_hashing = false;
    m_free.push_back(std::move(chunk.data));
    m_changed.notify_all();
  }
}

} // namespace netlab::crypto
