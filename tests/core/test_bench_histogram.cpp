// Unit tests for core/bench/histogram: bucketing, percentiles, merging.
#include <catch2/catch.hpp>

#include <random>

#include "core/bench/histogram.hpp"

using netlab::bench::Histogram;

TEST_CASE("bench::Histogram: an empty histogram reports zeros", "[bench]") {
  Histogram histogram;
  CHECK(histogram.count() == 0);
  CHECK(histogram.percentile(50) == 0);
  CHECK(histogram.max() == 0);
  CHECK(histogram.min() == 0);
}

TEST_CASE("bench::Histogram: small values are exact", "[bench]") {
  Histogram histogram;
  for (std::uint64_t v = 1; v <= 100; ++v) {
    histogram.record(v);
  }
  CHECK(histogram.count() == 100);
  CHECK(histogram.percentile(50) == 50);
  CHECK(histogram.percentile(90) == 90);
  CHECK(histogram.percentile(99) == 99);
  CHECK(histogram.percentile(100) == 100);
  CHECK(histogram.percentile(0) == 1);
  CHECK(histogram.min() == 1);
  CHECK(histogram.mean() == Approx(50.5));
}

TEST_CASE("bench::Histogram: buckets tile the range without gaps", "[bench]") {
  for (std::uint64_t v : {127ULL, 128ULL, 129ULL, 255ULL, 256ULL, 1000003ULL, (1ULL << 40) + 12345, ~0ULL}) {
    auto bucket = Histogram::bucket_of(v);
    CHECK(Histogram::bucket_top(bucket) >= v);
    if (bucket > 0) {
      CHECK(Histogram::bucket_top(bucket - 1) < v);
    }
  }
}

TEST_CASE("bench::Histogram: large values within 1/64, never below, never above max", "[bench]") {
  std::mt19937_64 random(7);
  std::vector<std::uint64_t> values;
  Histogram histogram;
  for (int i = 0; i < 10000; ++i) {
    std::uint64_t v = 1000 + random() % 10'000'000;
    values.push_back(v);
    histogram.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto exact = values[static_cast<std::size_t>(std::ceil(p / 100 * values.size())) - 1];
    auto got = histogram.percentile(p);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got) <= static_cast<double>(exact) * (1 + 1.0 / 64));
  }
  CHECK(histogram.percentile(100) == values.back());
  CHECK(histogram.max() == values.back());
}

TEST_CASE("bench::Histogram: merge equals recording everything in one", "[bench]") {
  Histogram a;
  Histogram b;
  Histogram all;
  for (std::uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 == 0 ? a : b).record(v * 1000);
    all.record(v * 1000);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.max() == all.max());
  CHECK(a.min() == all.min());
  for (double p : {1.0, 50.0, 99.0}) {
    CHECK(a.percentile(p) == all.percentile(p));
  }
}
