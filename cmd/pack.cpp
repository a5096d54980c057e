// netlab pack: values to bytes by a Python struct format; also --calcsize, --explain, and frame files.
#include <memory>

#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/framefile/writer.hpp"
#include "core/pack_cmd/commands.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

// The core config, plus FORMAT as typed: whether it was given is CLI11's to tell ("" is a format).
struct Options {
  pack::PackConfig config;
  std::string format;
};

} // namespace

Runner setup_pack(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto& config = options->config;
  app.description("Pack values into bytes exactly as Python's struct.pack(FORMAT, VALUE...) does.\n"
                  "Values: integers (decimal, 0x, 0o, 0b), floats (1e-3, inf, nan), true/false for '?',\n"
                  "text with C escapes (\\n \\t \\\\ \\0 \\xNN) for c, s and p. Put '--' before negative\n"
                  "values that look like options (-inf). With --frame the arguments are FILEs.");
  auto* format = app.add_option("FORMAT", options->format, "struct format, e.g. '<IH8s' (with --frame: a FILE)");
  app.add_option("VALUE", config.values, "one value per format value (with --frame: more FILEs)");
  auto* hex = app.add_flag("--hex", config.hex, "write lowercase hex and a newline instead of raw bytes");
  auto* base64 = app.add_flag("--base64", config.base64, "write base64 and a newline instead of raw bytes");
  hex->excludes(base64);
  app.add_option("-o,--output", config.output, "write to FILE (created atomically) instead of stdout")
      ->type_name("FILE");
  auto* calcsize = app.add_flag("--calcsize", config.calcsize, "print the size of FORMAT, like struct.calcsize");
  auto* explain = app.add_flag("--explain", config.explain,
                               "print each field's offset, size, byte order and the padding before it");
  auto* iter = app.add_flag("--iter", config.iter,
                            "pack one record per stdin line, values separated by tabs (unpack --iter's output)");
  auto* batch = app.add_flag("--batch", config.batch,
                             "one case per stdin line: FORMAT<TAB>VALUE...; prints hex or 'error: MESSAGE' per line");
  auto* frame = app.add_flag("--frame", config.frame,
                             "write netlab frames: file frames for FILEs and folders, data frames for stdin");
  auto* chunk = as_size(app.add_option("--chunk-size", config.chunk_size, "largest frame body (with --frame)")
                            ->capture_default_str(),
                        1, framefile::k_max_chunk);
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
    auto given = options->config;
    if (format->count() > 0) {
      given.format = options->format;
    }
    return value_or_throw(pack::run_pack(given));
  };
}

} // namespace netlab::cmd
