// links::install / uninstall: all or nothing, idempotent, and only netlab's own links removed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/util/links.hpp"

namespace fs = std::filesystem;
using namespace netlab;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "netlab-links-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("links::install: makes every link, and a second call replaces them") {
  TempDir dir;
  auto target = (dir.path / "netlab").string();
  std::ofstream(target) << "binary";
  auto first = links::install(dir.path.string(), {"a", "b"}, target, "netlab");
  REQUIRE(first.ok());
  CHECK(first->done == std::vector<std::string>{"a", "b"});
  CHECK(fs::read_symlink(dir.path / "a") == target);
  REQUIRE(links::install(dir.path.string(), {"a", "b"}, target, "netlab").ok());
  CHECK(fs::read_symlink(dir.path / "b") == target);
}

TEST_CASE("links::install: a file in the way fails the call before any link is made") {
  TempDir dir;
  auto target = (dir.path / "netlab").string();
  std::ofstream(target) << "binary";
  std::ofstream(dir.path / "b") << "someone else's";
  auto result = links::install(dir.path.string(), {"a", "b", "c"}, target, "netlab");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find("b exists and is not a link to netlab") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::symlink_status(dir.path / "a")));
  CHECK_FALSE(fs::exists(fs::symlink_status(dir.path / "c")));
}

TEST_CASE("links::install: a folder that is not there is ENOENT, a file is ENOTDIR") {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  auto missing = links::install((dir.path / "nope").string(), {"a"}, "/bin/true", "netlab");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.code() == ENOENT);
  auto file = links::install((dir.path / "file").string(), {"a"}, "/bin/true", "netlab");
  REQUIRE_FALSE(file.ok());
  CHECK(file.code() == ENOTDIR);
}

TEST_CASE("links::uninstall: removes links to netlab, keeps files and other programs' links") {
  TempDir dir;
  auto target = (dir.path / "netlab").string();
  std::ofstream(target) << "binary";
  fs::create_symlink(target, dir.path / "a");
  fs::create_symlink("/somewhere/old/netlab", dir.path / "b"); // an older install's, dangling
  fs::create_symlink("/bin/true", dir.path / "c");
  std::ofstream(dir.path / "d") << "mine";
  auto result = links::uninstall(dir.path.string(), {"a", "b", "c", "d", "e"}, target, "netlab");
  REQUIRE(result.ok());
  CHECK(result->done == std::vector<std::string>{"a", "b"});
  CHECK(result->skipped == std::vector<std::string>{"c", "d"});
  CHECK(fs::is_symlink(dir.path / "c"));
  CHECK(fs::is_regular_file(dir.path / "d"));
}
