// Process groups over PyTorch's c10d (torch/csrc/distributed/c10d): a TCPStore rendezvous at the master's
// address and port, then ProcessGroupGloo (CPU) for the collectives. Built only when CMake finds the gloo headers
// (Debian's libgloo-dev) — otherwise every entry point fails with a message saying what to install.
// Failures (a rendezvous that times out, a peer that is gone, a collective past its timeout) arrive as c10::Error
// or std::exception from libtorch/gloo and leave through DT_CATCH as status codes: never a crash in .NET.
#include "shim.h"
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#ifdef DT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace {
struct ProcessGroup {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  int rank;
  int size;
};

// The network interface gloo binds to: GLOO_SOCKET_IFNAME when set (as in PyTorch), loopback when the master is on
// this machine's loopback, else the address this machine's hostname resolves to (c10d's default device).
std::shared_ptr<::gloo::transport::Device> device_for(const std::string& master) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (master == "localhost" || master.rfind("127.", 0) == 0 || master == "::1")
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

void wait(const c10::intrusive_ptr<c10d::Work>& work) {
  work->wait();  // gloo's own timeout (the group's collective timeout) bounds this; a failure is rethrown here
}
}  // namespace

typedef ProcessGroup* GroupH;

// rendezvous_ms bounds the TCPStore connect (and rank 0's wait for every rank); collective_ms every collective.
DT_API int dt_pg_new(const char* master, int32_t port, int32_t rank, int32_t size, int64_t rendezvous_ms,
                     int64_t collective_ms, GroupH* out) {
  DT_TRY(
      TORCH_CHECK(size >= 1, "world size must be at least 1, got ", size);
      TORCH_CHECK(rank >= 0 && rank < size, "rank ", rank, " is outside 0..", size - 1);
      TORCH_CHECK(port > 0 && port < 65536, "port ", port, " is outside 1..65535");
      c10d::TCPStoreOptions opts;
      opts.port = static_cast<uint16_t>(port);
      opts.isServer = rank == 0;
      opts.numWorkers = static_cast<size_t>(size);
      opts.waitWorkers = false;  // c10d's own wait gives up silently at the timeout; the count below says who is missing
      opts.timeout = std::chrono::milliseconds(rendezvous_ms);
      // The store's timeout also bounds gloo's full-mesh connect, which waits on the store's keys.
      c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(std::string(master), opts);
      // Every rank counts itself in and waits for the rest, so gloo's connect (bounded by the collective timeout,
      // not this one) starts only once everyone is there.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(rendezvous_ms);
      int64_t joined = store->add("diffusion/joined", 1);
      while (joined < size) {
        TORCH_CHECK(std::chrono::steady_clock::now() < deadline, "only ", joined, " of ", size, " ranks joined");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        joined = store->add("diffusion/joined", 0);
      }
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(collective_ms));
      options->devices.push_back(device_for(master));
      options->threads = 2;
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
      *out = new ProcessGroup{store, group, rank, size})
}

DT_API void dt_pg_free(GroupH g) {
  try {
    delete g;
  } catch (...) {
  }
}

// op: 0 sum, 1 average (gloo has no AVG: summed, then divided in place), 2 max, 3 min, 4 product.
DT_API int dt_pg_all_reduce(GroupH g, TensorH t, int32_t op) {
  DT_TRY(
      TORCH_CHECK(op >= 0 && op <= 4, "unknown reduce op ", op);
      TORCH_CHECK(t->is_contiguous(), "all_reduce needs a contiguous tensor");
      c10d::AllreduceOptions o;
      o.reduceOp = op == 2 ? c10d::ReduceOp::MAX : op == 3 ? c10d::ReduceOp::MIN : op == 4 ? c10d::ReduceOp::PRODUCT : c10d::ReduceOp::SUM;
      std::vector<at::Tensor> ts{*t};
      wait(g->group->allreduce(ts, o));
      if (op == 1) {
        if (at::isFloatingType(t->scalar_type())) t->div_(g->size);
        else t->floor_divide_(g->size);
      })
}

DT_API int dt_pg_broadcast(GroupH g, TensorH t, int32_t root) {
  DT_TRY(
      TORCH_CHECK(root >= 0 && root < g->size, "broadcast source rank ", root, " is outside 0..", g->size - 1);
      TORCH_CHECK(t->is_contiguous(), "broadcast needs a contiguous tensor");
      c10d::BroadcastOptions o;
      o.rootRank = root;
      std::vector<at::Tensor> ts{*t};
      wait(g->group->broadcast(ts, o)))
}

DT_API int dt_pg_barrier(GroupH g) { DT_TRY(wait(g->group->barrier())) }

DT_API int dt_pg_available(int32_t* out) { DT_TRY(*out = 1) }

#else
namespace {
const char* kNoGloo = "this build of the native shim has no gloo backend: install Debian's libgloo-dev and rebuild (dotnet build)";
}
typedef void* GroupH;
DT_API int dt_pg_new(const char*, int32_t, int32_t, int32_t, int64_t, int64_t, GroupH*) { DT_TRY(TORCH_CHECK(false, kNoGloo)) }
DT_API void dt_pg_free(GroupH) {}
DT_API int dt_pg_all_reduce(GroupH, TensorH, int32_t) { DT_TRY(TORCH_CHECK(false, kNoGloo)) }
DT_API int dt_pg_broadcast(GroupH, TensorH, int32_t) { DT_TRY(TORCH_CHECK(false, kNoGloo)) }
DT_API int dt_pg_barrier(GroupH) { DT_TRY(TORCH_CHECK(false, kNoGloo)) }
DT_API int dt_pg_available(int32_t* out) { DT_TRY(*out = 0) }
#endif
