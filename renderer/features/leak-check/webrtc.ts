// The WebRTC leak check, which only a page can run: the addresses any web page can learn from ICE
// candidates (RTCPeerConnection with the STUN servers the helper's settings name). A public address
// other than the VPN's is a leak; host candidates with private or mDNS (.local) addresses are shown
// as information. The verdict compares with what the helper's own checks saw (its LeakReport).
import type { LeakCheckResult, LeakEvidence, LeakReport, TunnelState } from '../../api.js';

export interface IceCandidateInfo {
  /** host, srflx (what a STUN server saw), prflx, relay. */
  type: string;
  address: string;
  port?: number;
  protocol?: string;
}

export interface GatherResult {
  candidates: IceCandidateInfo[];
  stunServers: string[];
  /** WebRTC is missing here (no RTCPeerConnection): the check could not run. */
  unavailable?: boolean;
  error?: string;
  /** Gathering did not finish in time (the candidates found so far are kept). */
  timedOut?: boolean;
}

export type CandidateGatherer = (stunServers: string[], timeoutMs: number) => Promise<GatherResult>;

/** One ICE candidate line ("candidate:…" or "a=candidate:…"), or undefined when it is not one. */
export function parseCandidate(line: string): IceCandidateInfo | undefined {
  const m = /^(?:a=)?candidate:(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+typ\s+(\S+)/i.exec(line.trim());
  if (!m) return undefined;
  return { type: m[7]!.toLowerCase(), address: m[5]!.replace(/^\[|\]$/g, ''), port: Number(m[6]), protocol: m[3]!.toLowerCase() };
}

type PeerConnectionCtor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** Gathers this page's ICE candidates; never rejects. */
export async function gatherCandidates(
  stunServers: string[],
  timeoutMs: number,
  RTC: PeerConnectionCtor | undefined = (globalThis as { RTCPeerConnection?: PeerConnectionCtor }).RTCPeerConnection,
): Promise<GatherResult> {
  if (!RTC) return { candidates: [], stunServers, unavailable: true, error: 'WebRTC is not available here' };
  const found = new Map<string, IceCandidateInfo>();
  const add = (line: string | undefined) => {
    const c = line ? parseCandidate(line) : undefined;
    if (c) found.set(`${c.type} ${c.address} ${c.port ?? ''} ${c.protocol ?? ''}`, c);
  };
  let pc: RTCPeerConnection | undefined;
  try {
    pc = new RTC({ iceServers: stunServers.length > 0 ? [{ urls: stunServers }] : [] });
    const conn = pc;
    let timedOut = false;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      conn.addEventListener('icecandidate', (e: RTCPeerConnectionIceEvent) => {
        if (e.candidate) add(e.candidate.candidate);
        else finish();
      });
      conn.addEventListener('icegatheringstatechange', () => {
        if (conn.iceGatheringState === 'complete') finish();
      });
    });
    conn.createDataChannel('umbra-leak-check');
    await conn.setLocalDescription(await conn.createOffer());
    await done;
    for (const line of (conn.localDescription?.sdp ?? '').split(/\r?\n/)) add(line);
    return { candidates: [...found.values()], stunServers, ...(timedOut ? { timedOut } : {}) };
  } catch (e) {
    return { candidates: [...found.values()], stunServers, error: e instanceof Error ? e.message : String(e) };
  } finally {
    pc?.close();
  }
}

// ------------------------------------------------------------------ addresses

function ipv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

