#include "core/ssh/sftp_writer.hpp"

#include <fmt/format.h>

#include "core/ssh/sftp_wire.hpp"

namespace netlab::ssh {
namespace {

// A server that answers nothing for this long is treated as gone.
constexpr int k_wait_ms = 120 * 1000;

} // namespace

Result<std::unique_ptr<SftpWriter>> SftpWriter::start(ssh_session session) {
  ChannelPtr channel(ssh_channel_new(session));
  if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK ||
      ssh_channel_request_subsystem(channel.get(), "sftp") != SSH_OK) {
    return fail(fmt::format("start sftp: {}", last_error(session)));
  }
  std::unique_ptr<SftpWriter> writer(new SftpWriter(session, std::move(channel)));
  NETLAB_TRY_VOID(writer->send(sftp_wire::init_request()));
  NETLAB_TRY(auto answer, writer->receive());
  if (answer.type != sftp_wire::k_version) {
    return fail(fmt::format("start sftp: the server answered the version request with packet type {}",
                            static_cast<int>(answer.type)));
  }
  return writer;
}

Result<void> SftpWriter::open(const std::string& path, std::uint32_t mode) {
  m_path = path;
  NETLAB_TRY_VOID(send(sftp_wire::open_request(next_id(), path, mode)));
  NETLAB_TRY(auto answer, receive());
  if (answer.type == sftp_wire::k_status) {
    auto status = sftp_wire::parse_status(answer.body);
    return fail(fmt::format("open {}: {}", path,
                            status ? sftp_wire::status_text(status->code, status->message) : "a short answer"));
  }
  auto handle = answer.type == sftp_wire::k_handle ? sftp_wire::parse_handle(answer.body) : std::nullopt;
  if (!handle) {
    return fail(fmt::format("open {}: the server's answer holds no file handle", path));
  }
  m_handle = std::move(handle->second);
  m_offset = 0;
  return {};
}

Result<void> SftpWriter::write(std::string_view data) {
  while (m_waiting >= k_in_flight) {
    NETLAB_TRY_VOID(take_status("write"));
  }
  // The head goes out first and the data after it, without copying the data into a packet.
  NETLAB_TRY_VOID(send(sftp_wire::write_head(next_id(), m_handle, m_offset, data.size())));
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
  NETLAB_TRY_VOID(send(sftp_wire::close_request(next_id(), m_handle)));
  m_handle.clear();
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

Result<sftp_wire::Packet> SftpWriter::receive() {
  char buffer[4096];
  while (true) {
    auto taken = sftp_wire::take_packet(m_in);
    if (!taken) {
      m_broken = true;
      return fail(taken.error());
    }
    if (*taken) {
      return std::move(**taken);
    }
    int n = ssh_channel_read_timeout(m_channel.get(), buffer, sizeof buffer, 0, k_wait_ms);
    if (n <= 0) {
      m_broken = true;
      if (n < 0) {
        return fail(fmt::format("sftp: channel read failed: {}", last_error(m_session)));
      }
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
  auto status = answer.type == sftp_wire::k_status ? sftp_wire::parse_status(answer.body) : std::nullopt;
  if (!status) {
    return fail(fmt::format("{} {}: an unexpected answer (packet type {}) from the server", what, m_path,
                            static_cast<int>(answer.type)));
  }
  if (status->code != 0) {
    return fail(fmt::format("{} {}: {}", what, m_path, sftp_wire::status_text(status->code, status->message)));
  }
  return {};
}

} // namespace netlab::ssh
