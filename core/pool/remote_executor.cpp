// The SSH executor: session threads that take jobs from one queue and report back to the loop.
#include "core/pool/remote_executor.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "core/loop/timer.hpp"
#include "core/pool/template.hpp"
#include "core/ssh/remote_command.hpp"
#include "core/util/log.hpp"

namespace netlab::pool {
namespace {

constexpr const char* k_no_host = "no SSH host is reachable";

struct RemoteJob {
  JobObserver* observer = nullptr; // touched on the loop thread only
  std::string command;
  std::atomic<int> signal{0};
};

class RemoteControl : public JobControl {
public:
  explicit RemoteControl(std::shared_ptr<RemoteJob> job) : m_job(std::move(job)) {}

  void signal(int signum) override {
    // A TERM arriving after KILL (a second Ctrl-C racing the grace timer) must not soften it.
    int current = m_job->signal.load();
    while (current != SIGKILL && !m_job->signal.compare_exchange_weak(current, signum)) {
    }
  }

private:
  std::shared_ptr<RemoteJob> m_job;
};

struct Event {
  enum class Kind { out, err, done, capacity };
  Kind kind;
  std::shared_ptr<RemoteJob> job;
  std::string data;
  JobOutcome outcome;
};

// What session and job threads tell the loop thread, in the order they posted it, through one
// async handle. Only jobs in flight keep the loop running; idle sessions do not.
class EventQueue {
public:
  // `deliver` runs on the loop thread after one or more post()s; it calls deliver(other).
  EventQueue(loop::Loop& loop, std::function<void()> deliver) : m_wake(loop::Async::create(loop, std::move(deliver))) {
    m_wake->unref();
  }
  // After the threads that post have been joined.
  ~EventQueue() { m_wake->close(); }
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Any thread.
  void post(Event event) {
    {
      std::lock_guard lock(m_mutex);
      m_events.push_back(std::move(event));
    }
    m_wake->send();
  }

  // Loop thread: hands everything posted so far, in order, to the jobs' observers: output
  // directly, the other kinds (done, capacity) through `other`.
  template <typename Other>
  void deliver(Other other) {
    std::vector<Event> events;
    {
      std::lock_guard lock(m_mutex);
      events.swap(m_events);
    }
    for (auto& event : events) {
      if (event.kind == Event::Kind::out) {
        event.job->observer->on_stdout(event.data);
      } else if (event.kind == Event::Kind::err) {
        event.job->observer->on_stderr(event.data);
      } else {
        other(event);
      }
    }
  }

  // Loop thread: a job started or ended.
  void job_started() {
    if (m_in_flight++ == 0) {
      m_wake->ref();
    }
  }
  void job_ended() {
    if (--m_in_flight == 0) {
      m_wake->unref();
    }
  }

private:
  std::shared_ptr<loop::Async> m_wake;
  unsigned m_in_flight = 0; // loop thread only
  std::mutex m_mutex;
  std::vector<Event> m_events;
};

enum class HostState { connecting, up, down };

class SshExecutor : public Executor {
public:
  SshExecutor(loop::Loop& loop, SshPoolConfig options)
      : m_options(std::move(options)), m_hosts(m_options.targets.size(), HostState::connecting),
        m_events(loop, [this] { deliver(); }) {
    unsigned per_host = std::max(1U, m_options.per_host);
    m_live = static_cast<unsigned>(m_hosts.size()) * per_host;
    for (std::size_t h = 0; h < m_hosts.size(); ++h) {
      for (unsigned k = 0; k < per_host; ++k) {
        m_threads.emplace_back([this, h, k] { session_main(h, k); });
      }
    }
  }

  ~SshExecutor() override {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_work.notify_all();
    m_host_changed.notify_all();
    // A session still connecting finishes within --connect-timeout.
    for (auto& thread : m_threads) {
      thread.join();
    }
  }

  SshExecutor(const SshExecutor&) = delete;
  SshExecutor& operator=(const SshExecutor&) = delete;

  std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) override {
    auto job = std::make_shared<RemoteJob>();
    job->observer = &observer;
    job->command = display_command(spec.argv, m_options.shell);
    {
      std::lock_guard lock(m_mutex);
      if (m_live == 0) {
        // Said once, when the last host went (session_gone); the joblog shows 255 for each job.
        observer.on_done(no_host_outcome());
        return nullptr;
      }
      m_queue.push_back(job);
    }
    m_events.job_started();
    m_work.notify_one();
    return std::make_shared<RemoteControl>(std::move(job));
  }

