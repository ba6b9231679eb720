#include "src/bench/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "src/bench/devices.h"
#include "src/bench/partition.h"
#include "src/report/json_io.h"

namespace int8attn {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// --- plumbing shared by parent and workers ------------------------------------------------

// Whole-buffer write; false when the other end is gone (EPIPE) or another error.
bool write_all(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void send_message(int fd, const json& message) {
  if (!write_all(fd, message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n")) {
    throw std::runtime_error("the parent process is gone");
  }
}

// Reads newline-terminated lines from a blocking fd.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool next(std::string& line) {
    for (;;) {
      const size_t end = buffer_.find('\n');
      if (end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return true;
      }
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = strsignal(WTERMSIG(status));
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), name ? name : "?");
  }
  return "ended";
}

// --- the worker process --------------------------------------------------------------------

// Runs in the forked child: reads case positions (one per line) from `in`, answers each
// with {"result": case}; first says {"ready": ...} or {"fatal": why}. Never returns.
[[noreturn]] void worker_main(const SweepConfig& config, const WorkerPoolOptions& pool, const WorkerSlot& slot,
                              pid_t parent, int in, int out) {
  try {
    // A killed parent takes its workers along: SIGKILL, since a worker ignores SIGTERM.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // Ctrl-C, SIGTERM and a closed terminal's SIGHUP reach the whole process group; they are the
    // parent's, which lets the running cases finish (a worker killed by them would record its case
    // as failed).
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGPIPE, SIG_DFL);
    if (pool.cuda_visible_devices) ::setenv("CUDA_VISIBLE_DEVICES", cuda_visible_devices_for(slot.number).c_str(), 1);
    const std::unique_ptr<Backend> backend = pool.make_backend(slot);
    const DeviceCaps caps = backend->caps();
    send_message(out, {{"ready",
                        {{"kind", to_string(backend->kind())},
                         {"device", caps.name},
                         {"cc", {caps.cc_major, caps.cc_minor}},
                         {"cudnn_missing", caps.cudnn_missing},
                         {"environment", to_json(backend->environment())}}}});
    LineReader reader(in);
    std::string line;
    while (reader.next(line)) {
      const BenchCase& c = config.cases.at(std::stoul(line));
      send_message(out, {{"result", to_json(run_one_case(c, *backend, config.settings))}});
    }
    ::_exit(0);
  } catch (const std::exception& e) {
    try {
      send_message(out, {{"fatal", e.what()}});
    } catch (...) {
    }
    ::_exit(3);
  } catch (...) {
    ::_exit(3);
  }
}

// --- the parent's view of a worker ----------------------------------------------------------

// Stands in for a worker that died mid-case, so that the case's result goes through the
// same support checks and policy as any other: what would have run is an error saying how
// the worker ended.
class DeadWorkerBackend final : public Backend {
 public:
  DeadWorkerBackend(DeviceCaps caps, std::string why) : caps_(std::move(caps)), why_(std::move(why)) {}
  BackendKind kind() const override { return caps_.backend; }
  DeviceCaps caps() const override { return caps_; }
  Environment environment() const override { return {}; }
  std::string skip_reason(const BenchCase&, const RunSettings&) const override { return {}; }
  CaseResult run_case(const BenchCase&, const std::vector<const KernelSpec*>& kernels, const RunSettings&,
                      const CaseDump&) override {
    CaseResult result;
    for (const KernelSpec* k : kernels) result.kernels.push_back(status_result(k->name, KernelStatus::Error, why_));
    return result;
  }

 private:
  DeviceCaps caps_;
  std::string why_;
};

enum class WorkerState { Starting, Idle, Busy, Gone };

struct Worker {
  WorkerSlot slot;
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
  std::string inbox;
  WorkerState state = WorkerState::Gone;
  const BenchCase* running = nullptr;
  Clock::time_point running_since;  // the case's start (Busy), or the worker's (Starting)
  bool overdue = false;  // killed for --case-timeout; its end is still to come
  int restarts = 0;
  std::string fatal;                     // what the worker said before dying
  std::optional<Environment> environment;  // from its first start
  DeviceCaps caps;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

class WorkerPool {
 public:
  WorkerPool(const SweepConfig& config, const WorkerPoolOptions& options) : config_(config), options_(options) {
    for (const WorkerSlot& slot : options.slots) {
      workers_.emplace_back();
      workers_.back().slot = slot;
    }
  }
  ~WorkerPool() {
    for (Worker& w : workers_) stop(w);
  }

  // Starts every worker and waits for each to be ready or gone.
  void start_all() {
    for (Worker& w : workers_) spawn(w);
    while (any(WorkerState::Starting)) {
      wait_for_messages(nullptr);
      kill_overdue();
    }
  }

