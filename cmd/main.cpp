// netlab's entry point: busybox dispatch, the CLI tree from the registry, and the one place
// where errors become exit codes.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/cli_spec.hpp"
#include "cmd/help_format.hpp"
#include "cmd/usage_errors.hpp"
#include "cmd/registry.hpp"
#include "core/util/error.hpp"
#include "core/util/links.hpp"
#include "core/util/spelling.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace {

using netlab::cmd::commands;

std::string suggestion_for(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& command : commands()) {
    names.emplace_back(command.name);
  }
  auto best = netlab::spelling::closest(name, names);
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

// Habits from nc, ssh and friends that CLI11 only sees as extra words: `echo-client localhost
// 8080` (nc's HOST PORT) and `exec-client ADDR ls -l` (ssh's command without --).
void add_habit_hint(netlab::cmd::UsageMessage& message, const std::vector<std::string>& args,
                    const std::string& active) {
  if (!message.text.starts_with("unexpected argument") && !message.text.starts_with("unknown option")) {
    return;
  }
  auto start = std::find(args.begin(), args.end(), active);
  for (auto it = start; it != args.end() && it + 1 != args.end(); ++it) {
    const auto& host = *it;
    const auto& port = *(it + 1);
    bool numeric = !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
    if (it != start && numeric && !host.empty() && host[0] != '-' && host.find(':') == std::string::npos &&
        message.text.find("'" + port + "'") != std::string::npos) {
      message.text += fmt::format(" (did you mean {}:{}?)", host, port);
      message.point_to_help = false;
      return;
    }
  }
  // Not after a "did you mean": the option meant is the better hint.
  if (active == "exec-client" && message.point_to_help && std::find(args.begin(), args.end(), "--") == args.end()) {
    message.text += " (a command and its options go after --: netlab exec-client ADDR -- ls -l)";
    message.point_to_help = false;
  }
}

// pool-run and ssh-exec count failed jobs or hosts in their status (1-100, 101 for more), as GNU
// parallel does, so a usage error there cannot be 2 (two failed jobs): like parallel and ssh,
// they report it as 255. Every other command uses 2.
int g_usage_status = netlab::k_exit_usage;

void set_active_command(const std::string& name) {
  netlab::log::set_command(name);
  g_usage_status = name == "pool-run" || name == "ssh-exec" ? netlab::k_exit_connect : netlab::k_exit_usage;
}

// --install-links / --uninstall-links: every registry name, pointing at this binary.
int manage_links(const std::string& dir, bool install) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    throw netlab::Error(fmt::format("find own path: {}", ec.message()));
  }
  std::vector<std::string> names;
  for (const auto& command : commands()) {
    names.emplace_back(command.name);
  }
  auto report = install ? netlab::links::install(dir, names, self.string(), "netlab")
                        : netlab::links::uninstall(dir, names, self.string(), "netlab");
  const char* option = install ? "install-links" : "uninstall-links";
  if (!report) {
    if (report.code() == ENOTDIR || report.code() == ENOENT) {
      throw netlab::UsageError(fmt::format("{}: {}", option, report.error()));
    }
    throw netlab::Error(fmt::format("{}: {}", option, report.error()));
  }
  if (install) {
    fmt::print("linked {} commands in {}\n", report->done.size(), dir);
  } else {
    fmt::print("removed {} links from {}\n", report->done.size(), dir);
    for (const auto& name : report->skipped) {
      netlab::log::line(fmt::format("uninstall-links: left {}/{}: not a link to netlab", dir, name));
    }
  }
  return netlab::k_exit_ok;
}

