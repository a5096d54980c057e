// SFTP v3 fields: integers big-endian, strings as a uint32 length and the bytes; every packet is
// a uint32 length, then a type byte and the fields.
#include "core/ssh/sftp_wire.hpp"

#include <initializer_list>

#include <fmt/format.h>

namespace netlab::ssh::sftp_wire {
namespace {

constexpr std::uint32_t k_flag_read = 0x01;
constexpr std::uint32_t k_flag_write = 0x02;
constexpr std::uint32_t k_flag_create = 0x08;
constexpr std::uint32_t k_flag_truncate = 0x10;
constexpr std::uint32_t k_flag_exclusive = 0x20;
constexpr std::uint32_t k_attr_size = 0x01;
constexpr std::uint32_t k_attr_uidgid = 0x02;
constexpr std::uint32_t k_attr_permissions = 0x04;
constexpr std::uint32_t k_attr_acmodtime = 0x08;
constexpr std::uint32_t k_attr_extended = 0x80000000;

void put_u32(std::string& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
  out.append(bytes, 4);
}

void put_u64(std::string& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

std::string start(std::uint8_t type) {
  std::string packet(4, '\0');
  packet.push_back(static_cast<char>(type));
  return packet;
}

// Writes the length prefix of a packet whose last `trailing` bytes are sent separately.
std::string finish(std::string packet, std::size_t trailing = 0) {
  std::string prefix;
  put_u32(prefix, static_cast<std::uint32_t>(packet.size() - 4 + trailing));
  packet.replace(0, 4, prefix);
  return packet;
}

class Fields {
public:
  explicit Fields(std::string_view data) : m_data(data) {}
  bool u32(std::uint32_t& v) {
    if (m_data.size() < 4) {
      return false;
    }
    auto b = [this](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(m_data[i])); };
    v = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
    m_data.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    std::uint32_t high = 0;
    std::uint32_t low = 0;
    if (!u32(high) || !u32(low)) {
      return false;
    }
    v = std::uint64_t{high} << 32 | low;
    return true;
  }
  bool attributes(Attributes& out) {
    std::uint32_t flags = 0;
    if (!u32(flags)) {
      return false;
    }
    if ((flags & k_attr_size) != 0) {
      std::uint64_t size = 0;
      if (!u64(size)) {
        return false;
      }
      out.size = size;
    }
    std::uint32_t ignored = 0;
    if ((flags & k_attr_uidgid) != 0 && !(u32(ignored) && u32(ignored))) {
      return false;
    }
    if ((flags & k_attr_permissions) != 0) {
      std::uint32_t permissions = 0;
      if (!u32(permissions)) {
        return false;
      }
      out.permissions = permissions;
    }
    if ((flags & k_attr_acmodtime) != 0) {
      std::uint32_t atime = 0;
      std::uint32_t mtime = 0;
      if (!u32(atime) || !u32(mtime)) {
        return false;
      }
      out.atime = atime;
      out.mtime = mtime;
    }
    if ((flags & k_attr_extended) != 0) {
      std::uint32_t count = 0;
      if (!u32(count)) {
        return false;
      }
      std::string skipped;
      for (std::uint32_t i = 0; i < count; ++i) {
        if (!string(skipped) || !string(skipped)) {
          return false;
        }
      }
    }
    return true;
  }
  bool empty() const { return m_data.empty(); }
  bool string(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || m_data.size() < n) {
      return false;
    }
    s.assign(m_data.substr(0, n));
    m_data.remove_prefix(n);
    return true;
  }

private:
  std::string_view m_data;
};

} // namespace

std::string init_request() {
  auto packet = start(k_init);
  put_u32(packet, 3);
  return finish(std::move(packet));
}

namespace {

// An open request; `mode` goes in the attributes only when the file may be created.
std::string open_packet(std::uint32_t id, std::string_view path, std::uint32_t flags,
                        std::optional<std::uint32_t> mode) {
  auto packet = start(k_open);
  put_u32(packet, id);
  put_string(packet, path);
  put_u32(packet, flags);
  put_u32(packet, mode ? k_attr_permissions : 0);
  if (mode) {
    put_u32(packet, *mode);
  }
  return finish(std::move(packet));
}

} // namespace

std::string open_request(std::uint32_t id, std::string_view path, std::uint32_t mode) {
  return open_packet(id, path, k_flag_write | k_flag_create | k_flag_truncate, mode);
}

std::string open_new_request(std::uint32_t id, std::string_view path, std::uint32_t mode) {
  return open_packet(id, path, k_flag_write | k_flag_create | k_flag_truncate | k_flag_exclusive, mode);
}

namespace {

// A request whose fields are the id and some strings.
std::string strings_request(std::uint8_t type, std::uint32_t id, std::initializer_list<std::string_view> fields) {
  auto packet = start(type);
  put_u32(packet, id);
  for (auto field : fields) {
    put_string(packet, field);
  }
  return finish(std::move(packet));
}

} // namespace

std::string opendir_request(std::uint32_t id, std::string_view path) { return strings_request(k_opendir, id, {path}); }

