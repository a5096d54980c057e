// Unit tests for core/pool/input: record splitting at any split point, and cross products.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "core/loop/loop.hpp"
#include "core/pool/input.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using namespace netlab::pool;

TEST_CASE("pool::RecordSplitter: any split point gives the same records", "[pool]") {
  const std::string text = std::string("one\ntwo\n\nthree", 14) + "\nlast";
  std::vector<std::string> expected = {"one", "two", "", "three", "last"};
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    RecordSplitter splitter('\n');
    std::vector<std::string> got;
    auto push = [&](std::string record) { got.push_back(std::move(record)); };
    splitter.feed(std::string_view(text).substr(0, cut), push);
    splitter.feed(std::string_view(text).substr(cut), push);
    splitter.finish(push);
    INFO("cut at " << cut);
    CHECK(got == expected);
  }
}

TEST_CASE("pool::RecordSplitter: NUL separated, newlines kept", "[pool]") {
  RecordSplitter splitter('\0');
  std::vector<std::string> got;
  auto push = [&](std::string record) { got.push_back(std::move(record)); };
  splitter.feed(std::string_view("a\nb\0c d\0", 8), push);
  splitter.finish(push);
  CHECK(got == std::vector<std::string>{"a\nb", "c d"});
}

namespace {

using Groups = std::vector<std::vector<std::string>>;

// Every combination, each joined without a separator.
std::vector<std::string> combinations(const CrossProduct& product) {
  std::vector<std::string> seen;
  std::vector<std::string> combo;
  for (std::uint64_t i = 0; i < product.size(); ++i) {
    product.at(i, combo);
    std::string joined;
    for (const auto& item : combo) {
      joined += item;
    }
    seen.push_back(joined);
  }
  return seen;
}

} // namespace

TEST_CASE("pool::CrossProduct: GNU parallel's order, made on demand", "[pool]") {
  CrossProduct product(Groups{{"a", "b"}, {"1", "2", "3"}});
  REQUIRE(product.size() == 6);
  std::vector<std::string> combo;
  std::vector<std::string> seen;
  for (std::uint64_t i = 0; i < product.size(); ++i) {
    product.at(i, combo);
    REQUIRE(combo.size() == 2);
    seen.push_back(combo[0] + combo[1]);
  }
  CHECK(seen == std::vector<std::string>{"a1", "a2", "a3", "b1", "b2", "b3"});
  CHECK(CrossProduct(Groups{{"a"}, {}}).size() == 0);
  std::vector<std::string> big(100000, "x");
  CHECK(CrossProduct(Groups{big, big, big, big}).size() == UINT64_MAX);
}

TEST_CASE("pool::CrossProduct: a linked group pairs with the one before, up to the shorter", "[pool]") {
  using Links = std::vector<bool>;
  CHECK(combinations(CrossProduct(Groups{{"a", "b", "c"}, {"1", "2", "3"}}, Links{false, true})) ==
        std::vector<std::string>{"a1", "b2", "c3"});
  CHECK(combinations(CrossProduct(Groups{{"a", "b"}, {"x", "y"}, {"1", "2", "3"}}, Links{false, false, true})) ==
        std::vector<std::string>{"ax1", "ay2", "bx1", "by2"});
  CHECK(combinations(CrossProduct(Groups{{"a", "b", "c"}, {"1"}, {"p", "q"}}, Links{false, true, false})) ==
        std::vector<std::string>{"a1p", "a1q"});
  CHECK(combinations(CrossProduct(Groups{{"a", "b"}, {"1", "2"}, {"i", "j"}}, Links{false, true, true})) ==
        std::vector<std::string>{"a1i", "b2j"});
  CHECK(CrossProduct(Groups{{"a", "b"}, {}}, Links{false, true}).size() == 0);
  // A first group marked linked has nothing to pair with: it stands alone.
  CHECK(combinations(CrossProduct(Groups{{"a", "b"}}, Links{true})) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("pool::StreamSource: reads records from a pipe on the loop", "[pool]") {
  loop::Loop loop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "x\ny\nz", 5) == 5);
  ::close(fds[1]);
  auto source = StreamSource::open(loop, fds[0], '\n');
  ::close(fds[0]); // the source reads its own copy
  REQUIRE(source.ok());
  std::vector<std::string> got;
  int ready = 0;
  (*source)->on_ready([&] {
    ++ready;
    std::vector<std::string> input;
    while ((*source)->next(input)) {
      got.push_back(input.at(0));
    }
  });
  loop.run();
  CHECK(got == std::vector<std::string>{"x", "y", "z"});
  CHECK(ready >= 1);
  CHECK((*source)->exhausted());
  CHECK((*source)->known_total() == 3);
  source.value().reset();
  netlab::testing::require_clean_close(loop);
}
