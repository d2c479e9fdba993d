// The helper's process-wide protections. denyCoreDumps(): the helper holds private keys and PSKs
// in memory, so it must never leave them in a core file or let another process of the same uid
// read its memory through /proc/<pid>/mem or ptrace. Node has no binding for either call.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>

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

}  // namespace umbra
