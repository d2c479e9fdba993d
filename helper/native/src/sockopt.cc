// Socket options the helper needs that Node does not offer: SO_MARK, forced buffer sizes,
// SO_PEERCRED.
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <climits>

#include "common.h"

namespace umbra {

static std::string FdText(int fd) { return "fd " + std::to_string(fd); }

[[noreturn]] static void ThrowSockoptErrno(Napi::Env env, int err, const char* syscall, int fd,
                                           const std::string& what) {
  switch (err) {
    case EBADF:
      ThrowErrno(env, err, syscall, what + ": " + FdText(fd) + " is not open");
    case ENOTSOCK:
      ThrowErrno(env, err, syscall, what + ": " + FdText(fd) + " is not a socket");
    default:
      ThrowErrno(env, err, syscall, what + " failed on " + FdText(fd));
  }
}

// setSocketMark(fd, mark): SO_MARK, the fwmark policy routing and nftables match on.
Napi::Value SetSocketMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  uint32_t mark = Uint32Arg(info, 1, "mark");
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES) {
      ThrowErrno(env, err, "setsockopt(SO_MARK)", "setting SO_MARK needs root (or CAP_NET_ADMIN)");
    }
    ThrowSockoptErrno(env, err, "setsockopt(SO_MARK)", fd, "setting SO_MARK");
  }
  return env.Undefined();
}

// getSocketMark(fd): the SO_MARK of a socket (0 when unmarked).
Napi::Value GetSocketMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  uint32_t mark = 0;
  socklen_t len = sizeof mark;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) < 0) {
    ThrowSockoptErrno(env, errno, "getsockopt(SO_MARK)", fd, "reading SO_MARK");
  }
  return Napi::Number::New(env, mark);
}

// Sets one buffer size: the FORCE option (root/CAP_NET_ADMIN, ignores net.core.*mem_max) first,
// the plain one (capped by net.core.*mem_max) when that is not permitted.
static void SetBuffer(Napi::Env env, int fd, int forceOpt, int plainOpt, int bytes, const char* what) {
  if (setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof bytes) == 0) return;
  int err = errno;
  if (err == EPERM || err == EACCES) {
    if (setsockopt(fd, SOL_SOCKET, plainOpt, &bytes, sizeof bytes) == 0) return;
    err = errno;
  }
  ThrowSockoptErrno(env, err, "setsockopt", fd, std::string("setting ") + what);
}

static int GetBuffer(Napi::Env env, int fd, int opt, const char* what) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, opt, &value, &len) < 0) {
    ThrowSockoptErrno(env, errno, "getsockopt", fd, std::string("reading ") + what);
  }
  return value;
}

// setSocketBuffers(fd, rcv, snd): { rcv, snd } — sizes in bytes (0 leaves that one as it is);
// returns what the kernel reports afterwards (Linux doubles the request for its bookkeeping).
Napi::Value SetSocketBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  uint32_t rcv = Uint32Arg(info, 1, "rcv");
  uint32_t snd = Uint32Arg(info, 2, "snd");
  const uint32_t max = INT_MAX / 2;
  if (rcv > max || snd > max) ThrowRange(env, "buffer sizes must be at most " + std::to_string(max));
  if (rcv > 0) SetBuffer(env, fd, SO_RCVBUFFORCE, SO_RCVBUF, static_cast<int>(rcv), "SO_RCVBUF");
  if (snd > 0) SetBuffer(env, fd, SO_SNDBUFFORCE, SO_SNDBUF, static_cast<int>(snd), "SO_SNDBUF");
  Napi::Object result = Napi::Object::New(env);
  result.Set("rcv", Napi::Number::New(env, GetBuffer(env, fd, SO_RCVBUF, "SO_RCVBUF")));
  result.Set("snd", Napi::Number::New(env, GetBuffer(env, fd, SO_SNDBUF, "SO_SNDBUF")));
  return result;
}

// peerCredentials(fd): { pid, uid, gid } of the process at the other end of a connected Unix
// socket, as the kernel recorded them at connect() time.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
    ThrowSockoptErrno(env, errno, "getsockopt(SO_DOMAIN)", fd, "reading peer credentials");
  }
  if (domain != AF_UNIX) {
    ThrowPlain(env, "peer credentials exist only for Unix sockets; " + FdText(fd) + " is not one");
  }
  struct ucred cred;
  len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    ThrowSockoptErrno(env, errno, "getsockopt(SO_PEERCRED)", fd, "reading peer credentials");
  }
  if (cred.pid == 0) {
    ThrowPlain(env, "no peer credentials on " + FdText(fd) + ": the Unix socket is not connected");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, cred.pid));
  result.Set("uid", Napi::Number::New(env, cred.uid));
  result.Set("gid", Napi::Number::New(env, cred.gid));
  return result;
}

}  // namespace umbra
