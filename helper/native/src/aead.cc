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
static void Nonce(Napi::Env env, Napi::Value v, uint8_t nonce[12]) {
  if (!v.IsNumber()) ThrowType(env, "counter must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) ThrowRange(env, "counter must be a safe non-negative integer");
  uint64_t c = static_cast<uint64_t>(d);
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(c >> (8 * i));
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

// aeadSeal(key, counter, plaintext, paddedLength, ad | undefined, out, outOffset): undefined —
// encrypts plaintext and zeros up to paddedLength, writing ciphertext||tag into out at outOffset.
Napi::Value AeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView key = Key(env, info[0]);
  uint8_t nonce[12];
  Nonce(env, info[1], nonce);
  ByteView pt = BytesOf(env, info[2], "plaintext");
  uint32_t padded = Uint32Arg(info, 3, "paddedLength");
  ByteView out = BytesOf(env, info[5], "out");
  uint32_t offset = Uint32Arg(info, 6, "outOffset");
  if (padded < pt.length) ThrowRange(env, "paddedLength is shorter than the plaintext");
  if (static_cast<size_t>(offset) + padded + kTag > out.length) ThrowRange(env, "out is too small");
  uint8_t* dst = const_cast<uint8_t*>(out.data) + offset;
  const Cores& cores = GetCores();
  if (useCores && cores.ok) {
    thread_local CoreState st;
    ByteView ad{nullptr, 0};
    if (!info[4].IsUndefined()) ad = BytesOf(env, info[4], "ad");
    Prepare(cores, st, key.data, nonce);
    std::memmove(dst, pt.data, pt.length);
    std::memset(dst + pt.length, 0, padded - pt.length);
    if (padded > 0) cores.chacha(dst, dst, padded, st.key, st.counter);
    Tag(cores, st, &ad, dst, padded, dst + padded);
    Wipe(cores, st);
    return env.Undefined();
  }
  EVP_CIPHER_CTX* c = Contexts(env).enc;
  int n = 0;
  bool ok = GetEvp().encInit(c, nullptr, nullptr, key.data, nonce) == 1;
  if (ok && !info[4].IsUndefined()) {
    ByteView ad = BytesOf(env, info[4], "ad");
    ok = GetEvp().encUpdate(c, nullptr, &n, ad.data, static_cast<int>(ad.length)) == 1;
  }
  // The output may overlap the input only exactly (in place), which OpenSSL allows.
  if (ok && pt.length > 0) ok = GetEvp().encUpdate(c, dst, &n, pt.data, static_cast<int>(pt.length)) == 1;
  for (size_t done = pt.length; ok && done < padded;) {
    size_t chunk = std::min(sizeof kZeros, padded - done);
    ok = GetEvp().encUpdate(c, dst + done, &n, kZeros, static_cast<int>(chunk)) == 1;
    done += chunk;
  }
  if (ok) ok = GetEvp().encFinal(c, dst + padded, &n) == 1;
  if (ok) ok = GetEvp().ctrl(c, EVP_CTRL_AEAD_GET_TAG, kTag, dst + padded) == 1;
  if (!ok) ThrowPlain(env, "OpenSSL ChaCha20-Poly1305 encryption failed");
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
  ByteView out = BytesOf(env, info[4], "out");
  uint32_t offset = Uint32Arg(info, 5, "outOffset");
  if (sealed.length < kTag) return Napi::Boolean::New(env, false);
  size_t n = sealed.length - kTag;
  if (static_cast<size_t>(offset) + n > out.length) ThrowRange(env, "out is too small");
  uint8_t* dst = const_cast<uint8_t*>(out.data) + offset;
  const Cores& cores = GetCores();
  if (useCores && cores.ok) {
    thread_local CoreState st;
    ByteView ad{nullptr, 0};
    if (!info[3].IsUndefined()) ad = BytesOf(env, info[3], "ad");
    Prepare(cores, st, key.data, nonce);
    uint8_t tag[kTag];
    Tag(cores, st, &ad, sealed.data, n, tag);
    uint8_t diff = 0;  // constant time
    for (size_t i = 0; i < kTag; i++) diff |= tag[i] ^ sealed.data[n + i];
    if (diff == 0 && n > 0) cores.chacha(dst, sealed.data, n, st.key, st.counter);
    Wipe(cores, st);
    return Napi::Boolean::New(env, diff == 0);
  }
  EVP_CIPHER_CTX* c = Contexts(env).dec;
  int len = 0;
  bool ok = GetEvp().decInit(c, nullptr, nullptr, key.data, nonce) == 1;
  if (ok && !info[3].IsUndefined()) {
    ByteView ad = BytesOf(env, info[3], "ad");
    ok = GetEvp().decUpdate(c, nullptr, &len, ad.data, static_cast<int>(ad.length)) == 1;
  }
  // The tag is copied out first: decrypting in place overwrites nothing past n, but be plain.
  uint8_t tag[kTag];
  std::memcpy(tag, sealed.data + n, kTag);
  if (ok && n > 0) ok = GetEvp().decUpdate(c, dst, &len, sealed.data, static_cast<int>(n)) == 1;
  if (ok) ok = GetEvp().ctrl(c, EVP_CTRL_AEAD_SET_TAG, kTag, tag) == 1;
  if (ok) ok = GetEvp().decFinal(c, dst + n, &len) == 1;
  return Napi::Boolean::New(env, ok);
}

}  // namespace umbra
