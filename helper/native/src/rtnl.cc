// rtnlTransact(messages): Promise<{ done, error, reason, message }> — sends rtnetlink requests built in
// TypeScript (helper/platform/routing/rtnetlink.ts) one after another on one NETLINK_ROUTE socket,
// on libuv's thread pool, and stops at the first the kernel refuses. interfaceIndex(name) gives the
// index those requests name a link by (0: no such link).
//
// Why not `ip -batch -`: the tunnel's first packet waits for its routes, and a process costs a
// fork on the event loop and its own start-up (8–20 ms in a connect, 4 ms alone); the requests
// themselves take the kernel well under a millisecond.
//
// The bytes are TypeScript's (pure, unit-tested); this file only numbers them, sends them and reads
// the acknowledgements, with the kernel's extended error message where it gives one.
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

namespace umbra {

namespace {

// One socket for the process (bound to the network namespace the process was in when it was
// opened), used by one caller at a time.
std::mutex rtnlMutex;
int rtnlFd = -1;
uint32_t rtnlSeq = 0;

// How far a transaction got: `done` requests acknowledged; then the refused one's errno (0: all
// done), its text, and the kernel's message about it, if any. `unknown`: the request after the
// acknowledged ones was sent but its answer was not read (the kernel acts on a request when it is
// sent, so it may well have been applied).
struct RtnlResult {
  uint32_t done = 0;
  int error = 0;
  bool unknown = false;
  std::string reason;
  std::string message;
};

Napi::Value ToJs(Napi::Env env, const RtnlResult& r) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("done", Napi::Number::New(env, r.done));
  result.Set("error", Napi::Number::New(env, r.error));
  result.Set("unknown", Napi::Boolean::New(env, r.unknown));
  result.Set("reason", Napi::String::New(env, r.reason));
  result.Set("message", Napi::String::New(env, r.message));
  return result;
}

// Under rtnlMutex. A failure here means the library cannot be used at all (the caller falls back).
int EnsureSocket() {
  if (rtnlFd >= 0) return rtnlFd;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw std::runtime_error(std::string("could not open a netlink socket: ") + std::strerror(errno));
  int one = 1;
  // Short acknowledgements (no copy of the request), with the kernel's reason where it has one.
  // Both are optional: an old kernel still answers, with less to say.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  // The kernel always answers a request with NLM_F_ACK; this only bounds a kernel that does not.
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl local;
  std::memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error(std::string("could not bind a netlink socket: ") + std::strerror(err));
  }
  rtnlFd = fd;
  return fd;
}

// The kernel's extended message in an acknowledgement's attributes, or "".
std::string ExtendedMessage(const nlmsghdr* h, const nlmsgerr* e) {
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return "";
  size_t offset = sizeof(nlmsgerr);
  if ((h->nlmsg_flags & NLM_F_CAPPED) == 0) offset += NLMSG_ALIGN(e->msg.nlmsg_len) - sizeof(nlmsghdr);
  const size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(e);
  while (offset + sizeof(nlattr) <= payload) {
    const nlattr* a = reinterpret_cast<const nlattr*>(base + offset);
    if (a->nla_len < sizeof(nlattr) || offset + a->nla_len > payload) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* text = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
      return std::string(text, strnlen(text, a->nla_len - NLA_HDRLEN));
    }
    offset += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// Waits for the acknowledgement of `seq`: 0, or the (positive) errno of the refusal. `unknown`
// is set when no acknowledgement could be read.
int AwaitAck(int fd, uint32_t seq, std::string& message, bool& unknown) {
  alignas(nlmsghdr) uint8_t buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      unknown = true;
      return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
    }
    int len = static_cast<int>(n);
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      // Anything else is an answer to an earlier request that gave up waiting: not ours.
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        unknown = true;
        return EPROTO;
      }
      const nlmsgerr* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h));
      message = ExtendedMessage(h, e);
      return -e->error;
    }
  }
}

// Sends each request and reads its acknowledgement, until one is refused.
void SendEach(int fd, std::vector<std::vector<uint8_t>>& requests, RtnlResult& r) {
  for (auto& req : requests) {
    nlmsghdr* h = reinterpret_cast<nlmsghdr*>(req.data());
    h->nlmsg_seq = ++rtnlSeq;
    h->nlmsg_pid = 0;
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    struct sockaddr_nl kernel;
    std::memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
      sent = sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    r.error = sent < 0 ? errno : AwaitAck(fd, h->nlmsg_seq, r.message, r.unknown);
    if (r.error != 0) return;
    r.message.clear();
    r.done++;
  }
}

// On the thread pool: each request in turn, until one is refused. Only a socket that cannot be
// opened throws (nothing was sent then); whatever goes wrong after is in the result.
RtnlResult Transact(std::vector<std::vector<uint8_t>>& requests) {
  std::lock_guard<std::mutex> lock(rtnlMutex);
  int fd = EnsureSocket();
  RtnlResult r;
  try {
    SendEach(fd, requests, r);
  } catch (const std::exception&) {
    // Out of memory half-way: the request in hand may have gone out.
    r.error = ENOMEM;
    r.unknown = true;
  }
  if (r.error != 0 && r.reason.empty()) r.reason = std::strerror(r.error);
  return r;
}

}  // namespace

Napi::Value RtnlTransact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) ThrowType(env, "rtnlTransact(messages) needs an array of Uint8Array");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::vector<uint8_t>> requests;
  requests.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    ByteView b = BytesOf(env, list.Get(i), "a netlink request");
    // The header's own length must be the whole request: the kernel reads by it.
    uint32_t declared = 0;
    if (b.length >= sizeof(nlmsghdr)) std::memcpy(&declared, b.data, sizeof declared);
    if (b.length < sizeof(nlmsghdr) || declared != b.length || b.length % 4 != 0 || b.length > 4096) {
      ThrowRange(env, "netlink request " + std::to_string(i) + " is not one whole message (" + std::to_string(b.length) + " bytes)");
    }
    requests.emplace_back(b.data, b.data + b.length);
  }
  return OnThreadPool<RtnlResult>(env, [requests = std::move(requests)]() mutable { return Transact(requests); });
}

Napi::Value InterfaceIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = InterfaceNameArg(info, 0);
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0 && errno != ENODEV) ThrowErrno(env, errno, "if_nametoindex", "could not look up the interface \"" + name + "\"");
  return Napi::Number::New(env, index);
}

}  // namespace umbra
