// A latency histogram with bounded relative error (log-linear buckets, as in HdrHistogram):
// fixed memory however many values are recorded, and cheap to merge across threads.
#pragma once

#include <cstdint>
#include <vector>

namespace netlab::bench {

class Histogram {
public:
  Histogram();

  void record(std::uint64_t value);
  void merge(const Histogram& other);

  std::uint64_t count() const { return m_count; }
  std::uint64_t min() const { return m_count == 0 ? 0 : m_min; }
  std::uint64_t max() const { return m_max; }
  double mean() const { return m_count == 0 ? 0 : static_cast<double>(m_sum) / static_cast<double>(m_count); }

  // The value at `percentile` (0-100): the highest value of the bucket that holds it, so it is
  // never below the true value and at most 1/64 above it; never more than max(). 0 when empty.
  std::uint64_t percentile(double percentile) const;

  // Values below 128 get a bucket each; above, each power of two is split into 64 buckets.
  static constexpr unsigned k_half_bits = 6;
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_top(std::size_t bucket);

private:
  std::vector<std::uint64_t> m_counts;
  std::uint64_t m_count = 0;
  std::uint64_t m_sum = 0;
  std::uint64_t m_min = UINT64_MAX;
  std::uint64_t m_max = 0;
};

} // namespace netlab::bench
