// The helper's process-wide protections. denyCoreDumps(): the helper holds private keys and PSKs
// in memory, so it must never leave them in a core file or let another process of the same uid
// read its memory through /proc/<pid>/mem or ptrace. Node has no binding for either call.
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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

// pageOutFileMappings(): hands back the pages of this process's read-only file mappings (the
// Node binary and its libraries: code and constant data). Start-up touches far more of them than
// an idle or running helper uses (the module loader, the snapshot, ICU); what is used again comes
// back on the next touch. Writable and anonymous memory (the heap, JIT code) is never touched.
// - The Node binary's own mappings: MADV_DONTNEED, which only unmaps them; the pages stay in the
//   page cache, so a later touch is a minor fault, not a read that puts the thread to sleep (with
//   MADV_PAGEOUT an idle daemon's GC threads woke ~2 times a second more, to read pages back).
//   Safe only where the mapping has no private copies (no "Anonymous" pages: relocations written
//   at load), which dropping would lose; the binary is relocated once, before main, never again.
// - Other libraries: MADV_PAGEOUT (Linux 5.4+), which the kernel applies only to pages no other
//   process maps, and which keeps private copies (they would have to be swapped).
// It runs on libuv's thread pool (over ~100 MB of mappings it takes ~30 ms, which the data path
// must not wait for) and resolves with the bytes asked for; 0 where neither could be applied.
namespace {
struct Mapping {
  unsigned long start = 0, end = 0;
  bool readOnlyPrivateFile = false;
  bool ofExecutable = false;
  unsigned long anonymousKb = 0;
};

double HandBack(const Mapping& m, bool& noPageOut) {
  if (!m.readOnlyPrivateFile || m.end <= m.start) return 0;
  void* at = reinterpret_cast<void*>(m.start);
  const size_t length = m.end - m.start;
  if (m.ofExecutable && m.anonymousKb == 0) return madvise(at, length, MADV_DONTNEED) == 0 ? static_cast<double>(length) : 0;
  if (noPageOut || madvise(at, length, MADV_PAGEOUT) == 0) return noPageOut ? 0 : static_cast<double>(length);
  if (errno == EINVAL) noPageOut = true;  // no MADV_PAGEOUT here
  return 0;                               // or a mapping that went away meanwhile, or is locked
}

double PageOutNow() {
  char exe[4096];
  ssize_t exeLength = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[exeLength > 0 ? exeLength : 0] = '\0';
  FILE* smaps = fopen("/proc/self/smaps", "re");
  if (smaps == nullptr) return 0;
  double asked = 0;
  bool noPageOut = false;
  Mapping m;
  char line[4096];
  while (fgets(line, sizeof line, smaps) != nullptr) {
    unsigned long start = 0, end = 0, offset = 0, inode = 0, kb = 0;
    char perms[8] = {0};
    char dev[16] = {0};
    int pathAt = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &start, &end, perms, &offset, dev, &inode, &pathAt) >= 6 && perms[0] != 0 && std::strlen(perms) == 4) {
      asked += HandBack(m, noPageOut);
      m = Mapping{};
      m.start = start;
      m.end = end;
      // Only mappings of a file (inode != 0), read-only ("r-x"/"r--"), private.
      m.readOnlyPrivateFile = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
      char* path = line + pathAt;
      path[std::strcspn(path, "\n")] = '\0';
      m.ofExecutable = exe[0] != '\0' && std::strcmp(path, exe) == 0;
    } else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      m.anonymousKb = kb;
    }
  }
  asked += HandBack(m, noPageOut);
  fclose(smaps);
  return asked;
}
bool TrimNow() {
#ifdef __GLIBC__
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

inline Napi::Value ToJs(Napi::Env env, double v) { return Napi::Number::New(env, v); }
inline Napi::Value ToJs(Napi::Env env, bool v) { return Napi::Boolean::New(env, v); }

// A promise of what `work` returns, run on libuv's thread pool.
template <typename T>
class PoolWorker : public Napi::AsyncWorker {
 public:
  PoolWorker(Napi::Env env, T (*work)()) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(work) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = work_(); }
  void OnOK() override { deferred_.Resolve(ToJs(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  T (*work_)();
  T result_{};
};

template <typename T>
Napi::Value OnThreadPool(Napi::Env env, T (*work)()) {
  auto* worker = new PoolWorker<T>(env, work);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Value PageOutFileMappings(const Napi::CallbackInfo& info) { return OnThreadPool(info.Env(), PageOutNow); }

// trimMalloc(): Promise<boolean> — hands the C heap's free pages back to the kernel (glibc's
// malloc_trim(0): every arena, free pages in the middle too). Start-up and each connect free
// more than they keep (V8's compiler zones, buffers of spawned processes, OpenSSL), and glibc
// keeps what it freed: ~8 MB of an idle daemon's RSS. On the thread pool: it walks and locks
// each arena in turn. Resolves whether anything went back; false without glibc.
Napi::Value TrimMalloc(const Napi::CallbackInfo& info) { return OnThreadPool(info.Env(), TrimNow); }

}  // namespace umbra
