#!/usr/bin/env python3
"""Independent WireGuard reference for Umbra's known-answer tests.

Written from the WireGuard whitepaper's construction (sections 5.4.2 to 5.4.7),
Noise (IKpsk2), RFC 7748, RFC 8439 and draft-irtf-cfrg-xchacha, not from
Umbra's TypeScript: a vector that both sides compute the same way proves
nothing. Uses only the standard library (hashlib.blake2s, hmac); X25519 and
(X)ChaCha20-Poly1305 are implemented here and checked against the RFCs' own
vectors (and a published Noise_IKpsk2 vector) before anything is written.

    python3 helper/wireguard/testdata/kat/reference.py          # self-check, print
    python3 helper/wireguard/testdata/kat/reference.py --write  # regenerate vectors.json
"""

import hashlib
import hmac
import json
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
from primitives import (H, check_primitives, chacha20poly1305_open, chacha20poly1305_seal, public_key,
                        x25519, xchacha20poly1305_open, xchacha20poly1305_seal)

# --- WireGuard functions (whitepaper section 5.4) ----------------------------

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


def HASH(data: bytes) -> bytes:
    return hashlib.blake2s(data, digest_size=32).digest()


def MAC(key: bytes, data: bytes) -> bytes:
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def HMAC(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n: int, key: bytes, data: bytes):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key: bytes, counter: int, plaintext: bytes, aad: bytes) -> bytes:
    return chacha20poly1305_seal(key, b"\x00" * 4 + struct.pack("<Q", counter), plaintext, aad)


def AEAD_OPEN(key: bytes, counter: int, sealed: bytes, aad: bytes) -> bytes:
    return chacha20poly1305_open(key, b"\x00" * 4 + struct.pack("<Q", counter), sealed, aad)


def TAI64N(seconds: int, nanoseconds: int) -> bytes:
    # TAI64 label 2^62 plus the 10 s TAI-UTC offset, as WireGuard implementations use.
    return struct.pack(">QI", 0x400000000000000A + seconds, nanoseconds)


def initial_state(responder_static_public: bytes, prologue: bytes = IDENTIFIER):
    ck = HASH(CONSTRUCTION)
    h = HASH(HASH(ck + prologue) + responder_static_public)
    return ck, h


def with_macs(body: bytes, receiver_static_public: bytes, cookie: bytes | None) -> bytes:
    mac1 = MAC(HASH(LABEL_MAC1 + receiver_static_public), body)
    mac2 = MAC(cookie, body + mac1) if cookie else b"\x00" * 16
    return body + mac1 + mac2


def initiator_noise(ck, h, i_static, r_static_pub, i_ephemeral, payload):
    """Noise IK's first message, -> e, es, s, ss, {payload} (whitepaper 5.4.2)."""
    e_pub = public_key(i_ephemeral)
    ck = KDF(1, ck, e_pub)[0]
    h = HASH(h + e_pub)
    ck, k = KDF(2, ck, x25519(i_ephemeral, r_static_pub))
    enc_static = AEAD(k, 0, public_key(i_static), h)
    h = HASH(h + enc_static)
    ck, k = KDF(2, ck, x25519(i_static, r_static_pub))
    enc_payload = AEAD(k, 0, payload, h)
    h = HASH(h + enc_payload)
    return ck, h, e_pub + enc_static + enc_payload


def response_mix(ck, h, r_e_pub, ee, se, psk):
    """<- e, ee, se, psk (whitepaper 5.4.3): the steps both sides take, from their own DHs."""
    ck = KDF(1, ck, r_e_pub)[0]
    h = HASH(h + r_e_pub)
    ck = KDF(1, ck, ee)[0]
    ck = KDF(1, ck, se)[0]
    ck, tau, k = KDF(3, ck, psk)
    return ck, HASH(h + tau), k


def responder_noise(ck, h, i_e_pub, i_static_pub, r_ephemeral, psk, payload):
    """Noise IKpsk2's second message, <- e, ee, se, psk, {payload}."""
    e_pub = public_key(r_ephemeral)
    ck, h, k = response_mix(ck, h, e_pub, x25519(r_ephemeral, i_e_pub), x25519(r_ephemeral, i_static_pub), psk)
    enc_payload = AEAD(k, 0, payload, h)
    return ck, HASH(h + enc_payload), e_pub + enc_payload


