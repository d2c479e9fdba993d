import { describe, expect, it } from 'vitest';
import type { LeakReport } from '../../api.js';
import { addressKind, canonical, gatherCandidates, parseCandidate, webrtcCheck, type GatherResult } from './webrtc.js';

function report(o: Omit<Partial<LeakReport>, 'addresses'> & { addresses?: Partial<LeakReport['addresses']> } = {}): LeakReport {
  return {
    checkedAt: 1,
    state: 'connected',
    checks: [],
    stunServers: ['stun:203.0.113.250:3478'],
    ...o,
    addresses: { seen: ['203.0.113.2'], seen6: [], preVpn: '198.51.100.2', own: ['198.51.100.2', '2001:db8:c::2'], tunnel: ['100.64.1.2'], ...o.addresses },
  };
}
const gathered = (...c: [string, string][]): GatherResult => ({ candidates: c.map(([type, address]) => ({ type, address, port: 40000, protocol: 'udp' })), stunServers: ['stun:203.0.113.250:3478'] });

describe('candidates and addresses', () => {
  it('parses ICE candidate lines (event form and SDP form)', () => {
    expect(parseCandidate('candidate:842163049 1 udp 1677729535 203.0.113.2 51234 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag x network-cost 999')).toEqual({
      type: 'srflx', address: '203.0.113.2', port: 51234, protocol: 'udp',
    });
    expect(parseCandidate('a=candidate:1 1 UDP 2122260223 4f1c2b6e-1d1a-4f6b-9a51-1a2b3c4d5e6f.local 60000 typ host generation 0')).toMatchObject({
      type: 'host', address: '4f1c2b6e-1d1a-4f6b-9a51-1a2b3c4d5e6f.local',
    });
    expect(parseCandidate('a=ice-ufrag:abcd')).toBeUndefined();
  });

  it('tells mDNS, private and public addresses apart', () => {
    expect(addressKind('4f1c2b6e.local')).toBe('mdns');
    for (const a of ['10.1.2.3', '172.20.0.1', '192.168.1.20', '100.64.1.2', '169.254.3.4', '127.0.0.1', 'fe80::1', 'fd00::5', '::1']) expect(addressKind(a), a).toBe('private');
    for (const a of ['203.0.113.2', '198.51.100.2', '172.32.0.1', '2001:db8:c::2', '::ffff:203.0.113.2']) expect(addressKind(a), a).toBe('public');
    expect(addressKind('::ffff:192.168.0.1')).toBe('private');
    expect(addressKind('not-an-ip')).toBe('other');
  });

  it('canonical: one spelling per address', () => {
    expect(canonical('2001:DB8:0:0:0:0:0:2')).toBe('2001:db8::2');
    expect(canonical('2001:db8:0:1:0:0:0:2')).toBe('2001:db8:0:1::2');
    expect(canonical('[::ffff:203.0.113.2]')).toBe('203.0.113.2');
    expect(canonical('203.0.113.2')).toBe('203.0.113.2');
  });
});

