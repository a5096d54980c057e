// Unit tests for core/frame: encoder and incremental decoder (protocol.md §1).
#include <catch2/catch.hpp>

#include <random>

#include "core/crypto/digest.hpp"
#include "core/frame/frame.hpp"

using netlab::frame::Decoder;
using netlab::frame::Frame;
using netlab::frame::Limits;
using nlohmann::json;

namespace {

std::string prefix(std::uint32_t n) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out;
}

std::string raw_frame(const std::string& header, const std::string& body = "") {
  return prefix(static_cast<std::uint32_t>(header.size())) + header + body;
}

// Decodes a whole stream fed in the given piece sizes (cycled).
std::vector<Frame> decode_in_pieces(const std::string& stream, const std::vector<std::size_t>& pieces,
                                    std::string* error = nullptr, Limits limits = {}) {
  Decoder decoder(limits);
  std::vector<Frame> frames;
  std::size_t at = 0;
  std::size_t i = 0;
  while (at < stream.size()) {
    auto n = std::min(pieces[i++ % pieces.size()], stream.size() - at);
    auto result = decoder.feed(std::string_view(stream).substr(at, n), frames);
    if (!result) {
      if (error != nullptr) {
        *error = result.error();
      }
      return frames;
    }
    at += n;
  }
  auto end = decoder.finish();
  if (!end && error != nullptr) {
    *error = end.error();
  }
  return frames;
}

std::string sample_stream() {
  std::string stream;
  netlab::frame::encode_to(stream, json{{"type", "hello"}, {"version", 1}}, "");
  netlab::frame::encode_to(stream, json{{"type", "stdout"}, {"id", 7}}, std::string("some bytes\n\0with nul", 21),
                           true);
  std::string big(70000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) {
    big[i] = static_cast<char>(i & 0xff);
  }
  netlab::frame::encode_to(stream, json{{"type", "data"}}, big);
  netlab::frame::encode_to(stream, json{{"type", "exit"}, {"exit_code", nullptr}}, "");
  return stream;
}

} // namespace

TEST_CASE("frame::encode: layout is u32 big-endian length, JSON header, body", "[frame]") {
  auto bytes = netlab::frame::encode(json{{"type", "x"}}, "abc");
  auto header = json{{"type", "x"}, {"size", 3}}.dump();
  REQUIRE(bytes == prefix(static_cast<std::uint32_t>(header.size())) + header + "abc");
  auto head = netlab::frame::encode_head(json{{"type", "x"}}, 3);
  CHECK(head + "abc" == bytes);
  CHECK_THROWS(netlab::frame::encode(json::array()));
  auto with_sha = netlab::frame::encode(json{{"type", "x"}}, "abc", true);
  CHECK(with_sha.find(netlab::crypto::sha256_hex("abc")) != std::string::npos);
}

TEST_CASE("frame::Decoder: any split point gives the same frames", "[frame]") {
  auto stream = sample_stream();
  auto whole = decode_in_pieces(stream, {stream.size()});
  REQUIRE(whole.size() == 4);
  CHECK(whole[0].type() == "hello");
  CHECK(whole[1].body == std::string("some bytes\n\0with nul", 21));
  CHECK(whole[2].body.size() == 70000);
  CHECK(whole[3].header["exit_code"].is_null());
  CHECK(whole[0].offset == 0);
  CHECK(whole[1].offset > 0);
  CHECK(whole[3].offset + 4 + whole[3].header.dump().size() == stream.size());

  SECTION("every two-piece split") {
    for (std::size_t cut = 0; cut <= stream.size(); cut += (cut < 200 ? 1 : 997)) {
      Decoder decoder;
      std::vector<Frame> frames;
      REQUIRE(decoder.feed(std::string_view(stream).substr(0, cut), frames));
      REQUIRE(decoder.feed(std::string_view(stream).substr(cut), frames));
      REQUIRE(decoder.finish());
      REQUIRE(frames.size() == whole.size());
      for (std::size_t i = 0; i < frames.size(); ++i) {
        CHECK(frames[i].header == whole[i].header);
        CHECK(frames[i].body == whole[i].body);
      }
    }
  }
  SECTION("one byte at a time") {
    std::string error;
    auto frames = decode_in_pieces(stream, {1}, &error);
    CHECK(error.empty());
    REQUIRE(frames.size() == whole.size());
    CHECK(frames[2].body == whole[2].body);
  }
  SECTION("random piece sizes") {
    std::mt19937 rng(42);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::size_t> pieces;
      for (int i = 0; i < 20; ++i) {
        pieces.push_back(1 + rng() % 5000);
      }
      std::string error;
      auto frames = decode_in_pieces(stream, pieces, &error);
      CHECK(error.empty());
      REQUIRE(frames.size() == whole.size());
      CHECK(frames[2].body == whole[2].body);
    }
  }
}

