// Unit tests for core/framefile/reader, driven by files the writer makes: round trips, damage,
// and what unpack refuses.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/frame/frame.hpp"
#include "core/framefile/reader.hpp"
#include "core/framefile/writer.hpp"

namespace fs = std::filesystem;
using namespace netlab::framefile;

namespace {

// A fresh folder under /tmp, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    char templ[] = "/tmp/netlab-framefile-XXXXXX";
    path = ::mkdtemp(templ);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Packs `paths` (relative to `cwd`) into the file `out` with the given chunk size.
void pack_paths(const fs::path& cwd, const std::vector<std::string>& paths, const fs::path& out, std::size_t chunk) {
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  WriterConfig options;
  options.chunk_size = chunk;
  Writer writer(fd, out.string(), options);
  auto old = fs::current_path();
  fs::current_path(cwd);
  for (const auto& path : paths) {
    auto added = writer.add_path(path);
    INFO(path);
    REQUIRE(added.ok());
  }
  fs::current_path(old);
  ::close(fd);
}

netlab::Result<ReaderStats> unpack_file(const fs::path& in, const fs::path& dir, bool force = false, bool list = false,
                                        std::vector<std::string>* listed = nullptr) {
  int fd = ::open(in.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  ReaderConfig options;
  options.dir = dir.string();
  options.force = force;
  options.list = list;
  options.read_size = 4096; // many reads, so frames straddle read boundaries
  ReaderEvents events;
  events.listed = [listed](const std::string& name, std::uint64_t size) {
    if (listed != nullptr) {
      listed->push_back(name + ":" + std::to_string(size));
    }
  };
  auto result = read_frames(fd, in.string(), options, events);
  ::close(fd);
  return result;
}

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  }
  return out;
}

} // namespace

TEST_CASE("framefile: a tree round-trips, chunked and not", "[framefile]") {
  TempDir tmp;
  write_file(tmp.path / "src/a.txt", "hello\n");
  write_file(tmp.path / "src/empty", "");
  write_file(tmp.path / "src/sub/deep/big.bin", pattern(100000));
  ::chmod((tmp.path / "src/a.txt").c_str(), 0755);
  for (std::size_t chunk : {std::size_t{1} << 24, std::size_t{4096}, std::size_t{30000}}) {
    INFO(chunk);
    auto stream = tmp.path / "stream";
    pack_paths(tmp.path, {"src"}, stream, chunk);
    auto out = tmp.path / ("out" + std::to_string(chunk));
    fs::create_directories(out);
    auto result = unpack_file(stream, out);
    REQUIRE(result.ok());
    CHECK(result->files == 3);
    CHECK(read_file(out / "src/a.txt") == "hello\n");
    CHECK(read_file(out / "src/empty").empty());
    CHECK(fs::exists(out / "src/empty"));
    CHECK(read_file(out / "src/sub/deep/big.bin") == pattern(100000));
    CHECK((fs::status(out / "src/a.txt").permissions() & fs::perms::owner_exec) != fs::perms::none);
    std::vector<std::string> listed;
    REQUIRE(unpack_file(stream, tmp.path / "nowhere", false, true, &listed).ok());
    CHECK(listed == std::vector<std::string>{"src/a.txt:6", "src/empty:0", "src/sub/deep/big.bin:100000"});
  }
}

TEST_CASE("framefile: damage is caught and verified files stay", "[framefile]") {
  TempDir tmp;
  write_file(tmp.path / "one", "first file");
  write_file(tmp.path / "two", pattern(10000));
  auto stream = tmp.path / "stream";
  pack_paths(tmp.path, {"one", "two"}, stream, 1 << 24);
  auto bytes = read_file(stream);

  SECTION("a flipped body byte") {
    bytes[bytes.size() - 100] ^= 0x01;
    write_file(stream, bytes);
    auto out = tmp.path / "out";
    fs::create_directories(out);
    auto result = unpack_file(stream, out);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find("frame 2 at offset") != std::string::npos);
    CHECK(result.error().find("sha256") != std::string::npos);
    CHECK(read_file(out / "one") == "first file");
    CHECK_FALSE(fs::exists(out / "two"));
    // No temporary file is left behind either.
    CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator()) == 1);
  }
  SECTION("a truncated stream") {
    write_file(stream, bytes.substr(0, bytes.size() - 1));
    auto out = tmp.path / "out";
    fs::create_directories(out);
    auto result = unpack_file(stream, out);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find("frame 2 at offset") != std::string::npos);
    CHECK(result.error().find("stream ends inside the body") != std::string::npos);
    CHECK(fs::exists(out / "one"));
    CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator()) == 1);
  }
}

