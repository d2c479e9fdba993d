// The helper's process-wide protections. denyCoreDumps(): the helper holds private keys and PSKs
// in memory, so it must never leave them in a core file or let another process of the same uid
// read its memory through /proc/<pid>/mem or ptrace. Node has no binding for either call.
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

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
// - The Node binary's code and constants: MADV_DONTNEED, which only unmaps them; the pages stay in
//   the page cache, so a later touch is a minor fault, not a read that puts the thread to sleep
//   (with MADV_PAGEOUT an idle daemon's GC threads woke ~2 times a second more, to read pages
//   back). Dropping a private copy would lose it (the relocations written at load, which may sit
//   in swap, where smaps no longer counts them as Anonymous), so only ranges inside one of the
//   binary's non-writable PT_LOAD segments qualify, away from its writable and RELRO ones, and
//   only with no Anonymous or Swap pages in smaps.
// - Everything else read-only: MADV_PAGEOUT (Linux 5.4+), which the kernel applies only to pages
//   no other process maps, and which keeps private copies (it swaps them).
// It runs on libuv's thread pool (over ~100 MB of mappings it takes ~30 ms, which the data path
// must not wait for) and resolves with the bytes asked for; 0 where neither could be applied.
namespace {
struct Range {
  uintptr_t start, end;
};

// The main program's segments: code and constants (never written), and what is or was writable.
struct ProgramSegments {
  std::vector<Range> readOnly;
  std::vector<Range> writable;
};

int CollectMainProgram(dl_phdr_info* info, size_t, void* data) {
  // The main program comes first, with an empty name.
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') return 1;
  auto* out = static_cast<ProgramSegments*>(data);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD && ph.p_type != PT_GNU_RELRO) continue;
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    const uintptr_t end = start + ph.p_memsz;
    // Whole pages; a page a read-only segment shares with a writable one counts as writable.
    const Range pages{start & ~(page - 1), (end + page - 1) & ~(page - 1)};
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) == 0) out->readOnly.push_back(pages);
    else out->writable.push_back(pages);
  }
  return 1;
}

struct Mapping {
  uintptr_t start = 0, end = 0;
  bool readOnlyPrivateFile = false;
  // Unknown until smaps says (a missing field must not read as "none").
  unsigned long anonymousKb = ULONG_MAX;
  unsigned long swapKb = ULONG_MAX;
};

bool OnlyCodeAndConstants(const Mapping& m, const ProgramSegments& program) {
  if (m.anonymousKb != 0 || m.swapKb != 0) return false;
  for (const Range& w : program.writable) {
    if (m.start < w.end && w.start < m.end) return false;
  }
  for (const Range& r : program.readOnly) {
    if (r.start <= m.start && m.end <= r.end) return true;
  }
  return false;
}

double HandBack(const Mapping& m, const ProgramSegments& program) {
  if (!m.readOnlyPrivateFile || m.end <= m.start) return 0;
  void* at = reinterpret_cast<void*>(m.start);
  const size_t length = m.end - m.start;
  const int advice = OnlyCodeAndConstants(m, program) ? MADV_DONTNEED : MADV_PAGEOUT;
  // EINVAL: no MADV_PAGEOUT on this kernel, or a locked mapping; others: it went away meanwhile.
  return madvise(at, length, advice) == 0 ? static_cast<double>(length) : 0;
}

double PageOutNow() {
  ProgramSegments program;
  dl_iterate_phdr(CollectMainProgram, &program);
  FILE* smaps = fopen("/proc/self/smaps", "re");
  if (smaps == nullptr) return 0;
  double asked = 0;
  Mapping m;
  char* line = nullptr;
  size_t capacity = 0;
  // getline: a line of any length (a mapped file's long name) is read whole, never in pieces
  // whose rest could pass for a mapping of its own.
  while (getline(&line, &capacity, smaps) > 0) {
    unsigned long start = 0, end = 0, offset = 0, inode = 0, kb = 0;
    char perms[8] = {0};
    char dev[16] = {0};
    if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &start, &end, perms, &offset, dev, &inode) == 6 && std::strlen(perms) == 4) {
      asked += HandBack(m, program);
      m = Mapping{};
      m.start = start;
      m.end = end;
      // Only mappings of a file (inode != 0), read-only ("r-x"/"r--"), private.
      m.readOnlyPrivateFile = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
    } else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      m.anonymousKb = kb;
    } else if (sscanf(line, "Swap: %lu kB", &kb) == 1) {
      m.swapKb = kb;
    }
  }
  asked += HandBack(m, program);
  free(line);
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

}  // namespace

Napi::Value PageOutFileMappings(const Napi::CallbackInfo& info) { return OnThreadPool<double>(info.Env(), PageOutNow); }

// trimMalloc(): Promise<boolean> — hands the C heap's free pages back to the kernel (glibc's
// malloc_trim(0): every arena, free pages in the middle too). Start-up and each connect free
// more than they keep (V8's compiler zones, buffers of spawned processes, OpenSSL), and glibc
// keeps what it freed: ~8 MB of an idle daemon's RSS. On the thread pool: it walks and locks
// each arena in turn. Resolves whether anything went back; false without glibc.
Napi::Value TrimMalloc(const Napi::CallbackInfo& info) { return OnThreadPool<bool>(info.Env(), TrimNow); }

}  // namespace umbra
