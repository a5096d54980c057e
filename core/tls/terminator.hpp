// TLS in front of any plain-stream service, as stunnel would do it but in-process: each accepted
// connection first completes a TLS handshake (bounded by a deadline), then its plaintext is
// bridged through a socketpair to the inner service as a connection of its own that carries the
// real peer's name. The inner service needs no change; closing either side closes the other, so
// kill-on-disconnect and idle timeouts behave as over plain TCP.
#pragma once

#include <memory>

#include "core/loop/loop.hpp"
#include "core/net/server.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"

namespace netlab::tls {

// Wraps `inner` (owned). `context` is a server context; a connection whose handshake is not done
// within `handshake_timeout` is closed and never reaches `inner`.
std::unique_ptr<net::Service> make_terminating_service(loop::Loop& loop, std::shared_ptr<Context> context,
                                                       Seconds handshake_timeout, std::unique_ptr<net::Service> inner);

} // namespace netlab::tls
