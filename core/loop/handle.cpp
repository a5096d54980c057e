// The shared close path for every wrapped libuv handle.
#include "core/loop/handle.hpp"

#include "core/util/error.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::loop {

void check_init(int rc, std::string_view what) {
  if (rc != 0) {
    throw Error(uv_message("create", what, rc));
  }
}

void HandleBase::adopt(std::shared_ptr<HandleBase> self) {
  m_uv->data = this;
  m_self = std::move(self);
  m_initialised = true;
}

void HandleBase::close() {
  if (!m_initialised || m_closing) {
    return;
  }
  m_closing = true;
  if (uv_is_closing(m_uv) == 0) {
    uv_close(m_uv, &HandleBase::close_callback);
  }
  on_closing();
}

void HandleBase::close_callback(uv_handle_t* handle) {
  auto* self = from(handle);
  // Holding the last reference here keeps the object alive until this function returns.
  auto keep = std::move(self->m_self);
  auto on_close = std::move(self->m_on_close);
  self->m_on_close = nullptr;
  self->clear_callbacks();
  if (on_close) {
    on_close();
  }
}

} // namespace netlab::loop
