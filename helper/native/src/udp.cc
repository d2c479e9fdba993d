// The data path's UDP socket, owned by the addon instead of node:dgram: opened with its fwmark
// and buffer sizes already set, read in batches by a poller (startPollInto 'udp', recvmmsg) and
// written in batches with sendmmsg, so a burst of datagrams costs one system call each way.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "common.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace umbra {

static constexpr size_t kMaxSendBatch = 1024;  // UIO_MAXIOV: sendmmsg's own limit

static void SetBufferSize(int fd, int forceOpt, int plainOpt, int bytes) {
  // FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; the plain option is capped.
  if (setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, plainOpt, &bytes, sizeof bytes);
}

// udpOpen(family: 4 | 6, port, address: string, mark: number (-1: none), bufferBytes):
// { fd, port }. The socket is non-blocking and close-on-exec; an IPv6 one is IPv6-only, so an
// IPv4 socket can share its port.
Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = Uint32Arg(info, 0, "family");
  if (family != 4 && family != 6) ThrowRange(env, "family must be 4 or 6");
  uint32_t port = Uint32Arg(info, 1, "port");
  if (port > 65535) ThrowRange(env, "port must be from 0 to 65535");
  if (!info[2].IsString()) ThrowType(env, "address must be a string");
  std::string address = info[2].As<Napi::String>().Utf8Value();
  double markArg = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  uint32_t bufferBytes = Uint32Arg(info, 4, "bufferBytes");
  if (bufferBytes > INT_MAX / 2) ThrowRange(env, "bufferBytes is too large");

  sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  socklen_t len;
  const int af = family == 4 ? AF_INET : AF_INET6;
  addrinfo hints{};
  hints.ai_family = af;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints, &res);
  if (gai != 0 || res == nullptr) {
    ThrowRange(env, "\"" + address + "\" is not an IPv" + std::to_string(family) + " address");
  }
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);

  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    int err = errno;
    ThrowErrno(env, err, "socket",
               err == EAFNOSUPPORT ? "IPv6 is not available on this machine" : "could not create a UDP socket");
  }
  auto fail = [&](const char* syscall, const std::string& what) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, syscall, what);
  };
  int one = 1;
  if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
    fail("setsockopt(IPV6_V6ONLY)", "could not make the socket IPv6-only");
  }
  if (markArg >= 0) {
    uint32_t mark = static_cast<uint32_t>(markArg);
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
      fail("setsockopt(SO_MARK)", errno == EPERM ? "setting SO_MARK needs root (or CAP_NET_ADMIN)" : "setting SO_MARK failed");
    }
  }
  if (bufferBytes > 0) {
    SetBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, static_cast<int>(bufferBytes));
    SetBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, static_cast<int>(bufferBytes));
  }
  // UDP GRO: a burst from one sender (a GSO send, or what a NIC's GRO merged) arrives as one
  // datagram train, cut apart again by the poller, instead of one trip through the stack each.
  // Kernels before 5.0 refuse the option; the socket then reads datagrams one by one.
  setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    fail("bind", "could not bind a UDP socket to " + (address.empty() ? std::string("*") : address) + ":" + service);
  }
  len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) fail("getsockname", "could not read the bound port");
  int bound = af == AF_INET ? ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port)
                            : ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
  State(env).gsoOff.erase(fd);  // a new socket on a reused fd number starts with GSO on
  State(env).pathMtu.erase(fd);  // ... and knows nothing of its path
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("port", Napi::Number::New(env, bound));
  return result;
}

// udpSockaddr(host, port): Buffer — the sockaddr to send to, for udpSend. host is a numeric
// IPv4 or IPv6 address (an IPv6 one may carry a %scope).
Napi::Value UdpSockaddr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "host must be a string");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  uint32_t port = Uint32Arg(info, 1, "port");
  if (port > 65535) ThrowRange(env, "port must be from 0 to 65535");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    ThrowRange(env, "\"" + host + "\" is not a numeric IP address");
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(res->ai_addr), res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

