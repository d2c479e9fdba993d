// Reads packets from a non-blocking fd (the TUN) on the main libuv loop with uv_poll_t: when the
// fd is readable, read() until EAGAIN (at most kMaxBatch packets), copy each into its own
// Buffer and hand the batch to JS in one call.
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "common.h"

namespace umbra {

static constexpr uint32_t kMaxBatch = 128;
static constexpr size_t kScratchSize = 65535;  // the largest IP packet

struct Poller {
  uv_poll_t handle;
  napi_env env;
  AddonState* state;
  uint32_t id;
  int fd;
  bool active = true;  // false once stopped; the handle may still be closing
  Napi::FunctionReference onPackets;
  Napi::FunctionReference onError;
  Napi::ObjectReference resource;  // the async resource; also `this` of the callbacks
  std::unique_ptr<Napi::AsyncContext> context;
  napi_async_cleanup_hook_handle cleanupHook = nullptr;
  bool closingForCleanup = false;  // closed by the env teardown hook, which awaits OnClosed
};

// One scratch buffer per thread: every poller of a loop runs on that loop's thread, and the
// buffer is only used between read() and the copy into a Buffer.
static uint8_t* Scratch() {
  thread_local std::vector<uint8_t> scratch(kScratchSize);
  return scratch.data();
}

static void OnClosed(uv_handle_t* handle) {
  Poller* p = static_cast<Poller*>(handle->data);
  napi_async_cleanup_hook_handle hook = p->closingForCleanup ? p->cleanupHook : nullptr;
  delete p;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);  // tells Node the teardown is done
}

// Stops the poller for good: no callback fires after this returns. The uv handle is closed
// asynchronously and the Poller freed in OnClosed; no handle is left to keep the loop alive.
static void StopAndClose(Poller* p) {
  if (!p->active) return;
  p->active = false;
  p->state->pollers.erase(p->id);
  uv_poll_stop(&p->handle);
  if (!p->closingForCleanup && p->cleanupHook != nullptr) {
    napi_remove_async_cleanup_hook(p->cleanupHook);  // unregister: we close it ourselves
    p->cleanupHook = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnClosed);
}

// Node tears the environment down (process exit, worker end) while the poller still runs.
static void OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* data) {
  Poller* p = static_cast<Poller*>(data);
  p->cleanupHook = hook;
  p->closingForCleanup = true;
  StopAndClose(p);
}

// Calls into JS the way Node calls its own callbacks (async context, then the microtask and
// nextTick queues drain). An exception thrown by the callback becomes an uncaught exception of
// the process, as it would from an EventEmitter listener.
static void CallJs(Poller* p, Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
  Napi::Env env(p->env);
  try {
    // napi_make_callback needs an object as receiver; undefined would throw a TypeError.
    fn.MakeCallback(p->resource.Value(), args, *p->context);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(p->env, e.Value());
  }
}

static void Fail(Poller* p, Napi::Error error) {
  StopAndClose(p);
  CallJs(p, p->onError, {error.Value()});
}

