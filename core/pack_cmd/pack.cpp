// netlab pack as a whole: values to bytes by a Python struct format (one record, stdin records,
// batch cases), --calcsize, --explain, and frame files.
#include "core/pack_cmd/commands.hpp"

#include <unistd.h>

#include <optional>
#include <span>

#include <fmt/format.h>

#include "core/framefile/atomic_file.hpp"
#include "core/framefile/writer.hpp"
#include "core/pack/codec.hpp"
#include "core/pack/encoding.hpp"
#include "core/pack/format.hpp"
#include "core/util/error.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"

namespace netlab::pack {
namespace {

constexpr std::size_t k_flush_at = 1 << 16;

Format parse_format_or_throw(const std::string& text) {
  auto format = parse_format(text);
  if (!format) {
    throw Error(fmt::format("{}: '{}'", format.error(), text));
  }
  return std::move(format).value();
}

// Where packed bytes go: stdout or, with -o, a file that appears only once complete.
class Sink {
public:
  Sink(const PackConfig& options, bool binary) {
    if (!options.output.empty() && options.output != "-") {
      m_cleanup.emplace();
      auto opened = m_file.open(options.output);
      if (!opened) {
        throw Error(opened.error());
      }
      m_fd = m_file.fd();
      m_name = options.output;
      return;
    }
    if (binary && ::isatty(STDOUT_FILENO) == 1) {
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
      auto done = m_file.commit(m_file.replacement_mode(framefile::default_file_mode()));
      if (!done) {
        throw Error(done.error());
      }
    }
  }

private:
  // An interrupted pack -o removes its temporary file.
  std::optional<framefile::RemoveTemporaryOnSignal> m_cleanup;
  framefile::AtomicFile m_file;
  int m_fd = STDOUT_FILENO;
  std::string m_name = "stdout";
};

Encoding encoding_of(const PackConfig& options) {
  return options.hex ? Encoding::hex : options.base64 ? Encoding::base64 : Encoding::raw;
}

// Appends one packed record in the chosen text form; text forms end each record with a newline.
void append_encoded(std::string& out, std::string_view bytes, Encoding encoding) {
  switch (encoding) {
  case Encoding::raw:
    out.append(bytes);
    return;
  case Encoding::hex:
    append_hex(out, bytes);
    break;
  case Encoding::base64:
    append_base64(out, bytes);
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

// Calls `handle` with each stdin line (without its newline) and its 1-based number.
template <typename Handle>
void for_each_line(Handle&& handle) {
  LineReader reader(STDIN_FILENO);
  std::string line;
  std::size_t number = 0;
  while (reader.next(line)) {
    handle(std::string_view(line), ++number);
  }
}

int run_calcsize(const PackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  fmt::print("{}\n", format.size);
  return k_exit_ok;
}

int run_explain(const PackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  std::string out = fmt::format("{:>8} {:>8}  {:<8} {:<6} {}\n", "offset", "size", "field", "order", "padding before");
  for (const auto& item : format.items) {
    std::string field = item.count == 1 && item.code != 's' && item.code != 'p'
                            ? std::string(1, item.code)
                            : fmt::format("{}{}", item.count, item.code);
    out += fmt::format("{:>8} {:>8}  {:<8} {:<6} {}\n", item.offset, item.byte_size(), field, order_name(format),
                       item.padding);
  }
  out += fmt::format("total {} bytes, {} values{}\n", format.size, format.values,
                     format.native ? " (native sizes and alignment; prefix '=' or '<' for none)" : "");
  fmt::print("{}", out);
  return k_exit_ok;
}

int run_values(const PackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  std::vector<std::string_view> values(options.values.begin(), options.values.end());
  std::string packed;
  auto done = pack_record(format, values, packed);
  if (!done) {
    throw Error(done.error());
  }
  auto encoding = encoding_of(options);
  Sink sink(options, encoding == Encoding::raw);
  std::string out;
  append_encoded(out, packed, encoding);
  sink.write(out);
  sink.commit();
  return k_exit_ok;
}

int run_iter(const PackConfig& options) {
  auto format = parse_format_or_throw(*options.format);
  auto encoding = encoding_of(options);
  Sink sink(options, encoding == Encoding::raw);
  std::string out;
  std::string record;
  std::vector<std::string_view> empty;
  for_each_line([&](std::string_view line, std::size_t number) {
    auto values = (format.values == 0 && line.empty()) ? empty : split_tabs(line);
    record.clear();
    auto done = pack_record(format, values, record);
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
int run_batch(const PackConfig& options) {
  Sink sink(options, false);
  std::string out;
  std::string record;
  bool failed = false;
  for_each_line([&](std::string_view line, std::size_t) {
    auto fields = split_tabs(line);
    auto format = parse_format(fields[0]);
    record.clear();
    Result<void> done =
        format ? pack_record(*format, std::span(fields).subspan(1), record) : Result<void>(format.failure());
    if (done) {
      append_hex(out, record);
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

int run_frame(const PackConfig& options) {
  std::vector<std::string> paths;
  if (options.format) {
    paths.push_back(*options.format);
  }
  paths.insert(paths.end(), options.values.begin(), options.values.end());
  Sink sink(options, true);
  framefile::WriterConfig writer_options;
  writer_options.chunk_size = options.chunk_size;
  framefile::Writer writer(sink.fd(), sink.name(), writer_options,
                           [](const std::string& message) { log::line(message); });
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

int pack_command(const PackConfig& options) {
  if (options.frame) {
    return run_frame(options);
  }
  if (options.batch) {
    return run_batch(options);
  }
  if (!options.format) {
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

Result<int> run_pack(const PackConfig& config) {
  return catch_failure([&] { return pack_command(config); });
}

} // namespace netlab::pack
