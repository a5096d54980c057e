// netlab unpack: bytes to values by a Python struct format (one record, a stream, or batch cases); frame files.
#include <memory>

#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/registry.hpp"
#include "core/pack_cmd/commands.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

// The core config, plus FORMAT as typed: whether it was given is CLI11's to tell ("" is a format).
struct Options {
  pack::UnpackConfig config;
  std::string format;
};

} // namespace

Runner setup_unpack(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto& config = options->config;
  app.description("Unpack bytes into values exactly as Python's struct.unpack(FORMAT, BYTES) does.\n"
                  "Prints one value per line in pack's notation (bytes with C escapes), so the output\n"
                  "packs back to the same bytes; --iter prints one record per line, tab-separated.");
  auto* format =
      app.add_option("FORMAT", options->format, "struct format, e.g. '<IH8s' (with --frame: the input FILE)");
  app.add_option("FILE", config.input, "input file (default: stdin)");
  auto* hex = app.add_flag("--hex", config.hex, "input is hex text (whitespace ignored)");
  auto* base64 = app.add_flag("--base64", config.base64, "input is base64 text (whitespace ignored)");
  hex->excludes(base64);
  auto* iter = app.add_flag("--iter", config.iter, "unpack a stream of records, like struct.iter_unpack");
  auto* json = app.add_flag("--json", config.json, "print each record as a JSON array");
  auto* batch = app.add_flag("--batch", config.batch,
                             "one case per input line: FORMAT<TAB>HEX; prints values or 'error: MESSAGE'");
  auto* frame = app.add_flag("--frame", config.frame, "read netlab frames, verify them and write the files");
  auto* dir = app.add_option("-C,--directory", config.dir, "with --frame: write files under DIR")
                  ->type_name("DIR")
                  ->capture_default_str();
  auto* list = app.add_flag("--list", config.list, "with --frame: verify and print names and sizes only");
  auto* force = app.add_flag("--force", config.force, "with --frame: replace existing files");
  for (auto* frame_only : {dir, list, force}) {
    frame_only->needs(frame);
  }
  frame->excludes(hex)->excludes(base64)->excludes(iter)->excludes(json)->excludes(batch);
  batch->excludes(iter)->excludes(hex)->excludes(base64);
  set_example(app, "  netlab pack '<IH8s' 1 2 hi | netlab unpack '<IH8s'          # 1, 2, hi\\x00\\x00...\n"
                   "  netlab unpack --iter '!IHq8s' records.bin | head\n"
                   "  netlab unpack --frame dir.frames -C out/");
  return [options, format] {
    auto given = options->config;
    if (format->count() > 0) {
      given.format = options->format;
    }
    return value_or_throw(pack::run_unpack(given));
  };
}

} // namespace netlab::cmd
