// The glue between a byte stream and the frame codec: reads feed a frame::Decoder, frames come
// out one callback at a time, and frames go in as whole writes. No protocol logic lives here.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/frame/frame.hpp"
#include "core/loop/stream.hpp"

namespace netlab::net {

class FramedStream : public std::enable_shared_from_this<FramedStream> {
public:
  struct Callbacks {
    std::function<void(frame::Frame&& frame)> on_frame;
    // The peer broke protocol.md §1 (`message` says how, and where). The stream is still open,
    // so the owner can answer with an error frame before closing it.
    std::function<void(const std::string& message)> on_protocol_error;
    // The peer closed its sending side at a frame boundary. A frame cut off by EOF is a
    // protocol error instead.
    std::function<void()> on_end;
    // A read or write failed (reset, broken pipe); the owner should close.
    std::function<void(int status)> on_error;
    // Everything queued has been written: time to resume producers paused for back-pressure.
    std::function<void()> on_drain;
  };

  // Takes over `stream`'s data/end/error/drain callbacks; the stream's close callback is left
  // alone because the connection tracker owns it.
  static std::shared_ptr<FramedStream> create(std::shared_ptr<loop::Stream> stream, frame::Limits limits,
                                              Callbacks callbacks);
  ~FramedStream();
  FramedStream(const FramedStream&) = delete;
  FramedStream& operator=(const FramedStream&) = delete;

  // Starts (or resumes) delivering frames. Frames already decoded are delivered first.
  void resume();
  // Stops delivering frames and stops reading, so a peer that sends too much is held off by TCP
  // flow control rather than by our memory.
  void pause();
  bool paused() const { return m_paused; }

  // Queues one frame; returns a libuv error code if the stream cannot take it.
  int send(nlohmann::json header, std::string_view body = {});
  // Queues bytes that are already framed (or a head whose body follows in the next call).
  int send_raw(std::string&& bytes);
  std::size_t write_queue_size() const;

  // Stops reading, lets queued frames reach the peer, then closes; a peer that does not read
  // them within `limit_ms` is cut off.
  void close_after_flush(std::uint64_t limit_ms = 5000);
  void close();
  bool closed() const { return m_closed; }

  loop::Stream& stream() { return *m_stream; }
  const frame::Decoder& decoder() const { return m_decoder; }

private:
  FramedStream(std::shared_ptr<loop::Stream> stream, frame::Limits limits, Callbacks callbacks)
      : m_stream(std::move(stream)), m_decoder(limits), m_callbacks(std::move(callbacks)) {}
  void attach();
  void on_bytes(std::string_view data);
  void on_eof();
  // Hands out decoded frames, then any pending end or error, until paused or closed.
  void deliver();

  std::shared_ptr<loop::Stream> m_stream;
  frame::Decoder m_decoder;
  Callbacks m_callbacks;
  std::deque<frame::Frame> m_ready;
  std::string m_error;
  bool m_failed = false;
  bool m_eof = false;
  bool m_paused = true;
  bool m_closed = false;
  bool m_delivering = false;
};

} // namespace netlab::net
