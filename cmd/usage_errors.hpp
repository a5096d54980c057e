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

// "unknown option 'WORD'", with " (did you mean --NAME?)" when `app` has a long option close to
// it (then point_to_help is false). A "=VALUE" in `word` is left out.
UsageMessage unknown_option(const CLI::App& app, const std::string& word);

// Whether `word` ("--name", "--name=VALUE", "-x", "-xVALUE") names one of `app`'s options.
bool names_option(const CLI::App& app, const std::string& word);

// The first word CLI11 left unparsed in `app` that looks like an option and is not one of its
// own, or empty. Words after `--` are arguments; in a prefix_command() app only the first word
// can be (the rest is the command, verbatim).
std::string first_unknown_option(const CLI::App& app);

} // namespace netlab::cmd
