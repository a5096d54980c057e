// The one Catch2 main for every unit test file.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>

int main(int argc, char* argv[]) {
  // As netlab's own main() does: a write to a peer that left is EPIPE, not the end of the process
  // (without this a test whose peer closes first dies silently with status 141).
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
