// Reads packets from a non-blocking fd (the TUN, a UDP socket) on the main libuv loop with
// uv_poll_t (startPollInto). When the fd is readable, it reads into one buffer that JS allocated
// once, describes the packets in a shared Int32Array and calls JS with the count. A TUN
// is read with read() (with IFF_VNET_HDR, through offload.cc, which also cuts TSO super-packets
// into segments); a UDP socket with recvmmsg(), which also fills in each datagram's source as an
// id of a small address table (so JS builds no address per datagram), and cuts a UDP GRO train
// (one read holding many datagrams of one size from one sender) back into its datagrams.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace umbra {

static constexpr size_t kMaxPacket = 65535;  // the largest IP packet

enum class PollMode { kIntoTun, kIntoTunVnet, kIntoUdp };

// Sources seen by a UDP poller. Ids are small and stable while an address keeps sending; when
// the table is full an id is reused (JS then hears of the new address under that id), but never
// one already used in the current batch: JS maps a batch's ids after reading all of it, so a
// reused id would put an earlier datagram under the wrong source. Hence more ids than a batch
// has datagrams.
struct AddrTable {
  static constexpr uint32_t kSize = 256;
  sockaddr_storage addrs[kSize];
  socklen_t lens[kSize] = {};
  uint32_t batchOf[kSize] = {};  // the batch that last used each id
  uint32_t batch = 1;
  uint32_t used = 0;
  uint32_t nextEvict = 0;
  int32_t last = -1;
};

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
  // UDP: recvmmsg reads message i into slots[i*slotSize, (i+1)*slotSize); datagram j of a
  // callback is at offset meta[3j], meta[3j+1] bytes long, from the source with id meta[3j+2]
  // (a GRO train is several datagrams of one message). TUN: packets one after another in slots
  // (an arena), meta[2i] the offset and meta[2i+1] the length of packet i. Both arrays are
  // JS-owned and kept alive by the references.
  PollMode mode = PollMode::kIntoTun;
  Napi::ObjectReference slotsRef;
  Napi::ObjectReference metaRef;
  uint8_t* slots = nullptr;
  size_t slotSize = 0;
  uint32_t nslots = 0;   // UDP: messages per recvmmsg; TUN: packets per callback
  uint32_t perCall = 0;  // UDP: datagrams per callback (meta's room)
  int32_t* meta = nullptr;
  std::unique_ptr<AddrTable> table;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> from;
  std::vector<uint8_t> control;  // per message, room for the UDP_GRO segment size
  size_t arenaSize = 0;
  std::unique_ptr<TunVnetReader> vnet;
};

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

static bool SameAddr(const sockaddr_storage& a, socklen_t alen, const sockaddr_storage& b, socklen_t blen) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a);
    auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return alen == blen && std::memcmp(&a, &b, alen) == 0;
}

Napi::Object AddressObject(Napi::Env env, const sockaddr_storage& ss, socklen_t len) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    port = ntohs(a.sin6_port);
    char ifname[IF_NAMESIZE];
    if (a.sin6_scope_id != 0 && if_indextoname(a.sin6_scope_id, ifname) != nullptr) {
      std::strncat(host, "%", sizeof host - std::strlen(host) - 1);
      std::strncat(host, ifname, sizeof host - std::strlen(host) - 1);
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("host", Napi::String::New(env, host));
  o.Set("port", Napi::Number::New(env, port));
  o.Set("sockaddr", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&ss), len));
  return o;
}

// The id of a source address; a new one is also appended to `added` as {id, host, port, sockaddr}.
static int32_t AddrId(Napi::Env env, AddrTable& t, const sockaddr_storage& ss, socklen_t len, Napi::Array& added) {
  if (t.last >= 0 && SameAddr(t.addrs[t.last], t.lens[t.last], ss, len)) {
    t.batchOf[t.last] = t.batch;
    return t.last;
  }
  for (uint32_t i = 0; i < t.used; i++) {
    if (SameAddr(t.addrs[i], t.lens[i], ss, len)) {
      t.batchOf[i] = t.batch;
      return t.last = static_cast<int32_t>(i);
    }
  }
  uint32_t id;
  if (t.used < AddrTable::kSize) {
    id = t.used++;
  } else {
    do {  // terminates: a batch uses fewer ids than the table has
      id = t.nextEvict;
      t.nextEvict = (t.nextEvict + 1) % AddrTable::kSize;
    } while (t.batchOf[id] == t.batch);
  }
  t.batchOf[id] = t.batch;
  std::memcpy(&t.addrs[id], &ss, len);
  t.lens[id] = len;
  if (added.IsEmpty()) added = Napi::Array::New(env);
  Napi::Object o = AddressObject(env, ss, len);
  o.Set("id", Napi::Number::New(env, id));
  added.Set(added.Length(), o);
  return t.last = static_cast<int32_t>(id);
}