  // Connected sessions: jobs handed out beyond them would wait in the queue with their --timeout
  // already running.
  unsigned capacity() const override { return m_connected.load(); }

  void on_capacity_change(std::function<void()> callback) override { m_capacity_changed = std::move(callback); }

private:
  static JobOutcome no_host_outcome() {
    JobOutcome outcome;
    outcome.ending = ExitStatus::unknown();
    outcome.start_error = k_no_host;
    outcome.host = "-";
    outcome.unreachable = true;
    return outcome;
  }

  const std::string& label(std::size_t h) const { return m_options.targets[h].label; }

  void post(Event event) { m_events.post(std::move(event)); }

  // Loop thread: hands the sessions' events to the jobs' observers in the order they happened.
  void deliver() {
    bool grew = false;
    m_events.deliver([&](Event& event) {
      if (event.kind == Event::Kind::capacity) {
        grew = true;
        return;
      }
      m_events.job_ended();
      event.job->observer->on_done(event.outcome);
    });
    if (grew && m_capacity_changed) {
      m_capacity_changed();
    }
  }

  Result<ssh::Connected> connect(std::size_t h) { return ssh::connect(m_options.targets[h], m_options.connect); }

  void session_main(std::size_t h, unsigned k) {
    HostState& host = m_hosts[h];
    if (k > 0) {
      // The host's first session goes alone: a host that is down then costs one attempt and one
      // report, and sshd's limit on unauthenticated connections is not hit by a burst.
      std::unique_lock lock(m_mutex);
      m_host_changed.wait(lock, [&] { return m_stopping || host != HostState::connecting; });
      if (m_stopping) {
        return;
      }
      if (host == HostState::down) {
        session_gone(lock);
        return;
      }
    }
    auto connected = connect(h);
    if (!connected) {
      std::unique_lock lock(m_mutex);
      if (k == 0) {
        host = HostState::down;
        bool others =
            std::any_of(m_hosts.begin(), m_hosts.end(), [](HostState state) { return state != HostState::down; });
        log::info("{}: {}{}", label(h), connected.error(), others ? "; its jobs go to the other hosts" : "");
        m_host_changed.notify_all();
      } else {
        log::info("{}: session {}: {}", label(h), k + 1, connected.error());
      }
      session_gone(lock);
      return;
    }
    if (k == 0) {
      std::lock_guard lock(m_mutex);
      host = HostState::up;
      m_host_changed.notify_all();
    }
    serve(h, std::move(connected->session));
  }

  void serve(std::size_t h, ssh::SessionPtr session) {
    session_up();
    while (true) {
      std::shared_ptr<RemoteJob> job;
      {
        std::unique_lock lock(m_mutex);
        m_work.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_stopping) {
          return;
        }
        job = std::move(m_queue.front());
        m_queue.pop_front();
      }
      if (!run(h, session, job)) {
        // The session broke before the command went out, so the job never ran: it goes back to
        // the queue for any session, and this one tries to connect again once.
        {
          std::lock_guard lock(m_mutex);
          m_queue.push_front(std::move(job));
        }
        m_work.notify_one();
        --m_connected;
        session.reset();
        auto again = connect(h);
        if (!again) {
          std::unique_lock lock(m_mutex);
          log::info("{}: session lost: {}", label(h), again.error());
          session_gone(lock);
          return;
        }
        session = std::move(again->session);
        session_up();
      }
    }
  }

  void session_up() {
    ++m_connected;
    post(Event{Event::Kind::capacity, nullptr, {}, {}});
  }

  // Returns false when the job did not start and may be run elsewhere.
  bool run(std::size_t h, const ssh::SessionPtr& session, const std::shared_ptr<RemoteJob>& job) {
    JobOutcome outcome;
    outcome.host = label(h);
    if (int signum = job->signal.load(); signum != 0) {
      // Stopped (Ctrl-C, --halt now, --timeout) while it waited for a session.
      outcome.ending = ExitStatus::signaled(signum);
      post(Event{Event::Kind::done, job, {}, std::move(outcome)});
      return true;
    }
    bool started = false;
    ssh::ExecRequest request;
    request.watchdog = ssh::Watchdog::control;
    request.command = ssh::supervised_command(job->command, request.watchdog);
    request.signal = &job->signal;
    request.started = &started;
    ssh::OutputSink sink;
    sink.out = [&](std::string_view data) { post(Event{Event::Kind::out, job, std::string(data), {}}); };
    sink.err = [&](std::string_view data) { post(Event{Event::Kind::err, job, std::string(data), {}}); };
    auto result = ssh::run_command(session.get(), request, sink);
    if (!result) {
      if (!started) {
        return false;
      }
      post(Event{Event::Kind::err,
                 job,
                 fmt::format("netlab: {}: {}: {}\n", log::command(), label(h), result.error()),
                 {}});
      outcome.ending = ExitStatus::unknown();
      outcome.start_error = result.error();
    } else {
      // Unknown when the channel closed with neither a status nor a known signal: Exitval 255,
      // as ssh reports it.
      outcome.ending = result->ending;
    }
    post(Event{Event::Kind::done, job, {}, std::move(outcome)});
    return true;
  }

