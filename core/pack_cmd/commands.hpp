// The pack and unpack commands as a whole, for cmd/: each config mirrors its command line, and
// each run function returns the exit status (0, or 1 when a --batch case failed) or a Failure
// carrying its exit code (2 for bad arguments).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/framefile/writer.hpp"
#include "core/util/result.hpp"

namespace netlab::pack {

struct PackConfig {
  // The FORMAT argument (with --frame: a FILE); absent when not given, since "" is a valid,
  // empty format.
  std::optional<std::string> format;
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

Result<int> run_pack(const PackConfig& config);

struct UnpackConfig {
  // The FORMAT argument (with --frame: a FILE); absent when not given, since "" is a valid,
  // empty format.
  std::optional<std::string> format;
  std::string input;
  bool hex = false;
  bool base64 = false;
  bool iter = false;
  bool json = false;
  bool batch = false;
  bool frame = false;
  std::string dir = ".";
  bool list = false;
  bool force = false;
};

Result<int> run_unpack(const UnpackConfig& config);

} // namespace netlab::pack
