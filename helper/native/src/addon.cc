// Module entry of umbra_native: registers the exported functions and the per-env state.
#include <malloc.h>

#include "common.h"

namespace umbra {

AddonState& State(Napi::Env env) {
  AddonState* state = env.GetInstanceData<AddonState>();
  if (state == nullptr) ThrowPlain(env, "umbra_native: addon state missing (module not initialised)");
  return *state;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A fixed mmap threshold (glibc's default, 128 KiB) instead of glibc's sliding one. Freeing a
  // mapped block raises the sliding threshold to its size, so after the first disconnect a
  // connect's batch arenas (MBs of ArrayBuffers, calloc'd) came from the heap, where calloc
  // writes every page of them, instead of from fresh mappings whose pages exist only once used:
  // megabytes of RSS an idle tunnel never touches, and heap that trimming cannot give back.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  auto* state = new AddonState();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    delete state;
    ThrowPlain(env, "umbra_native: could not get the libuv event loop");
  }
  state->loop = loop;
  // Pollers still running when the env goes away are closed by their own async cleanup hooks
  // before this finaliser runs; by then the map is empty.
  env.SetInstanceData<AddonState>(state);

  exports.Set("openTun", Napi::Function::New(env, OpenTun, "openTun"));
  exports.Set("bootClockMs", Napi::Function::New(env, BootClockMs, "bootClockMs"));
  exports.Set("stopPoll", Napi::Function::New(env, StopPoll, "stopPoll"));
  exports.Set("writePackets", Napi::Function::New(env, WritePackets, "writePackets"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("setSocketMark", Napi::Function::New(env, SetSocketMark, "setSocketMark"));
  exports.Set("getSocketMark", Napi::Function::New(env, GetSocketMark, "getSocketMark"));
  exports.Set("setSocketBuffers", Napi::Function::New(env, SetSocketBuffers, "setSocketBuffers"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("startPollInto", Napi::Function::New(env, StartPollInto, "startPollInto"));
  exports.Set("udpOpen", Napi::Function::New(env, UdpOpen, "udpOpen"));
  exports.Set("udpSockaddr", Napi::Function::New(env, UdpSockaddr, "udpSockaddr"));
  exports.Set("udpSend", Napi::Function::New(env, UdpSend, "udpSend"));
  exports.Set("udpGso", Napi::Function::New(env, UdpGso, "udpGso"));
  exports.Set("udpPathMtu", Napi::Function::New(env, UdpPathMtu, "udpPathMtu"));
  exports.Set("udpRouteMtu", Napi::Function::New(env, UdpRouteMtu, "udpRouteMtu"));
  exports.Set("aeadSeal", Napi::Function::New(env, AeadSeal, "aeadSeal"));
  exports.Set("openTunVnet", Napi::Function::New(env, OpenTunVnet, "openTunVnet"));
  exports.Set("tunWriteCoalesced", Napi::Function::New(env, TunWriteCoalesced, "tunWriteCoalesced"));
  exports.Set("tunCoalesce", Napi::Function::New(env, TunCoalesce, "tunCoalesce"));
  exports.Set("tunSplit", Napi::Function::New(env, TunSplit, "tunSplit"));
  exports.Set("interfaceState", Napi::Function::New(env, InterfaceState, "interfaceState"));
  exports.Set("aeadOpen", Napi::Function::New(env, AeadOpen, "aeadOpen"));
  exports.Set("aeadBatch", Napi::Function::New(env, AeadBatch, "aeadBatch"));
  exports.Set("aeadImpl", Napi::Function::New(env, AeadImpl, "aeadImpl"));
  exports.Set("denyCoreDumps", Napi::Function::New(env, DenyCoreDumps, "denyCoreDumps"));
  exports.Set("pageOutFileMappings", Napi::Function::New(env, PageOutFileMappings, "pageOutFileMappings"));
  exports.Set("trimMalloc", Napi::Function::New(env, TrimMalloc, "trimMalloc"));
  exports.Set("nftRun", Napi::Function::New(env, NftRun, "nftRun"));
  exports.Set("rtnlTransact", Napi::Function::New(env, RtnlTransact, "rtnlTransact"));
  exports.Set("interfaceIndex", Napi::Function::New(env, InterfaceIndex, "interfaceIndex"));
  return exports;
}

}  // namespace umbra

// NODE_API_MODULE pastes its argument into an identifier, so it needs an unqualified name.
static Napi::Object InitUmbraNative(Napi::Env env, Napi::Object exports) {
  return umbra::Init(env, exports);
}

NODE_API_MODULE(umbra_native, InitUmbraNative)
