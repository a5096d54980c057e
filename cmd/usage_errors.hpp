// CLI11's parse errors in netlab's words: what was wrong with which argument, in one line, with
// none of CLI11's internals ("At Most 1 required", "1 required TEXT missing", reversed lists).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace netlab::cmd {

struct UsageMessage {
  std::string text;
  // Whether "run 'netlab CMD --help'" helps: yes for a missing or unknown argument, no for a
  // value that says itself what is wrong with it.
  bool point_to_help = true;
};

// `error` is what CLI11 threw while parsing (not CLI::Success, CLI::CallForHelp); `app`, where
// known, is the (sub)command being parsed, whose option names a mistyped option is matched to.
UsageMessage describe_parse_error(const CLI::ParseError& error, const CLI::App* app = nullptr);

} // namespace netlab::cmd