describe('the WebRTC verdict', () => {
  it('pass: only the VPN’s address is public; private and mDNS host candidates are information', () => {
    const r = webrtcCheck(gathered(['host', 'abc.local'], ['host', '100.64.1.2'], ['srflx', '203.0.113.2']), report(), 'connected');
    expect(r.verdict).toBe('pass');
    expect(r.finding).toBe('A web page can learn only the VPN’s address (203.0.113.2) through WebRTC');
    const ev = r.evidence.map((e) => `${e.label}: ${e.text}`);
    expect(ev).toContain('STUN servers: stun:203.0.113.250:3478');
    expect(ev).toContain('Candidate abc.local port 40000 (udp): host (this machine’s own interface); an mDNS name: hides the address (info)');
    expect(ev).toContain('Candidate 100.64.1.2 port 40000 (udp): host (this machine’s own interface); a private or local address (info)');
    expect(ev).toContain('Candidate 203.0.113.2 port 40000 (udp): server-reflexive (what the STUN server saw); a public address');
  });

  it('fail: a public address other than the VPN’s — your own, or another', () => {
    const own = webrtcCheck(gathered(['host', '198.51.100.2'], ['srflx', '203.0.113.2']), report(), 'connected');
    expect(own.verdict).toBe('fail');
    expect(own.finding).toBe('A web page can learn your own address 198.51.100.2 through WebRTC');
    const other = webrtcCheck(gathered(['srflx', '192.0.2.77']), report(), 'connected');
    expect(other.verdict).toBe('fail');
    expect(other.finding).toMatch(/192\.0\.2\.77 through WebRTC, which is not the VPN’s address/);
    // The catalog's exit address counts as the VPN's.
    expect(webrtcCheck(gathered(['srflx', '203.0.113.18']), report({ addresses: { seen: [], exit: '203.0.113.18' } }), 'connected').verdict).toBe('pass');
  });

  it('warn: disconnected (your address, by choice), no report to compare with, or WebRTC missing', () => {
    const off = webrtcCheck(gathered(['srflx', '198.51.100.2']), report({ state: 'disconnected', addresses: { seen: ['198.51.100.2'], tunnel: [] } }), 'disconnected');
    expect(off.verdict).toBe('warn');
    expect(off.finding).toBe('Not connected: a web page can learn your address 198.51.100.2 through WebRTC');
    expect(webrtcCheck(gathered(['srflx', '203.0.113.2']), null, 'connected').verdict).toBe('warn');
    const missing = webrtcCheck({ candidates: [], stunServers: [], unavailable: true }, report(), 'connected');
    expect(missing.verdict).toBe('warn');
    expect(missing.finding).toMatch(/not available in this window/);
    expect(webrtcCheck({ candidates: [], stunServers: [], error: 'boom' }, report(), 'connected').verdict).toBe('warn');
  });

  it('pass: no public address at all, gathering finished (STUN refused at once, or none configured)', () => {
    expect(webrtcCheck(gathered(['host', 'abc.local']), report(), 'connecting').verdict).toBe('pass');
  });

  it('could not test: gathering did not finish, whatever it found so far (a timeout is never a pass)', () => {
    for (const g of [gathered(['host', 'abc.local']), gathered(['srflx', '203.0.113.2'])]) {
      const r = webrtcCheck({ ...g, timedOut: true }, report(), 'connected');
      expect(r.verdict).toBe('warn');
      expect(r.finding).toMatch(/^Could not test: WebRTC gathering did not finish in time/);
      expect(r.evidence).toContainEqual({ label: 'Gathering', text: 'did not finish in time; the candidates found until then are listed' });
    }
  });
});

describe('gathering', () => {
  it('uses the STUN servers, collects candidates from events and the SDP, and closes the connection', async () => {
    const made: { config: RTCConfiguration | undefined; closed: boolean; channels: string[] }[] = [];
    class FakePc extends EventTarget {
      iceGatheringState: RTCIceGatheringState = 'new';
      localDescription: { sdp: string } | null = null;
      readonly record = { config: undefined as RTCConfiguration | undefined, closed: false, channels: [] as string[] };
      constructor(config?: RTCConfiguration) {
        super();
        this.record.config = config;
        made.push(this.record);
      }
      createDataChannel(label: string) {
        this.record.channels.push(label);
      }
      async createOffer() {
        return { type: 'offer', sdp: '' };
      }
      async setLocalDescription() {
        this.localDescription = { sdp: 'v=0\r\na=candidate:2 1 udp 1 2001:db8:c::2 5000 typ host\r\n' };
        setTimeout(() => {
          const ev = (candidate: string | null) => Object.assign(new Event('icecandidate'), { candidate: candidate === null ? null : { candidate } });
          this.dispatchEvent(ev('candidate:1 1 udp 1 abc.local 4000 typ host'));
          this.dispatchEvent(ev('candidate:3 1 udp 1 203.0.113.2 4001 typ srflx raddr 0.0.0.0 rport 0'));
          this.dispatchEvent(ev(null));
        }, 0);
      }
      close() {
        this.record.closed = true;
      }
    }
    const g = await gatherCandidates(['stun:203.0.113.250:3478'], 2000, FakePc as unknown as new (c?: RTCConfiguration) => RTCPeerConnection);
    expect(g.candidates.map((c) => `${c.type} ${c.address}`).sort()).toEqual(['host 2001:db8:c::2', 'host abc.local', 'srflx 203.0.113.2']);
    expect(made).toEqual([{ config: { iceServers: [{ urls: ['stun:203.0.113.250:3478'] }] }, closed: true, channels: ['umbra-leak-check'] }]);
    expect(g.timedOut).toBeUndefined();
  });

  it('without RTCPeerConnection: says it is unavailable', async () => {
    expect(await gatherCandidates([], 100, undefined)).toMatchObject({ unavailable: true, candidates: [] });
  });
});
