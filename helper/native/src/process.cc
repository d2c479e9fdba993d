// The helper's process-wide protections. denyCoreDumps(): the helper holds private keys and PSKs
// in memory, so it must never leave them in a core file or let another process of the same uid
// read its memory through /proc/<pid>/mem or ptrace. Node has no binding for either call.
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
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
// Node binary, the addon and the libraries: code and constant data). Start-up touches far more of
// them than an idle or running helper uses (the module loader, the snapshot, ICU); what is used
// again comes back on the next touch. Writable and anonymous memory (the heap, JIT code) is never
// touched.
// - Code and constants of a loaded object: MADV_DONTNEED, which only unmaps them; the pages stay
//   in the page cache, so a later touch is a minor fault, not a read that puts the thread to
//   sleep. MADV_PAGEOUT evicts a page no other process maps: an idle daemon's GC threads woke ~2
//   times a second more to read the binary back, and the first packet after an idle minute
//   waited 1.5-5 ms for the addon's and V8's builtins' pages to be read again. Dropping a private
//   copy would lose it (the relocations written at load, which may sit in swap, where smaps no
//   longer counts them as Anonymous), so only ranges inside a non-writable PT_LOAD segment of a
//   loaded object qualify, away from its writable and RELRO ones, and only with no Anonymous or
//   Swap pages in smaps; a library only once pinned, so it cannot be unloaded between the two.
//   So does V8's second mapping of its builtins (a copy of the binary's code mapped near the JIT
//   code): a mapping of the binary's own file, inside a non-writable segment's file range. It
//   is the main isolate's, for the process's life: the helper starts no Worker, whose isolate
//   could unmap its own copy in between.
// A page written after smaps was read (a debugger's breakpoint) can still be dropped; the smaps
// check keeps out everything written before.
// - Everything else read-only: MADV_PAGEOUT (Linux 5.4+), which the kernel applies only to pages
//   no other process maps, and which keeps private copies (it swaps them).
// It runs on libuv's thread pool (over ~100 MB of mappings it takes ~30 ms, which the data path
// must not wait for) and resolves with the bytes asked for; 0 where neither could be applied.
namespace {
struct Range {
  uintptr_t start, end;
};

// The loaded objects' segments: code and constants (never written), and what is or was writable;
// and, for the main program, its file and the file ranges of its code and constants.
struct LoadedSegments {
  std::vector<Range> readOnly;
  std::vector<Range> writable;
  std::vector<Range> programFileReadOnly;
  dev_t programDev = 0;
  ino_t programInode = 0;
};

// Pins every loaded library (RTLD_NODELETE): the page-out reads smaps, then advises, and an object
// dlclose'd between the two could have its addresses reused by memory that MADV_DONTNEED would
// then wipe. The helper never unloads a library, so this costs nothing but the promise.
int PinLoaded(dl_phdr_info* info, size_t, void* data) {
  auto* names = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') names->push_back(info->dlpi_name);
  return 0;
}

struct Collecting {
  LoadedSegments* out;
  const std::set<std::string>* pinned;
};

int CollectSegments(dl_phdr_info* info, size_t, void* data) {
  const auto* c = static_cast<Collecting*>(data);
  LoadedSegments* out = c->out;
  // The main program comes first, with an empty name; a library counts only once pinned.
  const bool program = info->dlpi_name == nullptr || info->dlpi_name[0] == '\0';
  if (!program && c->pinned->count(info->dlpi_name) == 0) return 0;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD && ph.p_type != PT_GNU_RELRO) continue;
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    const uintptr_t end = start + ph.p_memsz;
    // Whole pages; a page a read-only segment shares with a writable one counts as writable.
    const Range pages{start & ~(page - 1), (end + page - 1) & ~(page - 1)};
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) == 0) {
      out->readOnly.push_back(pages);
      // Whole pages inside the segment's bytes in the file.
      const uintptr_t from = (ph.p_offset + page - 1) & ~(page - 1);
      const uintptr_t to = (ph.p_offset + ph.p_filesz) & ~(page - 1);
      if (program) out->programFileReadOnly.push_back({from, to});
    } else {
      out->writable.push_back(pages);
    }
  }
  return 0;
}

struct Mapping {
  uintptr_t start = 0, end = 0;
  uintptr_t offset = 0;
  dev_t dev = 0;
  ino_t inode = 0;
  bool readOnlyPrivateFile = false;
  // Unknown until smaps says (a missing field must not read as "none").
  unsigned long anonymousKb = ULONG_MAX;
  unsigned long swapKb = ULONG_MAX;
};

bool Within(const std::vector<Range>& ranges, uintptr_t start, uintptr_t end) {
  for (const Range& r : ranges) {
    if (r.start <= start && end <= r.end) return true;
  }
  return false;
}

bool OnlyCodeAndConstants(const Mapping& m, const LoadedSegments& loaded) {
  if (m.anonymousKb != 0 || m.swapKb != 0) return false;
  for (const Range& w : loaded.writable) {
    if (m.start < w.end && w.start < m.end) return false;
  }
  if (Within(loaded.readOnly, m.start, m.end)) return true;
  // Elsewhere in memory, a mapping of the program's own code or constants (V8's builtins).
  return loaded.programInode != 0 && m.inode == loaded.programInode && m.dev == loaded.programDev &&
         Within(loaded.programFileReadOnly, m.offset, m.offset + (m.end - m.start));
}

double HandBack(const Mapping& m, const LoadedSegments& loaded) {
  if (!m.readOnlyPrivateFile || m.end <= m.start) return 0;
  void* at = reinterpret_cast<void*>(m.start);
  const size_t length = m.end - m.start;
  const int advice = OnlyCodeAndConstants(m, loaded) ? MADV_DONTNEED : MADV_PAGEOUT;
  // EINVAL: no MADV_PAGEOUT on this kernel, or a locked mapping; others: it went away meanwhile.
  return madvise(at, length, advice) == 0 ? static_cast<double>(length) : 0;
}

double PageOutNow() {
  std::vector<std::string> names;
  dl_iterate_phdr(PinLoaded, &names);
  std::set<std::string> pinned;
  for (const std::string& name : names) {
    // A handle never closed: the object stays for the process's life (RTLD_NOLOAD: only if loaded).
    if (dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE) != nullptr) pinned.insert(name);
  }
  LoadedSegments loaded;
  Collecting collecting{&loaded, &pinned};
  dl_iterate_phdr(CollectSegments, &collecting);
  struct stat exe = {};
  if (stat("/proc/self/exe", &exe) == 0) {
    loaded.programDev = exe.st_dev;
    loaded.programInode = exe.st_ino;
  }
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
    unsigned int major = 0, minor = 0;
    char perms[8] = {0};
    if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &start, &end, perms, &offset, &major, &minor, &inode) == 7 && std::strlen(perms) == 4) {
      asked += HandBack(m, loaded);
      m = Mapping{};
      m.start = start;
      m.end = end;
      m.offset = offset;
      m.dev = makedev(major, minor);
      m.inode = inode;
      // Only mappings of a file (inode != 0), read-only ("r-x"/"r--"), private.
      m.readOnlyPrivateFile = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
    } else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      m.anonymousKb = kb;
    } else if (sscanf(line, "Swap: %lu kB", &kb) == 1) {
      m.swapKb = kb;
    }
  }
  asked += HandBack(m, loaded);
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
