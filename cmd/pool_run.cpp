// netlab pool-run: run many commands with a bounded pool, like xargs -P or GNU parallel.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/cli_spec.hpp"
#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/loop/process.hpp"
#include "core/pool/input.hpp"
#include "core/pool/pool.hpp"
#include "core/pool/template.hpp"
#include "core/pool/remote_executor.hpp"
#include "core/ssh/client_setup.hpp"
#include "core/util/error.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  int jobs = -1;
  bool keep_order = false;
  bool tag = false;
  double timeout = 0;
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

// Most children the pool runs at once: each costs two pipes and a process, and past a few
// hundred the machine, not the pool, is the limit.
constexpr unsigned k_max_jobs = 1024;

unsigned job_cap() {
  fs::raise_fd_limit();
  rlimit limit{};
  unsigned cap = k_max_jobs;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    // Two pipe ends per job stay open while it runs, plus two briefly during spawn.
    auto by_fds = static_cast<unsigned>(std::max<rlim_t>(limit.rlim_cur, 64) - 32) / 4;
    cap = std::min(cap, std::max(1U, by_fds));
  }
  return cap;
}

bool wants_ssh(const Options& options) { return !options.ssh_hosts.empty() || !options.ssh_hosts_files.empty(); }

// The executor for --ssh, with every host resolved and every key read before the pool starts.
pool::SshPoolOptions ssh_pool_options(const Options& options, unsigned per_host, bool shell, bool may_prompt) {
  std::vector<ssh::HostSpec> hosts;
  for (const auto& text : options.ssh_hosts) {
    auto host = ssh::parse_host(text);
    if (!host) {
      throw UsageError(fmt::format("--ssh {}", host.error()));
    }
    hosts.push_back(std::move(*host));
  }
  auto from_files = ssh::read_hosts_files(options.ssh_hosts_files);
  if (!from_files) {
    throw UsageError(from_files.error());
  }
  hosts.insert(hosts.end(), from_files->begin(), from_files->end());
  if (hosts.empty()) {
    throw UsageError("--ssh-hosts-file: no hosts in the file");
  }
  auto settings = ssh_client_settings(options.ssh, may_prompt);
  pool::SshPoolOptions result;
  auto targets = ssh::prepare_targets(hosts, settings.connect, settings.credentials);
  if (!targets) {
    throw UsageError(targets.error());
  }
  result.targets = std::move(*targets);
  result.connect = std::move(settings.connect);
  result.per_host = per_host;
  result.shell = shell;
  return result;
}