TEST_CASE("frame::Decoder: every malformed case is a clear error", "[frame]") {
  struct Case {
    std::string name;
    std::string bytes;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"zero header length", prefix(0), "header length 0"},
      {"header over 64 KiB", prefix(65537), "over the limit"},
      {"4 GiB header", prefix(0xffffffff), "over the limit"},
      {"not JSON", raw_frame("{nope"), "not valid JSON"},
      {"JSON array", raw_frame("[1,2]"), "not a JSON object"},
      {"JSON string", raw_frame("\"x\""), "not a JSON object"},
      {"no type", raw_frame(R"({"size":0})"), "no \"type\""},
      {"type not string", raw_frame(R"({"type":3,"size":0})"), "no \"type\""},
      {"no size", raw_frame(R"({"type":"x"})"), "no \"size\""},
      {"negative size", raw_frame(R"({"type":"x","size":-1})"), "negative"},
      {"float size", raw_frame(R"({"type":"x","size":1.5})"), "not an integer"},
      {"string size", raw_frame(R"({"type":"x","size":"3"})"), "not an integer"},
      {"size over limit", raw_frame(R"({"type":"x","size":16777217})"), "over the limit"},
      {"huge size", raw_frame(R"({"type":"x","size":18446744073709551615})"), "over the limit"},
      {"bad sha256 format", raw_frame(R"({"type":"x","size":0,"sha256":"ABC"})"), "sha256"},
      {"sha256 mismatch",
       raw_frame(R"({"type":"x","size":3,"sha256":")" + netlab::crypto::sha256_hex("abd") + "\"}", "abc"),
       "does not match"},
      {"invalid UTF-8 header", raw_frame("{\"type\":\"\xff\",\"size\":0}"), "not valid JSON"},
      // Issue 14 item 8: one header, one reading.
      {"bytes after a NUL", raw_frame(std::string(R"({"type":"x","size":0})") + '\0' + R"({"type":"y"})"), "NUL"},
      {"NUL alone at the end", raw_frame(std::string(R"({"type":"x","size":0})") + '\0'), "NUL"},
      {"byte order mark", raw_frame("\xEF\xBB\xBF{\"type\":\"x\",\"size\":0}"), "byte order mark"},
      {"duplicate key", raw_frame(R"({"type":"exec","size":0,"type":"auth"})"), "\"type\" twice"},
      {"duplicate size", raw_frame(R"({"type":"x","size":0,"size":5})"), "\"size\" twice"},
      {"nested duplicate", raw_frame(R"({"type":"x","size":0,"env":{"A":"1","A":"2"}})"), "\"A\" twice"},
      {"trailing bytes", raw_frame(R"({"type":"x","size":0}x)"), "not valid JSON"},
      {"two objects", raw_frame(R"({"type":"x","size":0}{"type":"y","size":0})"), "not valid JSON"},
      {"truncated prefix", std::string("\0\0", 2), "ends inside the length prefix"},
      {"truncated header", prefix(20) + "{\"type\"", "ends inside the header"},
      {"truncated body", raw_frame(R"({"type":"x","size":10})", "abc"), "ends inside the body"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, c.bytes.size() + 1}) {
      std::string error;
      auto frames = decode_in_pieces(c.bytes, {piece}, &error);
      CHECK(frames.empty());
      CHECK_THAT(error, Catch::Contains(c.expect));
      CHECK_THAT(error, Catch::Contains("frame 1 at offset 0"));
    }
  }
}