// Errors a UDP socket reports for earlier datagrams (ICMP) or transient conditions: nothing is
// wrong with the socket itself, so they are skipped rather than ending the poller.
static bool TransientUdpError(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ENETDOWN ||
         err == EHOSTDOWN || err == EPERM || err == ENOBUFS || err == ENOMEM || err == EMSGSIZE;
}

static constexpr size_t kUdpControl = CMSG_SPACE(sizeof(int));

// The size of each datagram in a GRO train (the last may be shorter); 0 when the read is one datagram.
static size_t GroSegment(const msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int seg;
      std::memcpy(&seg, CMSG_DATA(c), sizeof seg);
      return seg > 0 ? static_cast<size_t>(seg) : 0;
    }
  }
  return 0;
}

static void ReadIntoAndDeliver(Poller* p, int status) {
  Napi::Env env(p->env);
  Napi::HandleScope scope(env);
  if (status < 0) {
    Fail(p, ErrnoError(env, -status, "uv_poll",
                       "error condition on fd " + std::to_string(p->fd) +
                           " (for a TUN: was the interface deleted?); the poller has stopped"));
    return;
  }
  uint32_t count = 0;
  int readError = 0;
  Napi::Array added;
  // Hands the described packets (and the sources new since the last call) to JS.
  auto deliver = [&]() {
    CallJs(p, p->onPackets, {Napi::Number::New(env, count), added.IsEmpty() ? env.Undefined() : added});
    added = Napi::Array();
    count = 0;
  };
  if (p->mode == PollMode::kIntoTunVnet) {
    readError = p->vnet->Fill(p->fd, p->slots, p->arenaSize, p->meta, p->nslots, true, count);
  } else if (p->mode == PollMode::kIntoTun) {
    size_t used = 0;
    while (count < p->nslots && used + kMaxPacket <= p->arenaSize) {
      ssize_t n = read(p->fd, p->slots + used, kMaxPacket);
      if (n > 0) {
        p->meta[2 * count] = static_cast<int32_t>(used);
        p->meta[2 * count + 1] = static_cast<int32_t>(n);
        used += (static_cast<size_t>(n) + 7) & ~size_t(7);
        count++;
        continue;
      }
      if (n == 0) break;
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) readError = err;
      break;
    }
  } else {
    for (uint32_t i = 0; i < p->nslots; i++) {
      p->msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      p->msgs[i].msg_hdr.msg_controllen = kUdpControl;
      p->msgs[i].msg_hdr.msg_flags = 0;
    }
    p->table->batch++;
    int got = 0;
    for (int tries = 0; tries < 8;) {
      int n = recvmmsg(p->fd, p->msgs.data(), p->nslots, MSG_DONTWAIT, nullptr);
      if (n >= 0) {
        got = n;
        break;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (TransientUdpError(err)) {
        tries++;
        continue;
      }
      if (err != EAGAIN && err != EWOULDBLOCK) readError = err;
      break;
    }
    for (int i = 0; i < got && p->active; i++) {
      const msghdr& h = p->msgs[i].msg_hdr;
      if (h.msg_flags & MSG_TRUNC) continue;  // larger than a slot: not ours to carry
      const int32_t id = AddrId(env, *p->table, p->from[i], h.msg_namelen, added);
      const size_t len = p->msgs[i].msg_len;
      const size_t seg = GroSegment(h);
      const size_t step = seg > 0 && seg < len ? seg : len;
      size_t off = 0;
      do {
        if (count == p->perCall) {
          // meta is full: hand these over (the ids they use are all in `added` by now, as
          // every later id of this batch is too) and go on with the rest of the batch.
          deliver();
          if (!p->active) break;
        }
        int32_t* m = p->meta + 3 * count;
        m[0] = static_cast<int32_t>(i * p->slotSize + off);
        m[1] = static_cast<int32_t>(std::min(step, len - off));
        m[2] = id;
        count++;
        off += step;
      } while (off < len);
    }
  }
  if (p->active && (count > 0 || !added.IsEmpty())) deliver();
  // A TUN read that did not fit waits in the reader: hand it over now, not at the next wake-up
  // (which may not come).
  while (p->active && p->mode == PollMode::kIntoTunVnet && p->vnet->pending > 0) {
    p->vnet->Fill(p->fd, p->slots, p->arenaSize, p->meta, p->nslots, false, count);
    if (count > 0) deliver();
  }
  if (readError != 0 && p->active) {
    std::string what = readError == EBADFD ? "the TUN device is gone (interface deleted?)"
                                           : "reading from fd " + std::to_string(p->fd) + " failed";
    Fail(p, ErrnoError(env, readError, p->mode == PollMode::kIntoUdp ? "recvmmsg" : "read",
                       what + "; the poller has stopped"));
  }
}

