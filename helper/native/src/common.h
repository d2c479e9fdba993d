// Shared declarations of the umbra_native addon.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace umbra {

struct Poller;

// A UDP socket's GSO segment cap, learnt from EMSGSIZE when the path MTU is below a segment:
// segments above `cap` go one by one (the kernel fragments them) until `retryAtMs`, when GSO is
// tried again in case the path grew back. `fragmented` counts the datagrams that needed it.
struct PathMtuState {
  uint16_t cap = 0;  // 0: no cap
  uint64_t retryAtMs = 0;
  uint64_t fragmented = 0;
};

// Per-environment state (main thread and each worker get their own).
struct AddonState {
  uv_loop_t* loop = nullptr;
  uint32_t nextPollId = 1;
  std::unordered_map<uint32_t, Poller*> pollers;
  // UDP sockets (by fd) on which udpSend no longer tries GSO.
  std::unordered_set<int> gsoOff;
  // What udpSend has learnt of each socket's path MTU (by fd; see udp.cc).
  std::unordered_map<int, PathMtuState> pathMtu;
};

AddonState& State(Napi::Env env);
Napi::Object Init(Napi::Env env, Napi::Object exports);

// errors.cc
// An Error whose message says what happened and what to do, with code ("EPERM"), errno and
// syscall properties like Node's own system errors.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& message);
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& message);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowPlain(Napi::Env env, const std::string& message);

// Argument checks that throw a TypeError/RangeError naming the argument.
int FdArg(const Napi::CallbackInfo& info, size_t index);
uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t index, const char* what);
Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// A Linux interface name: 1 to IFNAMSIZ-1 bytes, no NUL.
std::string InterfaceNameArg(const Napi::CallbackInfo& info, size_t index);
// The bytes of a Uint8Array (a Buffer is one) without copying.
struct ByteView {
  const uint8_t* data;
  size_t length;
};
ByteView BytesOf(Napi::Env env, Napi::Value value, const char* what);

// A promise of what `work` returns, run on libuv's thread pool. A std::exception thrown by `work`
// rejects it with its message; the result reaches JS through ToJs (an overload per result type,
// found beside that type).
inline Napi::Value ToJs(Napi::Env env, double v) { return Napi::Number::New(env, v); }
inline Napi::Value ToJs(Napi::Env env, bool v) { return Napi::Boolean::New(env, v); }

template <typename T>
class PoolWorker : public Napi::AsyncWorker {
 public:
  PoolWorker(Napi::Env env, std::function<T()> work)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      result_ = work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(ToJs(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<T()> work_;
  T result_{};
};

template <typename T>
Napi::Value OnThreadPool(Napi::Env env, std::function<T()> work) {
  auto* worker = new PoolWorker<T>(env, std::move(work));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// poller.cc
Napi::Value StartPollInto(const Napi::CallbackInfo& info);
Napi::Value StopPoll(const Napi::CallbackInfo& info);
// Stops (silently) every poller watching fd; used before the fd is closed.
void StopPollersOnFd(Napi::Env env, int fd);

// offload.cc
// Reads a TUN opened with IFF_VNET_HDR into plain IP packets (see offload.cc).
struct TunVnetReader {
  std::vector<uint8_t> scratch;
  size_t pending = 0;  // length of a read in scratch kept for the next batch
  TunVnetReader();
  int Fill(int fd, uint8_t* arena, size_t cap, int32_t* meta, uint32_t metaCap, bool readMore, uint32_t& count);
};
Napi::Value TunWriteCoalesced(const Napi::CallbackInfo& info);
Napi::Value TunCoalesce(const Napi::CallbackInfo& info);
Napi::Value TunSplit(const Napi::CallbackInfo& info);

// tun.cc
Napi::Value OpenTun(const Napi::CallbackInfo& info);
Napi::Value OpenTunVnet(const Napi::CallbackInfo& info);
Napi::Value WritePackets(const Napi::CallbackInfo& info);
Napi::Value CloseFd(const Napi::CallbackInfo& info);
Napi::Value InterfaceState(const Napi::CallbackInfo& info);

// clock.cc
Napi::Value BootClockMs(const Napi::CallbackInfo& info);

// sockopt.cc
Napi::Value SetSocketMark(const Napi::CallbackInfo& info);
Napi::Value GetSocketMark(const Napi::CallbackInfo& info);
Napi::Value SetSocketBuffers(const Napi::CallbackInfo& info);
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);

// udp.cc
Napi::Value UdpOpen(const Napi::CallbackInfo& info);
Napi::Value UdpSockaddr(const Napi::CallbackInfo& info);
Napi::Value UdpSend(const Napi::CallbackInfo& info);
Napi::Value UdpGso(const Napi::CallbackInfo& info);
Napi::Value UdpPathMtu(const Napi::CallbackInfo& info);
Napi::Value UdpRouteMtu(const Napi::CallbackInfo& info);

// aead.cc
Napi::Value AeadSeal(const Napi::CallbackInfo& info);
Napi::Value AeadOpen(const Napi::CallbackInfo& info);
Napi::Value AeadBatch(const Napi::CallbackInfo& info);
Napi::Value AeadImpl(const Napi::CallbackInfo& info);

// process.cc
Napi::Value DenyCoreDumps(const Napi::CallbackInfo& info);
Napi::Value PageOutFileMappings(const Napi::CallbackInfo& info);
Napi::Value TrimMalloc(const Napi::CallbackInfo& info);

// nft.cc
Napi::Value NftRun(const Napi::CallbackInfo& info);

// rtnl.cc
Napi::Value RtnlTransact(const Napi::CallbackInfo& info);
Napi::Value InterfaceIndex(const Napi::CallbackInfo& info);

}  // namespace umbra
