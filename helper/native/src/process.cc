// The helper's process-wide protections. denyCoreDumps(): the helper holds private keys and PSKs
// in memory, so it must never leave them in a core file or let another process of the same uid
// read its memory through /proc/<pid>/mem or ptrace. Node has no binding for either call.
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common.h"

namespace umbra {

// denyCoreDumps(): PR_SET_DUMPABLE 0 (no core dump, /proc/<pid>/* owned by root, no ptrace attach
// without CAP_SYS_PTRACE) and RLIMIT_CORE 0/0 (also for a kernel with suid_dumpable=2, and so
// systemd-coredump skips us). Returns what the kernel reports afterwards, so callers can check.
Napi::Value DenyCoreDumps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    ThrowErrno(env, errno, "prctl(PR_SET_DUMPABLE)", "could not make the helper non-dumpable; refusing to hold keys");
  }
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    ThrowErrno(env, errno, "setrlimit(RLIMIT_CORE)", "could not turn core dumps off; refusing to hold keys");
  }
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (dumpable < 0) ThrowErrno(env, errno, "prctl(PR_GET_DUMPABLE)", "could not read back the dumpable flag");
  struct rlimit now = {};
  if (getrlimit(RLIMIT_CORE, &now) != 0) ThrowErrno(env, errno, "getrlimit(RLIMIT_CORE)", "could not read back the core limit");
  Napi::Object result = Napi::Object::New(env);
  result.Set("dumpable", Napi::Number::New(env, dumpable));
  result.Set("coreLimit", Napi::Number::New(env, static_cast<double>(now.rlim_cur)));
  return result;
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

// pageOutFileMappings(): asks the kernel to reclaim the pages of this process's read-only file
// mappings (the Node binary and its libraries: code and constant data), MADV_PAGEOUT, Linux 5.4+.
// Start-up touches far more of them than an idle or running helper uses (the module loader, the
// snapshot, ICU); what is used again comes back on the next touch. Writable and anonymous memory
// (the heap, JIT code) is never touched, nor are pages another process maps too. It runs on
// libuv's thread pool (madvise over ~100 MB of mappings takes ~30 ms, which the data path must
// not wait for) and resolves with the bytes asked for; 0 where the kernel has no MADV_PAGEOUT.
namespace {

double PageOutNow() {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (maps == nullptr) return 0;
  double asked = 0;
  char line[4096];
  while (fgets(line, sizeof line, maps) != nullptr) {
    unsigned long start = 0, end = 0, offset = 0, inode = 0;
    char perms[8] = {0};
    char dev[16] = {0};
    if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &start, &end, perms, &offset, dev, &inode) < 6) continue;
    // Only mappings of a file (inode != 0), read-only ("r-x"/"r--"), private.
    if (inode == 0 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p') continue;
    if (madvise(reinterpret_cast<void*>(start), end - start, MADV_PAGEOUT) != 0) {
      if (errno == EINVAL) break;  // no MADV_PAGEOUT here
      continue;                    // a mapping that went away meanwhile, or is locked
    }
    asked += static_cast<double>(end - start);
  }
  fclose(maps);
  return asked;
}

class PageOutWorker : public Napi::AsyncWorker {
 public:
  explicit PageOutWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { asked_ = PageOutNow(); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), asked_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  double asked_ = 0;
};

}  // namespace

Napi::Value PageOutFileMappings(const Napi::CallbackInfo& info) {
  auto* worker = new PageOutWorker(info.Env());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}


// trimMalloc(): Promise<boolean> — hands the C heap's free pages back to the kernel (glibc's
// malloc_trim(0): every arena, free pages in the middle too). Start-up and each connect free
// more than they keep (V8's compiler zones, buffers of spawned processes, OpenSSL), and glibc
// keeps what it freed: ~8 MB of an idle daemon's RSS. On the thread pool: it walks and locks
// each arena in turn. Resolves whether anything went back; false without glibc.
namespace {
class TrimWorker : public Napi::AsyncWorker {
 public:
  explicit TrimWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
#ifdef __GLIBC__
    released_ = malloc_trim(0) != 0;
#endif
  }
  void OnOK() override { deferred_.Resolve(Napi::Boolean::New(Env(), released_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  bool released_ = false;
};
}  // namespace

Napi::Value TrimMalloc(const Napi::CallbackInfo& info) {
  auto* worker = new TrimWorker(info.Env());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace umbra
