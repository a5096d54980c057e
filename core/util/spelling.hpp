// "Did you mean": the nearest known word to a mistyped one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace netlab::spelling {

// Levenshtein distance: insertions, deletions and substitutions, one each.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `typed` within two edits, or one that starts with `typed` when that is
// at least three characters long (`ech` -> `echo-server`); empty when none is near enough to be a
// typo rather than a different word. Ties go to the first candidate.
std::string closest(std::string_view typed, const std::vector<std::string>& candidates);

} // namespace netlab::spelling
