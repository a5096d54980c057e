// SFTP v3 wire format (draft-ietf-secsh-filexfer-02): uint32 length, byte type, then fields;
// integers big-endian, strings as uint32 length + bytes.
#include "core/ssh/sftp_writer.hpp"

#include <fmt/format.h>

namespace netlab::ssh {
namespace {

enum : std::uint8_t {
  k_init = 1,
  k_version = 2,
  k_open = 3,
  k_close = 4,
  k_write = 6,
  k_status = 101,
  k_handle = 102,
};
constexpr std::uint32_t k_flag_write = 0x02;
constexpr std::uint32_t k_flag_create = 0x08;
constexpr std::uint32_t k_flag_truncate = 0x10;
constexpr std::uint32_t k_attr_permissions = 0x04;
// Answers here are a status or a handle: small. Anything near this size is not an answer.
constexpr std::uint32_t k_max_packet = 256 * 1024;
// A server that answers nothing for this long is treated as gone.
constexpr int k_wait_ms = 120 * 1000;

void put_u32(std::string& out, std::uint32_t v) {
  char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
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

// Fills in the length prefix once the packet is complete.
void finish_packet(std::string& packet) {
  auto length = static_cast<std::uint32_t>(packet.size() - 4);
  std::string prefix;
  put_u32(prefix, length);
  packet.replace(0, 4, prefix);
}

std::string start_packet(std::uint8_t type) {
  std::string packet(4, '\0');
  packet.push_back(static_cast<char>(type));
  return packet;
}

// Reads fields off an answer, failing on a short one.
class Reader {
public:
  explicit Reader(std::string_view data) : m_data(data) {}
  bool u32(std::uint32_t& v) {
    if (m_data.size() < 4) {
      return false;
    }
    auto b = [this](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(m_data[i])); };
    v = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
    m_data.remove_prefix(4);
    return true;
  }
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

std::string status_text(std::uint32_t code, const std::string& message) {
  switch (code) {
  case 2:
    return "no such file or directory";
  case 3:
    return "permission denied";
  case 4:
    return message.empty() ? "failure" : message;
  default:
    return message.empty() ? fmt::format("SFTP status {}", code) : message;
  }
}

} // namespace

Result<std::unique_ptr<SftpWriter>> SftpWriter::start(ssh_session session) {
  ChannelPtr channel(ssh_channel_new(session));
  if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK ||
      ssh_channel_request_subsystem(channel.get(), "sftp") != SSH_OK) {
    return fail(fmt::format("start sftp: {}", last_error(session)));
  }
  std::unique_ptr<SftpWriter> writer(new SftpWriter(session, std::move(channel)));
  auto init = start_packet(k_init);
  put_u32(init, 3);
  finish_packet(init);
  NETLAB_TRY_VOID(writer->send(init));
  NETLAB_TRY(auto answer, writer->receive());
  if (answer.first != k_version) {
    return fail(fmt::format("start sftp: the server answered the version request with packet type {}",
                            static_cast<int>(answer.first)));
  }
  return writer;
}

Result<void> SftpWriter::open(const std::string& path, std::uint32_t mode) {
  auto packet = start_packet(k_open);
  put_u32(packet, next_id());
  put_string(packet, path);
  put_u32(packet, k_flag_write | k_flag_create | k_flag_truncate);
  put_u32(packet, k_attr_permissions);
  put_u32(packet, mode);
  finish_packet(packet);
  NETLAB_TRY_VOID(send(packet));
  NETLAB_TRY(auto answer, receive());
  Reader reader(answer.second);
  std::uint32_t id = 0;
  if (!reader.u32(id)) {
    return fail(fmt::format("open {}: a short answer from the server", path));
  }
  if (answer.first == k_status) {
    std::uint32_t code = 0;
    std::string message;
    reader.u32(code);
    reader.string(message);
    return fail(fmt::format("open {}: {}", path, status_text(code, message)));
  }
  if (answer.first != k_handle || !reader.string(m_handle) || m_handle.empty()) {
    return fail(fmt::format("open {}: the server's answer holds no file handle", path));
  }
  m_path = path;
  m_offset = 0;
  return {};
}

Result<void> SftpWriter::write(std::string_view data) {
  while (m_waiting >= k_in_flight) {
    NETLAB_TRY_VOID(take_status("write"));
  }
  // The head goes out first and the data after it, without copying the data into a packet.
  std::string head(4, '\0');
  head.push_back(static_cast<char>(k_write));
  put_u32(head, next_id());
  put_string(head, m_handle);
  put_u64(head, m_offset);
  put_u32(head, static_cast<std::uint32_t>(data.size()));
  std::string prefix;
  put_u32(prefix, static_cast<std::uint32_t>(head.size() - 4 + data.size()));
  head.replace(0, 4, prefix);
  NETLAB_TRY_VOID(send(head));
  NETLAB_TRY_VOID(send(data));
  m_offset += data.size();
  ++m_waiting;
  return {};
}

Result<void> SftpWriter::close() {
  Result<void> status;
  // Every answer is collected even after a failure, so that the channel stays in step.
  while (m_waiting > 0) {
    auto taken = take_status("write");
    if (!taken && status) {
      status = std::move(taken);
    }
    if (m_broken) {
      return status; // nothing more will come
    }
  }
  auto packet = start_packet(k_close);
  put_u32(packet, next_id());
  put_string(packet, m_handle);
  finish_packet(packet);
  m_handle.clear();
  NETLAB_TRY_VOID(send(packet));
  ++m_waiting;
  auto closed = take_status("close");
  return status ? closed : status;
}

Result<void> SftpWriter::send(std::string_view bytes) {
  if (m_broken) {
    return fail(fmt::format("write {}: the SFTP channel failed earlier", m_path));
  }
  while (!bytes.empty()) {
    int n = ssh_channel_write(m_channel.get(), bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    if (n <= 0) {
      m_broken = true;
      return fail(fmt::format("write {}: channel write failed: {}", m_path, last_error(m_session)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::pair<std::uint8_t, std::string>> SftpWriter::receive() {
  char buffer[4096];
  while (true) {
    if (m_in.size() >= 4) {
      Reader reader(m_in);
      std::uint32_t length = 0;
      reader.u32(length);
      if (length == 0 || length > k_max_packet) {
        m_broken = true;
        return fail(fmt::format("sftp: the server sent a packet of {} bytes; the channel is out of step", length));
      }
      if (m_in.size() >= 4 + static_cast<std::size_t>(length)) {
        auto type = static_cast<std::uint8_t>(m_in[4]);
        std::string rest = m_in.substr(5, length - 1);
        m_in.erase(0, 4 + static_cast<std::size_t>(length));
        return std::make_pair(type, std::move(rest));
      }
    }
    int n = ssh_channel_read_timeout(m_channel.get(), buffer, sizeof buffer, 0, k_wait_ms);
    m_broken = n <= 0;
    if (n < 0) {
      return fail(fmt::format("sftp: channel read failed: {}", last_error(m_session)));
    }
    if (n == 0) {
      if (ssh_channel_is_eof(m_channel.get()) != 0 || ssh_channel_is_closed(m_channel.get()) != 0) {
        return fail("sftp: the server closed the channel");
      }
      return fail(fmt::format("sftp: no answer from the server in {} s", k_wait_ms / 1000));
    }
    m_in.append(buffer, static_cast<std::size_t>(n));
  }
}

Result<void> SftpWriter::take_status(const std::string& what) {
  NETLAB_TRY(auto answer, receive());
  --m_waiting;
  Reader reader(answer.second);
  std::uint32_t id = 0;
  std::uint32_t code = 0;
  std::string message;
  if (answer.first != k_status || !reader.u32(id) || !reader.u32(code)) {
    return fail(fmt::format("{} {}: an unexpected answer (packet type {}) from the server", what, m_path,
                            static_cast<int>(answer.first)));
  }
  if (code != 0) {
    reader.string(message);
    return fail(fmt::format("{} {}: {}", what, m_path, status_text(code, message)));
  }
  return {};
}

} // namespace netlab::ssh
