// Frame-file reading: the shared frame::Decoder does framing, limits and sha256 checks; this
// file adds the file-frame rules (names, sequence of chunks, overwrite policy, atomic writes).
// Every path below the target folder is walked one component at a time from open folder
// descriptors with O_NOFOLLOW, never resolved as a string, so another user swapping a folder
// for a symbolic link at any moment cannot redirect a write outside the target folder.
#include "core/framefile/reader.hpp"

#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/frame/frame.hpp"
#include "core/framefile/atomic_file.hpp"
#include "core/framefile/names.hpp"
#include "core/util/escape.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::framefile {
namespace {

struct OpenFile {
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t written = 0;
  mode_t mode = 0;
  AtomicFile file;
};

// Requires the body checksum protocol.md §6 says every file and data frame carries: the
// decoder verifies it when present, so without this a frame could skip the check.
Result<void> require_sha256(const frame::Frame& frame) {
  if (frame.header.find("sha256") == frame.header.end()) {
    return fail(fmt::format("{} frame has no \"sha256\"", escape_text(frame.type())));
  }
  return {};
}

Result<std::uint64_t> optional_count(const nlohmann::json& header, const char* key, std::uint64_t fallback) {
  auto it = header.find(key);
  if (it == header.end()) {
    return fallback;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
    return fail(fmt::format("\"{}\" is not a non-negative integer", key));
  }
  return it->get<std::uint64_t>();
}

class Extractor {
public:
  // `root_fd`: the target folder, open (-1 in list mode); borrowed.
  Extractor(const ReaderConfig& options, const ReaderEvents& events, int root_fd)
      : m_options(options), m_events(events), m_root_fd(root_fd) {}

  Result<void> take(frame::Frame& frame, std::size_t number) {
    auto type = frame.type();
    if (type == "file") {
      auto done = take_file(frame);
      if (!done) {
        return fail(fmt::format("frame {}: {}", number, done.error()), done.code());
      }
      return {};
    }
    if (m_current) {
      return fail(fmt::format("frame {}: '{}' ends at {} of {} bytes", number, escape_text(m_current->name),
                              m_current->written, m_current->size));
    }
    if (type == "data") {
      if (auto checked = require_sha256(frame); !checked) {
        return fail(fmt::format("frame {}: {}", number, checked.error()));
      }
      m_stats.data_bytes += frame.body.size();
      if (m_options.list) {
        if (m_events.listed) {
          m_events.listed("", frame.body.size());
        }
        return {};
      }
      return write_all(m_options.data_fd, frame.body, m_options.data_name);
    }
    if (m_events.warn) {
      m_events.warn(fmt::format("frame {}: skipping frame of unknown type '{}'", number, escape_text(type)));
    }
    return {};
  }

  Result<void> finish(std::uint64_t offset) {
    if (m_current) {
      return fail(fmt::format("stream ends at offset {} inside '{}' ({} of {} bytes)", offset,
                              escape_text(m_current->name), m_current->written, m_current->size));
    }
    return {};
  }

  ReaderStats& stats() { return m_stats; }

private:
  Result<void> take_file(frame::Frame& frame) {
    const auto& header = frame.header;
    auto name_it = header.find("name");
    if (name_it == header.end() || !name_it->is_string()) {
      return fail("file frame has no \"name\" string");
    }
    auto name = name_it->get<std::string>();
    NETLAB_TRY_VOID(check_name(name));
    NETLAB_TRY_VOID(require_sha256(frame));
    NETLAB_TRY(auto offset, optional_count(header, "offset", 0));
    NETLAB_TRY(auto file_size, optional_count(header, "file_size", frame.body.size()));
    mode_t mode = default_file_mode();
    if (auto it = header.find("mode"); it != header.end()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 07777) {
        return fail(fmt::format("'{}': \"mode\" is not permission bits", escape_text(name)));
      }
      // Set-id and sticky bits are dropped (a received file should not gain privileges) and the
      // umask applies, as for any file this user creates.
      mode = received_file_mode(static_cast<mode_t>(it->get<std::int64_t>()));
    }
    if (offset == 0) {
      if (m_current) {
        return fail(fmt::format("'{}' ends at {} of {} bytes", escape_text(m_current->name), m_current->written,
                                m_current->size));
      }
      NETLAB_TRY_VOID(start(name, file_size, mode));
    } else if (!m_current || m_current->name != name || m_current->written != offset || m_current->size != file_size) {
      return fail(fmt::format("chunk of '{}' at offset {} does not continue a file", escape_text(name), offset));
    }
    if (frame.body.size() > file_size - m_current->written) {
      return fail(fmt::format("'{}': chunk runs past the file size {}", escape_text(name), file_size));
    }
    if (!m_options.list) {
      NETLAB_TRY_VOID(m_current->file.write(frame.body));
    }
    m_current->written += frame.body.size();
    if (m_current->written == m_current->size) {
      if (!m_options.list) {
        NETLAB_TRY_VOID(m_current->file.commit(m_current->mode, m_options.force));
      }
      ++m_stats.files;
      m_current.reset();
    }
    return {};
  }

