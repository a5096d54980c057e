#include "core/ssh/sftp_channel.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "core/ssh/sftp_wire.hpp"

namespace netlab::ssh {
namespace {

// A server that answers nothing for this long is treated as gone.
constexpr int k_wait_ms = 120 * 1000;

} // namespace

Result<std::unique_ptr<SftpChannel>> SftpChannel::start(ssh_session session) {
  ChannelPtr channel(ssh_channel_new(session));
  if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK ||
      ssh_channel_request_subsystem(channel.get(), "sftp") != SSH_OK) {
    return fail(fmt::format("start sftp: {}", last_error(session)));
  }
  std::unique_ptr<SftpChannel> sftp(new SftpChannel(session, std::move(channel)));
  NETLAB_TRY_VOID(sftp->send(sftp_wire::init_request()));
  NETLAB_TRY(auto answer, sftp->receive());
  auto version = answer.type == sftp_wire::k_version ? sftp_wire::parse_version(answer.body) : std::nullopt;
  if (!version) {
    return fail(fmt::format("start sftp: the server answered the version request with packet type {}",
                            static_cast<int>(answer.type)));
  }
  sftp->m_extensions = std::move(version->extensions);
  return sftp;
}

Result<void> SftpChannel::open_write(const std::string& path, std::uint32_t mode) {
  m_reading = false;
  return open(sftp_wire::open_request(next_id(), path, mode), path);
}

Result<void> SftpChannel::open_read(const std::string& path) {
  m_reading = true;
  return open(sftp_wire::open_read_request(next_id(), path), path);
}

Result<void> SftpChannel::open_new(const std::string& path, std::uint32_t mode) {
  m_reading = false;
  return open(sftp_wire::open_new_request(next_id(), path, mode), path);
}

bool SftpChannel::has_extension(std::string_view name) const {
  return std::any_of(m_extensions.begin(), m_extensions.end(), [name](const auto& e) { return e.first == name; });
}

Result<void> SftpChannel::simple(std::string bytes, const std::string& what) {
  NETLAB_TRY_VOID(request(bytes));
  return take_status(what);
}

Result<void> SftpChannel::remove(const std::string& path) {
  m_path = path;
  return simple(sftp_wire::remove_request(next_id(), path), "remove");
}

Result<void> SftpChannel::posix_rename(const std::string& from, const std::string& to) {
  m_path = from;
  return simple(sftp_wire::posix_rename_request(next_id(), from, to), "rename");
}

Result<void> SftpChannel::rename(const std::string& from, const std::string& to) {
  m_path = from;
  return simple(sftp_wire::rename_request(next_id(), from, to), "rename");
}

Result<std::vector<sftp_wire::NameEntry>> SftpChannel::list(const std::string& path) {
  m_path = path;
  NETLAB_TRY_VOID(request(sftp_wire::opendir_request(next_id(), path)));
  NETLAB_TRY(auto opened, take_oldest());
  if (opened.type == sftp_wire::k_status) {
    auto status = sftp_wire::parse_status(opened.body);
    return fail(fmt::format("list {}: {}", path,
                            status ? sftp_wire::status_text(status->code, status->message) : "a short answer"));
  }
  auto handle = opened.type == sftp_wire::k_handle ? sftp_wire::parse_handle(opened.body) : std::nullopt;
  if (!handle) {
    return fail(fmt::format("list {}: the server's answer holds no folder handle", path));
  }
  std::vector<sftp_wire::NameEntry> entries;
  Result<void> status;
  while (status) {
    NETLAB_TRY_VOID(request(sftp_wire::readdir_request(next_id(), handle->second)));
    NETLAB_TRY(auto answer, take_oldest());
    if (answer.type == sftp_wire::k_name) {
      auto names = sftp_wire::parse_names(answer.body);
      if (!names) {
        status = fail(fmt::format("list {}: a malformed name answer from the server", path));
      } else if (entries.size() + names->second.size() > k_max_entries) {
        status = fail(fmt::format("list {}: more than {} entries", path, k_max_entries));
      } else {
        std::move(names->second.begin(), names->second.end(), std::back_inserter(entries));
      }
      continue;
    }
    auto done = answer.type == sftp_wire::k_status ? sftp_wire::parse_status(answer.body) : std::nullopt;
    if (done && done->code == sftp_wire::k_eof) {
      break;
    }
    status =
        fail(fmt::format("list {}: {}", path,
                         done ? sftp_wire::status_text(done->code, done->message)
                              : fmt::format("an unexpected answer (packet type {})", static_cast<int>(answer.type))));
  }
  NETLAB_TRY_VOID(request(sftp_wire::close_request(next_id(), handle->second)));
  auto closed = take_status("close");
  NETLAB_TRY_VOID(status);
  NETLAB_TRY_VOID(closed);
  return entries;
}

