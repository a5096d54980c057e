// netlab unpack as a whole: bytes to values by a Python struct format (one record, a stream,
// batch cases), and frame files.
#include "core/pack_cmd/commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/framefile/reader.hpp"
#include "core/pack/codec.hpp"
#include "core/pack/encoding.hpp"
#include "core/pack/format.hpp"
#include "core/util/error.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pack {
namespace {

constexpr std::size_t k_read_size = 1 << 20;
constexpr std::size_t k_flush_at = 1 << 16;

// The input descriptor: FILE, or stdin for none or "-".
class Input {
public:
  explicit Input(const std::string& path) {
    if (path.empty() || path == "-") {
      return;
    }
    m_file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!m_file) {
      throw Error(sys_message("", path, errno));
    }
    m_name = path;
  }

  int fd() const { return m_file ? m_file.get() : STDIN_FILENO; }
  const std::string& name() const { return m_name; }

private:
  Fd m_file; // none for stdin, which stays open
  std::string m_name = "stdin";
};

// Reads the input and yields its bytes, decoding hex or base64 text on the way.
class ByteSource {
public:
  ByteSource(const Input& input, Encoding encoding)
      : m_input(input), m_encoding(encoding), m_decoder(encoding), m_buffer(k_read_size, '\0') {}

  // Appends the next piece to `out`; returns false at end of input.
  bool next(std::string& out) {
    auto got = read_full(m_input.fd(), m_buffer.data(), m_buffer.size(), m_input.name());
    if (!got) {
      throw Error(got.error());
    }
    std::string_view piece(m_buffer.data(), *got);
    if (m_encoding == Encoding::raw) {
      out.append(piece);
    } else {
      auto decoded = m_decoder.feed(piece, out);
      if (!decoded) {
        throw Error(fmt::format("{}: {}", m_input.name(), decoded.error()));
      }
      if (*got < m_buffer.size()) {
        auto finished = m_decoder.finish();
        if (!finished) {
          throw Error(fmt::format("{}: {}", m_input.name(), finished.error()));
        }
      }
    }
    return *got == m_buffer.size();
  }

private:
  const Input& m_input;
  Encoding m_encoding;
  TextDecoder m_decoder;
  std::string m_buffer;
};

Format parse_format_or_throw(const std::string& text) {
  auto format = parse_format(text);
  if (!format) {
    throw Error(fmt::format("{}: '{}'", format.error(), text));
  }
  auto unpackable = check_unpackable(*format);
  if (!unpackable) {
    throw Error(unpackable.error());
  }
  return std::move(format).value();
}

void append_json_value(std::string& out, const Value& value) {
  if (const auto* real = std::get_if<double>(&value); real && !std::isfinite(*real)) {
    // JSON has no inf or nan; strings in pack's notation keep the value and stay valid JSON.
    out.push_back('"');
    append_float(out, *real);
    out.push_back('"');
    return;
  }
  if (const auto* bytes = std::get_if<Bytes>(&value)) {
    std::string text;
    append_escaped(text, bytes->data);
    out += nlohmann::json(text).dump();
    return;
  }
  append_value(out, value);
}

// One record as text: values on lines of their own, tab-separated on one line, or a JSON array.
void append_record(std::string& out, const std::vector<Value>& values, bool json, char separator) {
  if (json) {
    out.push_back('[');
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) {
        out.push_back(',');
      }
      append_json_value(out, values[i]);
    }
    out += "]\n";
    return;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(separator);
    }
    append_value(out, values[i]);
  }
  if (separator == '\t' || !values.empty()) {
    out.push_back('\n');
  }
}

void flush(std::string& out) {
  auto written = write_all(STDOUT_FILENO, out, "stdout");
  if (!written) {
    throw Error(written.error());
  }
  out.clear();
}

Encoding encoding_of(const UnpackConfig& options) {
  return options.hex ? Encoding::hex : options.base64 ? Encoding::base64 : Encoding::raw;
}

int run_single(const UnpackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  Input input(options.input);
  ByteSource source(input, encoding_of(options));
  std::string bytes;
  // Stop reading once the input is known to be too long: a huge file for a small format
  // costs one read, not its size in memory.
  while (source.next(bytes) && bytes.size() <= format.size) {
  }
  if (bytes.size() != format.size) {
    // Too long: count the rest without keeping it, so the message can say how much there was.
    std::uint64_t total = bytes.size();
    std::string rest;
    while (bytes.size() > format.size && source.next(rest)) {
      total += rest.size();
      rest.clear();
    }
    throw Error(fmt::format("unpack requires a buffer of {} bytes (got {})", format.size, total));
  }
  std::vector<Value> values;
  unpack_record(format, bytes, values);
  std::string out;
  append_record(out, values, options.json, '\n');
  flush(out);
  return k_exit_ok;
}

