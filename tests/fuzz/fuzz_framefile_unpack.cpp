// libFuzzer target: `netlab unpack --frame` on a fuzzed frame file, extracting into a fresh
// temporary folder that is removed afterwards. Checked: nothing appears beside the target folder,
// no symbolic link or leftover temporary file appears in it, a successful unpack wrote exactly the
// files it counted, and listing accepts whatever extracting accepted, with the same counts.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/framefile/names.hpp"
#include "core/framefile/reader.hpp"

namespace {

namespace fs = std::filesystem;
using namespace netlab::framefile;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

int input_fd(const std::uint8_t* data, std::size_t size) {
  int fd = ::memfd_create("fuzz-framefile", MFD_CLOEXEC);
  require(fd >= 0);
  require(::write(fd, data, size) == static_cast<ssize_t>(size));
  require(::lseek(fd, 0, SEEK_SET) == 0);
  return fd;
}

// Removes the folder even when a fuzzed mode left a file or folder without permissions.
struct TempRoot {
  fs::path path;
  TempRoot() {
    char templ[] = "/tmp/netlab-fuzz-unpack-XXXXXX";
    require(::mkdtemp(templ) != nullptr);
    path = templ;
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// `names_like_temp`: the input itself names a file like a temporary one, which is then no leftover.
std::size_t count_files(const fs::path& dest, bool names_like_temp) {
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dest)) {
    auto status = entry.symlink_status();
    require(fs::is_regular_file(status) || fs::is_directory(status));
    require(names_like_temp || entry.path().filename().string().find(".netlab-") == std::string::npos);
    files += fs::is_regular_file(status) ? 1 : 0;
  }
  return files;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  TempRoot root;
  fs::path dest = root.path / "dest";
  fs::create_directory(dest);

  ReaderConfig options;
  options.dir = dest.string();
  options.data_fd = null_fd;
  options.data_name = "/dev/null";
  // Small reads, varying with the input, make frames straddle reads as they do on a pipe.
  options.read_size = 16 + size % 1021;
  int fd = input_fd(data, size);
  auto extracted = read_frames(fd, "fuzz", options);
  ::close(fd);

  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(root.path)) {
    require(entry.path() == dest);
    ++entries;
  }
  require(entries == 1);
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t files = count_files(dest, bytes.find("netlab-") != std::string_view::npos);
  if (!extracted) {
    require(!extracted.error().empty());
    return 0;
  }
  require(files == extracted->files);

  ReaderConfig list_options = options;
  list_options.list = true;
  ReaderEvents events;
  events.listed = [](const std::string& name, std::uint64_t) { require(name.empty() || check_name(name).ok()); };
  fd = input_fd(data, size);
  auto listed = read_frames(fd, "fuzz", list_options, events);
  ::close(fd);
  require(listed && listed->files == extracted->files && listed->frames == extracted->frames &&
          listed->data_bytes == extracted->data_bytes);
  return 0;
}
