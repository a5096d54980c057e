// netlab pack: values to bytes by a Python struct format; also --calcsize, --explain, and frame files.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/common.hpp"
#include "cmd/registry.hpp"
#include "core/framefile/atomic_file.hpp"
#include "core/util/fd_io.hpp"
#include "core/framefile/writer.hpp"
#include "core/pack/codec.hpp"
#include "core/pack/encoding.hpp"
#include "core/pack/format.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string format;
  bool has_format = false; // "" is a valid (empty) format, so presence is tracked apart
  std::vector<std::string> values;
  bool hex = false;
  bool base64 = false;
  std::string output;
  bool calcsize = false;
  bool explain = false;
  bool iter = false;
  bool batch = false;
  bool frame = false;
  std::size_t chunk_size = framefile::k_default_chunk;
};

constexpr std::size_t k_flush_at = 1 << 16;

pack::Format parse_format_or_throw(const std::string& text) {
  auto format = pack::parse_format(text);
  if (!format) {
    throw Error(fmt::format("{}: '{}'", format.error(), text));
  }
  return std::move(format).value();
}

// Where packed bytes go: stdout or, with -o, a file that appears only once complete.
class Sink {
public:
  Sink(const Options& options, bool binary) {
    if (!options.output.empty() && options.output != "-") {
      auto opened = m_file.open(options.output);
      if (!opened) {
        throw Error(opened.error());
      }
      m_fd = m_file.fd();
      m_name = options.output;
      return;
    }
    if (binary && is_tty(STDOUT_FILENO)) {
      throw UsageError("refusing to write binary to a terminal; use --hex, --base64, -o FILE or a pipe");
    }
  }

  int fd() const { return m_fd; }
  const std::string& name() const { return m_name; }

  void write(std::string_view data) {
    auto written = write_all(m_fd, data, m_name);
    if (!written) {
      throw Error(written.error());
    }
  }

  void commit() {
    if (m_file.is_open()) {
      auto done = m_file.commit(framefile::default_file_mode());
      if (!done) {
        throw Error(done.error());
      }
    }
  }

private:
  framefile::AtomicFile m_file;
  int m_fd = STDOUT_FILENO;
  std::string m_name = "stdout";
};

pack::Encoding encoding_of(const Options& options) {
  return options.hex ? pack::Encoding::hex : options.base64 ? pack::Encoding::base64 : pack::Encoding::raw;
}

// Appends one packed record in the chosen text form; text forms end each record with a newline.
void append_encoded(std::string& out, std::string_view bytes, pack::Encoding encoding) {
  switch (encoding) {
  case pack::Encoding::raw:
    out.append(bytes);
    return;
  case pack::Encoding::hex:
    pack::append_hex(out, bytes);
    break;
  case pack::Encoding::base64:
    pack::append_base64(out, bytes);
    break;
  }
  out.push_back('\n');
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    auto tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) {
      return fields;
    }
    line.remove_prefix(tab + 1);
  }
}

// Reads stdin line by line (without the newline), calling `handle` for each.
template <typename Handle>
void for_each_line(Handle&& handle) {
  std::string buffer(1 << 16, '\0');
  std::string pending;
  std::size_t number = 0;
  while (true) {
    auto got = read_full(STDIN_FILENO, buffer.data(), buffer.size(), "stdin");
    if (!got) {
      throw Error(got.error());
    }
    pending.append(buffer.data(), *got);
    std::size_t start = 0;
    while (true) {
      auto newline = pending.find('\n', start);
      if (newline == std::string::npos) {
        break;
      }
      handle(std::string_view(pending).substr(start, newline - start), ++number);
      start = newline + 1;
    }
    pending.erase(0, start);
    if (*got < buffer.size()) {
      break;
    }
  }
  if (!pending.empty()) {
    handle(std::string_view(pending), ++number);
  }
}

int run_calcsize(const Options& options) {
  auto format = parse_format_or_throw(options.format);
  fmt::print("{}\n", format.size);
  return k_exit_ok;
}

int run_explain(const Options& options) {
  auto format = parse_format_or_throw(options.format);
  std::string out = fmt::format("{:>8} {:>8}  {:<8} {:<6} {}\n", "offset", "size", "field", "order", "padding before");
  for (const auto& item : format.items) {
    std::string field = item.count == 1 && item.code != 's' && item.code != 'p'
                            ? std::string(1, item.code)
                            : fmt::format("{}{}", item.count, item.code);
    out += fmt::format("{:>8} {:>8}  {:<8} {:<6} {}\n", item.offset, item.byte_size(), field,
                       pack::order_name(format), item.padding);
  }
  out += fmt::format("total {} bytes, {} values{}\n", format.size, format.values,
                     format.native ? " (native sizes and alignment; prefix '=' or '<' for none)" : "");
  fmt::print("{}", out);
  return k_exit_ok;
}

int run_values(const Options& options) {
  auto format = parse_format_or_throw(options.format);
  std::vector<std::string_view> values(options.values.begin(), options.values.end());
  std::string packed;
  auto done = pack::pack_record(format, values, packed);
  if (!done) {
    throw Error(done.error());
  }
  auto encoding = encoding_of(options);
  Sink sink(options, encoding == pack::Encoding::raw);
  std::string out;
  append_encoded(out, packed, encoding);
  sink.write(out);
  sink.commit();
  return k_exit_ok;
}

