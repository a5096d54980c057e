// netlab ssh-exec: run a command on one or many hosts over SSH (libssh), with SFTP put/get.
#include <unistd.h>

#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/cli_spec.hpp"
#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/usage_errors.hpp"
#include "core/ssh/client_setup.hpp"
#include "core/ssh_exec/ssh_exec_command.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  CLI::App* app = nullptr;
  std::string unused_positional;
  std::vector<std::string> hosts_files;
  SshClientOptions ssh;
  std::string joblog;
  double timeout_s = 0;
  int jobs = 32;
  bool tag = false;
  bool json = false;
  bool pty = false;
  bool no_stdin = false;
  bool recursive = false;
  bool preserve = false;
  bool follow_links = false;
  bool no_progress = false;
  std::vector<std::pair<std::string, std::string>> puts;
  std::vector<std::pair<std::string, std::string>> gets;
};

int run_ssh_exec(const Options& options) {
  ssh::SshExecConfig config;
  // Everything after the options: HOST... then -- and the command (CLI11's prefix mode keeps
  // the words verbatim, `--` included, so the split is ours to make).
  std::vector<std::string> words = options.app->remaining();
  auto mark = std::find(words.begin(), words.end(), "--");
  for (auto it = words.begin(); it != mark; ++it) {
    if (it->starts_with("-") && !names_option(*options.app, *it)) {
      auto message = unknown_option(*options.app, *it);
      throw UsageError(message.text + (message.point_to_help ? "; run 'netlab ssh-exec --help'" : ""));
    }
    if (it->starts_with("-")) {
      throw UsageError(fmt::format("'{}': put options before the hosts (usage: netlab ssh-exec [OPTIONS] "
                                   "HOST... -- COMMAND...)",
                                   *it));
    }
    config.hosts.push_back(value_or_usage(ssh::parse_host(*it)));
  }
  if (mark != words.end()) {
    config.command.assign(mark + 1, words.end());
  }
  auto from_files = value_or_usage(ssh::read_hosts_files(options.hosts_files));
  config.hosts.insert(config.hosts.end(), from_files.begin(), from_files.end());

  auto settings = ssh_client_settings(options.ssh, is_tty(STDIN_FILENO));
  config.connect = std::move(settings.connect);
  config.credentials = std::move(settings.credentials);

  for (const auto& [from, to] : options.puts) {
    config.puts.push_back({from, to});
  }
  for (const auto& [from, to] : options.gets) {
    config.gets.push_back({from, to});
  }
  config.recursive = options.recursive;
  config.preserve = options.preserve;
  config.follow_links = options.follow_links;
  config.pty = options.pty;
  config.tag = options.tag;
  config.json = options.json;
  config.jobs = options.jobs;
  config.timeout = Seconds(options.timeout_s);
  config.joblog = options.joblog;
  bool stdin_tty = is_tty(STDIN_FILENO);
  // Like ssh: a pipe or file on stdin goes to the command; a terminal only with -t, in raw mode.
  config.forward_stdin = !options.no_stdin && (!stdin_tty || options.pty);
  config.raw_terminal = options.pty && stdin_tty;
  config.progress = !options.json && !options.no_progress && is_tty(STDERR_FILENO);
  return value_or_throw(ssh::run_ssh_exec(config));
}

} // namespace

Runner setup_ssh_exec(CLI::App& app) {
  auto options = std::make_shared<Options>();
  options->app = &app;
  // Hosts, `--` and the command are taken verbatim from the first word that is not an option;
  // the positional below never takes a value (its check always fails) and only names HOST in
  // --help and keeps `--` in this subcommand, as in pool-run.
  app.prefix_command();
  app.validate_positionals();
  complete_after_dashes(app, clidoc::Hint::remote);
  // Repeatable options take exactly their values per occurrence (allow_extra_args(false)), so
  // `-i KEY HOST` never swallows the host.
  app.add_option("HOST", options->unused_positional, "[user@]host[:port] ..., then -- and the command to run")
      ->check(CLI::Validator([](std::string&) { return std::string("taken verbatim"); }, "", "verbatim"));
  app.add_option("--hosts-file", options->hosts_files, "read more hosts from FILE, one per line, # comments")
      ->type_name("FILE")
      ->allow_extra_args(false);
  add_ssh_client_options(app, options->ssh);
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "stop waiting for a host's transfers after SECONDS, and for its command after "
                             "SECONDS more (exit 124)"),
              {.min = 0, .above = true});
  as_count(app.add_option("-j,--jobs", options->jobs, "connect to N hosts at once")->capture_default_str(), 1, 1024);
  app.add_flag("--tag", options->tag, "prefix each output line with 'HOST: ' (default: whole output per host)");
  app.add_flag(
      "--json", options->json,
      "one JSON object per host, as pool-run --json: host, exit, signal, stdout, stderr, duration, error, ...");
  app.add_option("--joblog", options->joblog, "write a line per host to FILE, in GNU parallel's joblog format")
      ->type_name("FILE");
  app.add_flag("-t,--tty", options->pty, "ask for a pseudo-terminal (for interactive programs)");
  app.add_flag("-n,--no-stdin", options->no_stdin, "do not send stdin to the command");
  app.add_option("--put", options->puts, "copy LOCAL to REMOTE on every host over SFTP, verified (repeatable)")
      ->type_name("LOCAL REMOTE")
      ->expected(1)
      ->allow_extra_args(false);
  app.add_option("--get", options->gets,
                 "copy REMOTE to LOCAL over SFTP, verified; with many hosts into LOCAL/HOST (repeatable)")
      ->type_name("REMOTE LOCAL")
      ->expected(1)
      ->allow_extra_args(false);
  app.add_flag("-r,--recursive", options->recursive, "--put/--get copy folders");
  app.add_flag("--preserve", options->preserve,
               "keep set-id and sticky bits and times in --put/--get (default: mode & 0777, and a download "
               "also applies the umask)");
  app.add_flag("--follow-links", options->follow_links,
               "-r --get copies what remote symbolic links point at (default: skips them with a note)");
  app.add_flag("--no-progress", options->no_progress,
               "no SFTP progress line (default: shown on stderr when it is a terminal)");
  set_example(app, "  netlab ssh-exec -i ~/.ssh/id_ed25519 web1 root@web2:2222 -- uptime\n"
                   "  netlab ssh-exec --hosts-file hosts -j 50 --tag -- 'df -h /'\n"
                   "  netlab ssh-exec -l deploy --joblog hosts.tsv --json web1 web2 db1 -- 'systemctl is-active app'\n"
                   "  netlab ssh-exec --put build.tar.gz /tmp/ --get /var/log/syslog logs db1 db2\n"
                   "  netlab ssh-exec -r --preserve --get /srv/app backup web1\n"
                   "Exit status: one host: the command's (255 connect, authentication or host key failure;\n"
                   "124 --timeout; 130, 143, 129, 131 after SIGINT, TERM, HUP, QUIT, which stop transfers and\n"
                   "the remote command first). Many hosts run on pool-run's scheduler: the number of hosts\n"
                   "that failed (101: more than 100; 255: none reachable), then a summary on stderr. A usage\n"
                   "error is 255, as in ssh and GNU parallel.");
  return [options] { return run_ssh_exec(*options); };
}

} // namespace netlab::cmd
