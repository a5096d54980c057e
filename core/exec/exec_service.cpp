// exec-server's per-loop services: one kind of session per connection (framed_session.cpp or
// legacy_session.cpp), all of a loop's sessions closed when the server stops.
#include "core/exec/exec_service.hpp"

#include "core/exec/session.hpp"

namespace netlab::exec {
namespace {

class ExecService : public net::Service {
public:
  ExecService(loop::Loop& loop, const ExecServiceConfig& options, bool legacy)
      : m_shared(std::make_unique<detail::ServiceState>(loop, options)), m_legacy(legacy) {}
  ~ExecService() override { on_stop(); }

  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    std::shared_ptr<detail::ServerSession> session;
    if (m_legacy) {
      session = detail::make_legacy_session(*m_shared, connection);
    } else {
      session = detail::make_framed_session(*m_shared, connection);
    }
    m_shared->sessions.emplace(session.get(), session);
    session->start();
  }

  void on_stop() override {
    // Closing a session removes it from the map, so walk a copy.
    auto sessions = m_shared->sessions;
    for (auto& [key, session] : sessions) {
      session->close();
    }
    // Anything a command left behind that its tree could not claim goes too.
    m_shared->reaper->kill_all();
  }

private:
  std::unique_ptr<detail::ServiceState> m_shared;
  bool m_legacy;
};

} // namespace

std::string legacy_length_prefix(std::uint32_t length) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  }
  return out;
}

std::unique_ptr<net::Service> make_exec_service(loop::Loop& loop, const ExecServiceConfig& options) {
  return std::make_unique<ExecService>(loop, options, false);
}

std::unique_ptr<net::Service> make_legacy_service(loop::Loop& loop, const ExecServiceConfig& options) {
  return std::make_unique<ExecService>(loop, options, true);
}

} // namespace netlab::exec
