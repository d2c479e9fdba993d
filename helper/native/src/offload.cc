// TUN offloads (IFF_VNET_HDR): every packet through the fd carries a virtio_net_hdr in front.
//
// Reading: with TUNSETOFFLOAD(CSUM|TSO4|TSO6) the kernel hands over TCP "super-packets" of up
// to 64 KiB (one per send of the local TCP stack, not one per MTU-sized segment), or packets
// whose checksum it left to us. Here they are cut into MTU-sized segments with their checksums
// completed, as the kernel's own segmentation would, before they are encrypted.
//
// Writing: consecutive TCP segments of one flow from a receive batch are joined into one
// super-packet (as GRO would) and written with a GSO header, so the local TCP stack takes the
// lot in one pass. Segments are joined only when their checksums verify and their headers say
// that the kernel's GRO would have joined them too; everything else goes through unchanged.
#include <netinet/in.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common.h"

namespace umbra {

// struct virtio_net_hdr and its constants (include/uapi/linux/virtio_net.h, a stable ABI; that
// header itself does not compile as C++).
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
static constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
static constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
static constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV6 = 4;
static constexpr uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;
static_assert(sizeof(virtio_net_hdr) == 10, "virtio_net_hdr is 10 bytes");

static constexpr size_t kVnetHdr = sizeof(virtio_net_hdr);
static constexpr size_t kMaxIp = 65535;

// ------------------------------------------------------------------ checksums (RFC 1071)
// Sums 16-bit words as they lie in memory; the folded result, stored back the same way, is the
// checksum in network order whatever the host's byte order.

static uint64_t Sum(const uint8_t* p, size_t n, uint64_t acc) {
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    uint8_t b[2] = {p[0], 0};
    uint16_t w;
    std::memcpy(&w, b, 2);
    acc += w;
  }
  return acc;
}

static uint16_t Fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

static uint64_t PseudoSum(bool v6, const uint8_t* ip, uint8_t proto, uint32_t length) {
  uint64_t acc = v6 ? Sum(ip + 8, 32, 0) : Sum(ip + 12, 8, 0);
  acc += htons(proto);
  acc += htons(static_cast<uint16_t>(length));
  return acc;
}

static void StoreSum(uint8_t* at, uint16_t folded) { std::memcpy(at, &folded, 2); }

static uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
static uint32_t Be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
static void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
static void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

static void SetIpv4HeaderSum(uint8_t* ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  StoreSum(ip + 10, static_cast<uint16_t>(~Fold(Sum(ip, ihl, 0))));
}

// ------------------------------------------------------------------ reading

static constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

// Packets laid out one after another in the arena; meta[2i] = offset, meta[2i+1] = length.
struct Batch {
  uint8_t* arena;
  size_t cap;
  size_t used;
  int32_t* meta;
  uint32_t metaCap;
  uint32_t count;
  bool Fits(size_t packets, size_t bytes) const { return count + packets <= metaCap && used + bytes + 8 * packets <= cap; }
  uint8_t* Next() { return arena + used; }
  void Commit(size_t n) {
    meta[2 * count] = static_cast<int32_t>(used);
    meta[2 * count + 1] = static_cast<int32_t>(n);
    count++;
    used += (n + 7) & ~size_t(7);
  }
};

static bool IsTso(const virtio_net_hdr& h) {
  const uint8_t gso = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  return gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6;
}

// How many packets and bytes a read becomes; false for one to drop (a header that does not fit
// the packet, or an offload we never asked for).
static bool Needs(const uint8_t* buf, size_t n, size_t& packets, size_t& bytes) {
  virtio_net_hdr h;
  std::memcpy(&h, buf, kVnetHdr);
  const uint8_t* pkt = buf + kVnetHdr;
  const size_t len = n - kVnetHdr;
  if (IsTso(h)) {
    const size_t iph = h.csum_start;
    if (iph < 20 || iph + 20 > len || h.gso_size == 0) return false;
    const size_t hdr = iph + static_cast<size_t>(pkt[iph + 12] >> 4) * 4;
    if (hdr < iph + 20 || hdr > len) return false;
    packets = (len - hdr + h.gso_size - 1) / h.gso_size;
    bytes = packets * hdr + (len - hdr);
    return packets > 0;
  }
  if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) return false;
  packets = 1;
  bytes = len;
  return true;
}

