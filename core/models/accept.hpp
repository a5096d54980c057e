// The classic models' listening socket, accepting at the descriptor limit, and admitting or
// refusing connections (access rules, --max-conns) with the refusals logged as core/net does.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/loop/endpoint.hpp"
#include "core/models/model.hpp"
#include "core/net/access.hpp"
#include "core/net/address.hpp"
#include "core/net/refusal_log.hpp"
#include "core/util/fd.hpp"
#include "core/util/result.hpp"

namespace netlab::models {

// A bound, listening TCP socket (non-blocking, close-on-exec) and the address it got.
struct ListenSocket {
  Fd fd;
  loop::Endpoint bound;
};
Result<ListenSocket> listen_on(const net::Address& address);

// Accepts one connection as a non-blocking socket, storing its address in `peer` if given; -1
// with errno as accept4 left it. At the descriptor limit (EMFILE/ENFILE) the connections waiting
// are reset, using a spare descriptor listen_on() set aside, so they cannot keep the listening
// socket readable and the model spinning.
int accept_client(int listen_fd, loop::Endpoint* peer = nullptr);

// Refuses an accepted connection with an RST and logs why (naming the latest peer, if known), at
// most once a second.
class Refuser {
public:
  void refuse(int fd, Stats& stats, const std::string& why, const std::string& peer = {});

private:
  std::mutex m_mutex;
  net::RefusalLog m_log;
};

// Applies --allow-from, --deny-from and --max-conns-per-ip to a connection just accepted, before
// any byte is read: the slot to keep for the connection's lifetime, or nullopt once refused.
std::optional<net::PeerSlot> admit(int fd, const loop::Endpoint& peer, ModelContext& context, Refuser& refuser);

// Logs an accept failure (EMFILE and the like) at most once a second.
void note_accept_error(int error);

// The readiness models' accept step: takes up to `max_batch` waiting connections (bounded, so a
// flood cannot starve the clients already in), refuses those the access rules or --max-conns
// turn away (`open` says how many the model holds now), and hands the rest to `adopt`, which owns
// the descriptor from then on. Returns whether anything was accepted.
bool accept_batch(ModelContext& context, Refuser& refuser, int max_batch, const std::function<std::size_t()>& open,
                  const std::function<void(int fd, net::PeerSlot slot)>& adopt);

} // namespace netlab::models
