"""Pure-Python X25519 (RFC 7748) and ChaCha20-Poly1305 (RFC 8439) with XChaCha20-Poly1305
(draft-irtf-cfrg-xchacha), for reference.py. Written from the RFCs; check_primitives() runs the
RFCs' own test vectors. Slow and not constant-time: for generating test vectors only."""

import hmac
import struct

# --- X25519 (RFC 7748 section 5) -------------------------------------------

P25519 = 2**255 - 19


def x25519(scalar: bytes, u: bytes) -> bytes:
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    n = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        bit = (n >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P25519, (x2 - z2) % P25519
        aa, bb = a * a % P25519, b * b % P25519
        e = (aa - bb) % P25519
        c, d = (x3 + z3) % P25519, (x3 - z3) % P25519
        da, cb = d * a % P25519, c * b % P25519
        x3 = (da + cb) ** 2 % P25519
        z3 = x1 * (da - cb) ** 2 % P25519
        x2 = aa * bb % P25519
        z2 = e * (aa + 121665 * e) % P25519
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P25519 - 2, P25519) % P25519).to_bytes(32, "little")


def public_key(private: bytes) -> bytes:
    return x25519(private, (9).to_bytes(32, "little"))


# --- ChaCha20, Poly1305, AEAD (RFC 8439), XChaCha20 (draft-irtf-cfrg-xchacha)

def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def _rounds(state):
    s = list(state)
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12); _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14); _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15); _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13); _quarter(s, 3, 4, 9, 14)
    return s


SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    state = [*SIGMA, *struct.unpack("<8I", key), counter, *struct.unpack("<3I", nonce)]
    out = _rounds(state)
    return struct.pack("<16I", *((x + y) & 0xFFFFFFFF for x, y in zip(out, state)))


def chacha20_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 64):
        stream = chacha20_block(key, counter + i // 64, nonce)
        out += bytes(x ^ y for x, y in zip(data[i:i + 64], stream))
    return bytes(out)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    s = _rounds([*SIGMA, *struct.unpack("<8I", key), *struct.unpack("<4I", nonce16)])
    return struct.pack("<8I", *s[0:4], *s[12:16])


def poly1305(key: bytes, msg: bytes) -> bytes:
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p, acc = 2**130 - 5, 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(n):
    return b"\x00" * (-n % 16)


def _aead_tag(key, nonce, aad, ct):
    otk = chacha20_block(key, 0, nonce)[:32]
    data = aad + _pad16(len(aad)) + ct + _pad16(len(ct)) + struct.pack("<QQ", len(aad), len(ct))
    return poly1305(otk, data)


def chacha20poly1305_seal(key, nonce12, plaintext, aad):
    ct = chacha20_xor(key, 1, nonce12, plaintext)
    return ct + _aead_tag(key, nonce12, aad, ct)


def chacha20poly1305_open(key, nonce12, sealed, aad):
    ct, tag = sealed[:-16], sealed[-16:]
    if not hmac.compare_digest(_aead_tag(key, nonce12, aad, ct), tag):
        raise ValueError("AEAD tag mismatch")
    return chacha20_xor(key, 1, nonce12, ct)


def xchacha20poly1305_seal(key, nonce24, plaintext, aad):
    return chacha20poly1305_seal(hchacha20(key, nonce24[:16]), b"\x00" * 4 + nonce24[16:], plaintext, aad)


def xchacha20poly1305_open(key, nonce24, sealed, aad):
    return chacha20poly1305_open(hchacha20(key, nonce24[:16]), b"\x00" * 4 + nonce24[16:], sealed, aad)


# --- the RFCs' test vectors -----------------------------------------------------

H = bytes.fromhex
LADIES = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
          b"for the future, sunscreen would be it.")


def check_primitives():
    """The RFCs' own test vectors; raises AssertionError on any mismatch."""
    # RFC 7748 section 5.2 (one scalar multiplication, then 1 and 1000 iterations).
    assert x25519(H("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                  H("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")) == \
        H("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
    assert x25519(H("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                  H("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")) == \
        H("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")
    k = u = (9).to_bytes(32, "little")
    for i in range(1, 1001):
        k, u = x25519(k, u), k
        if i == 1:
            assert k == H("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    assert k == H("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
    # RFC 7748 section 6.1.
    a, b = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"), \
        H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    assert public_key(a) == H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert public_key(b) == H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert x25519(a, public_key(b)) == x25519(b, public_key(a)) == \
        H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    # RFC 8439 sections 2.4.2, 2.5.2, 2.8.2.
    key = bytes(range(32))
    assert chacha20_xor(key, 1, H("000000000000004a00000000"), LADIES)[:16] == \
        H("6e2e359a2568f98041ba0728dd0d6981")
    assert poly1305(H("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
                    b"Cryptographic Forum Research Group") == H("a8061dc1305136c6c22b8baf0c0127a9")
    aead_key, aad = bytes(range(0x80, 0xA0)), H("50515253c0c1c2c3c4c5c6c7")
    sealed = chacha20poly1305_seal(aead_key, H("070000004041424344454647"), LADIES, aad)
    assert sealed == H(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb"
        "69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad6"
        "75945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691")
    assert chacha20poly1305_open(aead_key, H("070000004041424344454647"), sealed, aad) == LADIES
    # draft-irtf-cfrg-xchacha sections 2.2.1 and A.3.1.
    assert hchacha20(key, H("000000090000004a0000000031415927")) == \
        H("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    xnonce = bytes(range(0x40, 0x58))
    xsealed = xchacha20poly1305_seal(aead_key, xnonce, LADIES, aad)
    assert xsealed == H(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
        "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
        "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
        "c0875924c1c7987947deafd8780acf49")
    assert xchacha20poly1305_open(aead_key, xnonce, xsealed, aad) == LADIES