// Cuts a TSO super-packet into segments of gso_size, each with its own IP length (and IPv4 id
// and header checksum), TCP sequence number, flags and full checksum. Needs() has checked it.
static void SegmentTcp(const uint8_t* in, size_t len, const virtio_net_hdr& h, Batch& out) {
  const bool v6 = (in[0] >> 4) == 6;
  const size_t iph = h.csum_start;
  const size_t tcph = static_cast<size_t>(in[iph + 12] >> 4) * 4;
  const size_t hdr = iph + tcph;
  const uint32_t seq = Be32(in + iph + 4);
  const uint16_t id = v6 ? 0 : Be16(in + 4);
  const uint8_t flags = in[iph + 13];
  for (size_t i = 0, at = hdr; at < len; i++, at += h.gso_size) {
    const size_t n = std::min<size_t>(h.gso_size, len - at);
    uint8_t* p = out.Next();
    std::memcpy(p, in, hdr);
    std::memcpy(p + hdr, in + at, n);
    if (v6) {
      PutBe16(p + 4, static_cast<uint16_t>(hdr + n - 40));
    } else {
      PutBe16(p + 2, static_cast<uint16_t>(hdr + n));
      PutBe16(p + 4, static_cast<uint16_t>(id + i));
      SetIpv4HeaderSum(p, iph);
    }
    uint8_t* t = p + iph;
    PutBe32(t + 4, seq + static_cast<uint32_t>(i * h.gso_size));
    const bool last = at + n >= len;
    // As the kernel's TCP segmentation: FIN and PSH only on the last, CWR only on the first.
    t[13] = static_cast<uint8_t>(flags & ~((last ? 0 : kTcpFin | kTcpPsh) | (i == 0 ? 0 : kTcpCwr)));
    t[16] = t[17] = 0;
    const uint32_t l4 = static_cast<uint32_t>(tcph + n);
    StoreSum(t + 16, static_cast<uint16_t>(~Fold(Sum(t, l4, PseudoSum(v6, p, IPPROTO_TCP, l4)))));
    out.Commit(hdr + n);
  }
}

// One read (vnet header + packet) into plain IP packets; the caller has checked the room.
static void AddRead(const uint8_t* buf, size_t n, Batch& out) {
  virtio_net_hdr h;
  std::memcpy(&h, buf, kVnetHdr);
  const uint8_t* pkt = buf + kVnetHdr;
  const size_t len = n - kVnetHdr;
  if (IsTso(h)) return SegmentTcp(pkt, len, h, out);
  uint8_t* p = out.Next();
  std::memcpy(p, pkt, len);
  if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && size_t(h.csum_start) + h.csum_offset + 2 <= len) {
    // The kernel left the checksum to us, with the pseudo-header sum in its field.
    uint8_t* at = p + h.csum_start + h.csum_offset;
    uint16_t partial;
    std::memcpy(&partial, at, 2);
    at[0] = at[1] = 0;
    StoreSum(at, static_cast<uint16_t>(~Fold(Sum(p + h.csum_start, len - h.csum_start, partial))));
  }
  out.Commit(len);
}

TunVnetReader::TunVnetReader() : scratch(kVnetHdr + kMaxIp + 64) {}

