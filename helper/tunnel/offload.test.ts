// The TUN offloads of the native addon, on buffers (no TUN needed): a TSO super-packet from the
// kernel becomes MTU-sized segments with correct headers and checksums, and received TCP
// segments are joined for the kernel only where GRO would join them, never reordering a flow.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../platform/native.js';
import {
  checksumsOk, ipHeaderLength, onesSum, readVnet, streamBytes, tcpFlags, tcpPacket, tcpPayload, tcpSeq, vnetHeader, type TcpSpec,
} from './testdata/tcp-packets.js';

interface OffloadAddon {
  tunCoalesce(packets: readonly Uint8Array[], count: number): Buffer[];
  tunSplit(read: Uint8Array): Buffer[];
}
const addon = (() => {
  try {
    const n = loadNative() as unknown as Partial<OffloadAddon>;
    return typeof n.tunCoalesce === 'function' && typeof n.tunSplit === 'function' ? (n as OffloadAddon) : undefined;
  } catch {
    return undefined;
  }
})();

const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const NEEDS_CSUM = 1;

/** The segments of a stream, MSS bytes each (the last shorter), as a TCP sender sends them. */
function segments(n: number, mss: number, last = mss, over: Partial<TcpSpec> = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 1000;
  for (let i = 0; i < n; i++) {
    const len = i === n - 1 ? last : mss;
    out.push(tcpPacket({ seq, payload: streamBytes(seq, len), ...over }));
    seq += len;
  }
  return out;
}

const coalesce = (packets: Uint8Array[]) => addon!.tunCoalesce(packets, packets.length);

/** A TSO read as the kernel hands it over: vnet header, then the super-packet with a partial checksum. */
function superPacket(v6: boolean, payloadLength: number, mss: number, flags = 0x18): Uint8Array {
  const p = tcpPacket({ v6, seq: 5000, flags, payload: streamBytes(5000, payloadLength), options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] });
  const iph = ipHeaderLength(p);
  // The kernel leaves the pseudo-header sum (not complemented) in the checksum field.
  const view = new DataView(p.buffer);
  const addrs = v6 ? p.subarray(8, 40) : p.subarray(12, 20);
  let sum = 6 + (p.length - iph);
  for (let i = 0; i < addrs.length; i += 2) sum += (addrs[i]! << 8) | addrs[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(iph + 16, sum);
  const hdr = vnetHeader({ flags: NEEDS_CSUM, gsoType: v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: iph + 32, gsoSize: mss, csumStart: iph, csumOffset: 16 });
  const out = new Uint8Array(10 + p.length);
  out.set(hdr);
  out.set(p, 10);
  return out;
}