/** Expands an IPv6 literal to 8 groups, or undefined. */
function ipv6(text: string): number[] | undefined {
  if (!text.includes(':') || !/^[0-9a-f:.]+$/i.test(text)) return undefined;
  let t = text.toLowerCase();
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4tail) {
    const b = ipv4(v4tail[1]!);
    if (!b) return undefined;
    t = t.slice(0, -v4tail[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<number>(Math.max(fill, 0)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isFinite(g)) && fill >= 0 ? groups : undefined;
}

/** One spelling per address (IPv6 compressed, lower case; ::ffff:a.b.c.d → a.b.c.d), else the text as is. */
export function canonical(text: string): string {
  const t = text.trim().replace(/^\[|\]$/g, '');
  const g = ipv6(t);
  if (!g) return t;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export type AddressKind = 'mdns' | 'private' | 'public' | 'other';

/** What a candidate address tells a page: an mDNS name, a private/local address, or a public one. */
export function addressKind(address: string): AddressKind {
  if (/\.local\.?$/i.test(address)) return 'mdns';
  const v4 = ipv4(address);
  if (v4) {
    const [a, b] = v4 as [number, number];
    if (a === 10 || a === 127 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)) return 'private';
    return 'public';
  }
  const v6 = ipv6(address);
  if (v6) {
    const first = v6[0]!;
    if (v6.every((x, i) => (i < 7 ? x === 0 : x <= 1))) return 'private'; // :: and ::1
    if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80) return 'private'; // ULA, link-local
    if (v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff) return addressKind(canonical(address));
    return 'public';
  }
  return 'other';
}

// ------------------------------------------------------------------ the verdict

const TYPE_WORDS: Record<string, string> = {
  host: 'host (this machine’s own interface)',
  srflx: 'server-reflexive (what the STUN server saw)',
  prflx: 'peer-reflexive',
  relay: 'relay (a TURN server)',
};
const KIND_WORDS: Record<AddressKind, string> = {
  mdns: 'an mDNS name: hides the address (info)',
  private: 'a private or local address (info)',
  public: 'a public address',
  other: 'not an address',
};

/** The WebRTC check's result, given what was gathered and what the helper saw. */
/** The verdict when this window runs outside the network the helper protects (HostInfo.elsewhere). */
export function webrtcElsewhere(): LeakCheckResult {
  return {
    id: 'webrtc',
    title: 'WebRTC',
    verdict: 'warn',
    finding: 'Could not test: this window runs outside the network the helper protects (the demo’s lab), so what WebRTC shows here is another network’s',
    evidence: [{ label: 'Where this window runs', text: 'outside the helper’s network namespace; use umbra leak-check, or a browser inside the lab' }],
  };
}

export function webrtcCheck(g: GatherResult, report: LeakReport | null, state: TunnelState): LeakCheckResult {
  const title = 'WebRTC';
  const evidence: LeakEvidence[] = [{ label: 'STUN servers', text: g.stunServers.length > 0 ? g.stunServers.join(', ') : 'none configured (only this machine’s own candidates)' }];
  const out = (verdict: LeakCheckResult['verdict'], finding: string): LeakCheckResult => ({ id: 'webrtc', title, verdict, finding, evidence });
  if (g.unavailable) return out('warn', 'WebRTC is not available in this window, so what a web page can learn through it could not be checked');

  for (const c of g.candidates) {
    evidence.push({ label: `Candidate ${c.address}${c.port ? ` port ${c.port}` : ''}${c.protocol ? ` (${c.protocol})` : ''}`, text: `${TYPE_WORDS[c.type] ?? c.type}; ${KIND_WORDS[addressKind(c.address)]}` });
  }
  if (g.candidates.length === 0) evidence.push({ label: 'Candidates', text: 'none' });
  if (g.error) evidence.push({ label: 'Gathering', text: `stopped: ${g.error}` });
  else if (g.timedOut) evidence.push({ label: 'Gathering', text: 'did not finish in time; the candidates found until then are listed' });

  const a = report?.addresses;
  const vpn = [...(a?.exit ? [a.exit] : []), ...(report?.state === 'connected' ? [...(a?.seen ?? []), ...(a?.seen6 ?? [])] : []), ...(a?.tunnel ?? [])].map(canonical);
  const own = [...(a?.own ?? []), ...(a?.preVpn ? [a.preVpn] : []), ...(a?.preVpn6 ? [a.preVpn6] : [])].map(canonical);
  const ownSet = new Set(own);
  const vpnSet = new Set(vpn.filter((x) => !ownSet.has(x)));
  if (vpnSet.size > 0) evidence.push({ label: 'The VPN’s addresses', text: [...vpnSet].join(', ') });

  const publics = [...new Set(g.candidates.filter((c) => addressKind(c.address) === 'public').map((c) => canonical(c.address)))];
  const exposed = publics.filter((x) => !vpnSet.has(x));
  const wants = state !== 'disconnected';
  if (exposed.length > 0) {
    const list = exposed.join(', ');
    if (!wants) return out('warn', `Not connected: a web page can learn your address ${list} through WebRTC`);
    const yours = exposed.filter((x) => ownSet.has(x));
    if (yours.length > 0) return out('fail', `A web page can learn your own address ${yours.join(', ')} through WebRTC`);
    if (vpnSet.size === 0) return out('warn', `A web page can learn ${list} through WebRTC; the VPN’s address is not known here, so it cannot be compared`);
    return out('fail', `A web page can learn ${list} through WebRTC, which is not the VPN’s address`);
  }
  if (g.error && g.candidates.length === 0) return out('warn', `WebRTC candidates could not be gathered (${g.error}), so this proves nothing`);
  // Unfinished gathering proves nothing: the candidate not yet found may be the one that leaks.
  if (g.timedOut) return out('warn', 'Could not test: WebRTC gathering did not finish in time, so what a web page can learn is not known');
  if (publics.length > 0) return out('pass', `A web page can learn only the VPN’s address (${publics.join(', ')}) through WebRTC`);
  return out('pass', 'A web page learns no public address through WebRTC (only local or hidden ones)');
}