// Fills a batch from a vnet TUN: first the read left over from the last batch, then (if
// readMore) reads until EAGAIN or no room. A read that does not fit waits for the next batch.
// Returns the errno that ended reading (0 for EAGAIN or a full batch).
int TunVnetReader::Fill(int fd, uint8_t* arena, size_t cap, int32_t* meta, uint32_t metaCap, bool readMore, uint32_t& count) {
  Batch b{arena, cap, 0, meta, metaCap, 0};
  int err = 0;
  size_t packets = 0, bytes = 0;
  if (pending > 0) {
    // Needs() passed when it was read; a read too big for even an empty batch is dropped.
    Needs(scratch.data(), pending, packets, bytes);
    if (b.Fits(packets, bytes)) AddRead(scratch.data(), pending, b);
    pending = 0;
  }
  while (readMore) {
    ssize_t n = read(fd, scratch.data(), scratch.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (static_cast<size_t>(n) <= kVnetHdr || !Needs(scratch.data(), n, packets, bytes)) continue;
    if (!b.Fits(packets, bytes)) {
      pending = static_cast<size_t>(n);
      break;
    }
    AddRead(scratch.data(), n, b);
  }
  count = b.count;
  return err;
}

// ------------------------------------------------------------------ writing

struct Item {
  const uint8_t* pkt;  // the first packet, as given
  size_t len;
  bool tcp = false;        // TCP right after the IP header: has a flow
  bool mergeable = false;  // a TCP segment GRO could extend
  bool v6 = false;
  uint8_t iph = 0, tcph = 0;
  uint16_t gsoSize = 0;    // payload of the first segment
  uint32_t nextSeq = 0;
  uint32_t segs = 1;
  bool ended = false;      // PSH seen or a short segment appended: nothing may follow
  std::vector<uint8_t>* merged = nullptr;  // from the first join on: vnet header + packet
};

// Fills in the TCP fields of an item: tcp when the packet is IPv4 (no fragment) or IPv6 with
// TCP right after the fixed header; mergeable when it is also a segment GRO could join: IPv4
// without options, lengths consistent, flags exactly ACK or ACK|PSH, some payload.
static void Classify(Item& it) {
  const uint8_t* p = it.pkt;
  const size_t len = it.len;
  if (len < 40 || len > kMaxIp) return;
  const uint8_t version = p[0] >> 4;
  if (version == 4) {
    const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
    if (p[9] != IPPROTO_TCP || ihl < 20 || Be16(p + 2) != len || (p[6] & 0x3f) != 0 || p[7] != 0) return;
    it.iph = static_cast<uint8_t>(ihl);
    it.v6 = false;
  } else if (version == 6) {
    if (p[6] != IPPROTO_TCP || size_t(Be16(p + 4)) + 40 != len) return;
    it.iph = 40;
    it.v6 = true;
  } else {
    return;
  }
  if (size_t(it.iph) + 20 > len) return;
  it.tcp = true;
  const uint8_t* t = p + it.iph;
  it.tcph = static_cast<uint8_t>((t[12] >> 4) * 4);
  if (it.tcph < 20 || size_t(it.iph) + it.tcph >= len) return;
  if (t[13] != 0x10 && t[13] != (0x10 | kTcpPsh)) return;
  if (!it.v6 && it.iph != 20) return;
  it.mergeable = true;
}

static bool ChecksumOk(const Item& it) {
  const uint32_t l4 = static_cast<uint32_t>(it.len - it.iph);
  return Fold(Sum(it.pkt + it.iph, l4, PseudoSum(it.v6, it.pkt, IPPROTO_TCP, l4))) == 0xffff;
}

static bool SameFlow(const Item& a, const Item& b) {
  if (a.v6 != b.v6) return false;
  const size_t addr = a.v6 ? 8 : 12, alen = a.v6 ? 32 : 8;
  return std::memcmp(a.pkt + addr, b.pkt + addr, alen) == 0 && std::memcmp(a.pkt + a.iph, b.pkt + b.iph, 4) == 0;
}

// Whether GRO would append segment b to item a: same ack, window, TCP header length and
// options, the IP fields GRO compares, the next sequence number, and sizes that keep every
// segment but the last at gso_size.
static bool CanAppend(const Item& a, const Item& b) {
  if (!a.mergeable || !b.mergeable || a.ended || a.tcph != b.tcph) return false;
  const uint8_t* ta = a.pkt + a.iph;
  const uint8_t* tb = b.pkt + b.iph;
  if (std::memcmp(ta + 8, tb + 8, 4) != 0) return false;                             // ack
  if (std::memcmp(ta + 14, tb + 14, 2) != 0) return false;                           // window
  if (a.tcph > 20 && std::memcmp(ta + 20, tb + 20, a.tcph - 20) != 0) return false;  // options
  if (a.v6) {
    if (a.pkt[0] != b.pkt[0] || (a.pkt[1] >> 4) != (b.pkt[1] >> 4) || a.pkt[7] != b.pkt[7]) return false;
  } else {
    if (a.pkt[1] != b.pkt[1] || (a.pkt[6] >> 5) != (b.pkt[6] >> 5) || a.pkt[8] != b.pkt[8]) return false;
  }
  if (Be32(tb + 4) != a.nextSeq) return false;
  const size_t payload = b.len - b.iph - b.tcph;
  if (payload > a.gsoSize) return false;
  const size_t total = (a.merged ? a.merged->size() - kVnetHdr : a.len) + payload;
  return total <= kMaxIp;
}

static std::vector<uint8_t>* TakeBuffer(std::vector<std::unique_ptr<std::vector<uint8_t>>>& pool, size_t& used) {
  if (used == pool.size()) pool.push_back(std::make_unique<std::vector<uint8_t>>());
  std::vector<uint8_t>* b = pool[used++].get();
  b->reserve(kVnetHdr + kMaxIp);
  b->clear();
  return b;
}

static void FinishMerged(Item& it) {
  std::vector<uint8_t>& m = *it.merged;
  uint8_t* p = m.data() + kVnetHdr;
  const size_t len = m.size() - kVnetHdr;
  if (it.v6) {
    PutBe16(p + 4, static_cast<uint16_t>(len - 40));
  } else {
    PutBe16(p + 2, static_cast<uint16_t>(len));
    SetIpv4HeaderSum(p, it.iph);
  }
  // CHECKSUM_PARTIAL: the field holds the pseudo-header sum and the kernel treats the data as
  // verified (each segment's checksum was checked before it was joined).
  const uint32_t l4 = static_cast<uint32_t>(len - it.iph);
  StoreSum(p + it.iph + 16, Fold(PseudoSum(it.v6, p, IPPROTO_TCP, l4)));
  virtio_net_hdr h{};
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = it.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  h.hdr_len = static_cast<uint16_t>(it.iph + it.tcph);
  h.gso_size = it.gsoSize;
  h.csum_start = it.iph;
  h.csum_offset = 16;
  std::memcpy(m.data(), &h, kVnetHdr);
}

enum class TunWrite { kOk, kFull };

static TunWrite WriteVnet(Napi::Env env, int fd, const uint8_t* hdr, const uint8_t* pkt, size_t len) {
  iovec iov[2] = {{const_cast<uint8_t*>(hdr), kVnetHdr}, {const_cast<uint8_t*>(pkt), len}};
  for (;;) {
    ssize_t r = writev(fd, iov, 2);
    if (r >= 0) return TunWrite::kOk;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) return TunWrite::kFull;
    switch (err) {
      case EINVAL:
        ThrowErrno(env, err, "writev", "the TUN device refused the packet (not an IPv4 or IPv6 packet, or a bad offload header)");
      case EIO:
        ThrowErrno(env, err, "writev", "writing to the TUN device failed: is the link up?");
      case EBADFD:
        ThrowErrno(env, err, "writev", "the TUN device is gone (interface deleted?)");
      default:
        ThrowErrno(env, err, "writev", "writing a packet to fd " + std::to_string(fd) + " failed");
    }
  }
}

