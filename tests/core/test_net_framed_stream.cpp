// Unit tests for core/net/framed_stream: a real socketpair on a real loop.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "core/frame/frame.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/net/framed_stream.hpp"
#include "tests/core/loop_teardown.hpp"

using netlab::frame::Frame;
using netlab::net::FramedStream;

namespace {

struct Pair {
  std::shared_ptr<netlab::loop::Pipe> ours;
  std::shared_ptr<netlab::loop::Pipe> theirs;
};

Pair socket_pair(netlab::loop::Loop& loop) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  Pair pair{netlab::loop::Pipe::create(loop), netlab::loop::Pipe::create(loop)};
  REQUIRE(pair.ours->open(fds[0]) == 0);
  REQUIRE(pair.theirs->open(fds[1]) == 0);
  return pair;
}

struct Seen {
  std::vector<Frame> frames;
  std::string error;
  int ends = 0;
};

std::shared_ptr<FramedStream> framed(const std::shared_ptr<netlab::loop::Pipe>& pipe, Seen& seen,
                                     netlab::frame::Limits limits = {}) {
  FramedStream::Callbacks callbacks;
  callbacks.on_frame = [&seen](Frame&& frame) { seen.frames.push_back(std::move(frame)); };
  callbacks.on_protocol_error = [&seen](const std::string& message) { seen.error = message; };
  callbacks.on_end = [&seen] { ++seen.ends; };
  return FramedStream::create(pipe, limits, std::move(callbacks));
}

} // namespace

TEST_CASE("net::framed_stream: FramedStream: frames written byte by byte arrive whole, then end", "[framed]") {
  netlab::loop::Loop loop;
  Seen seen;
  {
    auto pair = socket_pair(loop);
    auto reader = framed(pair.ours, seen);
    reader->resume();
    std::string bytes = netlab::frame::encode({{"type", "a"}}, "hello") + netlab::frame::encode({{"type", "b"}}) +
                        netlab::frame::encode({{"type", "c"}}, std::string(100000, 'x'));
    for (char c : bytes.substr(0, 64)) {
      pair.theirs->write(std::string(1, c));
    }
    pair.theirs->write(bytes.substr(64));
    pair.theirs->shutdown([theirs = pair.theirs](int) { theirs->close(); });
    loop.run();
    REQUIRE(seen.frames.size() == 3);
    CHECK(seen.frames[0].type() == "a");
    CHECK(seen.frames[0].body == "hello");
    CHECK(seen.frames[1].body.empty());
    CHECK(seen.frames[2].body.size() == 100000);
    CHECK(seen.ends == 1);
    CHECK(seen.error.empty());
    reader->close();
  }
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("net::framed_stream: FramedStream: a frame cut off by EOF is a protocol error", "[framed]") {
  netlab::loop::Loop loop;
  Seen seen;
  {
    auto pair = socket_pair(loop);
    auto reader = framed(pair.ours, seen);
    reader->resume();
    auto bytes = netlab::frame::encode({{"type", "a"}}, "hello");
    pair.theirs->write(bytes.substr(0, bytes.size() - 1));
    pair.theirs->shutdown([theirs = pair.theirs](int) { theirs->close(); });
    loop.run();
    CHECK(seen.frames.empty());
    CHECK(seen.ends == 0);
    CHECK_THAT(seen.error, Catch::Contains("stream ends inside the body"));
    reader->close();
  }
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("net::framed_stream: FramedStream: frames before a malformed one are delivered first", "[framed]") {
  netlab::loop::Loop loop;
  Seen seen;
  {
    auto pair = socket_pair(loop);
    auto reader = framed(pair.ours, seen, {.max_header = 65536, .max_body = 10});
    reader->resume();
    pair.theirs->write(netlab::frame::encode({{"type", "ok"}}, "1234") +
                       netlab::frame::encode({{"type", "big"}}, "12345678901"));
    // The reader answers the error with a frame and closes after flushing it.
    std::string answer;
    pair.theirs->on_data([&answer](std::string_view data) { answer.append(data); });
    pair.theirs->on_end([theirs = pair.theirs] { theirs->close(); });
    pair.theirs->read_start();
    auto keep = reader;
    Seen* seen_ptr = &seen;
    auto timer = netlab::loop::Timer::create(loop);
    timer->start(1, 1, [&, seen_ptr] {
      if (!seen_ptr->error.empty()) {
        keep->send({{"type", "error"}, {"code", "protocol"}});
        keep->close_after_flush();
        timer->close();
      }
    });
    loop.run();
    REQUIRE(seen.frames.size() == 1);
    CHECK(seen.frames[0].type() == "ok");
    CHECK_THAT(seen.error, Catch::Contains("over the limit"));
    std::vector<Frame> frames;
    netlab::frame::Decoder decoder;
    REQUIRE(decoder.feed(answer, frames).ok());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].header["code"] == "protocol");
  }
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("net::framed_stream: FramedStream: pause holds frames back until resume", "[framed]") {
  netlab::loop::Loop loop;
  Seen seen;
  {
    auto pair = socket_pair(loop);
    std::shared_ptr<FramedStream> reader;
    // Paused means paused, even with more frames already decoded from the same read.
    int since_resume = 0;
    int most_since_resume = 0;
    FramedStream::Callbacks callbacks;
    callbacks.on_frame = [&](Frame&& frame) {
      seen.frames.push_back(std::move(frame));
      most_since_resume = std::max(most_since_resume, ++since_resume);
      reader->pause();
    };
    callbacks.on_end = [&] { ++seen.ends; };
    reader = FramedStream::create(pair.ours, {}, std::move(callbacks));
    reader->resume();
    std::string bytes;
    for (int i = 0; i < 5; ++i) {
      bytes += netlab::frame::encode({{"type", "n"}, {"n", i}});
    }
    pair.theirs->write(std::move(bytes));
    pair.theirs->shutdown([theirs = pair.theirs](int) { theirs->close(); });
    auto timer = netlab::loop::Timer::create(loop);
    timer->start(5, 5, [&] {
      if (seen.ends == 1) {
        timer->close();
        return;
      }
      since_resume = 0;
      reader->resume();
    });
    loop.run();
    REQUIRE(seen.frames.size() == 5);
    for (int i = 0; i < 5; ++i) {
      CHECK(seen.frames[static_cast<std::size_t>(i)].header["n"] == i);
    }
    CHECK(most_since_resume == 1);
    reader->close();
    reader.reset();
  }
  netlab::testing::require_clean_close(loop);
}
