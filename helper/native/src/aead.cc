// ChaCha20-Poly1305 with WireGuard's nonce for the data path, through the OpenSSL inside Node
// (Node exports its libcrypto symbols; the headers ship with Node's). node:crypto would build a
// cipher object per packet; here one EVP context per thread is re-keyed for each packet.
//
// Faster still, where this Node exports them: OpenSSL's ChaCha20 and Poly1305 cores (the same
// assembly EVP ends up in) composed as RFC 8439 does, without EVP's per-call provider dispatch;
// that matters most for small packets (TCP ACKs) and for the first packet after a quiet spell,
// when every extra code path is a cache miss. They are internal OpenSSL functions, so they are
// looked up at run time and EVP is used when any is missing.
#include <dlfcn.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <strings.h>

#include <vector>

#include "common.h"

namespace umbra {

static constexpr size_t kTag = 16;
static const uint8_t kZeros[64] = {};

// EVP is looked up at run time too: Electron's Node is built on BoringSSL, which lacks
// EVP_chacha20_poly1305, and a direct call would be an unresolved symbol that kills the process
// on first use (the helper runs on Electron's Node in the packaged app). Missing → "none", and
// the tunnel falls back to node:crypto or noble.
struct Evp {
  decltype(&EVP_CIPHER_CTX_new) ctxNew = nullptr;
  decltype(&EVP_CIPHER_CTX_free) ctxFree = nullptr;
  decltype(&EVP_chacha20_poly1305) cipher = nullptr;
  decltype(&EVP_EncryptInit_ex) encInit = nullptr;
  decltype(&EVP_EncryptUpdate) encUpdate = nullptr;
  decltype(&EVP_EncryptFinal_ex) encFinal = nullptr;
  decltype(&EVP_DecryptInit_ex) decInit = nullptr;
  decltype(&EVP_DecryptUpdate) decUpdate = nullptr;
  decltype(&EVP_DecryptFinal_ex) decFinal = nullptr;
  decltype(&EVP_CIPHER_CTX_ctrl) ctrl = nullptr;
  bool ok = false;
  Evp() {
    ctxNew = reinterpret_cast<decltype(ctxNew)>(dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_new"));
    ctxFree = reinterpret_cast<decltype(ctxFree)>(dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_free"));
    cipher = reinterpret_cast<decltype(cipher)>(dlsym(RTLD_DEFAULT, "EVP_chacha20_poly1305"));
    encInit = reinterpret_cast<decltype(encInit)>(dlsym(RTLD_DEFAULT, "EVP_EncryptInit_ex"));
    encUpdate = reinterpret_cast<decltype(encUpdate)>(dlsym(RTLD_DEFAULT, "EVP_EncryptUpdate"));
    encFinal = reinterpret_cast<decltype(encFinal)>(dlsym(RTLD_DEFAULT, "EVP_EncryptFinal_ex"));
    decInit = reinterpret_cast<decltype(decInit)>(dlsym(RTLD_DEFAULT, "EVP_DecryptInit_ex"));
    decUpdate = reinterpret_cast<decltype(decUpdate)>(dlsym(RTLD_DEFAULT, "EVP_DecryptUpdate"));
    decFinal = reinterpret_cast<decltype(decFinal)>(dlsym(RTLD_DEFAULT, "EVP_DecryptFinal_ex"));
    ctrl = reinterpret_cast<decltype(ctrl)>(dlsym(RTLD_DEFAULT, "EVP_CIPHER_CTX_ctrl"));
    ok = ctxNew && ctxFree && cipher && encInit && encUpdate && encFinal && decInit && decUpdate && decFinal && ctrl;
  }
};

static const Evp& GetEvp() {
  static const Evp evp;
  return evp;
}

struct AeadContext {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
  AeadContext() {
    const Evp& e = GetEvp();
    if (!e.ok) return;
    enc = e.ctxNew();
    dec = e.ctxNew();
    if (enc) e.encInit(enc, e.cipher(), nullptr, nullptr, nullptr);
    if (dec) e.decInit(dec, e.cipher(), nullptr, nullptr, nullptr);
  }
  ~AeadContext() {
    const Evp& e = GetEvp();
    if (!e.ok) return;
    e.ctxFree(enc);
    e.ctxFree(dec);
  }
};

static AeadContext& Contexts(Napi::Env env) {
  if (!GetEvp().ok) ThrowPlain(env, "this Node's crypto library has no ChaCha20-Poly1305 EVP cipher");
  thread_local AeadContext ctx;
  if (ctx.enc == nullptr || ctx.dec == nullptr) ThrowPlain(env, "OpenSSL could not make a cipher context");
  return ctx;
}

// 32 zero bits, then the counter as 64-bit little endian (§5.4.6).
static void NonceOf(uint64_t c, uint8_t nonce[12]) {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(c >> (8 * i));
}

static void Nonce(Napi::Env env, Napi::Value v, uint8_t nonce[12]) {
  if (!v.IsNumber()) ThrowType(env, "counter must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) ThrowRange(env, "counter must be a safe non-negative integer");
  NonceOf(static_cast<uint64_t>(d), nonce);
}

static ByteView Key(Napi::Env env, Napi::Value v) {
  ByteView k = BytesOf(env, v, "key");
  if (k.length != 32) ThrowRange(env, "key must be 32 bytes");
  return k;
}

// ---------------------------------------------------------------- the cores, composed

// From OpenSSL's include/crypto/chacha.h and include/crypto/poly1305.h.
using ChaChaFn = void (*)(unsigned char* out, const unsigned char* in, size_t len, const unsigned int key[8],
                          const unsigned int counter[4]);
using PolyInitFn = void (*)(void* ctx, const unsigned char key[32]);
using PolyUpdateFn = void (*)(void* ctx, const unsigned char* in, size_t len);
using PolyFinalFn = void (*)(void* ctx, unsigned char mac[16]);
using PolySizeFn = size_t (*)();

struct Cores {
  ChaChaFn chacha = nullptr;
  PolyInitFn polyInit = nullptr;
  PolyUpdateFn polyUpdate = nullptr;
  PolyFinalFn polyFinal = nullptr;
  size_t polySize = 0;
  bool ok = false;
  Cores() {
    chacha = reinterpret_cast<ChaChaFn>(dlsym(RTLD_DEFAULT, "ChaCha20_ctr32"));
    polyInit = reinterpret_cast<PolyInitFn>(dlsym(RTLD_DEFAULT, "Poly1305_Init"));
    polyUpdate = reinterpret_cast<PolyUpdateFn>(dlsym(RTLD_DEFAULT, "Poly1305_Update"));
    polyFinal = reinterpret_cast<PolyFinalFn>(dlsym(RTLD_DEFAULT, "Poly1305_Final"));
    auto size = reinterpret_cast<PolySizeFn>(dlsym(RTLD_DEFAULT, "Poly1305_ctx_size"));
    polySize = size ? size() : 0;
    ok = chacha && polyInit && polyUpdate && polyFinal && size && polySize <= kPolyCtx;
  }
  static constexpr size_t kPolyCtx = 512;
};

static const Cores& GetCores() {
  static const Cores cores;
  return cores;
}

static bool useCores = true;  // aeadImpl() switches, for tests

struct CoreState {
  alignas(64) unsigned char poly[Cores::kPolyCtx];
  alignas(16) unsigned int key[8];
  alignas(16) unsigned int counter[4];
  alignas(16) unsigned char block0[64];
};

// Key words, nonce words and the one-time Poly1305 key (the first 32 bytes of block 0).
static void Prepare(const Cores& c, CoreState& st, const uint8_t* key, const uint8_t nonce[12]) {
  for (int i = 0; i < 8; i++) {
    st.key[i] = uint32_t(key[4 * i]) | uint32_t(key[4 * i + 1]) << 8 | uint32_t(key[4 * i + 2]) << 16 | uint32_t(key[4 * i + 3]) << 24;
  }
  st.counter[0] = 0;
  for (int i = 0; i < 3; i++) {
    st.counter[1 + i] = uint32_t(nonce[4 * i]) | uint32_t(nonce[4 * i + 1]) << 8 | uint32_t(nonce[4 * i + 2]) << 16 | uint32_t(nonce[4 * i + 3]) << 24;
  }
  std::memset(st.block0, 0, sizeof st.block0);
  c.chacha(st.block0, st.block0, sizeof st.block0, st.key, st.counter);
  c.polyInit(st.poly, st.block0);
  st.counter[0] = 1;
}

// Key material does not outlive the call (explicit_bzero: a memset the compiler keeps).
static void Wipe(const Cores& c, CoreState& st) {
  explicit_bzero(st.poly, c.polySize);
  explicit_bzero(st.key, sizeof st.key);
  explicit_bzero(st.block0, sizeof st.block0);
}

// Poly1305 over ad || pad16 || ct || pad16 || le64(|ad|) || le64(|ct|) (RFC 8439 §2.8).
static void Tag(const Cores& c, CoreState& st, const ByteView* ad, const uint8_t* ct, size_t n, uint8_t tag[16]) {
  size_t adLen = ad ? ad->length : 0;
  if (adLen > 0) {
    c.polyUpdate(st.poly, ad->data, adLen);
    if (adLen % 16) c.polyUpdate(st.poly, kZeros, 16 - adLen % 16);
  }
  if (n > 0) {
    c.polyUpdate(st.poly, ct, n);
    if (n % 16) c.polyUpdate(st.poly, kZeros, 16 - n % 16);
  }
  uint8_t lengths[16];
  for (int i = 0; i < 8; i++) {
    lengths[i] = static_cast<uint8_t>(uint64_t(adLen) >> (8 * i));
    lengths[8 + i] = static_cast<uint8_t>(uint64_t(n) >> (8 * i));
  }
  c.polyUpdate(st.poly, lengths, 16);
  c.polyFinal(st.poly, tag);
}

// aeadImpl(name?: 'cores' | 'evp'): string — which implementation seal/open use (the cores when
// available); switches when given, for tests.
Napi::Value AeadImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsString()) {
    std::string want = info[0].As<Napi::String>().Utf8Value();
    if (want != "cores" && want != "evp") ThrowRange(env, "the implementation is 'cores' or 'evp'");
    if (want == "cores" && !GetCores().ok) ThrowPlain(env, "this Node does not export OpenSSL's ChaCha20/Poly1305 cores");
    if (want == "evp" && !GetEvp().ok) ThrowPlain(env, "this Node's crypto library has no ChaCha20-Poly1305 EVP cipher");
    useCores = want == "cores";
  }
  if (useCores && GetCores().ok) return Napi::String::New(env, "cores");
  return Napi::String::New(env, GetEvp().ok ? "evp" : "none");
}

// Encrypts pt (ptLen bytes) and zeros up to padded bytes into dst, then the tag: padded + 16
// bytes. dst may be pt itself (in place) or not overlap it. False only when OpenSSL fails.
static bool Seal(Napi::Env env, const uint8_t* key, const uint8_t nonce[12], const uint8_t* pt, size_t ptLen,
                 size_t padded, const ByteView& ad, uint8_t* dst) {
  const Cores& cores = GetCores();
  if (useCores && cores.ok) {
    thread_local CoreState st;
    Prepare(cores, st, key, nonce);
    std::memmove(dst, pt, ptLen);
    std::memset(dst + ptLen, 0, padded - ptLen);
    if (padded > 0) cores.chacha(dst, dst, padded, st.key, st.counter);
    Tag(cores, st, &ad, dst, padded, dst + padded);
    Wipe(cores, st);
    return true;
  }
  EVP_CIPHER_CTX* c = Contexts(env).enc;
  int n = 0;
  bool ok = GetEvp().encInit(c, nullptr, nullptr, key, nonce) == 1;
  if (ok && ad.length > 0) ok = GetEvp().encUpdate(c, nullptr, &n, ad.data, static_cast<int>(ad.length)) == 1;
  // The output may overlap the input only exactly (in place), which OpenSSL allows.
  if (ok && ptLen > 0) ok = GetEvp().encUpdate(c, dst, &n, pt, static_cast<int>(ptLen)) == 1;
  for (size_t done = ptLen; ok && done < padded;) {
    size_t chunk = std::min(sizeof kZeros, padded - done);
    ok = GetEvp().encUpdate(c, dst + done, &n, kZeros, static_cast<int>(chunk)) == 1;
    done += chunk;
  }
  if (ok) ok = GetEvp().encFinal(c, dst + padded, &n) == 1;
  if (ok) ok = GetEvp().ctrl(c, EVP_CTRL_AEAD_GET_TAG, kTag, dst + padded) == 1;
  return ok;
}

// Decrypts ciphertext||tag (sealedLen >= 16 bytes) into dst (sealedLen - 16 bytes; dst may be
// sealed itself). False when it does not authenticate: dst is then untouched (cores) or garbage
// (EVP), never to be used.
static bool Open(Napi::Env env, const uint8_t* key, const uint8_t nonce[12], const uint8_t* sealed, size_t sealedLen,
                 const ByteView& ad, uint8_t* dst) {
  size_t n = sealedLen - kTag;
  const Cores& cores = GetCores();
  if (useCores && cores.ok) {
    thread_local CoreState st;
    Prepare(cores, st, key, nonce);
    uint8_t tag[kTag];
    Tag(cores, st, &ad, sealed, n, tag);
    uint8_t diff = 0;  // constant time
    for (size_t i = 0; i < kTag; i++) diff |= tag[i] ^ sealed[n + i];
    if (diff == 0 && n > 0) cores.chacha(dst, sealed, n, st.key, st.counter);
    Wipe(cores, st);
    return diff == 0;
  }
  EVP_CIPHER_CTX* c = Contexts(env).dec;
  int len = 0;
  bool ok = GetEvp().decInit(c, nullptr, nullptr, key, nonce) == 1;
  if (ok && ad.length > 0) ok = GetEvp().decUpdate(c, nullptr, &len, ad.data, static_cast<int>(ad.length)) == 1;
  // The tag is copied out first: decrypting in place overwrites nothing past n, but be plain.
  uint8_t tag[kTag];
  std::memcpy(tag, sealed + n, kTag);
  if (ok && n > 0) ok = GetEvp().decUpdate(c, dst, &len, sealed, static_cast<int>(n)) == 1;
  if (ok) ok = GetEvp().ctrl(c, EVP_CTRL_AEAD_SET_TAG, kTag, tag) == 1;
  if (ok) ok = GetEvp().decFinal(c, dst + n, &len) == 1;
  return ok;
}

static ByteView OptionalAd(Napi::Env env, Napi::Value v) {
  return v.IsUndefined() ? ByteView{nullptr, 0} : BytesOf(env, v, "ad");
}

// aeadSeal(key, counter, plaintext, paddedLength, ad | undefined, out, outOffset): undefined —
// encrypts plaintext and zeros up to paddedLength, writing ciphertext||tag into out at outOffset.
Napi::Value AeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView key = Key(env, info[0]);
  uint8_t nonce[12];
  Nonce(env, info[1], nonce);
  ByteView pt = BytesOf(env, info[2], "plaintext");
  uint32_t padded = Uint32Arg(info, 3, "paddedLength");
  ByteView ad = OptionalAd(env, info[4]);
  ByteView out = BytesOf(env, info[5], "out");
  uint32_t offset = Uint32Arg(info, 6, "outOffset");
  if (padded < pt.length) ThrowRange(env, "paddedLength is shorter than the plaintext");
  if (static_cast<size_t>(offset) + padded + kTag > out.length) ThrowRange(env, "out is too small");
  uint8_t* dst = const_cast<uint8_t*>(out.data) + offset;
  if (!Seal(env, key.data, nonce, pt.data, pt.length, padded, ad, dst)) {
    ThrowPlain(env, "OpenSSL ChaCha20-Poly1305 encryption failed");
  }
  return env.Undefined();
}

// aeadOpen(key, counter, sealed, ad | undefined, out, outOffset): boolean — decrypts
// ciphertext||tag into out at outOffset (sealed.length - 16 bytes); false when it does not
// authenticate (out then holds garbage the caller must not use).
Napi::Value AeadOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView key = Key(env, info[0]);
  uint8_t nonce[12];
  Nonce(env, info[1], nonce);
  ByteView sealed = BytesOf(env, info[2], "sealed");
  ByteView ad = OptionalAd(env, info[3]);
  ByteView out = BytesOf(env, info[4], "out");
  uint32_t offset = Uint32Arg(info, 5, "outOffset");
  if (sealed.length < kTag) return Napi::Boolean::New(env, false);
  if (static_cast<size_t>(offset) + sealed.length - kTag > out.length) ThrowRange(env, "out is too small");
  uint8_t* dst = const_cast<uint8_t*>(out.data) + offset;
  return Napi::Boolean::New(env, Open(env, key.data, nonce, sealed.data, sealed.length, ad, dst));
}