int run(int argc, char** argv) {
  // A peer closing early must cost an EPIPE on that write, never the whole process.
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv, argv + argc);
  // Busybox style: started as `echo-server`, behave as `netlab echo-server`.
  auto invoked = std::filesystem::path(args[0]).filename().string();
  if (netlab::cmd::find_command(invoked) != nullptr) {
    args.insert(args.begin() + 1, invoked);
  }
  // `netlab help [COMMAND]` is `netlab [COMMAND] --help`, as git and go read it.
  if (args.size() > 1 && args[1] == "help" && netlab::cmd::find_command("help") == nullptr) {
    args.erase(args.begin() + 1);
    args.insert(args.begin() + std::min<std::size_t>(args.size(), 2), "--help");
    if (args.size() > 3) {
      throw netlab::UsageError("help takes one command name; run 'netlab --help' for the list");
    }
  }
  if (args.size() > 1 && !args[1].empty() && args[1][0] != '-' && netlab::cmd::find_command(args[1]) == nullptr) {
    throw netlab::UsageError(
        fmt::format("unknown command '{}'{}; run 'netlab --help' for the list", args[1], suggestion_for(args[1])));
  }

  CLI::App app{"netlab: network and concurrency programming from the terminal"};
  app.name("netlab");
  // Before any subcommand is added: they take the root's formatter.
  auto formatter = netlab::cmd::make_help_formatter();
  formatter->label("SUBCOMMAND", "COMMAND");
  formatter->label("Positionals", "Arguments");
  app.formatter(formatter);
  // Before any subcommand is added too: each takes the root's help flag and its words.
  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("-V,--version", std::string("netlab ") + NETLAB_VERSION, "print the version and exit");
  std::string links_dir;
  std::string unlinks_dir;
  bool man = false;
  // Hidden: the build generates the man page from the same tree as --help.
  app.add_flag("--man", man, "print the man page (roff)")->group("");
  // Hidden: the build installs a bash completion link for each name it prints.
  bool list_commands = false;
  app.add_flag("--commands", list_commands, "print the command names, one per line")->group("");
  app.add_option("--install-links", links_dir, "create a symlink per subcommand in DIR (busybox style)")
      ->type_name("DIR");
  app.add_option("--uninstall-links", unlinks_dir, "remove the symlinks --install-links made in DIR (others stay)")
      ->type_name("DIR");
  app.require_subcommand(0, 1);
  app.footer("Run 'netlab COMMAND --help' for a command's options and an example.\n"
             "Exit codes: 0 ok, 1 failure, 2 usage, 124 timeout, 130 interrupted, 255 connect/auth.");

  // Only the command being run needs its options: building all of them is a good part of the
  // start-up of a short command (`exec-client ADDR -- true`). The root's help, --man and the
  // completions describe every command, so without a command named first (or for `completions`)
  // all are built.
  const auto* named = args.size() > 1 ? netlab::cmd::find_command(args[1]) : nullptr;
  bool build_all = named == nullptr || named->name == "completions";
  std::map<std::string, netlab::cmd::Runner, std::less<>> runners;
  for (const auto& command : commands()) {
    auto* sub = app.add_subcommand(std::string(command.name), std::string(command.summary));
    sub->group("Commands");
    if (build_all || &command == named) {
      runners.emplace(command.name, command.setup(*sub));
    }
  }

  std::vector<const char*> cargv;
  for (const auto& arg : args) {
    cargv.push_back(arg.c_str());
  }
  std::string active = "";
  try {
    app.parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::Success& e) {
    // --help and --version through stdio's buffer, not std::endl's early flush, so that
    // finish_output() learns why a write failed.
    std::ostringstream text;
    int code = app.exit(e, text, std::cerr);
    std::fputs(text.str().c_str(), stdout);
    return code;
  } catch (const CLI::ParseError& e) {
    for (const auto* sub : app.get_subcommands()) {
      active = sub->get_name();
    }
    if (active.empty() && args.size() > 1 && netlab::cmd::find_command(args[1]) != nullptr) {
      active = args[1];
    }
    set_active_command(active);
    const CLI::App* failed = active.empty() ? &app : app.get_subcommand(active);
    // A mistyped option of the command, left over there, explains a word the root did not
    // expect after it (`exec-client 80 --tokenfile t -- ls`: CLI11 names only `ls`).
    auto stray = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && failed != &app
                     ? netlab::cmd::first_unknown_option(*failed)
                     : std::string();
    auto message =
        stray.empty() ? netlab::cmd::describe_parse_error(e, failed) : netlab::cmd::unknown_option(*failed, stray);
    add_habit_hint(message, args, active);
    if (message.point_to_help) {
      message.text += fmt::format("; run 'netlab {}--help'", active.empty() ? "" : active + " ");
    }
    netlab::log::line(message.text);
    return g_usage_status;
  }

  // For the tests that keep README and --help examples true: parse, then stop before running.
  if (const char* parse_only = std::getenv("NETLAB_PARSE_ONLY"); parse_only != nullptr && *parse_only == '1') {
    return netlab::k_exit_ok;
  }
  if (list_commands) {
    for (const auto& command : commands()) {
      fmt::print("{}\n", command.name);
    }
    return netlab::k_exit_ok;
  }
  if (man) {
    fmt::print("{}", netlab::clidoc::man_page(netlab::cmd::describe_cli(app)));
    return netlab::k_exit_ok;
  }
  if (!links_dir.empty()) {
    return manage_links(links_dir, true);
  }
  if (!unlinks_dir.empty()) {
    return manage_links(unlinks_dir, false);
  }
  for (auto* sub : app.get_subcommands()) {
    set_active_command(sub->get_name());
    return runners.at(sub->get_name())();
  }
  fmt::print(stderr, "{}", app.help());
  return netlab::k_exit_usage;
}

} // namespace