  // With m_mutex held: one session fewer. When none is left anywhere, the jobs still queued
  // fail now instead of waiting for a session that will never come.
  void session_gone(const std::unique_lock<std::mutex>& held) {
    (void)held;
    if (--m_live > 0 || m_stopping) {
      return;
    }
    log::info("{}", k_no_host);
    for (auto& job : m_queue) {
      post(Event{Event::Kind::done, std::move(job), {}, no_host_outcome()});
    }
    m_queue.clear();
    // A capacity event too: the scheduler, held back while sessions were connecting, moves on
    // and fails the remaining jobs at once.
    post(Event{Event::Kind::capacity, nullptr, {}, {}});
  }

  SshPoolConfig m_options;
  std::vector<HostState> m_hosts; // guarded by m_mutex
  std::vector<std::thread> m_threads;
  std::function<void()> m_capacity_changed;

  std::mutex m_mutex;
  std::condition_variable m_work;         // m_queue gained a job, or stopping
  std::condition_variable m_host_changed; // a host's first session finished connecting
  std::deque<std::shared_ptr<RemoteJob>> m_queue;
  unsigned m_live = 0;
  bool m_stopping = false;
  std::atomic<unsigned> m_connected{0};
  EventQueue m_events;
};

// One thread per job, each for one host; the loop hears of output and ends through an async.
class HostJobExecutor : public Executor {
public:
  HostJobExecutor(loop::Loop& loop, HostJob run_host)
      : m_run_host(std::move(run_host)), m_events(loop, [this] { deliver(); }) {}

  ~HostJobExecutor() override {
    // The scheduler waits for every job's end, so these threads are done or about to be.
    for (auto& [job, thread] : m_threads) {
      thread.join();
    }
  }

  HostJobExecutor(const HostJobExecutor&) = delete;
  HostJobExecutor& operator=(const HostJobExecutor&) = delete;

  std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) override {
    auto job = std::make_shared<RemoteJob>();
    job->observer = &observer;
    std::size_t host = static_cast<std::size_t>(spec.seq - 1);
    m_events.job_started();
    m_threads.emplace(job.get(), std::thread([this, job, host] {
                        ssh::OutputSink sink;
                        sink.out = [&](std::string_view data) {
                          m_events.post(Event{Event::Kind::out, job, std::string(data), {}});
                        };
                        sink.err = [&](std::string_view data) {
                          m_events.post(Event{Event::Kind::err, job, std::string(data), {}});
                        };
                        JobOutcome outcome = m_run_host(host, job->signal, sink);
                        m_events.post(Event{Event::Kind::done, job, {}, std::move(outcome)});
                      }));
    return std::make_shared<RemoteControl>(std::move(job));
  }

private:
  void deliver() {
    m_events.deliver([&](Event& event) {
      if (event.kind != Event::Kind::done) {
        return;
      }
      // Its last act was posting this: the join is immediate.
      auto node = m_threads.extract(event.job.get());
      if (!node.empty()) {
        node.mapped().join();
      }
      m_events.job_ended();
      event.job->observer->on_done(event.outcome);
    });
  }

  HostJob m_run_host;
  std::map<RemoteJob*, std::thread> m_threads; // loop thread only
  EventQueue m_events;
};

} // namespace

std::unique_ptr<Executor> make_ssh_host_executor(loop::Loop& loop, HostJob run_host) {
  return std::make_unique<HostJobExecutor>(loop, std::move(run_host));
}

std::unique_ptr<Executor> make_ssh_executor(loop::Loop& loop, SshPoolConfig options) {
  return std::make_unique<SshExecutor>(loop, std::move(options));
}

} // namespace netlab::pool