  SweepDevice device() const;
  std::vector<std::string> startup_failures() const { return failures_; }
  bool any_alive() const { return any(WorkerState::Idle) || any(WorkerState::Busy) || any(WorkerState::Starting); }

  // Hands out `queue` until it is empty, interrupted, or no worker is left.
  void run(const std::vector<const BenchCase*>& queue, SweepSession& session);

 private:
  bool any(WorkerState state) const {
    for (const Worker& w : workers_) {
      if (w.state == state) return true;
    }
    return false;
  }
  void spawn(Worker& w);
  void stop(Worker& w);
  void wait_for_messages(SweepSession* session);
  void handle_line(Worker& w, const std::string& line, SweepSession* session);
  void handle_exit(Worker& w, SweepSession* session);
  void kill_overdue();
  void note(SweepSession* session, const std::string& text);
  std::string activity() const;

  const SweepConfig& config_;
  const WorkerPoolOptions& options_;
  std::vector<Worker> workers_;
  std::vector<std::string> failures_;
  bool more_work_ = true;  // cases left to hand out: a dead worker is worth restarting
};

void WorkerPool::spawn(Worker& w) {
  int down[2], up[2];  // parent -> worker: case positions; worker -> parent: messages
  if (::pipe2(down, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("worker pipe: {}", std::strerror(errno)));
  if (::pipe2(up, O_CLOEXEC) != 0) {
    ::close(down[0]);
    ::close(down[1]);
    throw std::runtime_error(fmt::format("worker pipe: {}", std::strerror(errno)));
  }
  std::fflush(nullptr);
  std::cout.flush();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("starting a worker for {}: {}", w.slot.label, std::strerror(errno)));
  if (pid == 0) {
    // Another worker's pipe held open here would hide that worker's death from the parent.
    for (Worker& other : workers_) {
      close_fd(other.to_child);
      close_fd(other.from_child);
    }
    ::close(down[1]);
    ::close(up[0]);
    worker_main(config_, options_, w.slot, parent, down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  w.pid = pid;
  w.to_child = down[1];
  w.from_child = up[0];
  w.inbox.clear();
  w.fatal.clear();
  w.state = WorkerState::Starting;
  w.running_since = Clock::now();
  w.overdue = false;
}

// Closing its input tells a worker to finish; the pool then waits for it. One still starting
// has nothing to finish and may never read its input (a GPU that hangs up hangs its restart):
// it is killed, or the sweep would wait for it after its last case.
void WorkerPool::stop(Worker& w) {
  close_fd(w.to_child);
  if (w.pid > 0 && w.state == WorkerState::Starting) ::kill(w.pid, SIGKILL);
  if (w.pid > 0) {
    close_fd(w.from_child);
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    w.pid = -1;
  }
  w.state = WorkerState::Gone;
}

void WorkerPool::note(SweepSession* session, const std::string& text) {
  if (session) {
    session->note(text);
  } else {
    failures_.push_back(text);
  }
}

std::string WorkerPool::activity() const {
  std::string out;
  for (const Worker& w : workers_) {
    if (w.state != WorkerState::Busy) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : " | ", w.slot.label, w.running->id);
  }
  return out;
}

SweepDevice WorkerPool::device() const {
  SweepDevice device;
  std::set<std::string> names;
  for (const Worker& w : workers_) {
    if (!w.environment) continue;
    if (names.empty()) {  // the first ready worker stands for the report's `environment`
      device.kind = w.caps.backend;
      device.environment = *w.environment;
    }
    names.insert(w.caps.name);
  }
  for (const std::string& name : names) device.name += (device.name.empty() ? "" : ", ") + name;
  return device;
}

void WorkerPool::handle_line(Worker& w, const std::string& line, SweepSession* session) {
  const std::string source = "worker " + w.slot.label;
  const json message = json::parse(line, nullptr, false);
  if (message.is_discarded() || !message.is_object()) return;  // not ours (a torn line)
  if (message.contains("fatal")) {
    w.fatal = message["fatal"].is_string() ? message["fatal"].get<std::string>() : message["fatal"].dump();
  } else if (message.contains("ready")) {
    const json& ready = message["ready"];
    if (!w.environment) {  // a restarted worker keeps the slot's first environment
      w.environment = from_json_as<Environment>(ready.at("environment"), source, "$.ready.environment");
      w.environment->device = w.slot.number;
      w.caps.backend = ready.value("kind", "") == "cuda" ? BackendKind::Cuda : BackendKind::Cpu;
      w.caps.name = ready.value("device", "");
      w.caps.cc_major = ready.at("cc").at(0).get<int>();
      w.caps.cc_minor = ready.at("cc").at(1).get<int>();
      w.caps.cudnn_missing = ready.value("cudnn_missing", "");
    }
    w.state = WorkerState::Idle;
  } else if (message.contains("result") && w.state == WorkerState::Busy && session) {
    CaseResult r = from_json_as<CaseResult>(message["result"], source, "$.result");
    r.environment = w.environment;
    const BenchCase& c = *w.running;
    w.running = nullptr;
    w.state = WorkerState::Idle;
    session->record(c, std::move(r), w.slot.label);
  }
}

// A worker's output ended: it died or finished. The case it was running fails (every
// kernel an error saying how the worker ended); a worker that had started is started
// again, up to the limit.
void WorkerPool::handle_exit(Worker& w, SweepSession* session) {
  const WorkerState was = w.state;
  close_fd(w.to_child);
  close_fd(w.from_child);
  int status = 0;
  while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
  }
  w.pid = -1;
  w.state = WorkerState::Gone;
  const std::string how = fmt::format("worker {} {}{}", w.slot.label, describe_exit(status),
                                      w.fatal.empty() ? "" : ": " + w.fatal);
  if (was == WorkerState::Starting && !w.environment) {
    note(session, how + " before it was ready; its cases go to the other workers");
    return;
  }
  if (was == WorkerState::Busy && session) {
    const BenchCase& c = *w.running;
    w.running = nullptr;
    DeadWorkerBackend dead(w.caps, how + " while running this case");
    CaseResult failed = run_one_case(c, dead, config_.settings);
    failed.wall_seconds = std::chrono::duration<double>(Clock::now() - w.running_since).count();
    failed.environment = w.environment;
    session->record(c, std::move(failed), w.slot.label);
  }
  if (!more_work_) return;
  if (w.restarts >= options_.max_restarts) {
    note(session, how + fmt::format("; not restarted again (after {} restarts)", w.restarts));
    return;
  }
  ++w.restarts;
  note(session, how + "; starting it again");
  spawn(w);
}

// A worker whose case has run past the timeout is killed; its EOF then comes to handle_exit.
// So is one not ready after as long: a restart on a GPU that hung up may hang too.
void WorkerPool::kill_overdue() {
  if (options_.case_timeout_s <= 0) return;
  const auto limit = std::chrono::duration<double>(options_.case_timeout_s);
  for (Worker& w : workers_) {
    const bool busy = w.state == WorkerState::Busy;
    if (!(busy || w.state == WorkerState::Starting) || w.overdue || Clock::now() - w.running_since < limit) continue;
    w.overdue = true;
    w.fatal = fmt::format("{} within --case-timeout {:g} s", busy ? "no result" : "not ready", options_.case_timeout_s);
    ::kill(w.pid, SIGKILL);
  }
}

void WorkerPool::wait_for_messages(SweepSession* session) {
  std::vector<pollfd> fds;
  std::vector<Worker*> owners;
  for (Worker& w : workers_) {
    if (w.from_child < 0) continue;
    fds.push_back({w.from_child, POLLIN, 0});
    owners.push_back(&w);
  }
  if (fds.empty()) return;
  if (::poll(fds.data(), fds.size(), 250) <= 0) return;  // timeout or a signal: the caller looks again
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    Worker& w = *owners[i];
    char chunk[65536];
    const ssize_t n = ::read(w.from_child, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      handle_exit(w, session);
      continue;
    }
    w.inbox.append(chunk, static_cast<size_t>(n));
    for (size_t end; (end = w.inbox.find('\n')) != std::string::npos;) {
      const std::string line = w.inbox.substr(0, end);
      w.inbox.erase(0, end + 1);
      handle_line(w, line, session);
    }
  }
}

