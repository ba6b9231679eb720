#include "src/host/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace int8attn::host {

void HostMemoryTally::allocate(int64_t bytes) {
  std::lock_guard lock(mutex_);
  current_ += bytes;
  peak_ = std::max(peak_, current_);
}

void HostMemoryTally::release(int64_t bytes) {
  std::lock_guard lock(mutex_);
  current_ -= bytes;
}

int64_t HostMemoryTally::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

int64_t HostMemoryTally::peak() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

TalliedBytes::TalliedBytes(HostMemoryTally* tally, int64_t bytes) : tally_(tally), bytes_(bytes) {
  if (tally_) tally_->allocate(bytes_);
}

TalliedBytes::~TalliedBytes() {
  if (tally_) tally_->release(bytes_);
}

int resolve_threads(int requested, int64_t items) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  return static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(items, 1)));
}

void parallel_for(int64_t items, int threads, const std::function<void(int64_t)>& fn) {
  const int workers = resolve_threads(threads, items);
  std::atomic<int64_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&] {
    for (int64_t item = next++; item < items; item = next++) {
      try {
        fn(item);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        next = items;  // stop handing out work
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (int t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace int8attn::host