// aeadBatch(jobs: Int32Array, count, keys: Uint8Array, buffers: Uint8Array[], results: Uint8Array):
// number — many transport seals and opens (no AD) in one call, so the data path pays for crossing
// into native code once a batch, not once a packet. Job j is jobs[10j .. 10j+9]:
//   op (0 seal, 1 open), key (index of a 32-byte key in keys), counter low 32 bits, high 32 bits,
//   source buffer, offset, length (seal: the plaintext; open: ciphertext||tag),
//   seal: padded length (open: ignored), destination buffer, offset
// where a buffer is an index into buffers. results[j] becomes 1 for a seal done or an open that
// authenticated, else 0. Returns how many are 1. Every job is checked before any runs, so a bad
// one (RangeError) leaves all memory as it was.
Napi::Value AeadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(env, "jobs must be an Int32Array");
  }
  Napi::Int32Array jobsArray = info[0].As<Napi::Int32Array>();
  uint32_t count = Uint32Arg(info, 1, "count");
  ByteView keys = BytesOf(env, info[2], "keys");
  if (!info[3].IsArray()) ThrowType(env, "buffers must be an array of Uint8Arrays");
  Napi::Array bufferArray = info[3].As<Napi::Array>();
  ByteView results = BytesOf(env, info[4], "results");
  static constexpr size_t kJob = 10;
  if (static_cast<size_t>(count) * kJob > jobsArray.ElementLength()) ThrowRange(env, "jobs holds fewer than count jobs");
  if (count > results.length) ThrowRange(env, "results is shorter than count");
  std::vector<ByteView> buffers(bufferArray.Length());
  for (uint32_t i = 0; i < buffers.size(); i++) buffers[i] = BytesOf(env, bufferArray.Get(i), "each buffer");
  // The table is copied, and no output may land on the keys or results, so what was checked in
  // the first pass is what the second runs.
  thread_local std::vector<int32_t> table;
  table.assign(jobsArray.Data(), jobsArray.Data() + static_cast<size_t>(count) * kJob);
  const int32_t* jobs = table.data();
  auto overlaps = [](const uint8_t* p, size_t n, const ByteView& v) { return p < v.data + v.length && v.data < p + n; };

  auto region = [&](int32_t buf, int32_t off, size_t len, const char* what) -> uint8_t* {
    if (buf < 0 || static_cast<size_t>(buf) >= buffers.size() || off < 0 ||
        static_cast<size_t>(off) + len > buffers[buf].length) {
      ThrowRange(env, std::string("a job's ") + what + " lies outside its buffer");
    }
    return const_cast<uint8_t*>(buffers[buf].data) + off;
  };
  auto output = [&](int32_t buf, int32_t off, size_t len) -> uint8_t* {
    uint8_t* p = region(buf, off, len, "destination");
    if (overlaps(p, len, keys) || overlaps(p, len, results)) ThrowRange(env, "a job's destination overlaps the keys or results");
    return p;
  };
  for (int pass = 0; pass < 2; pass++) {  // pass 0 checks every job, pass 1 runs them
    for (uint32_t j = 0; j < count; j++) {
      const int32_t* job = jobs + kJob * j;
      const int32_t op = job[0];
      if (op != 0 && op != 1) ThrowRange(env, "a job's op must be 0 (seal) or 1 (open)");
      if (job[1] < 0 || (static_cast<size_t>(job[1]) + 1) * 32 > keys.length) ThrowRange(env, "a job's key is not in keys");
      if (job[6] < 0) ThrowRange(env, "a job's length is negative");
      const size_t len = static_cast<size_t>(job[6]);
      const size_t padded = op == 0 ? static_cast<size_t>(std::max(job[7], 0)) : 0;
      if (op == 0 && padded < len) ThrowRange(env, "a seal's padded length is shorter than its plaintext");
      if (op == 1 && len < kTag) ThrowRange(env, "an open's input is shorter than the tag");
      const uint8_t* src = region(job[4], job[5], len, "source");
      uint8_t* dst = output(job[8], job[9], op == 0 ? padded + kTag : len - kTag);
      if (pass == 0) continue;
      uint8_t nonce[12];
      NonceOf(static_cast<uint64_t>(static_cast<uint32_t>(job[3])) << 32 | static_cast<uint32_t>(job[2]), nonce);
      const uint8_t* key = keys.data + 32 * static_cast<size_t>(job[1]);
      const ByteView none{nullptr, 0};
      const bool ok = op == 0 ? Seal(env, key, nonce, src, len, padded, none, dst) : Open(env, key, nonce, src, len, none, dst);
      const_cast<uint8_t*>(results.data)[j] = ok ? 1 : 0;
    }
  }
  uint32_t done = 0;
  for (uint32_t j = 0; j < count; j++) done += results.data[j];
  return Napi::Number::New(env, done);
}

}  // namespace umbra