void WorkerPool::run(const std::vector<const BenchCase*>& queue, SweepSession& session) {
  size_t next = 0;
  for (;;) {
    const bool stopping = sweep_interrupt_flag().load();
    bool dispatched = false;
    for (Worker& w : workers_) {
      if (w.state != WorkerState::Idle || stopping || next == queue.size()) continue;
      const BenchCase* c = queue[next];
      const size_t position = static_cast<size_t>(c - config_.cases.data());
      if (!write_all(w.to_child, fmt::format("{}\n", position))) continue;  // dying: its EOF comes next
      ++next;
      w.running = c;
      w.running_since = Clock::now();
      w.overdue = false;
      w.state = WorkerState::Busy;
      dispatched = true;
    }
    if (dispatched) session.progress().start_case(activity());
    more_work_ = !stopping && next < queue.size();
    if (!any(WorkerState::Busy) && !(more_work_ && any_alive())) break;
    wait_for_messages(&session);
    kill_overdue();
  }
  for (Worker& w : workers_) stop(w);
}

// Ignores SIGPIPE while the pool writes to workers that may have died.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() { previous_ = std::signal(SIGPIPE, SIG_IGN); }
  ~IgnoreSigpipe() { std::signal(SIGPIPE, previous_); }

 private:
  void (*previous_)(int);
};

}  // namespace