// Send errors that concern one datagram or the moment (no route yet, firewall, full buffers):
// that datagram is dropped, as the network would drop it, and the rest still go.
static bool DroppableSendError(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM || err == ENETUNREACH ||
         err == EHOSTUNREACH || err == ENETDOWN || err == EHOSTDOWN || err == EPERM || err == EACCES ||
         err == ECONNREFUSED || err == EMSGSIZE || err == EADDRNOTAVAIL || err == EAFNOSUPPORT || err == EINVAL;
}

// UDP GSO (UDP_SEGMENT): consecutive datagrams to one address, all of one size but the last
// (which may be shorter), leave as one message that the kernel cuts up as late as it can — one
// trip through the socket, routing and netfilter for the lot instead of one per datagram.
static constexpr uint32_t kMaxSegments = 64;        // UDP_MAX_SEGMENTS of older kernels
static constexpr size_t kMaxGsoBytes = 65000;       // below IP's 64 KiB, headers included
// Errors that mean "this path cannot do GSO" (no checksum offload; older kernels' EINVAL for a
// segment over the path MTU):
// the socket stops using it and sends those datagrams one by one.
static bool GsoError(int err) { return err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP; }

struct Group {
  uint32_t first;
  uint32_t count;
  uint16_t segment;  // 0: one plain datagram
};

struct SendState {
  std::vector<ByteView> data;
  std::vector<ByteView> addrs;
  std::vector<Group> groups;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<char> control;
};

static bool SameSockaddr(const ByteView& a, const ByteView& b) {
  return a.data == b.data || (a.length == b.length && std::memcmp(a.data, b.data, a.length) == 0);
}

enum class Refusal { None, NoGso, PathMtu };

struct RangeResult {
  uint32_t sent = 0;
  uint32_t singles = 0;      // datagrams sent one by one because they exceed `cap`
  Refusal refusal = Refusal::None;
  uint32_t resumeAt = 0;     // with a refusal: the first datagram of the refused message
  uint16_t segment = 0;      // with Refusal::PathMtu: the refused segment size
};

// Sends datagrams [from, count) of st, with GSO when `gso` for segments up to `cap` (0: any).
// Stops at a GSO message the kernel refuses, saying why and where to resume.
static RangeResult SendRange(Napi::Env env, int fd, SendState& st, uint32_t from, uint32_t count, bool gso, uint16_t cap) {
  RangeResult out;
  out.resumeAt = count;
  st.groups.clear();
  for (uint32_t i = from; i < count;) {
    Group g{i, 1, 0};
    size_t size = st.data[i].length;
    size_t total = size;
    if (gso && cap != 0 && size > cap) {
      out.singles++;
    } else if (gso && size > 0 && size <= 0xffff) {
      while (i + g.count < count && g.count < kMaxSegments) {
        const ByteView& next = st.data[i + g.count];
        if (next.length == 0 || next.length > size || total + next.length > kMaxGsoBytes) break;
        if (!SameSockaddr(st.addrs[i + g.count], st.addrs[i])) break;
        total += next.length;
        g.count++;
        if (next.length < size) break;  // a shorter one can only be the last
      }
      if (g.count > 1) g.segment = static_cast<uint16_t>(size);
    }
    st.groups.push_back(g);
    i += g.count;
  }
  const size_t cmsgSpace = CMSG_SPACE(sizeof(uint16_t));
  st.msgs.resize(st.groups.size());
  st.iovs.resize(count - from);
  st.control.assign(st.groups.size() * cmsgSpace, 0);
  for (size_t k = 0; k < st.groups.size(); k++) {
    const Group& g = st.groups[k];
    iovec* iov = &st.iovs[g.first - from];
    for (uint32_t j = 0; j < g.count; j++) {
      const ByteView& d = st.data[g.first + j];
      iov[j] = iovec{const_cast<uint8_t*>(d.data), d.length};
    }
    msghdr& h = st.msgs[k].msg_hdr;
    std::memset(&h, 0, sizeof h);
    h.msg_name = const_cast<uint8_t*>(st.addrs[g.first].data);
    h.msg_namelen = static_cast<socklen_t>(st.addrs[g.first].length);
    h.msg_iov = iov;
    h.msg_iovlen = g.count;
    if (g.segment != 0) {
      h.msg_control = &st.control[k * cmsgSpace];
      h.msg_controllen = cmsgSpace;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      std::memcpy(CMSG_DATA(c), &g.segment, sizeof(uint16_t));
    }
  }
  size_t done = 0;
  const size_t n = st.groups.size();
  while (done < n) {
    int r = sendmmsg(fd, st.msgs.data() + done, static_cast<unsigned>(std::min<size_t>(n - done, kMaxSendBatch)), MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) out.sent += st.groups[done + k].count;
      done += r;
      continue;
    }
    int err = errno;
    if (r < 0 && err == EINTR) continue;
    const Group& g = st.groups[done];
    if (r < 0 && g.segment != 0 && (err == EMSGSIZE || GsoError(err))) {
      // A GSO segment over the path MTU the kernel has learnt (ICMP "fragmentation needed") is
      // refused whole, where the same datagram sent alone would be fragmented and go.
      out.refusal = err == EMSGSIZE ? Refusal::PathMtu : Refusal::NoGso;
      out.resumeAt = g.first;
      out.segment = g.segment;
      return out;
    }
    if (r < 0 && DroppableSendError(err)) {
      done++;  // that message is dropped; carry on with the next
      continue;
    }
    ThrowErrno(env, r < 0 ? err : EIO, "sendmmsg", "sending on UDP fd " + std::to_string(fd) + " failed");
  }
  return out;
}

