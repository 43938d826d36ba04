// Op-level profile: between dt_profiler_start and dt_profiler_stop, every ATen operator, autograd node and shim kernel
// (the shim's own kernels name themselves with RECORD_USER_SCOPE) is timed through libtorch's RecordFunction callbacks.
// Per name: calls, self time (without the ops it called) and total time — what torch.profiler's key_averages() reports,
// without its tracing machinery. Nesting is tracked per thread; the autograd engine runs CPU nodes on the calling thread.
#include "shim.h"
#include <ATen/record_function.h>
#include <chrono>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {
struct Stat {
  int64_t calls = 0, self_ns = 0, total_ns = 0;
};

struct Frame : at::ObserverContext {
  int64_t start_ns = 0, children_ns = 0;
};

std::mutex mutex;
std::unordered_map<std::string, Stat> stats;
at::CallbackHandle handle = 0;
std::string report;
thread_local std::vector<Frame*> open_frames;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  auto frame = std::make_unique<Frame>();
  open_frames.push_back(frame.get());
  frame->start_ns = now_ns();
  return frame;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  const int64_t end = now_ns();
  auto* frame = static_cast<Frame*>(context);
  const int64_t total = end - frame->start_ns;
  if (!open_frames.empty() && open_frames.back() == frame) open_frames.pop_back();
  if (!open_frames.empty()) open_frames.back()->children_ns += total;
  std::lock_guard<std::mutex> lock(mutex);
  auto& s = stats[fn.name()];
  ++s.calls;
  s.total_ns += total;
  s.self_ns += total - frame->children_ns;
}
}  // namespace

DT_API int dt_profiler_start() {
  DT_TRY({
    std::lock_guard<std::mutex> lock(mutex);
    TORCH_CHECK(handle == 0, "the op profiler is already running");
    stats.clear();
    handle = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end)
                                       .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION,
                                                at::RecordScope::USER_SCOPE}));
  })
}

// Stops the profile and keeps its table for dt_profiler_report: one line per name, "name\tcalls\tself_ns\ttotal_ns".
DT_API int dt_profiler_stop() {
  DT_TRY({
    std::lock_guard<std::mutex> lock(mutex);
    TORCH_CHECK(handle != 0, "the op profiler is not running");
    at::removeCallback(handle);
    handle = 0;
    std::ostringstream out;
    for (const auto& [name, s] : stats) out << name << '\t' << s.calls << '\t' << s.self_ns << '\t' << s.total_ns << '\n';
    report = out.str();
  })
}

DT_API int dt_profiler_report(char* buf, int32_t cap, int32_t* needed) {
  DT_TRY({
    std::lock_guard<std::mutex> lock(mutex);
    dt::copy_out(report, buf, cap, needed);
  })
}