int run_iter(const UnpackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  if (format.size == 0) {
    throw Error("cannot iteratively unpack with a struct of length 0");
  }
  Input input(options.input);
  ByteSource source(input, encoding_of(options));
  std::string pending;
  std::string out;
  std::vector<Value> values;
  std::uint64_t consumed = 0;
  bool more = true;
  while (more) {
    more = source.next(pending);
    std::size_t at = 0;
    for (; at + format.size <= pending.size(); at += format.size) {
      unpack_record(format, std::string_view(pending).substr(at, format.size), values);
      append_record(out, values, options.json, '\t');
      if (out.size() >= k_flush_at) {
        flush(out);
      }
    }
    consumed += at;
    pending.erase(0, at);
  }
  flush(out);
  if (!pending.empty()) {
    throw Error(fmt::format("iterative unpacking requires a buffer of a multiple of {} bytes: "
                            "{} bytes left over at offset {}",
                            format.size, pending.size(), consumed));
  }
  return k_exit_ok;
}

// One independent case per line: "FORMAT<TAB>HEX" in, tab-separated values (or a JSON array
// with --json) or "error: MESSAGE" out. Lines are answered as they arrive, so memory stays at one
// read (1 MiB) plus the longest line, whatever the size of the input.
int run_batch(const UnpackConfig& options) {
  Input input(options.input);
  ByteSource source(input, Encoding::raw);
  std::string out;
  std::vector<Value> values;
  bool failed = false;
  auto answer = [&](std::string_view line) {
    auto tab = line.find('\t');
    auto format = parse_format(line.substr(0, tab));
    std::string bytes;
    Result<void> done = format ? check_unpackable(*format) : Result<void>(format.failure());
    if (done) {
      TextDecoder decoder(Encoding::hex);
      done = decoder.feed(tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1), bytes);
      if (done) {
        done = decoder.finish();
      }
    }
    if (done && bytes.size() != format->size) {
      done = fail(fmt::format("unpack requires a buffer of {} bytes", format->size));
    }
    if (done) {
      unpack_record(*format, bytes, values);
      append_record(out, values, options.json, '\t');
    } else {
      failed = true;
      out += fmt::format("error: {}\n", done.error());
    }
    if (out.size() >= k_flush_at) {
      flush(out);
    }
  };
  std::string pending;
  for (bool more = true; more;) {
    more = source.next(pending);
    std::size_t start = 0;
    for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n', start)) {
      answer(std::string_view(pending).substr(start, newline - start));
      start = newline + 1;
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) {
    answer(pending);
  }
  flush(out);
  return failed ? k_exit_failure : k_exit_ok;
}

int run_frame(const UnpackConfig& options) {
  // With --frame the first positional is the input file, not a format.
  Input input(options.format.value_or(""));
  framefile::ReaderConfig reader_options;
  reader_options.dir = options.dir;
  reader_options.list = options.list;
  reader_options.force = options.force;
  framefile::ReaderEvents events;
  std::string out;
  events.listed = [&out](const std::string& name, std::uint64_t size) {
    if (name.empty()) {
      out += fmt::format("(data)\t{}\n", size);
    } else {
      append_escaped(out, name);
      out += fmt::format("\t{}\n", size);
    }
    if (out.size() >= k_flush_at) {
      flush(out);
    }
  };
  events.warn = [](const std::string& message) { log::line(message); };
  auto result = framefile::read_frames(input.fd(), input.name(), reader_options, events);
  flush(out);
  if (!result) {
    throw Error(fmt::format("{}: {}", input.name(), result.error()));
  }
  return k_exit_ok;
}

int unpack_command(const UnpackConfig& options) {
  if (options.frame) {
    if (!options.input.empty()) {
      throw UsageError("--frame takes at most one input FILE");
    }
    return run_frame(options);
  }
  if (options.batch) {
    if (options.format) {
      // The batch input file, if any, lands in the FORMAT slot.
      UnpackConfig shifted = options;
      shifted.input = *options.format;
      return run_batch(shifted);
    }
    return run_batch(options);
  }
  if (!options.format) {
    throw UsageError("missing FORMAT");
  }
  return options.iter ? run_iter(options) : run_single(options);
}

} // namespace

Result<int> run_unpack(const UnpackConfig& config) {
  return catch_failure([&] { return unpack_command(config); });
}

} // namespace netlab::pack
