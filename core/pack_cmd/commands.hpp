// The pack and unpack commands as a whole, for cmd/: each config mirrors its command line, and
// each run function returns the exit status or throws netlab::Error subclasses.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/framefile/writer.hpp"

namespace netlab::pack {

struct PackConfig {
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

int run_pack(const PackConfig& config);

struct UnpackConfig {
  std::string format;
  bool has_format = false; // "" is a valid (empty) format, so presence is tracked apart
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

int run_unpack(const UnpackConfig& config);

} // namespace netlab::pack