TEST_CASE("frame::Decoder: equal keys in different objects are not duplicates", "[frame]") {
  Decoder decoder;
  std::vector<Frame> frames;
  REQUIRE(decoder.feed(raw_frame(R"( {"type":"x","size":0,"a":{"type":1,"b":{"type":2}},"c":[{"a":1},{"a":2}]} )"),
                       frames));
  REQUIRE(frames.size() == 1);
}

TEST_CASE("frame::Decoder: errors name the frame and offset; the decoder stays failed", "[frame]") {
  std::string stream = netlab::frame::encode(json{{"type", "ok"}}, "12345") + prefix(0);
  Decoder decoder;
  std::vector<Frame> frames;
  auto result = decoder.feed(stream, frames);
  REQUIRE_FALSE(result);
  CHECK(frames.size() == 1);
  auto first_size = stream.size() - 4;
  CHECK_THAT(result.error(), Catch::Contains("frame 2 at offset " + std::to_string(first_size)));
  CHECK(decoder.failed());
  CHECK_FALSE(decoder.feed("more", frames));
  CHECK_FALSE(decoder.finish());
}

TEST_CASE("frame::Decoder: unknown keys are kept, limits are configurable", "[frame]") {
  std::vector<Frame> frames;
  Decoder decoder(Limits{.max_header = 100, .max_body = 4});
  REQUIRE(decoder.feed(raw_frame(R"({"type":"x","size":4,"future":[1,2]})", "abcd"), frames));
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header["future"] == json::array({1, 2}));
  CHECK(decoder.idle());
  auto over = decoder.feed(raw_frame(R"({"type":"x","size":5})", "abcde"), frames);
  CHECK_THAT(over.error(), Catch::Contains("body size 5 over the limit of 4"));

  Decoder small(Limits{.max_header = 10, .max_body = 4});
  CHECK_THAT(small.feed(raw_frame(R"({"type":"xx","size":0})"), frames).error(), Catch::Contains("header length"));
}

TEST_CASE("frame::Decoder: the first frame can have a tighter body limit", "[frame]") {
  std::vector<Frame> frames;
  Decoder decoder(Limits{.max_body = 100, .first_max_body = 0});
  REQUIRE(decoder.feed(raw_frame(R"({"type":"auth","size":0})"), frames));
  // Only the first: later frames get the ordinary limit, even in the same read.
  REQUIRE(decoder.feed(raw_frame(R"({"type":"x","size":50})", std::string(50, 'a')), frames));
  CHECK(frames.size() == 2);

  Decoder strict(Limits{.max_body = 100, .first_max_body = 4});
  // Refused from the header alone, before a byte of the body is buffered.
  auto early = strict.feed(raw_frame(R"({"type":"exec","size":5})"), frames);
  CHECK_THAT(early.error(), Catch::Contains("over the first frame's limit of 4"));
}

TEST_CASE("frame::Decoder: a declared body is not allocated up front", "[frame]") {
  // 16 MiB announced, 10 bytes sent: memory must follow what arrived, not what was promised.
  Decoder decoder;
  std::vector<Frame> frames;
  REQUIRE(decoder.feed(raw_frame(R"({"type":"x","size":16777216})", "0123456789"), frames));
  CHECK(frames.empty());
  CHECK_FALSE(decoder.idle());
  CHECK_FALSE(decoder.finish());
}