  Result<void> start(const std::string& name, std::uint64_t size, mode_t mode) {
    m_current = std::make_unique<OpenFile>();
    m_current->name = name;
    m_current->size = size;
    m_current->mode = mode;
    if (m_options.list) {
      if (m_events.listed) {
        m_events.listed(name, size);
      }
      return {};
    }
    NETLAB_TRY(auto parent, open_parent(name));
    auto slash = name.rfind('/');
    auto base = slash == std::string::npos ? name : name.substr(slash + 1);
    struct stat st {};
    if (::fstatat(parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return fail(fmt::format("'{}' exists and is a folder", escape_text(name)));
      }
      if (!m_options.force) {
        return fail(fmt::format("'{}' exists; use --force to replace it", escape_text(name)));
      }
    }
    // The commit refuses an existing name without --force even if one appears meanwhile.
    return m_current->file.open_in(parent.get(), base, fmt::format("'{}'", escape_text(name)));
  }

  // Opens the folder that holds `name` (a name check_name accepted), creating missing folders,
  // one component at a time from the target folder's descriptor. A component that is a
  // symbolic link is refused, whenever it became one: an existing link "a" -> /etc would
  // otherwise let the name "a/passwd" write outside the target folder.
  Result<Fd> open_parent(const std::string& name) {
    Fd current{::fcntl(m_root_fd, F_DUPFD_CLOEXEC, 0)};
    if (!current) {
      return sys_failure("open", escape_text(m_options.dir), errno);
    }
    std::size_t start = 0;
    std::size_t slash = 0;
    while ((slash = name.find('/', start)) != std::string::npos) {
      auto part = name.substr(start, slash - start);
      auto shown = escape_text(name.substr(0, slash));
      start = slash + 1;
      int next = -1;
      for (int attempt = 0; attempt < 2 && next < 0; ++attempt) {
        next = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && attempt == 0) {
          if (::mkdirat(current.get(), part.c_str(), 0777) != 0 && errno != EEXIST) {
            return sys_failure("mkdir", fmt::format("'{}'", shown), errno);
          }
          continue;
        }
        if (next < 0) {
          int saved = errno;
          struct stat st {};
          if (::fstatat(current.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            return fail(fmt::format("refusing to write through symbolic link '{}'", shown));
          }
          if (saved == ENOTDIR) {
            return fail(fmt::format("'{}' exists and is not a folder", shown));
          }
          return sys_failure("open", fmt::format("'{}'", shown), saved);
        }
      }
      current = Fd{next};
    }
    return current;
  }

  const ReaderConfig& m_options;
  const ReaderEvents& m_events;
  int m_root_fd;
  std::unique_ptr<OpenFile> m_current;
  ReaderStats m_stats;
};

} // namespace

Result<ReaderStats> read_frames(int in_fd, const std::string& in_name, const ReaderConfig& options,
                                const ReaderEvents& events) {
  Fd root;
  if (!options.list) {
    // The target folder itself is the user's choice, so a link to a folder is followed here.
    root = Fd{::open(options.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!root && errno == ENOENT) {
      // Like `mkdir -p` (and tar -C with --one-top-level): the target is made when missing; one
      // that exists and is not a folder is still refused below.
      std::error_code ec;
      std::filesystem::create_directories(options.dir, ec);
      if (ec) {
        return fail(fmt::format("create {}: {}", options.dir, ec.message()));
      }
      root = Fd{::open(options.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    }
    if (!root) {
      return fail(errno == ENOTDIR ? fmt::format("{}: exists and is not a folder", options.dir)
                                   : sys_message("", options.dir, errno));
    }
  }
  RemoveTemporaryOnSignal cleanup;
  frame::Decoder decoder;
  Extractor extractor(options, events, root.get());
  std::vector<frame::Frame> frames;
  std::string buffer(options.read_size, '\0');
  std::size_t number = 0;
  while (true) {
    NETLAB_TRY(auto got, read_full(in_fd, buffer.data(), buffer.size(), in_name));
    if (got == 0) {
      break;
    }
    frames.clear();
    auto fed = decoder.feed(std::string_view(buffer.data(), got), frames);
    // Frames completed before a damaged one were verified: keep them, then report the damage.
    for (auto& frame : frames) {
      NETLAB_TRY_VOID(extractor.take(frame, ++number));
    }
    if (!fed) {
      return fed.failure();
    }
    frames.clear();
    if (got < buffer.size()) {
      break;
    }
  }
  NETLAB_TRY_VOID(decoder.finish());
  NETLAB_TRY_VOID(extractor.finish(decoder.offset()));
  extractor.stats().frames = number;
  return extractor.stats();
}

} // namespace netlab::framefile