int run_pool_run(const Options& options) {
  pool::PoolConfig config;
  // Everything after the options: COMMAND [ARGS...] then ::: and :::: groups.
  std::vector<std::string> words = options.app->remaining();
  if (!words.empty() && words.front() == "--") {
    words.erase(words.begin());
  }
  char separator = options.null ? '\0' : '\n';
  std::vector<std::string>* group = nullptr;
  bool from_file = false;
  for (auto& word : words) {
    if (word == ":::" || word == "::::") {
      config.groups.emplace_back();
      group = &config.groups.back();
      from_file = word == "::::";
      continue;
    }
    if (group == nullptr) {
      config.command.push_back(std::move(word));
    } else if (from_file) {
      auto records = pool::read_records_file(word, separator);
      if (!records) {
        throw Error(records.error());
      }
      group->insert(group->end(), records->begin(), records->end());
    } else {
      group->push_back(std::move(word));
    }
  }
  if (config.command.empty()) {
    throw UsageError("no command given; usage: netlab pool-run [OPTIONS] -- COMMAND [ARGS...] [::: INPUT...]");
  }
  if (config.command.front().starts_with("-") && (words.empty() || options.app->remaining().front() != "--")) {
    throw UsageError(fmt::format("unknown option '{}'; put the command after '--'", config.command.front()));
  }
  auto halt = pool::HaltPolicy::parse(options.halt);
  if (!halt) {
    throw UsageError(halt.error());
  }

  unsigned cap = job_cap();
  if (options.jobs == 0) {
    config.jobs = cap;
  } else if (options.jobs < 0) {
    config.jobs = std::max(1U, uv_available_parallelism());
  } else {
    config.jobs = static_cast<unsigned>(options.jobs);
    if (config.jobs > cap) {
      log::info("-j {}: only {} jobs fit in the open-file limit; running {} at once", config.jobs, cap, cap);
      config.jobs = cap;
    }
  }
  config.shell = options.shell;
  if (options.shell) {
    if (auto checked = pool::check_shell_template(config.command); !checked) {
      throw UsageError(checked.error());
    }
  }
  config.separator = separator;
  config.keep_order = options.keep_order;
  config.tag = options.tag;
  config.json = options.json;
  config.timeout = options.timeout;
  config.retries = options.retries;
  config.halt = *halt;
  config.joblog = options.joblog;
  config.progress = options.progress || (!options.no_progress && is_tty(STDERR_FILENO) && !options.dry_run);
  if (!wants_ssh(options)) {
    for (const char* name : {"--identity", "--known-hosts", "--accept-new", "--no-agent", "--passphrase-env",
                             "--password-env", "--password-file", "--user", "--port", "--config",
                             "--connect-timeout"}) {
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
    config.jobs = std::min<unsigned>(k_max_jobs, config.jobs * static_cast<unsigned>(remote.targets.size()));
    ssh_library.emplace();
    config.executor = [remote](loop::Loop& loop) { return pool::make_ssh_executor(loop, remote); };
  }

  auto result = pool::run_pool(config);
  if (!result) {
    throw Error(result.error());
  }
  if (result->interrupted) {
    // As a shell reports a command killed by the signal: 130 INT, 143 TERM, 129 HUP.
    int signum = result->interrupt_signal != 0 ? result->interrupt_signal : SIGINT;
    throw Error(fmt::format("interrupted by SIG{}", loop::signal_name(signum)), 128 + signum);
  }
  if (result->output_closed) {
    throw Error("write stdout: broken pipe");
  }
  return result->exit_code();
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
  as_duration(app.add_option("--timeout", options->timeout,
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
  app.add_flag("--json", options->json,
               "print one JSON object per job (seq, input, host, exit, signal, duration, stdout, stderr) instead of its output");
  app.add_flag("--progress", options->progress,
               "show done/running/failed counts and an ETA on stderr (default: when stderr is a terminal)");
  app.add_flag("--no-progress", options->no_progress, "no progress line, even on a terminal");
  app.add_flag("--shell", options->shell, "run the command with /bin/sh -c, inputs shell-quoted and also as $1...; {} must stand bare (default: no shell)");
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
  set_example(app, "  find . -name '*.log' | netlab pool-run -j 4 -- gzip -9 {}\n"
                   "  netlab pool-run --keep-order --tag -- ping -c1 {} ::: host1 host2 host3\n"
                   "  netlab pool-run --joblog jobs.tsv --shell -- 'convert {} {.}.png' ::: *.jpg\n"
                   "  netlab pool-run --ssh web1 --ssh deploy@web2:2222 -j 4 --tag -- sha256sum {} ::: /etc/*.conf\n"
                   "  netlab pool-run --ssh-hosts-file hosts -l deploy -i ~/.ssh/deploy_key -- make -C /srv {} ::: a b\n"
                   "Placeholders: {} input, {.} without extension, {/} basename, {//} dirname, {/.}, {#} job\n"
                   "number, {%} slot, {N} the Nth ::: group. Without any, the input is appended.\n"
                   "Exit status: 0 if every job succeeded, else the number failed (101: more than 100; 255 with\n"
                   "--ssh when no host is reachable, and for a usage error, as GNU parallel; 130, 143, 129 after\n"
                   "SIGINT, SIGTERM, SIGHUP).");
  return [options] { return run_pool_run(*options); };
}

} // namespace netlab::cmd
