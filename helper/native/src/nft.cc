// nftRun(text, dryRun): Promise<{ ok, output, error }> — runs nft commands through libnftables
// (the library the `nft` program is a front end of) inside this process, on libuv's thread pool.
//
// Why not `nft -f -`: a process costs a fork and an exec, and its exit costs more. When a netlink
// socket that changed nf_tables closes, the kernel waits for the transaction's clean-up (an RCU
// grace period, 12–20 ms measured) before the closing process may exit; a connect's firewall
// waited that long for every `nft` it ran. One context kept for the process's life keeps its
// socket open, so a transaction returns once the kernel took it (about 2 ms here).
//
// The library is opened with dlopen, not linked: the addon builds without libnftables' headers,
// and a system without it (or an older soname) gets a clear rejection the caller can fall back
// from. The interface used is libnftables(3)'s stable one (nftables ≥ 0.9.3).
#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "common.h"

namespace umbra {

namespace {

struct NftCtx;  // struct nft_ctx, opaque

struct NftLibrary {
  NftCtx* (*ctxNew)(uint32_t flags) = nullptr;
  int (*bufferOutput)(NftCtx*) = nullptr;
  int (*bufferError)(NftCtx*) = nullptr;
  const char* (*outputBuffer)(NftCtx*) = nullptr;
  const char* (*errorBuffer)(NftCtx*) = nullptr;
  void (*setDryRun)(NftCtx*, bool) = nullptr;
  int (*runFromBuffer)(NftCtx*, const char*) = nullptr;
  NftCtx* ctx = nullptr;
  std::string failure;  // why the library is not usable; empty once ctx is set
  bool tried = false;
};

// One context for the process (it belongs to the network namespace the process was in when it
// was made). The mutex makes concurrent calls wait for each other: a context is not thread-safe.
std::mutex nftMutex;
NftLibrary nft;

template <typename F>
bool Resolve(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  if (out == nullptr) nft.failure = std::string("libnftables.so.1 has no ") + name + ": install a newer nftables (0.9.3 or later)";
  return out != nullptr;
}

// Under nftMutex. Opens the library and the context once; a failure is kept and reported again.
bool EnsureContext() {
  if (nft.tried) return nft.ctx != nullptr;
  nft.tried = true;
  void* handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    nft.failure = std::string("libnftables.so.1 could not be loaded (") + (why ? why : "unknown error") + "): install nftables";
    return false;
  }
  if (!Resolve(handle, "nft_ctx_new", nft.ctxNew) || !Resolve(handle, "nft_ctx_buffer_output", nft.bufferOutput) ||
      !Resolve(handle, "nft_ctx_buffer_error", nft.bufferError) || !Resolve(handle, "nft_ctx_get_output_buffer", nft.outputBuffer) ||
      !Resolve(handle, "nft_ctx_get_error_buffer", nft.errorBuffer) || !Resolve(handle, "nft_ctx_set_dry_run", nft.setDryRun) ||
      !Resolve(handle, "nft_run_cmd_from_buffer", nft.runFromBuffer)) {
    return false;
  }
  NftCtx* ctx = nft.ctxNew(0);  // NFT_CTX_DEFAULT
  if (ctx == nullptr) {
    nft.failure = "libnftables could not make a context (out of memory, or no netlink socket)";
    return false;
  }
  if (nft.bufferOutput(ctx) != 0 || nft.bufferError(ctx) != 0) {
    nft.failure = "libnftables could not buffer its output";
    return false;
  }
  nft.ctx = ctx;
  nft.failure.clear();
  return true;
}

// What one run gave: nft's exit status, its output and its error messages.
struct NftResult {
  bool ok = false;
  std::string output;
  std::string error;
};

Napi::Value ToJs(Napi::Env env, const NftResult& r) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", Napi::Boolean::New(env, r.ok));
  result.Set("output", Napi::String::New(env, r.output));
  result.Set("error", Napi::String::New(env, r.error));
  return result;
}

// On the thread pool: runs `text` in the process's context.
NftResult RunNft(const std::string& text, bool dryRun) {
  std::lock_guard<std::mutex> lock(nftMutex);
  if (!EnsureContext()) throw std::runtime_error(nft.failure);
  // Reading a buffer empties it: whatever an earlier run left is not this run's.
  nft.outputBuffer(nft.ctx);
  nft.errorBuffer(nft.ctx);
  nft.setDryRun(nft.ctx, dryRun);
  NftResult r;
  r.ok = nft.runFromBuffer(nft.ctx, text.c_str()) == 0;
  nft.setDryRun(nft.ctx, false);
  const char* out = nft.outputBuffer(nft.ctx);
  const char* err = nft.errorBuffer(nft.ctx);
  r.output = out ? out : "";
  r.error = err ? err : "";
  return r;
}

}  // namespace

Napi::Value NftRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) ThrowType(env, "nftRun(text, dryRun) needs a string and a boolean");
  std::string text = info[0].As<Napi::String>().Utf8Value();
  if (text.find('\0') != std::string::npos) ThrowType(env, "nftRun: the commands contain a NUL byte");
  bool dryRun = info[1].As<Napi::Boolean>().Value();
  return OnThreadPool<NftResult>(env, [text = std::move(text), dryRun]() { return RunNft(text, dryRun); });
}

}  // namespace umbra