static uint64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// How long a learnt GSO cap holds before GSO is tried again at full size: a path MTU can grow
// back (a new route, the kernel's learnt value expiring), and one refused try costs little.
static constexpr uint64_t kPathMtuRetryMs = 30000;

// udpSend(fd, datagrams: Uint8Array[], sockaddrs: Uint8Array[], count): number — sends the first
// `count` datagrams in order, datagram i to sockaddrs[i], with as few sendmmsg calls as the
// kernel allows (and GSO where it can). Returns how many were sent; the others were dropped (see
// DroppableSendError). Other errors (a closed fd) throw.
Napi::Value UdpSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (!info[1].IsArray() || !info[2].IsArray()) ThrowType(env, "datagrams and sockaddrs must be arrays");
  Napi::Array datagrams = info[1].As<Napi::Array>();
  Napi::Array sockaddrs = info[2].As<Napi::Array>();
  uint32_t count = Uint32Arg(info, 3, "count");
  if (count > datagrams.Length() || count > sockaddrs.Length()) ThrowRange(env, "count is larger than the arrays");
  thread_local SendState st;
  st.data.resize(count);
  st.addrs.resize(count);
  for (uint32_t i = 0; i < count; i++) {
    st.data[i] = BytesOf(env, datagrams.Get(i), "each datagram");
    st.addrs[i] = BytesOf(env, sockaddrs.Get(i), "each sockaddr");
  }
  AddonState& state = State(env);
  bool gso = state.gsoOff.count(fd) == 0;
  PathMtuState* pm = nullptr;
  auto found = state.pathMtu.find(fd);
  if (found != state.pathMtu.end()) {
    pm = &found->second;
    if (pm->cap != 0 && MonotonicMs() >= pm->retryAtMs) pm->cap = 0;
  }
  uint32_t sent = 0;
  uint32_t from = 0;
  // Each refusal turns GSO off or lowers the cap below the refused segment, so this ends.
  for (;;) {
    RangeResult r = SendRange(env, fd, st, from, count, gso, pm ? pm->cap : 0);
    sent += r.sent;
    if (pm) pm->fragmented += r.singles;
    if (r.refusal == Refusal::None) break;
    // A refused segment of one byte leaves no cap below it (0 would mean "any"): no GSO then.
    if (r.refusal == Refusal::NoGso || r.segment <= 1) {
      // This path cannot do GSO: from the refused message on, and from now on, one by one.
      state.gsoOff.insert(fd);
      gso = false;
    } else {
      pm = &state.pathMtu[fd];
      pm->cap = static_cast<uint16_t>(r.segment - 1);
      pm->retryAtMs = MonotonicMs() + kPathMtuRetryMs;
    }
    from = r.resumeAt;
  }
  return Napi::Number::New(env, sent);
}