static void OnPoll(uv_poll_t* handle, int status, int events) {
  Poller* p = static_cast<Poller*>(handle->data);
  if (!p->active) return;
  // No JS frame is below us: a failed N-API call (say, out of memory for a Buffer) must become
  // an uncaught exception, not a C++ exception escaping into libuv.
  Napi::HandleScope scope(Napi::Env(p->env));
  try {
    ReadIntoAndDeliver(p, status);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(p->env, e.Value());
  }
}

// Registers and starts a poller whose fields besides the handle are filled in.
static Napi::Value Start(Napi::Env env, std::unique_ptr<Poller> p, AddonState& state) {
  int fd = p->fd;
  for (const auto& entry : state.pollers) {
    if (entry.second->fd == fd) {
      ThrowPlain(env, "fd " + std::to_string(fd) + " is already polled (handle " +
                          std::to_string(entry.first) + "); stop that poller first");
    }
  }
  p->env = env;
  p->state = &state;
  p->id = state.nextPollId++;
  if (state.nextPollId == 0) state.nextPollId = 1;
  int rc = uv_poll_init(state.loop, &p->handle, fd);
  if (rc < 0) {
    // Not initialised, so nothing to close.
    ThrowErrno(env, -rc, "uv_poll_init",
               "cannot poll fd " + std::to_string(fd) + " (not open, or not a pollable file)");
  }
  p->handle.data = p.get();
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

// startPollInto(fd, kind: 'tun' | 'tun-vnet' | 'udp', slots: Uint8Array, slotSize,
//               meta: Int32Array, onBatch(count, added?), onError): number
// (slotSize is for 'udp'; the TUN kinds treat slots as one arena.)
Napi::Value StartPollInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto p = std::make_unique<Poller>();
  p->fd = FdArg(info, 0);
  std::string kind = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (kind == "tun") p->mode = PollMode::kIntoTun;
  else if (kind == "tun-vnet") p->mode = PollMode::kIntoTunVnet;
  else if (kind == "udp") p->mode = PollMode::kIntoUdp;
  else ThrowType(env, "kind must be 'tun', 'tun-vnet' or 'udp'");
  ByteView slots = BytesOf(env, info[2], "slots");
  uint32_t slotSize = Uint32Arg(info, 3, "slotSize");
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(env, "meta must be an Int32Array");
  }
  Napi::Int32Array meta = info[4].As<Napi::Int32Array>();
  uint32_t nslots;
  if (p->mode == PollMode::kIntoUdp) {
    // A GRO train fills up to 64 KiB; a smaller slot would lose whole trains to MSG_TRUNC.
    if (slotSize < 65535 || slotSize > 65536) ThrowRange(env, "slotSize must be 65535 or 65536 (a GRO train fills 64 KiB)");
    nslots = static_cast<uint32_t>(std::min<size_t>(slots.length / slotSize, AddrTable::kSize / 2));  // see AddrTable
    p->perCall = static_cast<uint32_t>(std::min<size_t>(meta.ElementLength() / 3, INT32_MAX));
    if (p->perCall == 0) ThrowRange(env, "meta must hold at least one datagram (3 numbers)");
  } else {
    // An arena: it must hold at least the largest packet (with its offload header).
    if (slots.length < kMaxPacket + 64) ThrowRange(env, "a TUN arena must hold at least 65600 bytes");
    nslots = static_cast<uint32_t>(meta.ElementLength() / 2);
  }
  if (nslots == 0) ThrowRange(env, "slots and meta must hold at least one packet");
  p->onPackets = Napi::Persistent(FunctionArg(info, 5, "onBatch"));
  p->onError = Napi::Persistent(FunctionArg(info, 6, "onError"));
  p->slotsRef = Napi::Persistent(info[2].As<Napi::Object>());
  p->metaRef = Napi::Persistent(info[4].As<Napi::Object>());
  p->slots = const_cast<uint8_t*>(slots.data);
  p->slotSize = slotSize;
  p->nslots = nslots;
  p->meta = meta.Data();
  p->arenaSize = slots.length;
  if (p->mode == PollMode::kIntoTunVnet) p->vnet = std::make_unique<TunVnetReader>();
  if (p->mode == PollMode::kIntoUdp) {
    p->table = std::make_unique<AddrTable>();
    p->msgs.resize(nslots);
    p->iovs.resize(nslots);
    p->from.resize(nslots);
    p->control.assign(nslots * kUdpControl, 0);
    for (uint32_t i = 0; i < nslots; i++) {
      p->iovs[i] = iovec{p->slots + i * slotSize, slotSize};
      msghdr& h = p->msgs[i].msg_hdr;
      std::memset(&h, 0, sizeof h);
      h.msg_name = &p->from[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &p->iovs[i];
      h.msg_iovlen = 1;
      h.msg_control = p->control.data() + i * kUdpControl;
      h.msg_controllen = kUdpControl;
    }
  }
  return Start(env, std::move(p), State(env));
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
