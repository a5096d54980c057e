// Unit tests for core/ssh/transfer_progress: the SFTP progress text.
#include <catch2/catch.hpp>

#include <string>

#include "core/ssh/transfer_progress.hpp"

TEST_CASE("TransferProgress::render: a bar and share of a known total, or bytes alone, never past 100%", "[ssh]") {
  using netlab::ssh::TransferProgress;
  CHECK(TransferProgress::render(50'000'000, 1, 200'000'000, 2.0) ==
        "sftp: [#####...............]  25% 50.0/200.0 MB, 25.0 MB/s, 1 file done");
  CHECK(TransferProgress::render(300, 0, 200, 1.0).find("100%") != std::string::npos); // never past 100
  CHECK(TransferProgress::render(3'000'000, 2, 0, 0) == "sftp: 3.0 MB, 2 files done");
}