// Turns packets into the items to write: TCP segments of a flow joined where GRO would join
// them (merged items are finished: lengths, checksums, vnet header), the rest as they are.
static std::vector<Item>& Coalesce(Napi::Env env, Napi::Array packets, uint32_t count) {
  thread_local std::vector<Item> items;
  thread_local std::vector<std::unique_ptr<std::vector<uint8_t>>> pool;
  size_t poolUsed = 0;
  items.clear();
  for (uint32_t i = 0; i < count; i++) {
    ByteView v = BytesOf(env, packets.Get(i), "each packet");
    if (v.length == 0) ThrowRange(env, "cannot write an empty packet");
    Item b;
    b.pkt = v.data;
    b.len = v.length;
    Classify(b);
    if (b.tcp) {
      // Only the flow's latest item may grow: joining an older one would reorder the flow.
      Item* last = nullptr;
      for (size_t k = items.size(); k-- > 0;) {
        if (items[k].tcp && SameFlow(items[k], b)) {
          last = &items[k];
          break;
        }
      }
      if (last != nullptr && CanAppend(*last, b)) {
        if (ChecksumOk(b) && (last->merged != nullptr || ChecksumOk(*last))) {
          if (last->merged == nullptr) {
            last->merged = TakeBuffer(pool, poolUsed);
            last->merged->resize(kVnetHdr);
            last->merged->insert(last->merged->end(), last->pkt, last->pkt + last->len);
          }
          const size_t hdr = b.iph + b.tcph;
          const size_t payload = b.len - hdr;
          last->merged->insert(last->merged->end(), b.pkt + hdr, b.pkt + b.len);
          last->nextSeq += static_cast<uint32_t>(payload);
          last->segs++;
          if (payload < last->gsoSize) last->ended = true;
          if (b.pkt[b.iph + 13] & kTcpPsh) {
            last->merged->data()[kVnetHdr + last->iph + 13] |= kTcpPsh;
            last->ended = true;
          }
          continue;
        }
        // A checksum failed: that packet goes in alone (the kernel drops it) and starts over.
        if (!ChecksumOk(b)) b.mergeable = false;
      }
      if (b.mergeable) {
        b.gsoSize = static_cast<uint16_t>(b.len - b.iph - b.tcph);
        b.nextSeq = Be32(b.pkt + b.iph + 4) + b.gsoSize;
        b.ended = (b.pkt[b.iph + 13] & kTcpPsh) != 0;
      }
    }
    items.push_back(b);
  }
  for (Item& it : items) {
    if (it.merged != nullptr) FinishMerged(it);
  }
  return items;
}

