// Where jobs' inputs come from: ::: groups combined as a cross product, or records read from a
// descriptor (stdin) split on newlines or NULs, read as the pool asks so a slow producer
// (`find / | netlab pool-run ...`) starts jobs at once.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/loop/tcp.hpp"
#include "core/util/result.hpp"

namespace netlab::pool {

// Splits a byte stream into records at `separator`; a record may span any number of feeds.
class RecordSplitter {
public:
  explicit RecordSplitter(char separator) : m_separator(separator) {}

  template <typename Emit>
  void feed(std::string_view data, Emit&& emit) {
    while (!data.empty()) {
      auto end = data.find(m_separator);
      if (end == std::string_view::npos) {
        m_partial.append(data);
        return;
      }
      if (m_partial.empty()) {
        emit(std::string(data.substr(0, end)));
      } else {
        m_partial.append(data.substr(0, end));
        emit(std::move(m_partial));
        m_partial.clear();
      }
      data.remove_prefix(end + 1);
    }
  }

  // The last record, when the input did not end with a separator.
  template <typename Emit>
  void finish(Emit&& emit) {
    if (!m_partial.empty()) {
      emit(std::move(m_partial));
      m_partial.clear();
    }
  }

private:
  char m_separator;
  std::string m_partial;
};

// Every combination of the groups, first group slowest, as GNU parallel orders `::: a b ::: 1 2`
// (a 1, a 2, b 1, b 2). Combinations are made on demand: 1000 x 1000 inputs cost no memory.
// A group marked in `linked` (`:::+`) is paired with the group before it, item by item, up to
// the shorter one's length, and the pair varies as one: `::: a b :::+ 1 2 ::: x` gives a 1 x,
// b 2 x. `linked` is empty (none linked) or has one entry per group; the first entry is ignored.
class CrossProduct {
public:
  explicit CrossProduct(std::vector<std::vector<std::string>> groups, std::vector<bool> linked = {});

  // Total number of combinations (saturates at UINT64_MAX).
  std::uint64_t size() const { return m_size; }
  // Fills `out` with combination `index` (0-based), reusing its strings.
  void at(std::uint64_t index, std::vector<std::string>& out) const;

private:
  std::vector<std::vector<std::string>> m_groups;
  // Groups that vary together (a group and those linked to it), and how many items each pairs.
  std::vector<std::vector<std::size_t>> m_dimensions;
  std::vector<std::size_t> m_lengths;
  std::uint64_t m_size = 0;
};

// A source of job inputs, pulled by the scheduler.
class InputSource {
public:
  virtual ~InputSource() = default;
  // Takes the next input into `out`; false when none is ready now (or ever: see exhausted()).
  virtual bool next(std::vector<std::string>& out) = 0;
  // No input will ever come again.
  virtual bool exhausted() const = 0;
  // Total count once known, else 0 (for the progress ETA).
  virtual std::uint64_t known_total() const = 0;
  // Called on the loop when inputs became ready after next() returned false.
  void on_ready(std::function<void()> callback) { m_on_ready = std::move(callback); }
  // Stops reading: the pool is halting or interrupted.
  virtual void close() {}

protected:
  std::function<void()> m_on_ready;
};

class GroupSource : public InputSource {
public:
  explicit GroupSource(std::vector<std::vector<std::string>> groups, std::vector<bool> linked = {})
      : m_product(std::move(groups), std::move(linked)) {}
  bool next(std::vector<std::string>& out) override;
  bool exhausted() const override { return m_next >= m_product.size(); }
  std::uint64_t known_total() const override { return m_product.size(); }

private:
  CrossProduct m_product;
  std::uint64_t m_next = 0;
};

// Records from a descriptor. Pipes and sockets are read on the loop; files and terminals, which
// the loop cannot watch, are read with plain blocking reads when the pool needs an input.
class StreamSource : public InputSource {
public:
  static Result<std::unique_ptr<StreamSource>> open(loop::Loop& loop, int fd, char separator);
  ~StreamSource() override;

  bool next(std::vector<std::string>& out) override;
  bool exhausted() const override { return m_eof && m_records.empty(); }
  std::uint64_t known_total() const override { return m_eof ? m_taken + m_records.size() : 0; }
  void close() override;

private:
  StreamSource(int fd, char separator) : m_fd(fd), m_splitter(separator) {}
  void read_blocking();
  void add(std::string_view data);

  // Reading pauses while this many records wait, so a huge input is not held whole in memory.
  static constexpr std::size_t k_high_water = 4096;

  int m_fd;
  RecordSplitter m_splitter;
  std::shared_ptr<loop::Pipe> m_pipe;
  std::deque<std::string> m_records;
  std::uint64_t m_taken = 0;
  bool m_eof = false;
};

// Reads a whole file of records (`:::: FILE`); "-" is stdin.
Result<std::vector<std::string>> read_records_file(const std::string& path, char separator);

} // namespace netlab::pool