static void ReadAndDeliver(Poller* p, int status) {
  Napi::Env env(p->env);
  Napi::HandleScope scope(env);

  if (status < 0) {
    // libuv reports POLLERR as EBADF; a TUN raises it when its interface has been deleted.
    Fail(p, ErrnoError(env, -status, "uv_poll",
                       "error condition on fd " + std::to_string(p->fd) +
                           " (for a TUN: was the interface deleted?); the poller has stopped"));
    return;
  }

  uint8_t* scratch = Scratch();
  Napi::Array batch = Napi::Array::New(env);
  uint32_t count = 0;
  int readError = 0;
  while (count < kMaxBatch) {
    ssize_t n = read(p->fd, scratch, kScratchSize);
    if (n > 0) {
      batch.Set(count++, Napi::Buffer<uint8_t>::Copy(env, scratch, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) break;  // nothing (TUN never signals EOF)
    int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) readError = err;
    break;
  }
  // When the batch is full the fd may still be readable; uv_poll is level-triggered, so the
  // loop calls back on its next turn, after other I/O has had its go.

  if (count > 0) CallJs(p, p->onPackets, {batch});
  if (readError != 0 && p->active) {  // the callback may have stopped us
    std::string what = readError == EBADFD ? "the TUN device is gone (interface deleted?)"
                                           : "reading from fd " + std::to_string(p->fd) + " failed";
    Fail(p, ErrnoError(env, readError, "read", what + "; the poller has stopped"));
  }
}

static void OnPoll(uv_poll_t* handle, int status, int events) {
  Poller* p = static_cast<Poller*>(handle->data);
  if (!p->active) return;
  // No JS frame is below us: a failed N-API call (say, out of memory for a Buffer) must become
  // an uncaught exception, not a C++ exception escaping into libuv.
  Napi::HandleScope scope(Napi::Env(p->env));
  try {
    ReadAndDeliver(p, status);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(p->env, e.Value());
  }
}

// startPoll(fd, onPackets, onError): number
Napi::Value StartPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  Napi::Function onPackets = FunctionArg(info, 1, "onPackets");
  Napi::Function onError = FunctionArg(info, 2, "onError");
  AddonState& state = State(env);
  for (const auto& entry : state.pollers) {
    if (entry.second->fd == fd) {
      ThrowPlain(env, "fd " + std::to_string(fd) + " is already polled (handle " +
                          std::to_string(entry.first) + "); stop that poller first");
    }
  }

  auto p = std::make_unique<Poller>();
  p->env = env;
  p->state = &state;
  p->id = state.nextPollId++;
  if (state.nextPollId == 0) state.nextPollId = 1;
  p->fd = fd;
  int rc = uv_poll_init(state.loop, &p->handle, fd);
  if (rc < 0) {
    // Not initialised, so nothing to close.
    ThrowErrno(env, -rc, "uv_poll_init",
               "cannot poll fd " + std::to_string(fd) + " (not open, or not a pollable file)");
  }
  p->handle.data = p.get();
  p->onPackets = Napi::Persistent(onPackets);
  p->onError = Napi::Persistent(onError);
  Napi::Object resource = Napi::Object::New(env);
  resource.Set("fd", Napi::Number::New(env, fd));
  p->resource = Napi::Persistent(resource);
  p->context = std::make_unique<Napi::AsyncContext>(env, "UmbraPoll", resource);

  rc = uv_poll_start(&p->handle, UV_READABLE, OnPoll);
  if (rc < 0) {
    Poller* raw = p.release();
    raw->active = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->handle), OnClosed);
    ThrowErrno(env, -rc, "uv_poll_start", "cannot poll fd " + std::to_string(fd));
  }
  napi_status st = napi_add_async_cleanup_hook(env, OnEnvCleanup, p.get(), &p->cleanupHook);
  if (st != napi_ok) p->cleanupHook = nullptr;  // still works; only teardown is less tidy

  Poller* raw = p.release();
  state.pollers[raw->id] = raw;
  return Napi::Number::New(env, raw->id);
}

// stopPoll(handle): after this returns no callback of that poller fires again. Unknown or
// already stopped handles are ignored, so stopping twice is harmless.
Napi::Value StopPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = Uint32Arg(info, 0, "handle");
  AddonState& state = State(env);
  auto it = state.pollers.find(id);
  if (it != state.pollers.end()) StopAndClose(it->second);
  return env.Undefined();
}

void StopPollersOnFd(Napi::Env env, int fd) {
  AddonState& state = State(env);
  std::vector<Poller*> matching;
  for (const auto& entry : state.pollers) {
    if (entry.second->fd == fd) matching.push_back(entry.second);
  }
  for (Poller* p : matching) StopAndClose(p);
}

}  // namespace umbra