// udpPathMtu(fd): {cap, fragmented} — the GSO segment cap udpSend has learnt on fd from a path
// MTU below its datagrams (0: none), and how many datagrams it sent one by one for it.
Napi::Value UdpPathMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  AddonState& state = State(env);
  auto found = state.pathMtu.find(fd);
  Napi::Object out = Napi::Object::New(env);
  out.Set("cap", Napi::Number::New(env, found == state.pathMtu.end() ? 0 : found->second.cap));
  out.Set("fragmented", Napi::Number::New(env, found == state.pathMtu.end() ? 0 : static_cast<double>(found->second.fragmented)));
  return out;
}

// udpRouteMtu(fd, sockaddr): number — the MTU the kernel routes datagrams from fd to sockaddr
// with: the link's, or the smaller path MTU it has learnt from ICMP "fragmentation needed" (IPv6
// "packet too big"). fd sends unconnected, so a throwaway socket with fd's mark and local address
// is connected there to ask (connecting a UDP socket sends nothing). 0: no route there.
Napi::Value UdpRouteMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  ByteView to = BytesOf(env, info[1], "sockaddr");
  sa_family_t af = AF_UNSPEC;
  if (to.length >= sizeof af) std::memcpy(&af, to.data, sizeof af);
  if ((af != AF_INET || to.length < sizeof(sockaddr_in)) && (af != AF_INET6 || to.length < sizeof(sockaddr_in6))) {
    ThrowRange(env, "sockaddr must be an IPv4 or IPv6 address (from udpSockaddr)");
  }
  uint32_t mark = 0;
  socklen_t markLen = sizeof mark;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &markLen) < 0) {
    int err = errno;  // before the message's strings are built
    ThrowErrno(env, err, "getsockopt(SO_MARK)", "could not read the mark of UDP fd " + std::to_string(fd));
  }
  sockaddr_storage local;
  socklen_t localLen = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen) < 0) {
    int err = errno;
    ThrowErrno(env, err, "getsockname", "could not read the address of UDP fd " + std::to_string(fd));
  }
  if (local.ss_family != af) ThrowRange(env, "sockaddr is not of UDP fd " + std::to_string(fd) + "'s family");
  // The same source address (a bound one picks the route as much as the mark does), any port.
  if (af == AF_INET) reinterpret_cast<sockaddr_in&>(local).sin_port = 0;
  else reinterpret_cast<sockaddr_in6&>(local).sin6_port = 0;
  int probe = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (probe < 0) {
    int err = errno;
    ThrowErrno(env, err, "socket", "could not create a UDP socket to ask the route's MTU");
  }
  int one = 1;
  int mtu = 0;
  socklen_t mtuLen = sizeof mtu;
  bool ok = (af != AF_INET6 || setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
            (mark == 0 || setsockopt(probe, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0) &&
            bind(probe, reinterpret_cast<sockaddr*>(&local), localLen) == 0 &&
            connect(probe, reinterpret_cast<const sockaddr*>(to.data), static_cast<socklen_t>(to.length)) == 0 &&
            getsockopt(probe, af == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, af == AF_INET ? IP_MTU : IPV6_MTU, &mtu, &mtuLen) == 0;
  int err = errno;
  close(probe);
  if (!ok && err != ENETUNREACH && err != EHOSTUNREACH && err != EADDRNOTAVAIL && err != ENETDOWN) {
    ThrowErrno(env, err, "udpRouteMtu", "could not ask the kernel the route's MTU");
  }
  return Napi::Number::New(env, ok ? mtu : 0);
}

// udpGso(fd, enabled?): boolean — whether udpSend may use GSO on fd; sets it when `enabled` is
// given. GSO is on for a new socket and goes off by itself where the path refuses it.
Napi::Value UdpGso(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  AddonState& state = State(env);
  if (info[1].IsBoolean()) {
    if (info[1].As<Napi::Boolean>().Value()) state.gsoOff.erase(fd);
    else state.gsoOff.insert(fd);
  }
  return Napi::Boolean::New(env, state.gsoOff.count(fd) == 0);
}

}  // namespace umbra
