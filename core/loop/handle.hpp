// Ownership of libuv handles.
//
// The rule, for every wrapper in core/loop:
//  - the uv_X_t is embedded by value and its `data` points at the wrapper;
//  - wrappers are neither copied nor moved (libuv holds their address);
//  - a wrapper keeps itself alive (a shared_ptr to itself) from a successful init until libuv's
//    close callback, so its memory is freed only there, never while libuv can still touch it;
//  - close() may be called any number of times; Loop::close_all() closes whatever is left;
//  - callbacks are dropped in the close callback, which breaks any cycle a callback made by
//    capturing its own handle.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <uv.h>

namespace netlab::loop {

class Loop;

class HandleBase {
public:
  HandleBase(const HandleBase&) = delete;
  HandleBase& operator=(const HandleBase&) = delete;
  HandleBase(HandleBase&&) = delete;
  HandleBase& operator=(HandleBase&&) = delete;
  virtual ~HandleBase() = default;

  // Starts closing; `on_close` callbacks run once libuv is done with the handle.
  void close();
  bool is_closing() const { return m_closing; }
  bool is_active() const { return m_initialised && !m_closing && uv_is_active(m_uv) != 0; }
  void on_close(std::function<void()> callback) { m_on_close = std::move(callback); }
  // An unreferenced handle does not keep the loop running.
  void unref() { uv_unref(m_uv); }
  void ref() { uv_ref(m_uv); }

  uv_handle_t* uv_handle() const { return m_uv; }
  uv_loop_t* uv_loop() const { return m_uv->loop; }

  // The wrapper behind a raw handle of a netlab loop (nullptr for foreign handles).
  static HandleBase* from(uv_handle_t* handle) { return static_cast<HandleBase*>(handle->data); }

protected:
  explicit HandleBase(uv_handle_t* handle) : m_uv(handle) {}

  // Called right after a successful uv_X_init: from here the handle owns itself until closed.
  void adopt(std::shared_ptr<HandleBase> self);

  // Drops every user callback; called when the handle has closed.
  virtual void clear_callbacks() {}
  // Called once close() has handed the handle to uv_close: libuv no longer waits on it from here.
  virtual void on_closing() {}

private:
  static void close_callback(uv_handle_t* handle);

  uv_handle_t* m_uv;
  std::shared_ptr<HandleBase> m_self;
  std::function<void()> m_on_close;
  bool m_initialised = false;
  bool m_closing = false;
};

// Typed base: embeds the libuv struct by value.
template <typename UvHandle>
class Handle : public HandleBase {
public:
  UvHandle* raw() { return &m_raw; }

protected:
  Handle() : HandleBase(reinterpret_cast<uv_handle_t*>(&m_raw)) {}
  UvHandle m_raw{};
};

// For a wrapper's create(): throws netlab::Error "create WHAT: reason" if uv_X_init returned
// `rc` != 0. Call it before adopt(), so a handle libuv refused is never kept alive or closed.
void check_init(int rc, std::string_view what);

} // namespace netlab::loop
