// Process spawning through libuv (which reaps children itself, so none is left a zombie).
#include "core/loop/process.hpp"

#include <signal.h>
#include <string.h>

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "core/loop/reaper.hpp"

extern char** environ;

namespace netlab::loop {
namespace {

uv_stdio_container_t container_for(const Stdio& stdio, bool child_reads) {
  uv_stdio_container_t container{};
  switch (stdio.kind) {
  case Stdio::Kind::ignore:
    container.flags = UV_IGNORE;
    break;
  case Stdio::Kind::inherit:
    container.flags = UV_INHERIT_FD;
    container.data.fd = stdio.fd;
    break;
  case Stdio::Kind::pipe:
    container.flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | (child_reads ? UV_READABLE_PIPE : UV_WRITABLE_PIPE));
    container.data.stream = stdio.pipe->uv_stream();
    break;
  }
  return container;
}

} // namespace

Result<std::shared_ptr<Process>> Process::spawn(Loop& loop, const SpawnOptions& options, ExitCallback on_exit) {
  if (options.argv.empty()) {
    return fail("spawn: empty command");
  }
  std::vector<char*> argv;
  for (const auto& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> env;
  std::vector<std::string> marked;
  if (options.tree) {
    // The marker replaces any inherited one: a tree's processes carry exactly one.
    constexpr std::string_view key = "NETLAB_TREE=";
    auto keep = [&](std::string_view entry) {
      if (entry.substr(0, key.size()) != key) {
        marked.emplace_back(entry);
      }
    };
    if (options.env) {
      for (const auto& entry : *options.env) {
        keep(entry);
      }
    } else {
      for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        keep(*entry);
      }
    }
    marked.push_back(options.tree->env_entry());
  }
  const auto* env_source = options.tree ? &marked : (options.env ? &*options.env : nullptr);
  if (env_source != nullptr) {
    for (const auto& entry : *env_source) {
      env.push_back(const_cast<char*>(entry.c_str()));
    }
    env.push_back(nullptr);
  }
  uv_stdio_container_t stdio[3] = {
      container_for(options.stdin_, true),
      container_for(options.stdout_, false),
      container_for(options.stderr_, false),
  };

  uv_process_options_t uv_options{};
  uv_options.file = options.file ? options.file->c_str() : argv[0];
  uv_options.args = argv.data();
  uv_options.env = env_source != nullptr ? env.data() : nullptr;
  uv_options.cwd = options.cwd ? options.cwd->c_str() : nullptr;
  uv_options.stdio_count = 3;
  uv_options.stdio = stdio;
  uv_options.flags = options.own_group ? UV_PROCESS_DETACHED : 0;
  uv_options.exit_cb = [](uv_process_t* handle, int64_t exit_status, int term_signal) {
    auto* self = static_cast<Process*>(HandleBase::from(reinterpret_cast<uv_handle_t*>(handle)));
    spawn_registry::remove(handle->pid);
    self->m_exited = true;
    if (self->m_on_exit) {
      self->m_on_exit(ExitStatus{exit_status, term_signal});
    }
  };

  auto process = std::make_shared<Process>();
  process->m_on_exit = std::move(on_exit);
  process->m_own_group = options.own_group;
  // Held from fork to registration, so a Reaper's scan never takes this child for an orphan.
  auto registry = spawn_registry::lock();
  int rc = uv_spawn(loop.raw(), process->raw(), &uv_options);
  if (rc == 0) {
    spawn_registry::add(process->pid(), options.tree.get());
  }
  registry.unlock();
  // libuv initialises the handle even when spawning fails, so it must be closed either way.
  process->adopt(process);
  if (rc != 0) {
    process->m_exited = true;
    process->close();
    return fail(fmt::format("spawn {}: {}", options.argv[0], uv_strerror(rc)), rc);
  }
  return process;
}

int Process::kill(int signum) {
  if (m_exited || is_closing()) {
    return UV_ESRCH;
  }
  return uv_process_kill(&m_raw, signum);
}

int Process::kill_group(int signum) {
  if (!m_own_group) {
    return kill(signum);
  }
  // The group outlives its leader when grandchildren remain, so signal it even after exit.
  if (m_raw.pid <= 0) {
    return UV_ESRCH;
  }
  return ::kill(-m_raw.pid, signum) == 0 ? 0 : uv_translate_sys_error(errno);
}

std::string signal_name(int signum) {
  const char* abbrev = sigabbrev_np(signum);
  return abbrev != nullptr ? std::string(abbrev) : std::to_string(signum);
}

int signal_number(const std::string& name) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    int value = std::atoi(name.c_str());
    return value > 0 && value < NSIG ? value : 0;
  }
  std::string bare = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev != nullptr && bare == abbrev) {
      return i;
    }
  }
  return 0;
}

} // namespace netlab::loop