int run_iter(const Options& options) {
  auto format = parse_format_or_throw(options.format);
  auto encoding = encoding_of(options);
  Sink sink(options, encoding == pack::Encoding::raw);
  std::string out;
  std::string record;
  std::vector<std::string_view> empty;
  for_each_line([&](std::string_view line, std::size_t number) {
    auto values = (format.values == 0 && line.empty()) ? empty : split_tabs(line);
    record.clear();
    auto done = pack::pack_record(format, values, record);
    if (!done) {
      throw Error(fmt::format("line {}: {}", number, done.error()));
    }
    append_encoded(out, record, encoding);
    if (out.size() >= k_flush_at) {
      sink.write(out);
      out.clear();
    }
  });
  sink.write(out);
  sink.commit();
  return k_exit_ok;
}

// One independent case per line, so a script (or the differential test) can pack thousands of
// formats in one process: "FORMAT<TAB>VALUE<TAB>..." in, hex or "error: MESSAGE" out.
int run_batch(const Options& options) {
  Sink sink(options, false);
  std::string out;
  std::string record;
  bool failed = false;
  for_each_line([&](std::string_view line, std::size_t) {
    auto fields = split_tabs(line);
    auto format = pack::parse_format(fields[0]);
    record.clear();
    Result<void> done = format ? pack::pack_record(*format, std::span(fields).subspan(1), record)
                               : Result<void>(format.failure());
    if (done) {
      pack::append_hex(out, record);
      out.push_back('\n');
    } else {
      failed = true;
      out += fmt::format("error: {}\n", done.error());
    }
    if (out.size() >= k_flush_at) {
      sink.write(out);
      out.clear();
    }
  });
  sink.write(out);
  sink.commit();
  return failed ? k_exit_failure : k_exit_ok;
}

int run_frame(const Options& options) {
  std::vector<std::string> paths;
  if (options.has_format) {
    paths.push_back(options.format);
  }
  paths.insert(paths.end(), options.values.begin(), options.values.end());
  Sink sink(options, true);
  framefile::WriterOptions writer_options;
  writer_options.chunk_size = options.chunk_size;
  framefile::Writer writer(sink.fd(), sink.name(), writer_options, [](const std::string& message) {
    log::line(message);
  });
  if (paths.empty()) {
    paths.emplace_back("-");
  }
  for (const auto& path : paths) {
    auto added = path == "-" ? writer.add_stream(STDIN_FILENO, "stdin") : writer.add_path(path);
    if (!added) {
      throw Error(added.error());
    }
  }
  sink.commit();
  return k_exit_ok;
}

int run_pack(const Options& options) {
  if (options.frame) {
    return run_frame(options);
  }
  if (options.batch) {
    return run_batch(options);
  }
  if (!options.has_format) {
    throw UsageError("missing FORMAT");
  }
  if (options.calcsize) {
    return run_calcsize(options);
  }
  if (options.explain) {
    return run_explain(options);
  }
  if (options.iter) {
    if (!options.values.empty()) {
      throw UsageError("--iter reads values from stdin; give no VALUE arguments");
    }
    return run_iter(options);
  }
  return run_values(options);
}

} // namespace

Runner setup_pack(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.description("Pack values into bytes exactly as Python's struct.pack(FORMAT, VALUE...) does.\n"
                  "Values: integers (decimal, 0x, 0o, 0b), floats (1e-3, inf, nan), true/false for '?',\n"
                  "text with C escapes (\\n \\t \\\\ \\0 \\xNN) for c, s and p. Put '--' before negative\n"
                  "values that look like options (-inf). With --frame the arguments are FILEs.");
  auto* format = app.add_option("FORMAT", options->format, "struct format, e.g. '<IH8s' (with --frame: a FILE)");
  app.add_option("VALUE", options->values, "one value per format value (with --frame: more FILEs)");
  auto* hex = app.add_flag("--hex", options->hex, "write lowercase hex and a newline instead of raw bytes");
  auto* base64 = app.add_flag("--base64", options->base64, "write base64 and a newline instead of raw bytes");
  hex->excludes(base64);
  app.add_option("-o,--output", options->output, "write to FILE (created atomically) instead of stdout")
      ->type_name("FILE");
  auto* calcsize = app.add_flag("--calcsize", options->calcsize, "print the size of FORMAT, like struct.calcsize");
  auto* explain = app.add_flag("--explain", options->explain,
                               "print each field's offset, size, byte order and the padding before it");
  auto* iter = app.add_flag("--iter", options->iter,
                            "pack one record per stdin line, values separated by tabs (unpack --iter's output)");
  auto* batch = app.add_flag("--batch", options->batch,
                             "one case per stdin line: FORMAT<TAB>VALUE...; prints hex or 'error: MESSAGE' per line");
  auto* frame = app.add_flag("--frame", options->frame,
                             "write netlab frames: file frames for FILEs and folders, data frames for stdin");
  auto* chunk = app.add_option("--chunk-size", options->chunk_size, "largest frame body in BYTES (with --frame)")
                    ->capture_default_str()
                    ->check(CLI::Range(std::size_t{1}, framefile::k_max_chunk))
                    ->type_name("BYTES");
  chunk->needs(frame);
  for (auto* mode : {calcsize, explain, iter, batch, frame}) {
    for (auto* other : {calcsize, explain, iter, batch, frame}) {
      if (mode != other) {
        mode->excludes(other);
      }
    }
  }
  frame->excludes(hex)->excludes(base64);
  set_example(app, "  netlab pack '<IH8s' 1 2 'hello' --hex          # 01000000020068656c6c6f000000\n"
                   "  netlab pack --explain 'bh'                     # 1 byte of padding before h\n"
                   "  netlab pack --frame dir/ -o dir.frames && netlab unpack --frame dir.frames -C out/");
  return [options, format] {
    options->has_format = format->count() > 0;
    return run_pack(*options);
  };
}

} // namespace netlab::cmd
