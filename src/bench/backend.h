// A backend runs the cases of a sweep on one kind of device. The runner (runner.h) owns the
// sweep logic — case order, support checks against the registry, fallback policy, progress,
// checkpoints — and calls a backend per case; the CPU and CUDA backends plug in here.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/bench/case_dump.h"
#include "src/bench/registry.h"
#include "src/model/result.h"
#include "src/model/settings.h"

namespace int8attn {

// A result that says which case it is (id, shape, input, rotation) and holds nothing else yet:
// run_one_case starts from it and takes the kernels and the reference check from a backend.
inline CaseResult case_result_for(const BenchCase& c) {
  CaseResult result;
  result.id = c.id;
  result.dims = c.dims;
  result.input = c.input;
  result.rotation = c.rotation;
  return result;
}

// A kernel the device cannot run now (out of device memory), as opposed to one that fails:
// reported as skipped with the reason, not as an error. Thrown before any kernel ran, it
// skips every kernel of the case.
class KernelSkipped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a kernel that threw `e` reports: skipped for KernelSkipped, an error otherwise, with
// the exception's message as the reason. One rule for both backends and the runner.
inline KernelResult failed_kernel(const std::string& kernel, const std::exception& e) {
  const bool skipped = dynamic_cast<const KernelSkipped*>(&e) != nullptr;
  return status_result(kernel, skipped ? KernelStatus::Skipped : KernelStatus::Error, e.what());
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  virtual DeviceCaps caps() const = 0;
  virtual Environment environment() const = 0;

  // A reason this backend will not run the case at all (too costly for the CPU, does not
  // fit in device memory), or empty. Checked before run_case.
  virtual std::string skip_reason(const BenchCase& c, const RunSettings& settings) const = 0;

  // Runs the reference and every kernel in `kernels` (already checked as supported) on one
  // case, and gives `dump` the inputs and every output. A kernel's failure is recorded in its
  // KernelResult (failed_kernel), never thrown; a failure before any kernel ran (the inputs,
  // the reference) is thrown, and the runner fails every kernel with it. The result holds
  // one KernelResult per kernel, reference first, and the reference check; accuracy is
  // against the reference. What every case shares is the runner's (run_one_case): the case's
  // id, shape, input and rotation, its wall time, where its dump goes, the kernels' order,
  // a failure before any kernel ran and the fallback decisions.
  virtual CaseResult run_case(const BenchCase& c, const std::vector<const KernelSpec*>& kernels,
                              const RunSettings& settings, const CaseDump& dump) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(const CpuOptions& options);
// nullptr with `why` set when no CUDA device (or no CUDA build) is available.
std::unique_ptr<Backend> make_cuda_backend(int device_index, std::string& why);

}  // namespace int8attn