def create_initiation(i_static, r_static_pub, i_ephemeral, sender, timestamp, cookie=None):
    ck, h = initial_state(r_static_pub)
    ck, h, noise = initiator_noise(ck, h, i_static, r_static_pub, i_ephemeral, timestamp)
    body = struct.pack("<B3xI", 1, sender) + noise
    return with_macs(body, r_static_pub, cookie), (ck, h)


def consume_initiation(r_static, msg):
    """Responder side: returns (initiator static public, timestamp, ck, h, e_pub)."""
    r_pub = public_key(r_static)
    assert msg[:4] == b"\x01\x00\x00\x00" and len(msg) == 148
    assert hmac.compare_digest(msg[116:132], MAC(HASH(LABEL_MAC1 + r_pub), msg[:116]))
    ck, h = initial_state(r_pub)
    e_pub, enc_static, enc_time = msg[8:40], msg[40:88], msg[88:116]
    ck = KDF(1, ck, e_pub)[0]
    h = HASH(h + e_pub)
    ck, k = KDF(2, ck, x25519(r_static, e_pub))
    i_pub = AEAD_OPEN(k, 0, enc_static, h)
    h = HASH(h + enc_static)
    ck, k = KDF(2, ck, x25519(r_static, i_pub))
    timestamp = AEAD_OPEN(k, 0, enc_time, h)
    h = HASH(h + enc_time)
    return i_pub, timestamp, ck, h, e_pub


def create_response(ck, h, i_e_pub, i_static_pub, r_ephemeral, psk, sender, receiver):
    ck, h, noise = responder_noise(ck, h, i_e_pub, i_static_pub, r_ephemeral, psk, b"")
    body = struct.pack("<B3xII", 2, sender, receiver) + noise
    return with_macs(body, i_static_pub, None), (ck, h)


def consume_response(i_static, i_ephemeral, psk, ck, h, msg):
    """Initiator side: returns (ck, h) after checking the response's mac1 and tag."""
    assert msg[:4] == b"\x02\x00\x00\x00" and len(msg) == 92
    assert hmac.compare_digest(msg[60:76], MAC(HASH(LABEL_MAC1 + public_key(i_static)), msg[:60]))
    e_pub, enc_nothing = msg[12:44], msg[44:60]
    ck, h, k = response_mix(ck, h, e_pub, x25519(i_ephemeral, e_pub), x25519(i_static, e_pub), psk)
    AEAD_OPEN(k, 0, enc_nothing, h)
    return ck, HASH(h + enc_nothing)


def transport_keys(ck):
    """(initiator send = responder receive, initiator receive = responder send)."""
    return tuple(KDF(2, ck, b""))


def transport_packet(key, receiver, counter, packet, mtu=1420):
    padded_len = min(len(packet) + (-len(packet) % 16), max(mtu, len(packet)))
    padded = packet + b"\x00" * (padded_len - len(packet))
    return struct.pack("<B3xIQ", 4, receiver, counter) + AEAD(key, counter, padded, b"")


def cookie_value(secret, source_bytes):
    return MAC(secret, source_bytes)


def cookie_reply(responder_static_pub, receiver, nonce24, cookie, mac1):
    key = HASH(LABEL_COOKIE + responder_static_pub)
    return struct.pack("<B3xI", 3, receiver) + nonce24 + xchacha20poly1305_seal(key, nonce24, cookie, mac1)


def open_cookie_reply(responder_static_pub, reply, mac1):
    key = HASH(LABEL_COOKIE + responder_static_pub)
    return xchacha20poly1305_open(key, reply[8:32], reply[32:64], mac1)


# --- self-check against published vectors ------------------------------------

def self_check():
    check_primitives()
    # HKDF over HMAC-BLAKE2s, vectors generated with wireguard-go (as quoted in wireguard-rs).
    assert KDF(3, b"", b"") == [H("8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0"),
                                H("58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e"),
                                H("0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e")]
    assert KDF(3, H("deadbeef"), b"") == [
        H("55329dc80e690fd86bd9661f0851c9b3686df2b1fda0347bc3d27958254b32c6"),
        H("8dfc6d33a8118ffe408b31ddac25f72aee9115a45b69ba176ad012b243834fee"),
        H("d69e852a2896569ea54a67969aa1800287921dac53ce6db4b4e12192f263c4c4")]
    noise_ikpsk2_check()