Result<void> SftpChannel::open(std::string open_request, const std::string& path) {
  m_path = path;
  NETLAB_TRY_VOID(request(open_request));
  NETLAB_TRY(auto answer, take_oldest());
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

Result<void> SftpChannel::request_read(std::uint64_t offset, std::uint32_t length) {
  return request(sftp_wire::read_request(next_id(), m_handle, offset, length));
}

Result<std::string> SftpChannel::take_data() {
  NETLAB_TRY(auto answer, take_oldest());
  if (answer.type == sftp_wire::k_data) {
    if (auto data = sftp_wire::parse_data(answer.body)) {
      return std::move(data->second);
    }
  } else if (answer.type == sftp_wire::k_status) {
    if (auto status = sftp_wire::parse_status(answer.body)) {
      if (status->code == sftp_wire::k_eof) {
        return std::string();
      }
      return fail(fmt::format("read {}: {}", m_path, sftp_wire::status_text(status->code, status->message)));
    }
  }
  return fail(fmt::format("read {}: an unexpected answer (packet type {}) from the server", m_path,
                          static_cast<int>(answer.type)));
}

Result<void> SftpChannel::write(std::string_view data) {
  while (m_pending.size() >= k_in_flight) {
    NETLAB_TRY_VOID(take_status("write"));
  }
  // The head goes out first and the data after it, without copying the data into a packet.
  NETLAB_TRY_VOID(request(sftp_wire::write_head(next_id(), m_handle, m_offset, data.size())));
  NETLAB_TRY_VOID(send(data));
  m_offset += data.size();
  return {};
}

Result<void> SftpChannel::close() {
  Result<void> status;
  // Every answer is collected even after a failure, so that the channel stays in step. Reads
  // still unanswered were given up on: their data is dropped.
  while (!m_pending.empty()) {
    if (m_reading) {
      (void)take_data();
    } else if (auto taken = take_status("write"); !taken && status) {
      status = std::move(taken);
    }
    if (m_broken) {
      return status; // nothing more will come
    }
  }
  NETLAB_TRY_VOID(request(sftp_wire::close_request(next_id(), m_handle)));
  m_handle.clear();
  auto closed = take_status("close");
  return status ? closed : status;
}

Result<void> SftpChannel::send(std::string_view bytes) {
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

Result<sftp_wire::Packet> SftpChannel::receive() {
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

Result<void> SftpChannel::request(std::string_view bytes) {
  NETLAB_TRY_VOID(send(bytes));
  m_pending.push_back(m_last_id);
  return {};
}

Result<sftp_wire::Packet> SftpChannel::take_oldest() {
  auto id = m_pending.front();
  m_pending.pop_front();
  if (auto early = m_early.find(id); early != m_early.end()) {
    auto answer = std::move(early->second);
    m_early.erase(early);
    return answer;
  }
  while (true) {
    NETLAB_TRY(auto answer, receive());
    auto got = sftp_wire::answer_id(answer.body);
    if (got && *got == id) {
      return answer;
    }
    // At most one answer per outstanding request, so this holds at most k_in_flight packets.
    bool outstanding = got && std::find(m_pending.begin(), m_pending.end(), *got) != m_pending.end();
    if (!outstanding || m_early.count(*got) != 0) {
      m_broken = true;
      return fail(fmt::format("sftp {}: an answer to no request made (id {}); the channel is out of step", m_path,
                              got.value_or(0)));
    }
    m_early.emplace(*got, std::move(answer));
  }
}

Result<void> SftpChannel::take_status(const std::string& what) {
  NETLAB_TRY(auto answer, take_oldest());
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
