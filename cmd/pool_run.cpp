// netlab pool-run: run many commands with a bounded pool, like xargs -P or GNU parallel.
#include <unistd.h>

#include <algorithm>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/cli_spec.hpp"
#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/usage_errors.hpp"
#include "core/pool/command_line.hpp"
#include "core/pool/pool.hpp"
#include "core/pool/template.hpp"
#include "core/pool/remote_executor.hpp"
#include "core/ssh/client_setup.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  int jobs = -1;
  bool keep_order = false;
  bool tag = false;
  double timeout_s = 0;
  unsigned retries = 0;
  std::string halt = "never";
  std::string joblog;
  bool json = false;
  bool progress = false;
  bool no_progress = false;
  bool shell = false;
  bool dry_run = false;
  bool null = false;
  // --ssh: run the jobs on these hosts instead of locally.
  std::vector<std::string> ssh_hosts;
  std::vector<std::string> ssh_hosts_files;
  SshClientOptions ssh;
  CLI::App* app = nullptr;
  std::string unused_positional;
};

bool wants_ssh(const Options& options) { return !options.ssh_hosts.empty() || !options.ssh_hosts_files.empty(); }

// The executor for --ssh, with every host resolved and every key read before the pool starts.
pool::SshPoolConfig ssh_pool_options(const Options& options, unsigned per_host, bool shell, bool may_prompt) {
  std::vector<ssh::HostSpec> hosts;
  for (const auto& text : options.ssh_hosts) {
    hosts.push_back(value_or_usage(ssh::parse_host(text), "--ssh"));
  }
  auto from_files = value_or_usage(ssh::read_hosts_files(options.ssh_hosts_files));
  hosts.insert(hosts.end(), from_files.begin(), from_files.end());
  if (hosts.empty()) {
    throw UsageError("--ssh-hosts-file: no hosts in the file");
  }
  auto settings = ssh_client_settings(options.ssh, may_prompt);
  pool::SshPoolConfig result;
  result.targets = value_or_usage(ssh::prepare_targets(hosts, settings.connect, settings.credentials));
  result.connect = std::move(settings.connect);
  result.per_host = per_host;
  result.shell = shell;
  return result;
}

int run_pool_run(const Options& options) {
  pool::PoolConfig config;
  char separator = options.null ? '\0' : '\n';
  // Everything after the options: COMMAND [ARGS...] then ::: and :::: groups. prefix_command()
  // stops at the first word it does not know, so a mistyped option arrives as the command: one
  // close to an option, or followed by a `--`, is named as the unknown option it is.
  auto words = options.app->remaining();
  if (auto stray = first_unknown_option(*options.app); !stray.empty()) {
    auto message = unknown_option(*options.app, stray);
    if (!message.point_to_help || std::find(words.begin(), words.end(), "--") != words.end()) {
      throw UsageError(message.text + (message.point_to_help ? "; run 'netlab pool-run --help'" : ""));
    }
  }
  auto line = value_or_throw(pool::parse_command_line(std::move(words), separator));
  config.command = std::move(line.command);
  config.groups = std::move(line.groups);
  config.linked = std::move(line.linked);
  auto halt = value_or_usage(pool::HaltPolicy::parse(options.halt));
  config.jobs = pool::effective_jobs(options.jobs, pool::job_cap());
  config.shell = options.shell;
  if (options.shell) {
    value_or_usage(pool::check_shell_template(config.command));
  }
  config.separator = separator;
  config.keep_order = options.keep_order;
  config.tag = options.tag;
  config.json = options.json;
  config.timeout = Seconds(options.timeout_s);
  config.retries = options.retries;
  config.halt = halt;
  config.joblog = options.joblog;
  config.progress = options.progress || (!options.no_progress && is_tty(STDERR_FILENO) && !options.dry_run);
  if (!wants_ssh(options)) {
    for (const char* name :
         {"--identity", "--known-hosts", "--accept-new", "--no-agent", "--passphrase-env", "--password-env",
          "--password-file", "--user", "--port", "--config", "--connect-timeout"}) {
      if (options.app->count(name) > 0) {
        throw UsageError(fmt::format("{} applies only with --ssh or --ssh-hosts-file", name));
      }
    }
  }
  std::optional<ssh::Library> ssh_library;
  if (options.dry_run) {
    bool shell = options.shell;
    config.executor = [shell](loop::Loop&) { return pool::make_dry_run_executor(shell); };
  } else if (wants_ssh(options)) {
    // -j is per host; ssh_getpass reads stdin, so it may prompt only when inputs come from :::.
    bool may_prompt = is_tty(STDIN_FILENO) && !config.groups.empty();
    auto remote = ssh_pool_options(options, config.jobs, options.shell, may_prompt);
    config.jobs = std::min<unsigned>(pool::k_max_jobs, config.jobs * static_cast<unsigned>(remote.targets.size()));
    ssh_library.emplace();
    config.executor = [remote](loop::Loop& loop) { return pool::make_ssh_executor(loop, remote); };
  }

  auto result = value_or_throw(pool::run_pool(config));
  return value_or_throw(result.status());
}

} // namespace

