// Log-linear bucketing: index = shift * 64 + (value >> shift), where shift makes the quotient
// land in [64, 128). Consecutive shifts tile the index space without gaps.
#include "core/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace netlab::bench {
namespace {

constexpr std::uint64_t k_half = std::uint64_t{1} << Histogram::k_half_bits;
// The largest shift (values up to 2^64 - 1) plus one row.
constexpr std::size_t k_buckets = (64 - Histogram::k_half_bits) * k_half + 2 * k_half;

} // namespace

Histogram::Histogram() : m_counts(k_buckets, 0) {}

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < 2 * k_half) {
    return static_cast<std::size_t>(value);
  }
  unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));
  unsigned shift = msb - k_half_bits;
  return static_cast<std::size_t>(shift * k_half + (value >> shift));
}

std::uint64_t Histogram::bucket_top(std::size_t bucket) {
  if (bucket < 2 * k_half) {
    return bucket;
  }
  std::size_t shift = bucket / k_half - 1;
  std::uint64_t sub = bucket - shift * k_half;
  // For the last bucket this wraps to UINT64_MAX, which is its true top.
  return ((sub + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t value) {
  ++m_counts[bucket_of(value)];
  ++m_count;
  m_sum += value;
  m_min = std::min(m_min, value);
  m_max = std::max(m_max, value);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < m_counts.size(); ++i) {
    m_counts[i] += other.m_counts[i];
  }
  m_count += other.m_count;
  m_sum += other.m_sum;
  m_min = std::min(m_min, other.m_min);
  m_max = std::max(m_max, other.m_max);
}

std::uint64_t Histogram::percentile(double percentile) const {
  if (m_count == 0) {
    return 0;
  }
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value wanted, 1-based: p50 of 10 values is the 5th.
  auto rank = static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(m_count)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < m_counts.size(); ++i) {
    seen += m_counts[i];
    if (seen >= rank) {
      return std::min(bucket_top(i), m_max);
    }
  }
  return m_max;
}

} // namespace netlab::bench