TEST_CASE("framefile: a chunked file cut at a chunk boundary is incomplete", "[framefile]") {
  TempDir tmp;
  write_file(tmp.path / "big", pattern(10000));
  auto stream = tmp.path / "stream";
  pack_paths(tmp.path, {"big"}, stream, 4000);
  auto bytes = read_file(stream);
  // Cut after the second of three frames: every frame is whole, the file is not.
  netlab::frame::Decoder decoder;
  std::vector<netlab::frame::Frame> frames;
  std::size_t cut = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    REQUIRE(decoder.feed(std::string_view(bytes).substr(i, 1), frames).ok());
    if (frames.size() == 2) {
      cut = i + 1;
      break;
    }
  }
  write_file(stream, bytes.substr(0, cut));
  auto out = tmp.path / "out";
  fs::create_directories(out);
  auto result = unpack_file(stream, out);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find("inside 'big' (8000 of 10000 bytes)") != std::string::npos);
  CHECK(fs::is_empty(out));
}

TEST_CASE("framefile: refuses escapes, overwrites and links", "[framefile]") {
  TempDir tmp;
  auto out = tmp.path / "out";
  fs::create_directories(out);
  auto stream = tmp.path / "stream";
  auto write_frames = [&](const std::vector<std::string>& names) {
    std::string bytes;
    for (const auto& name : names) {
      netlab::frame::encode_to(bytes, {{"type", "file"}, {"name", name}}, "evil", true);
    }
    write_file(stream, bytes);
  };
  for (const char* name : {"../escape", "/tmp/abs", "a/../../x", "a//b"}) {
    INFO(name);
    write_frames({name});
    auto result = unpack_file(stream, out);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find("frame 1") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp.path / "escape"));

  write_file(out / "exists", "keep me");
  write_frames({"exists"});
  auto refused = unpack_file(stream, out);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("--force") != std::string::npos);
  CHECK(read_file(out / "exists") == "keep me");
  REQUIRE(unpack_file(stream, out, true).ok());
  CHECK(read_file(out / "exists") == "evil");

  fs::create_directories(tmp.path / "elsewhere");
  fs::create_directory_symlink(tmp.path / "elsewhere", out / "link");
  write_frames({"link/file"});
  auto through_link = unpack_file(stream, out, true);
  REQUIRE_FALSE(through_link.ok());
  CHECK(through_link.error().find("symbolic link") != std::string::npos);
  CHECK(fs::is_empty(tmp.path / "elsewhere"));
}

TEST_CASE("framefile: data frames from a stream, split by chunk size", "[framefile]") {
  TempDir tmp;
  auto input = tmp.path / "input";
  write_file(input, pattern(10000));
  auto stream = tmp.path / "stream";
  int in = ::open(input.c_str(), O_RDONLY);
  int out = ::open(stream.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  WriterConfig options;
  options.chunk_size = 3000;
  Writer writer(out, "stream", options);
  REQUIRE(writer.add_stream(in, "input").ok());
  CHECK(writer.frames() == 4);
  ::close(in);
  ::close(out);

  auto result_path = tmp.path / "result";
  int result_fd = ::open(result_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int stream_fd = ::open(stream.c_str(), O_RDONLY);
  ReaderConfig reader_options;
  reader_options.data_fd = result_fd;
  auto result = read_frames(stream_fd, "stream", reader_options);
  ::close(result_fd);
  ::close(stream_fd);
  REQUIRE(result.ok());
  CHECK(result->frames == 4);
  CHECK(read_file(result_path) == pattern(10000));
}
