// SHA-256 on a worker thread, for transfers whose own thread is the bottleneck: the caller hands
// over each buffer once it has sent it and goes on with the next, so hashing overlaps the next
// read and send instead of adding to them. Buffers circulate, so nothing is allocated per chunk.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto/digest.hpp"

namespace netlab::crypto {

class BackgroundSha256 {
public:
  // `buffers` of `buffer_size` bytes circulate between the caller and the worker.
  explicit BackgroundSha256(std::size_t buffer_size, std::size_t buffers = 3);
  // Stops the worker; whatever was still queued is not hashed.
  ~BackgroundSha256();
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;

  // An empty buffer of buffer_size bytes, waiting while every buffer is queued for hashing.
  std::vector<char> take();
  // Queues the first `size` bytes of `buffer` (from take()) to be hashed after those before.
  void hash(std::vector<char>&& buffer, std::size_t size);
  // Waits until everything queued is hashed and returns the digest of it all, in hex.
  std::string finish_hex();

private:
  struct Chunk {
    std::vector<char> data;
    std::size_t size = 0;
  };
  void work();

  std::size_t m_buffer_size;
  std::size_t m_buffers;
  std::size_t m_allocated = 0;
  Sha256 m_digest; // touched by the worker only, except in finish_hex() once it is idle
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<Chunk> m_queued;
  std::vector<std::vector<char>> m_free;
  bool m_hashing = false;
  bool m_stop = false;
  std::thread m_worker; // last: started once everything it uses exists
};

} // namespace netlab::crypto