def noise_ikpsk2_check():
    """Cacophony's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector (as shipped in snow's
    tests/vectors/cacophony.txt): WireGuard's handshake is this pattern with the
    prologue IDENTIFIER, the timestamp as first payload and an empty second one."""
    prologue = H("4a6f686e2047616c74")
    psk = H("54686973206973206d7920417573747269616e20706572737065637469766521")
    i_s = H("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1")
    i_e = H("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a")
    r_s = H("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893")
    r_e = H("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b")
    r_pub = public_key(r_s)
    assert r_pub == H("31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62")
    # The functions that build the vectors, with cacophony's prologue and payloads.
    ck, h = initial_state(r_pub, prologue)
    ck, h, first = initiator_noise(ck, h, i_s, r_pub, i_e, H("4c756477696720766f6e204d69736573"))
    assert first == H(
        "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2"
        "ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c8"
        "4831215f2441eba616548e832985464cf17e51ee93109008399a21f7e13f")
    ck, h, second = responder_noise(ck, h, first[:32], public_key(i_s), r_e, psk, H("4d757272617920526f746862617264"))
    assert second == H(
        "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f"
        "007572dab0322217755c0632f365717edbf34d33e87a")
    assert h == H("f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5")
    send_i, send_r = transport_keys(ck)
    assert AEAD(send_i, 0, H("462e20412e20486179656b"), b"") == H("8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7")
    assert AEAD(send_r, 0, H("4361726c204d656e676572"), b"") == H("07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef")
    assert AEAD(send_i, 1, H("4a65616e2d426170746973746520536179"), b"") == \
        H("6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d")


# --- the frozen scenario -----------------------------------------------------

def seed(label: str) -> bytes:
    """A fixed 32-byte value per input, so nothing in vectors.json is hand-picked."""
    return HASH(b"umbra kat " + label.encode())


