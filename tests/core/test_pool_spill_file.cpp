// Unit tests for core/pool/spill_file: one file for every capture's overflow, extents in order,
// space given back, and one descriptor however many captures spill.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/pool/capture.hpp"
#include "core/pool/spill_file.hpp"

using namespace netlab::pool;

namespace {

std::string read_extents(const SpillFile& file, const std::vector<SpillExtent>& extents) {
  std::string out;
  for (const auto& extent : extents) {
    std::string piece(extent.length, '\0');
    REQUIRE(::pread(file.fd(), piece.data(), piece.size(), extent.offset) == static_cast<ssize_t>(piece.size()));
    out += piece;
  }
  return out;
}

// Whether the file system under `fd` punches holes (ext4, xfs, tmpfs do): tried past the end.
bool punches_holes(int fd) {
  struct stat info {};
  REQUIRE(::fstat(fd, &info) == 0);
  return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, info.st_size + (1 << 20), 4096) == 0;
}

long open_fds() {
  return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator());
}

} // namespace

TEST_CASE("pool::SpillFile: appends land in their owner's extents, in order, merged where they follow", "[pool]") {
  SpillFile file;
  CHECK(file.fd() == -1); // made on first use
  std::vector<SpillExtent> a;
  std::vector<SpillExtent> b;
  std::size_t stored = 0;
  REQUIRE(file.append("abc", a, stored).ok());
  CHECK(stored == 3);
  REQUIRE(file.append("def", a, stored).ok());
  REQUIRE(file.append("xyz", b, stored).ok());
  REQUIRE(file.append("g", a, stored).ok());
  REQUIRE(a.size() == 2);
  CHECK(a[0].offset == 0);
  CHECK(a[0].length == 6);
  // Every other extent starts on a page of its own.
  REQUIRE(b.size() == 1);
  CHECK(b[0].offset >= 4096);
  CHECK(b[0].offset % 4096 == 0);
  CHECK(a[1].offset > b[0].offset);
  CHECK(a[1].offset % 4096 == 0);
  CHECK(read_extents(file, a) == "abcdefg");
  CHECK(read_extents(file, b) == "xyz");
  CHECK(file.held() == 10);
  file.release(a);
  CHECK(a.empty());
  CHECK(file.held() == 3);
  CHECK(read_extents(file, b) == "xyz");
}

TEST_CASE("pool::SpillFile: released space is punched out, and the file is emptied once nothing is held", "[pool]") {
  SpillFile file;
  std::vector<SpillExtent> a;
  std::vector<SpillExtent> b;
  std::size_t stored = 0;
  std::string mib(1 << 20, 'x');
  REQUIRE(file.append(mib, a, stored).ok());
  REQUIRE(file.append(mib, b, stored).ok());
  struct stat before {};
  REQUIRE(::fstat(file.fd(), &before) == 0);
  file.release(a);
  struct stat punched {};
  REQUIRE(::fstat(file.fd(), &punched) == 0);
  if (punches_holes(file.fd())) {
    CHECK(punched.st_blocks <= before.st_blocks - (1 << 20) / 512);
  }
  CHECK(read_extents(file, b) == mib);
  file.release(b);
  struct stat emptied {};
  REQUIRE(::fstat(file.fd(), &emptied) == 0);
  CHECK(emptied.st_size == 0);
  // The next append starts again at the beginning.
  REQUIRE(file.append("again", a, stored).ok());
  CHECK(a.front().offset == 0);
}

TEST_CASE("pool::SpillFile: where no spill file can be made, append fails and stores nothing", "[pool]") {
  const char* saved = std::getenv("TMPDIR");
  std::string saved_value = saved != nullptr ? saved : "";
  ::setenv("TMPDIR", "/nonexistent-netlab-folder", 1);
  SpillFile file;
  std::vector<SpillExtent> extents;
  std::size_t stored = 99;
  auto appended = file.append("data", extents, stored);
  if (saved != nullptr) {
    ::setenv("TMPDIR", saved_value.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  REQUIRE_FALSE(appended.ok());
  CHECK(appended.error().find("/nonexistent-netlab-folder") != std::string::npos);
  CHECK(stored == 0);
  CHECK(extents.empty());
}

TEST_CASE("pool::Capture: any number of spilled captures share one descriptor and keep their own bytes", "[pool]") {
  // With -k a slow first job keeps every later job's output waiting; one spill file each ran the
  // pool out of descriptors and the next jobs could not get their pipes.
  MemoryBudget budget;
  budget.per_capture = 10;
  SpillFile spill;
  long before = open_fds();
  std::vector<std::unique_ptr<Capture>> captures;
  for (int i = 0; i < 300; ++i) {
    captures.push_back(std::make_unique<Capture>(budget, spill));
    captures.back()->append("capture " + std::to_string(i) + " says hello\n");
  }
  for (int i = 0; i < 300; ++i) {
    captures[static_cast<std::size_t>(i)]->append("and goodbye " + std::to_string(i) + "\n");
  }
  CHECK(open_fds() <= before + 1);
  for (int i = 0; i < 300; ++i) {
    auto& capture = *captures[static_cast<std::size_t>(i)];
    CHECK(capture.spilled());
    auto text = "capture " + std::to_string(i) + " says hello\nand goodbye " + std::to_string(i) + "\n";
    CHECK(*capture.read_all() == text);
  }
  captures.clear();
  CHECK(spill.held() == 0);
  CHECK(budget.used == 0);
}

TEST_CASE("pool::Capture: a spill file that cannot be made keeps the output in memory, whole", "[pool]") {
  const char* saved = std::getenv("TMPDIR");
  std::string saved_value = saved != nullptr ? saved : "";
  ::setenv("TMPDIR", "/nonexistent-netlab-folder", 1);
  MemoryBudget budget;
  budget.per_capture = 10;
  SpillFile spill;
  Capture capture(budget, spill);
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    auto line = "line " + std::to_string(i) + "\n";
    capture.append(line);
    expected += line;
  }
  if (saved != nullptr) {
    ::setenv("TMPDIR", saved_value.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  CHECK_FALSE(capture.spilled());
  CHECK(*capture.read_all() == expected);
}

TEST_CASE("pool::Capture: output sent to a pipe stays intact after its space is given back", "[pool]") {
  // sendfile(2) into a pipe queues references to the spill file's pages; releasing the extents
  // (while another capture still holds some, so the file is not simply emptied) once zeroed the
  // pages the extent only partly covered, under the pipe's reader.
  MemoryBudget budget;
  budget.per_capture = 10;
  SpillFile spill;
  Capture held(budget, spill);
  held.append(std::string(5000, 'h')); // the file's first pages
  Capture sent(budget, spill);
  std::string data;
  for (int i = 0; i < 30000; ++i) {
    data += static_cast<char>('a' + i % 26);
  }
  sent.append(data);
  held.append(std::string(3000, 'h')); // after A's last page, which A fills only in part
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20) > 0);
  REQUIRE(sent.write_to(fds[1]).ok());
  // Released while `held` keeps the file (holes punched), or after it too (the file emptied).
  bool empty_the_file = GENERATE(false, true);
  if (empty_the_file) {
    CHECK(*held.read_all() == std::string(8000, 'h'));
    held.reset();
  }
  sent.reset();
  CHECK(spill.held() == (empty_the_file ? 0 : 8000));
  ::close(fds[1]);
  std::string got;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) {
    got.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  CHECK(got == data);
  if (!empty_the_file) {
    CHECK(*held.read_all() == std::string(8000, 'h'));
  }
}