SweepOutcome run_sweep_on_workers(const SweepConfig& config, const WorkerPoolOptions& pool_options,
                                  const SweepOptions& options, const ToolInfo& tool) {
  IgnoreSigpipe ignore_sigpipe;
  sweep_interrupt_flag().store(false);
  StopSignalGuard guard;
  WorkerPool pool(config, pool_options);
  pool.start_all();
  if (!pool.any_alive()) {
    std::string why;
    for (const std::string& failure : pool.startup_failures()) why += "; " + failure;
    throw std::invalid_argument("--devices: no worker could start" + why);
  }
  SweepSession session(config, options, tool, pool.device());
  for (const std::string& failure : pool.startup_failures()) session.note(failure);
  pool.run(longest_first(session.todo()), session);
  const bool interrupted = sweep_interrupt_flag().load() && session.unfinished() > 0;  // after the last: complete
  const bool workers_lost = !interrupted && !pool.any_alive() && session.unfinished() > 0;
  SweepOutcome outcome = session.finish(interrupted, !workers_lost);
  outcome.workers_lost = workers_lost;
  return outcome;
}

DeviceList parse_device_list(const std::string& text) {
  DeviceList list;
  if (text == "all") {
    list.every_gpu = true;
    return list;
  }
  std::set<int64_t> seen;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const bool digits = !item.empty() && item.size() <= 6 && item.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) {
      throw std::invalid_argument(fmt::format(
          "--devices '{}': expected 'all' or a comma-separated list of device indices such as 0,1,3, found '{}'",
          text, item));
    }
    const int64_t index = std::stoll(item);
    if (!seen.insert(index).second) {
      throw std::invalid_argument(fmt::format("--devices '{}': device {} is listed twice", text, index));
    }
    list.indices.push_back(index);
    start = comma + 1;
  }
  return list;
}

WorkerPoolOptions plan_device_workers(const DeviceList& devices, const std::string& backend, const CpuOptions& cpu) {
  WorkerPoolOptions pool;
  if (backend == "cpu") {
    if (devices.every_gpu) {
      throw std::invalid_argument("--devices all: the CPU backend has no devices to count; give worker numbers (e.g. 0,1)");
    }
    CpuOptions per_worker = cpu;
    if (per_worker.threads == 0) {
      const int64_t threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
      per_worker.threads = static_cast<int>(std::max<int64_t>(1, threads / static_cast<int64_t>(devices.indices.size())));
    }
    for (int64_t n : devices.indices) pool.slots.push_back({n, fmt::format("cpu{}", n)});
    pool.make_backend = [per_worker](const WorkerSlot&) { return make_cpu_backend(per_worker); };
    return pool;
  }
  std::string why;
  const int64_t gpus = visible_gpu_count(why);
  if (gpus == 0) {
    throw std::invalid_argument(fmt::format("--devices: no usable GPU ({}); --backend cpu --devices 0,1 runs CPU workers", why));
  }
  std::vector<int64_t> indices = devices.indices;
  for (int64_t i = 0; devices.every_gpu && i < gpus; ++i) indices.push_back(i);
  for (int64_t i : indices) {
    if (i >= gpus) {
      throw std::invalid_argument(fmt::format("--devices: there is no GPU {}; this machine shows {} (0 to {})", i, gpus, gpus - 1));
    }
    pool.slots.push_back({i, fmt::format("gpu{}", i)});
  }
  pool.cuda_visible_devices = true;
  pool.make_backend = [](const WorkerSlot& slot) {
    std::string why;
    std::unique_ptr<Backend> cuda = make_cuda_backend(0, why);  // the only GPU it sees
    if (!cuda) throw std::runtime_error(fmt::format("GPU {}: {}", slot.number, why));
    return cuda;
  };
  return pool;
}

int64_t visible_gpu_count(std::string& why_none) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::close(fds[0]);
    std::string why;
    const size_t count = query_gpu_devices(why).size();
    write_all(fds[1], fmt::format("{}\n{}", count, why));
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string answer;
  char chunk[4096];
  for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    answer.append(chunk, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const size_t newline = answer.find('\n');
  if (newline == std::string::npos) {
    why_none = "the process that counts GPUs " + describe_exit(status);
    return 0;
  }
  why_none = answer.substr(newline + 1);
  return std::stoll(answer.substr(0, newline));
}

std::string cuda_visible_devices_for(int64_t index) {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!visible || !*visible) return std::to_string(index);
  std::string list = visible;
  size_t start = 0;
  for (int64_t i = 0; start <= list.size(); ++i) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (i == index) return list.substr(start, comma - start);
    start = comma + 1;
  }
  return std::to_string(index);  // beyond the list: CUDA will say there is no such device
}

}  // namespace int8attn