// Whether stdout is a pipe whose reader has gone (`netlab ... | head`): poll reports POLLERR on
// the write end of such a pipe. SIGPIPE is ignored so a peer cannot kill a server, which turns
// this case into EPIPE errors wherever the output was written.
bool stdout_reader_left() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    return false;
  }
  pollfd entry{STDOUT_FILENO, 0, 0};
  return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLERR) != 0;
}

// A command that stops because its reader left ends as `seq | head` does: quietly, status 141
// (128 + SIGPIPE), whatever error the failed write turned into on the way up.
int finish_failure(const std::string& message, int code) {
  if (stdout_reader_left()) {
    return netlab::k_exit_broken_pipe;
  }
  netlab::log::line(message);
  return code;
}

// Standard output that could not be written (`err`, an errno value): quietly 141 when its
// reader left, else one line and 1.
int stdout_write_failed(int err) {
  if (err == EPIPE || stdout_reader_left()) {
    return netlab::k_exit_broken_pipe;
  }
  netlab::log::line(netlab::sys_message("write", "standard output", err != 0 ? err : EIO));
  return netlab::k_exit_failure;
}

// As coreutils' close_stdout: what is still buffered (--help, --man, --version, short output) is
// written before the status is decided, so a success whose output was lost is not reported as
// one (`netlab --help > /dev/full` said nothing and exited 0).
int finish_output(int code) {
  errno = 0;
  std::cout.flush(); // synced with stdio: this is the fflush(stdout) that fails, if one does
  bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
  int err = errno;
  if (!failed || code != netlab::k_exit_ok) {
    return code;
  }
  return stdout_write_failed(err);
}

// A standard descriptor netlab was started without (`<&-`, `2>&-`) would be handed to the next
// open, pipe or socket: output meant for stderr could land in a connection, and libuv's internal
// pipe there makes the child of every fork() abort (its at-fork handler refuses to close a
// descriptor below 3), which killed pool-run's watchdog. As glibc does for set-user-ID programs,
// each missing one is held by /dev/null opened the wrong way, so reading stdin or writing
// stdout/stderr still fails with EBADF as on a closed descriptor.
void hold_standard_descriptors() {
  for (int fd = 0; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
      continue;
    }
    // The lower ones are open by now, so open() returns `fd` itself.
    int held = ::open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
    if (held >= 0 && held != fd) {
      ::close(held);
    }
  }
}

int main(int argc, char** argv) {
  hold_standard_descriptors();
  try {
    return finish_output(run(argc, argv));
  } catch (const netlab::Error& e) {
    if (e.exit_code() == netlab::k_exit_usage) {
      // Nothing was written yet: the mistake is reported whatever became of stdout.
      netlab::log::line(e.what());
      return g_usage_status;
    }
    return finish_failure(e.what(), e.exit_code());
  } catch (const std::system_error& e) {
    // fmt::print's "cannot write to file", from a command printing to stdout.
    if (std::ferror(stdout) != 0) {
      return stdout_write_failed(e.code().value());
    }
    return finish_failure(e.what(), netlab::k_exit_failure);
  } catch (const std::exception& e) {
    return finish_failure(e.what(), netlab::k_exit_failure);
  }
}