static Napi::Array PacketsArg(const Napi::CallbackInfo& info, size_t index, uint32_t& count) {
  if (!info[index].IsArray()) ThrowType(info.Env(), "packets must be an array of Uint8Array");
  Napi::Array packets = info[index].As<Napi::Array>();
  count = Uint32Arg(info, index + 1, "count");
  if (count > packets.Length()) ThrowRange(info.Env(), "count is larger than the array");
  return packets;
}

static const uint8_t kPlainHdr[kVnetHdr] = {};

// tunWriteCoalesced(fd, packets: Uint8Array[], count): number — writes plain IP packets to a
// vnet TUN fd in order, joining TCP segments as described at the top. Returns how many of the
// given packets went in (a full queue, EAGAIN, drops the rest); other errors throw.
Napi::Value TunWriteCoalesced(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  uint32_t count;
  Napi::Array packets = PacketsArg(info, 1, count);
  uint32_t written = 0;
  for (const Item& it : Coalesce(env, packets, count)) {
    TunWrite r = it.merged != nullptr
                     ? WriteVnet(env, fd, it.merged->data(), it.merged->data() + kVnetHdr, it.merged->size() - kVnetHdr)
                     : WriteVnet(env, fd, kPlainHdr, it.pkt, it.len);
    if (r == TunWrite::kFull) break;
    written += it.segs;
  }
  return Napi::Number::New(env, written);
}

// tunCoalesce(packets, count): Buffer[] — what tunWriteCoalesced would write (vnet header +
// packet each), for tests.
Napi::Value TunCoalesce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t count;
  Napi::Array packets = PacketsArg(info, 0, count);
  std::vector<Item>& items = Coalesce(env, packets, count);
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) {
    const Item& it = items[i];
    Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::New(env, it.merged ? it.merged->size() : kVnetHdr + it.len);
    if (it.merged) {
      std::memcpy(b.Data(), it.merged->data(), it.merged->size());
    } else {
      std::memset(b.Data(), 0, kVnetHdr);
      std::memcpy(b.Data() + kVnetHdr, it.pkt, it.len);
    }
    out.Set(static_cast<uint32_t>(i), b);
  }
  return out;
}

// tunSplit(read: Uint8Array): Buffer[] — the plain packets one vnet TUN read becomes (a TSO
// super-packet cut into segments, a checksum completed), for tests. Empty when it is dropped.
Napi::Value TunSplit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView in = BytesOf(env, info[0], "read");
  Napi::Array out = Napi::Array::New(env);
  size_t packets = 0, bytes = 0;
  if (in.length <= kVnetHdr || in.length > kVnetHdr + kMaxIp || !Needs(in.data, in.length, packets, bytes)) return out;
  std::vector<uint8_t> arena(bytes + 8 * packets);
  std::vector<int32_t> meta(2 * packets);
  Batch b{arena.data(), arena.size(), 0, meta.data(), static_cast<uint32_t>(packets), 0};
  AddRead(in.data, in.length, b);
  for (uint32_t i = 0; i < b.count; i++) {
    out.Set(i, Napi::Buffer<uint8_t>::Copy(env, arena.data() + meta[2 * i], static_cast<size_t>(meta[2 * i + 1])));
  }
  return out;
}

}  // namespace umbra