def ipv4_udp(src, dst, sport, dport, payload: bytes) -> bytes:
    """A well-formed IPv4/UDP packet (UDP checksum 0), so any IP-aware layer accepts it."""
    total = 28 + len(payload)
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0x1234, 0, 64, 17, 0, bytes(src), bytes(dst))
    words = sum(struct.unpack(">10H", header))
    while words > 0xFFFF:
        words = (words & 0xFFFF) + (words >> 16)
    header = header[:10] + struct.pack(">H", ~words & 0xFFFF) + header[12:]
    return header + struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def build_vectors():
    i_static, r_static = seed("initiator static"), seed("responder static")
    i_eph, r_eph, i_eph2 = seed("initiator ephemeral"), seed("responder ephemeral"), seed("initiator ephemeral 2")
    psk = seed("preshared key")
    i_index, r_index, i_index2 = 0x3C9A5D01, 0xA1B2C3D4, 0x0BADCAFE
    # Whole milliseconds (an engine's clock may not be finer); the second initiation is the
    # retransmission REKEY_TIMEOUT (5 s, whitepaper section 6.1) later, with no jitter.
    ts_seconds, ts_nanos = 1_765_000_000, 123_000_000
    ts2_seconds, ts2_nanos = ts_seconds + 5, ts_nanos
    i_pub, r_pub = public_key(i_static), public_key(r_static)

    timestamp = TAI64N(ts_seconds, ts_nanos)
    initiation, (ck_i, h_i) = create_initiation(i_static, r_pub, i_eph, i_index, timestamp)
    seen_pub, seen_ts, ck_r, h_r, seen_eph = consume_initiation(r_static, initiation)
    assert (seen_pub, seen_ts, ck_r, h_r) == (i_pub, timestamp, ck_i, h_i)
    response, (ck_r, h_r) = create_response(ck_r, h_r, seen_eph, i_pub, r_eph, psk, r_index, i_index)
    ck_i, h_i = consume_response(i_static, i_eph, psk, ck_i, h_i, response)
    assert (ck_i, h_i) == (ck_r, h_r)
    i_send, i_recv = transport_keys(ck_i)

    ping = ipv4_udp([100, 64, 0, 2], [100, 64, 0, 1], 40000, 7, b"umbra kat: initiator to responder")
    pong = ipv4_udp([100, 64, 0, 1], [100, 64, 0, 2], 7, 40000, b"umbra kat: responder back")
    transport = []
    for sender, key, receiver, packets in (("initiator", i_send, r_index, (ping, b"")),
                                           ("responder", i_recv, i_index, (pong, b""))):
        for counter, plaintext in enumerate(packets):
            message = transport_packet(key, receiver, counter, plaintext)
            assert AEAD_OPEN(key, counter, message[16:], b"")[:len(plaintext)] == plaintext
            transport.append({"from": sender, "counter": counter, "keepalive": plaintext == b"",
                              "plaintext": plaintext.hex(), "message": message.hex()})

    # The responder, under load, answers the initiation with a cookie reply; the
    # initiator's next initiation then carries mac2 keyed with that cookie.
    secret, nonce = seed("cookie secret"), seed("cookie nonce")[:24]
    # Am, "the concatenation of the external IP source address and UDP source port", never
    # leaves the responder, so its byte encoding is each implementation's own (Linux: address
    # bytes then the big-endian port). These vectors use Umbra's, the text "203.0.113.7|51820",
    # so that Umbra's responder can be checked; everything built on it is the whitepaper's.
    address, port = "203.0.113.7", 51820
    source_bytes = f"{address}|{port}".encode()
    cookie = cookie_value(secret, source_bytes)
    mac1 = initiation[116:132]
    reply = cookie_reply(r_pub, i_index, nonce, cookie, mac1)
    assert open_cookie_reply(r_pub, reply, mac1) == cookie
    timestamp2 = TAI64N(ts2_seconds, ts2_nanos)
    initiation2, _ = create_initiation(i_static, r_pub, i_eph2, i_index2, timestamp2, cookie)
    assert initiation2[132:] == MAC(cookie, initiation2[:132])

    return {
        "about": "WireGuard known-answer vectors from helper/wireguard/testdata/kat/reference.py "
                 "(independent of Umbra's engine). Regenerate with `python3 reference.py --write`; "
                 "never edit by hand. Bytes are lowercase hex; indices are the u32 values.",
        "inputs": {
            "initiatorStaticPrivate": i_static.hex(), "initiatorStaticPublic": i_pub.hex(),
            "responderStaticPrivate": r_static.hex(), "responderStaticPublic": r_pub.hex(),
            "initiatorEphemeralPrivate": i_eph.hex(), "responderEphemeralPrivate": r_eph.hex(),
            "presharedKey": psk.hex(),
            "initiatorIndex": i_index, "responderIndex": r_index,
            "timestamp": {"unixSeconds": ts_seconds, "nanoseconds": ts_nanos, "tai64n": timestamp.hex()},
            "mtu": 1420,
        },
        "initialChainingKey": HASH(CONSTRUCTION).hex(),
        "initialHash": HASH(HASH(CONSTRUCTION) + IDENTIFIER).hex(),
        "initiation": {"message": initiation.hex()},
        "handshake": {"hash": h_i.hex(), "chainingKey": ck_i.hex()},
        "response": {"message": response.hex()},
        "transportKeys": {"initiatorSend": i_send.hex(), "initiatorReceive": i_recv.hex(),
                          "responderSend": i_recv.hex(), "responderReceive": i_send.hex()},
        "transport": transport,
        "cookie": {
            "secret": secret.hex(), "sourceAddress": address, "sourcePort": port,
            "sourceBytes": source_bytes.hex(), "nonce": nonce.hex(), "inReplyTo": "initiation",
            "mac1": mac1.hex(), "cookie": cookie.hex(), "reply": reply.hex(),
        },
        "initiationWithCookie": {
            "ephemeralPrivate": i_eph2.hex(), "initiatorIndex": i_index2,
            "timestamp": {"unixSeconds": ts2_seconds, "nanoseconds": ts2_nanos, "tai64n": timestamp2.hex()},
            "message": initiation2.hex(),
        },
    }


def main():
    self_check()
    vectors = build_vectors()
    text = json.dumps(vectors, indent=2) + "\n"
    if "--write" in sys.argv[1:]:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"self-check passed; wrote {path}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