Runner setup_pool_run(CLI::App& app) {
  auto options = std::make_shared<Options>();
  options->app = &app;
  // Everything from the first word that is not an option on is the command and its inputs, so
  // `pool-run grep -n x ::: a b` needs no '--'.
  app.prefix_command();
  // CLI11 hands a `--` back to the parent app unless this one still expects a positional. This
  // one never takes a value (its check always fails, so the word falls through to the prefix
  // handling above); it exists to keep `--` here and to name COMMAND in --help.
  app.validate_positionals();
  complete_after_dashes(app, clidoc::Hint::command);
  app.add_option("COMMAND", options->unused_positional, "command, its arguments, then ::: INPUT... groups")
      ->check(CLI::Validator([](std::string&) { return std::string("taken verbatim"); }, "", "verbatim"));
  as_count(app.add_option("-j,--jobs", options->jobs,
                          "run N jobs at once (default: number of CPUs; 0: one per input, capped)"),
           0);
  app.add_flag("-k,--keep-order", options->keep_order, "write output in input order (default: as jobs finish)");
  app.add_flag("--tag", options->tag, "prefix each output line with the job's input and a tab");
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "kill a job's process group (TERM, then KILL) after SECONDS; it fails"),
              {.min = 0, .above = true});
  as_count(app.add_option("--retries", options->retries, "run a failed job up to N more times"), 0);
  app.add_option("--halt", options->halt,
                 "stop after failures or successes: never, soon|now[,fail=N|,success=N] (soon: start no more; "
                 "now: also kill running jobs)")
      ->type_name("WHEN")
      ->capture_default_str();
  app.add_option("--joblog", options->joblog, "write a line per job to FILE, in GNU parallel's joblog format")
      ->type_name("FILE");
  app.add_flag(
      "--json", options->json,
      "print one JSON object per job (seq, input, host, exit, signal, duration, stdout, stderr) instead of its output");
  app.add_flag("--progress", options->progress,
               "show done/running/failed counts and an ETA on stderr (default: when stderr is a terminal)");
  app.add_flag("--no-progress", options->no_progress, "no progress line, even on a terminal");
  app.add_flag(
      "--shell", options->shell,
      "run the command with /bin/sh -c, inputs shell-quoted and also as $1...; {} must stand bare (default: no shell)");
  app.add_flag("--dry-run", options->dry_run, "print each command instead of running it");
  app.add_flag("-0,--null", options->null, "inputs on stdin (and :::: files) are separated by NUL, not newline");
  const char* remote = "Remote hosts (SSH)";
  app.add_option("--ssh", options->ssh_hosts,
                 "run the jobs on [user@]host[:port] over SSH instead of locally (repeatable; -j is then per host)")
      ->type_name("HOST")
      ->allow_extra_args(false)
      ->group(remote);
  app.add_option("--ssh-hosts-file", options->ssh_hosts_files, "more --ssh hosts from FILE, one per line, # comments")
      ->type_name("FILE")
      ->allow_extra_args(false)
      ->group(remote);
  add_ssh_client_options(app, options->ssh, remote);
  set_example(app,
              "  find . -name '*.log' | netlab pool-run -j 4 -- gzip -9 {}\n"
              "  netlab pool-run --keep-order --tag -- ping -c1 {} ::: host1 host2 host3\n"
              "  netlab pool-run --joblog jobs.tsv --shell -- 'convert {} {.}.png' ::: *.jpg\n"
              "  netlab pool-run --ssh web1 --ssh deploy@web2:2222 -j 4 --tag -- sha256sum {} ::: /etc/*.conf\n"
              "  netlab pool-run --ssh-hosts-file hosts -l deploy -i ~/.ssh/deploy_key -- make -C /srv {} ::: a b\n"
              "Inputs: ::: WORD... and :::: FILE... (its lines) groups combine as a cross product; :::+ and\n"
              "::::+ pair a group with the one before it item by item (::: a b :::+ 1 2: 'a 1', 'b 2').\n"
              "Placeholders: {} input, {.} without extension, {/} basename, {//} dirname, {/.}, {#} job\n"
              "number, {%} slot, {N} the Nth ::: group. Without any, the input is appended.\n"
              "Exit status: 0 if every job succeeded, else the number failed (101: more than 100; 255 with\n"
              "--ssh when no host is reachable, and for a usage error, as GNU parallel; 130, 143, 129 after\n"
              "SIGINT, SIGTERM, SIGHUP).");
  return [options] { return run_pool_run(*options); };
}

} // namespace netlab::cmd
