// A sweep on several devices of one machine: one worker process per device, each seeing
// only its own GPU (CUDA_VISIBLE_DEVICES), taking cases longest-estimated-first from the
// parent's queue. The parent alone checkpoints, shows progress and writes the report, so
// resume, Ctrl-C and the report work as for one device. A worker that dies (a crash, a
// GPU that hangs up) fails only the case it was running, which is recorded as an error of
// every kernel; the worker is started again for the next cases, up to a limit.
//
// Workers are forked from the parent without exec: the parent must not have initialized
// CUDA (it never makes a backend itself; visible_gpu_count asks in a child process).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/bench/backend.h"
#include "src/bench/runner.h"

namespace int8attn {

struct WorkerSlot {
  int64_t number = 0;  // as --devices named it: the GPU index (a CPU worker: its number)
  std::string label;   // "gpu1", "cpu1": progress lines and messages
};

// Makes a worker's backend, inside the worker process (CUDA_VISIBLE_DEVICES already set).
// May throw: the worker then fails to start, saying why.
using BackendFactory = std::function<std::unique_ptr<Backend>(const WorkerSlot&)>;

struct WorkerPoolOptions {
  std::vector<WorkerSlot> slots;
  BackendFactory make_backend;
  bool cuda_visible_devices = false;  // give each worker only its GPU
  int max_restarts = 2;               // per slot, after a death mid-case; then it is retired
  // > 0: a case with no result after this many seconds (a hung GPU, a kernel that never ends)
  // has its worker killed; the case fails as for any death and the worker starts again.
  double case_timeout_s = 0;
};

// Like run_sweep. Throws std::invalid_argument when no worker starts (each one's reason).
// When every worker is gone before the queue is empty, the report is incomplete and
// outcome.workers_lost is set.
SweepOutcome run_sweep_on_workers(const SweepConfig& config, const WorkerPoolOptions& pool,
                                  const SweepOptions& options, const ToolInfo& tool);

// `--devices`: "all" (every_gpu set), or distinct non-negative indices "0,1,3".
// Throws std::invalid_argument naming the option and what was expected.
struct DeviceList {
  bool every_gpu = false;
  std::vector<int64_t> indices;
};
DeviceList parse_device_list(const std::string& text);

// The workers `--devices` asks for on `backend` (auto, cpu, cuda): each listed GPU must
// exist; with the CPU backend each number is a CPU worker, and unless `cpu.threads` says
// otherwise the workers share the machine's threads. Throws std::invalid_argument.
WorkerPoolOptions plan_device_workers(const DeviceList& devices, const std::string& backend, const CpuOptions& cpu);

// GPUs this process could use, counted in a child process so that this one stays free of
// CUDA and can fork workers. 0 with `why_none` set when there is none.
int64_t visible_gpu_count(std::string& why_none);

// The CUDA_VISIBLE_DEVICES value that shows a worker GPU `index` as this process numbers
// it: the index-th entry of this process's own CUDA_VISIBLE_DEVICES when that is set
// (a Slurm job's GPUs), else the index itself.
std::string cuda_visible_devices_for(int64_t index);

}  // namespace int8attn
