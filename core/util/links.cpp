// Busybox-style links, checked before any change so an install is all or nothing.
#include "core/util/links.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/sys_error.hpp"

namespace netlab::links {
namespace {

namespace fs = std::filesystem;

enum class Entry { absent, ours, other };

// Whether `path` is a symlink that runs the binary: it resolves to the same file as `target`, or
// its own text names a file called `binary_name` (a link left by another install of netlab).
Entry classify(const fs::path& path, const fs::path& target, const std::string& binary_name) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Entry::absent : Entry::other;
  }
  if (!S_ISLNK(st.st_mode)) {
    return Entry::other;
  }
  std::error_code ec;
  if (fs::equivalent(path, target, ec)) {
    return Entry::ours;
  }
  auto text = fs::read_symlink(path, ec);
  return !ec && text.filename() == binary_name ? Entry::ours : Entry::other;
}

Result<void> check_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return sys_failure("", dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(fmt::format("{}: not a folder", dir), ENOTDIR);
  }
  return {};
}

} // namespace

Result<LinkReport> install(const std::string& dir, const std::vector<std::string>& names, const std::string& target,
                           const std::string& binary_name) {
  NETLAB_TRY_VOID(check_dir(dir));
  std::vector<bool> existed;
  for (const auto& name : names) {
    auto path = fs::path(dir) / name;
    auto entry = classify(path, target, binary_name);
    if (entry == Entry::other) {
      return fail(fmt::format("{} exists and is not a link to {}; not replacing it", path.string(), binary_name),
                  EEXIST);
    }
    existed.push_back(entry == Entry::ours);
  }
  LinkReport report;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto path = fs::path(dir) / names[i];
    auto temporary = fs::path(dir) / fmt::format(".{}.netlab-link.{}", names[i], ::getpid());
    ::unlink(temporary.c_str());
    bool made = ::symlink(target.c_str(), temporary.c_str()) == 0;
    int error = errno;
    if (made && ::rename(temporary.c_str(), path.c_str()) != 0) {
      error = errno;
      ::unlink(temporary.c_str());
      made = false;
    }
    if (!made) {
      // Undo: the names this call added go; those that were netlab's before stay (they still are).
      for (std::size_t j = 0; j < i; ++j) {
        if (!existed[j]) {
          ::unlink((fs::path(dir) / names[j]).c_str());
        }
      }
      return sys_failure("link", path.string(), error);
    }
    report.done.push_back(names[i]);
  }
  return report;
}

Result<LinkReport> uninstall(const std::string& dir, const std::vector<std::string>& names, const std::string& target,
                             const std::string& binary_name) {
  NETLAB_TRY_VOID(check_dir(dir));
  LinkReport report;
  for (const auto& name : names) {
    auto path = fs::path(dir) / name;
    switch (classify(path, target, binary_name)) {
    case Entry::absent:
      break;
    case Entry::other:
      report.skipped.push_back(name);
      break;
    case Entry::ours:
      if (::unlink(path.c_str()) != 0) {
        return sys_failure("remove", path.string(), errno);
      }
      report.done.push_back(name);
      break;
    }
  }
  return report;
}

} // namespace netlab::links