describe.skipIf(addon === undefined)('TUN offloads (native)', () => {
  describe('reading: a TSO super-packet becomes segments', () => {
    for (const v6 of [false, true]) {
      it(`IPv${v6 ? 6 : 4}: sizes, sequence numbers, flags, lengths, ids and checksums`, () => {
        const mss = 1368;
        const segs = addon!.tunSplit(superPacket(v6, 10 * mss + 100, mss));
        expect(segs).toHaveLength(11);
        let seq = 5000;
        const data: number[] = [];
        segs.forEach((s, i) => {
          expect(checksumsOk(s)).toBe(true);
          expect(tcpSeq(s)).toBe(seq);
          const payload = tcpPayload(s);
          expect(payload.length).toBe(i === 10 ? 100 : mss);
          seq += payload.length;
          data.push(...payload);
          // PSH only on the last; the timestamp option kept on every one.
          expect(tcpFlags(s)).toBe(i === 10 ? 0x18 : 0x10);
          expect([...s.subarray(ipHeaderLength(s) + 20, ipHeaderLength(s) + 32)]).toEqual([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
          if (v6) expect(s.readUInt16BE(4)).toBe(s.length - 40);
          else {
            expect(s.readUInt16BE(2)).toBe(s.length);
            expect(s.readUInt16BE(4)).toBe(1 + i); // ids count up from the super-packet's
          }
        });
        expect(Buffer.from(data).equals(Buffer.from(streamBytes(5000, 10 * mss + 100)))).toBe(true);
      });
    }

    it('FIN only on the last segment, CWR only on the first', () => {
      const segs = addon!.tunSplit(superPacket(false, 3000, 1000, 0x80 | 0x10 | 0x01));
      expect(segs.map(tcpFlags)).toEqual([0x90, 0x10, 0x11]);
    });

    it('completes a checksum the kernel left to us, and passes plain packets through', () => {
      const p = tcpPacket({ seq: 1, payload: streamBytes(0, 333) });
      const partial = Uint8Array.from(p);
      // The field holds the pseudo-header sum.
      let sum = 6 + (p.length - 20);
      for (let i = 12; i < 20; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      new DataView(partial.buffer).setUint16(36, sum);
      const read = new Uint8Array(10 + p.length);
      read.set(vnetHeader({ flags: NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 20, csumOffset: 16 }));
      read.set(partial, 10);
      expect([...addon!.tunSplit(read)[0]!]).toEqual([...p]);
      const plain = new Uint8Array(10 + 5);
      plain.set([0x45, 0, 0, 5, 0], 10);
      expect([...addon!.tunSplit(plain)[0]!]).toEqual([0x45, 0, 0, 5, 0]);
    });

    it('drops reads whose header does not fit the packet, or offloads never asked for', () => {
      const bad = superPacket(false, 3000, 1000);
      bad[6] = 200; // csum_start past the packet
      expect(addon!.tunSplit(bad)).toEqual([]);
      const udp = superPacket(false, 3000, 1000);
      udp[1] = 5; // UDP L4 GSO
      expect(addon!.tunSplit(udp)).toEqual([]);
      const zero = superPacket(false, 3000, 1000);
      zero[4] = zero[5] = 0; // gso_size 0
      expect(addon!.tunSplit(zero)).toEqual([]);
    });
  });

  describe('writing: segments of a flow are joined as GRO would', () => {
    for (const v6 of [false, true]) {
      it(`IPv${v6 ? 6 : 4}: one super-packet with a GSO header and a partial checksum`, () => {
        const segs = segments(20, 1368, 500, { v6, flags: 0x10 });
        segs[19] = tcpPacket({ v6, seq: tcpSeq(segs[19]!), flags: 0x18, payload: tcpPayload(segs[19]!) });
        const out = coalesce(segs);
        expect(out).toHaveLength(1);
        const h = readVnet(out[0]!);
        const iph = v6 ? 40 : 20;
        expect(h).toEqual({ flags: NEEDS_CSUM, gsoType: v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: iph + 20, gsoSize: 1368, csumStart: iph, csumOffset: 16 });
        const p = out[0]!.subarray(10);
        expect(Buffer.from(tcpPayload(p)).equals(Buffer.from(streamBytes(1000, 19 * 1368 + 500)))).toBe(true);
        expect(tcpFlags(p)).toBe(0x18); // PSH of the last
        expect(tcpSeq(p)).toBe(1000);
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, which the payload's sum
        // completes to a valid checksum.
        const filled = Buffer.from(p);
        filled.writeUInt16BE(0, iph + 16);
        filled.writeUInt16BE(~onesSum(filled.subarray(iph), p.readUInt16BE(iph + 16)) & 0xffff, iph + 16);
        expect(checksumsOk(filled)).toBe(true);
        if (v6) expect(p.readUInt16BE(4)).toBe(p.length - 40);
        else {
          expect(p.readUInt16BE(2)).toBe(p.length);
          let sum = 0;
          for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
          while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
          expect(sum).toBe(0xffff);
        }
      });
    }

    it('stops at 64 KiB, at PSH, after a shorter segment, and at a gap', () => {
      const big = segments(60, 1368);
      expect(coalesce(big).map((b) => tcpPayload(b.subarray(10)).length)).toEqual([47 * 1368, 13 * 1368]);
      const psh = segments(4, 1000);
      psh[1] = tcpPacket({ seq: tcpSeq(psh[1]!), flags: 0x18, payload: tcpPayload(psh[1]!) });
      expect(coalesce(psh).map((b) => tcpPayload(b.subarray(10)).length)).toEqual([2000, 2000]);
      const short = [...segments(2, 1000, 400), ...segments(1, 1000).map((p) => tcpPacket({ seq: 2400, payload: tcpPayload(p) }))];
      expect(coalesce(short).map((b) => tcpPayload(b.subarray(10)).length)).toEqual([1400, 1000]);
      const gap = segments(4, 1000);
      gap.splice(2, 1);
      expect(coalesce(gap).map((b) => tcpSeq(b.subarray(10)))).toEqual([1000, 4000]);
    });

    it('never joins across a different ack, window, options, TTL or TOS', () => {
      for (const over of [{ ack: 2000 }, { window: 100 }, { options: [1, 1, 1, 1] }, { ttl: 3 }, { tos: 4 }]) {
        const s = segments(2, 1000);
        s[1] = tcpPacket({ seq: 2000, payload: tcpPayload(s[1]!), ...over });
        expect(coalesce(s)).toHaveLength(2);
      }
    });

    it('joins each flow on its own and keeps every flow in order', () => {
      const a = segments(3, 1000, 1000, { sport: 1 });
      const b = segments(3, 1000, 1000, { sport: 2 });
      const out = coalesce([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!]);
      expect(out.map((o) => [o.subarray(10).readUInt16BE(20), tcpPayload(o.subarray(10)).length])).toEqual([[1, 3000], [2, 3000]]);
    });

    it('does not reorder a flow around a packet it cannot join (a pure ACK, a SYN)', () => {
      const s = segments(3, 1000);
      const ack = tcpPacket({ seq: 3000, flags: 0x10 }); // no payload, same seq as the next segment
      const out = coalesce([s[0]!, s[1]!, ack, s[2]!]);
      expect(out.map((o) => tcpPayload(o.subarray(10)).length)).toEqual([2000, 0, 1000]);
    });

    it('never joins a segment whose checksum is wrong (the kernel then drops just that one)', () => {
      const s = segments(4, 1000);
      s[2]![60]! ^= 0xff;
      const out = coalesce(s);
      expect(out.map((o) => [readVnet(o).gsoType, tcpSeq(o.subarray(10)), tcpPayload(o.subarray(10)).length])).toEqual([
        [GSO_TCPV4, 1000, 2000],
        [0, 3000, 1000],
        [0, 4000, 1000],
      ]);
      expect(checksumsOk(out[1]!.subarray(10))).toBe(false);
    });

    it('passes anything else through unchanged with an empty header', () => {
      const udp = Uint8Array.from([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0, 8, 0, 0]);
      const syn = tcpPacket({ seq: 1, flags: 0x02 });
      const frag = tcpPacket({ seq: 1000, payload: streamBytes(0, 100) });
      frag[6] = 0x20; // more fragments
      for (const p of [udp, syn, frag]) {
        const out = coalesce([p, p]);
        expect(out).toHaveLength(2);
        expect([...out[0]!.subarray(0, 10)]).toEqual(Array<number>(10).fill(0));
        expect([...out[0]!.subarray(10)]).toEqual([...p]);
      }
    });
  });
});