std::string readdir_request(std::uint32_t id, std::string_view handle) {
  return strings_request(k_readdir, id, {handle});
}

std::string remove_request(std::uint32_t id, std::string_view path) { return strings_request(k_remove, id, {path}); }

std::string rename_request(std::uint32_t id, std::string_view from, std::string_view to) {
  return strings_request(k_rename, id, {from, to});
}

std::string posix_rename_request(std::uint32_t id, std::string_view from, std::string_view to) {
  return strings_request(k_extended, id, {k_posix_rename, from, to});
}

std::string open_read_request(std::uint32_t id, std::string_view path) {
  return open_packet(id, path, k_flag_read, std::nullopt);
}

std::string write_head(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::size_t data_size) {
  auto packet = start(k_write);
  put_u32(packet, id);
  put_string(packet, handle);
  put_u64(packet, offset);
  put_u32(packet, static_cast<std::uint32_t>(data_size));
  return finish(std::move(packet), data_size);
}

std::string close_request(std::uint32_t id, std::string_view handle) {
  auto packet = start(k_close);
  put_u32(packet, id);
  put_string(packet, handle);
  return finish(std::move(packet));
}

std::string read_request(std::uint32_t id, std::string_view handle, std::uint64_t offset, std::uint32_t length) {
  auto packet = start(k_read);
  put_u32(packet, id);
  put_string(packet, handle);
  put_u64(packet, offset);
  put_u32(packet, length);
  return finish(std::move(packet));
}

Result<std::optional<Packet>> take_packet(std::string& in) {
  std::uint32_t length = 0;
  if (!Fields(in).u32(length)) {
    return std::optional<Packet>();
  }
  if (length == 0 || length > k_max_answer) {
    return fail(fmt::format("sftp: the server sent a packet of {} bytes; the channel is out of step", length));
  }
  if (in.size() - 4 < length) {
    return std::optional<Packet>();
  }
  Packet packet{static_cast<std::uint8_t>(in[4]), in.substr(5, length - 1)};
  in.erase(0, 4 + static_cast<std::size_t>(length));
  return std::optional<Packet>(std::move(packet));
}

std::optional<Status> parse_status(std::string_view body) {
  Fields fields(body);
  Status status;
  if (!fields.u32(status.id) || !fields.u32(status.code)) {
    return std::nullopt;
  }
  if (!fields.string(status.message)) {
    status.message.clear();
  }
  return status;
}

std::optional<std::pair<std::uint32_t, std::string>> parse_handle(std::string_view body) {
  Fields fields(body);
  std::uint32_t id = 0;
  std::string handle;
  if (!fields.u32(id) || !fields.string(handle) || handle.empty()) {
    return std::nullopt;
  }
  return std::make_pair(id, std::move(handle));
}

std::optional<std::uint32_t> answer_id(std::string_view body) {
  std::uint32_t id = 0;
  if (!Fields(body).u32(id)) {
    return std::nullopt;
  }
  return id;
}

std::optional<std::pair<std::uint32_t, std::string>> parse_data(std::string_view body) {
  Fields fields(body);
  std::uint32_t id = 0;
  std::string data;
  if (!fields.u32(id) || !fields.string(data)) {
    return std::nullopt;
  }
  return std::make_pair(id, std::move(data));
}

std::optional<std::pair<std::uint32_t, std::vector<NameEntry>>> parse_names(std::string_view body) {
  Fields fields(body);
  std::uint32_t id = 0;
  std::uint32_t count = 0;
  if (!fields.u32(id) || !fields.u32(count)) {
    return std::nullopt;
  }
  std::vector<NameEntry> entries;
  std::string longname;
  // Each entry takes at least 12 bytes, so `count` cannot make this loop outlast the body.
  for (std::uint32_t i = 0; i < count; ++i) {
    NameEntry entry;
    if (!fields.string(entry.name) || !fields.string(longname) || !fields.attributes(entry.attributes)) {
      return std::nullopt;
    }
    entries.push_back(std::move(entry));
  }
  return std::make_pair(id, std::move(entries));
}

std::optional<Version> parse_version(std::string_view body) {
  Fields fields(body);
  Version version;
  if (!fields.u32(version.version)) {
    return std::nullopt;
  }
  while (!fields.empty()) {
    std::string name;
    std::string data;
    if (!fields.string(name) || !fields.string(data)) {
      return std::nullopt;
    }
    version.extensions.emplace_back(std::move(name), std::move(data));
  }
  return version;
}

std::optional<std::string_view> status_name(std::uint32_t code) {
  switch (code) {
  case 2:
    return "no such file or directory";
  case 3:
    return "permission denied";
  case 11: // SSH_FX_FILE_ALREADY_EXISTS, from later drafts; OpenSSH and libssh use it
    return "file exists";
  default:
    return std::nullopt;
  }
}

std::string status_text(std::uint32_t code, const std::string& message) {
  if (auto name = status_name(code)) {
    return std::string(*name);
  }
  if (!message.empty()) {
    return message;
  }
  return code == 4 ? "failure" : fmt::format("SFTP status {}", code);
}

} // namespace netlab::ssh::sftp_wire
