// TUN device: open + TUNSETIFF, non-blocking packet writes, closing fds.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace umbra {

static const char kTunPath[] = "/dev/net/tun";

static std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

static Napi::Value Open(const Napi::CallbackInfo& info, bool vnet);

// openTun(name: string): { fd, name }
Napi::Value OpenTun(const Napi::CallbackInfo& info) { return Open(info, false); }

// openTunVnet(name: string): { fd, name } — a TUN with IFF_VNET_HDR and the TCP offloads on
// (TUNSETOFFLOAD CSUM|TSO4|TSO6): every read and write carries a virtio_net_hdr (offload.cc).
Napi::Value OpenTunVnet(const Napi::CallbackInfo& info) { return Open(info, true); }

static Napi::Value Open(const Napi::CallbackInfo& info, bool vnet) {
  Napi::Env env = info.Env();
  std::string name;
  if (!info[0].IsUndefined()) {
    if (!info[0].IsString()) ThrowType(env, "TUN name must be a string");
    name = info[0].As<Napi::String>().Utf8Value();
  }
  // Checked here so that a bad name is a clear error, never a truncated interface name.
  if (name.size() >= IFNAMSIZ) {
    ThrowRange(env, "TUN name " + Quoted(name) + " is too long: Linux interface names have at most " +
                        std::to_string(IFNAMSIZ - 1) + " bytes");
  }
  if (name.find('\0') != std::string::npos) {
    ThrowRange(env, "TUN name must not contain NUL characters");
  }

  int fd;
  do {
    fd = open(kTunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    switch (err) {
      case ENOENT:
      case ENODEV:
      case ENXIO:
        ThrowErrno(env, err, "open", "/dev/net/tun is missing: load the tun module (modprobe tun)");
      case EPERM:
      case EACCES:
        ThrowErrno(env, err, "open", "opening /dev/net/tun needs root (or CAP_NET_ADMIN)");
      default:
        ThrowErrno(env, err, "open", "could not open /dev/net/tun");
    }
  }

  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  std::memcpy(ifr.ifr_name, name.data(), name.size());  // size < IFNAMSIZ, rest stays NUL
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    std::string shown = name.empty() ? std::string("(kernel-chosen name)") : Quoted(name);
    switch (err) {
      case EPERM:
      case EACCES:
        ThrowErrno(env, err, "ioctl(TUNSETIFF)",
                   "creating TUN device " + shown + " needs root (or CAP_NET_ADMIN)");
      case EBUSY:
        ThrowErrno(env, err, "ioctl(TUNSETIFF)",
                   "TUN device " + shown + " is busy: another process has it open");
      case EINVAL:
        ThrowErrno(env, err, "ioctl(TUNSETIFF)",
                   "TUN name " + shown +
                       " was refused: use letters, digits, '-' or '_' (no '/', ':' or spaces), "
                       "optionally one '%d' for the kernel to number it, and no existing "
                       "non-TUN interface of that name");
      case ENFILE:
        ThrowErrno(env, err, "ioctl(TUNSETIFF)",
                   "no free interface number for TUN template " + shown);
      default:
        ThrowErrno(env, err, "ioctl(TUNSETIFF)", "could not create TUN device " + shown);
    }
  }

  if (vnet) {
    unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
      int err = errno;
      close(fd);  // the interface goes with it
      ThrowErrno(env, err, "ioctl(TUNSETOFFLOAD)", "this kernel's TUN does not take TCP offloads");
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("name", Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)));
  return result;
}

// interfaceState(name): { mtu, up } — SIOCGIFMTU and SIOCGIFFLAGS (IFF_UP) of an interface in
// this process's network namespace; no `ip` process needed.
Napi::Value InterfaceState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = InterfaceNameArg(info, 0);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) ThrowErrno(env, errno, "socket", "could not open a socket to query " + Quoted(name));
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
    int err = errno;
    close(s);
    ThrowErrno(env, err, "ioctl(SIOCGIFMTU)", err == ENODEV ? "no interface " + Quoted(name) : "could not read the MTU of " + Quoted(name));
  }
  int mtu = ifr.ifr_mtu;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    int err = errno;
    close(s);
    ThrowErrno(env, err, "ioctl(SIOCGIFFLAGS)", "could not read the flags of " + Quoted(name));
  }
  bool up = (ifr.ifr_flags & IFF_UP) != 0;
  close(s);
  Napi::Object result = Napi::Object::New(env);
  result.Set("mtu", Napi::Number::New(env, mtu));
  result.Set("up", Napi::Boolean::New(env, up));
  return result;
}

enum class WriteResult { kWritten, kDropped };

// One non-blocking write of a whole packet. EAGAIN means the kernel refused it for now: the
// packet is dropped, as a full queue would drop it. Anything else throws.
static WriteResult WriteOne(Napi::Env env, int fd, const ByteView& packet) {
  if (packet.length == 0) ThrowRange(env, "cannot write an empty packet");
  for (;;) {
    ssize_t n = write(fd, packet.data, packet.length);
    if (n >= 0) return WriteResult::kWritten;  // TUN writes are all-or-nothing
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) return WriteResult::kDropped;
    switch (err) {
      case EINVAL:
        ThrowErrno(env, err, "write",
                   "the TUN device refused the packet: it is not an IPv4 or IPv6 packet");
      case EIO:
        ThrowErrno(env, err, "write", "writing to the TUN device failed: is the link up?");
      case EBADF:
        ThrowErrno(env, err, "write", "fd " + std::to_string(fd) + " is not open");
      case EBADFD:
        ThrowErrno(env, err, "write", "the TUN device is gone (interface deleted?)");
      default:
        ThrowErrno(env, err, "write", "writing a packet to fd " + std::to_string(fd) + " failed");
    }
  }
}

// writePackets(fd, packets[]): number — how many were written. A dropped packet (EAGAIN) ends
// the batch: the rest would meet the same full queue. Other errors throw, with a `written`
// property saying how many packets went out before the failing one.
Napi::Value WritePackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (!info[1].IsArray()) ThrowType(env, "packets must be an array of Buffer or Uint8Array");
  Napi::Array packets = info[1].As<Napi::Array>();
  uint32_t count = packets.Length();
  uint32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value item = packets.Get(i);
    try {
      ByteView packet = BytesOf(env, item, "each packet");
      if (WriteOne(env, fd, packet) == WriteResult::kDropped) break;
    } catch (Napi::Error& e) {
      e.Set("written", Napi::Number::New(env, written));
      throw;
    }
    written++;
  }
  return Napi::Number::New(env, written);
}

// closeFd(fd): stops any poller still watching fd (so libuv never watches a closed fd), then
// closes it.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  StopPollersOnFd(env, fd);
  if (close(fd) < 0) {
    int err = errno;
    // On Linux the fd is released even when close is interrupted; retrying could close a
    // reused fd.
    if (err != EINTR) {
      ThrowErrno(env, err, "close",
                 err == EBADF ? "fd " + std::to_string(fd) + " is not open" : "closing fd failed");
    }
  }
  return env.Undefined();
}

}  // namespace umbra
