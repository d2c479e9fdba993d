// Parser for the wg-quick(8) `.conf` format that VPN providers hand out. Pure: text in, typed value
// out, no I/O. Hostnames in Endpoint are kept as text; resolving them is someone else's job.
//
// Decisions (see also the tests):
// - Sections and keys are case-insensitive, as in wg(8) and wg-quick(8).
// - `#` starts a comment anywhere on a line; CRLF line endings and a UTF-8 BOM are accepted.
// - Address keeps the host bits (100.64.1.2/24 is an address with its subnet); AllowedIPs are
//   masked to their prefix (10.1.2.3/8 becomes 10.0.0.0/8), as `wg` does.
// - IPv4 octets with leading zeros (01.2.3.4) are rejected: inet_pton rejects them and some
//   tools read them as octal. Zone ids (fe80::1%eth0) are rejected.
// - PreUp/PostUp/PreDown/PostDown are shell commands and Umbra never runs them: parseWgQuick
//   refuses them; parseWgQuickForImport leaves them out with a note (their value is not read).
// - SaveConfig, Table, FwMark and ListenPort are parsed and checked as wg-quick would, but the
//   helper decides those itself: an import leaves them out with a note saying why.
// - FwMark "off"/0 and PersistentKeepalive "off"/0 are both left undefined (= off).
// - Repeating a single-valued key (PrivateKey, MTU, Endpoint ...) is an error, not "last wins".
// - Key material never appears in an error message or in redactConfig's output, nor does any
//   20-character piece of base64 (most of a key, mistyped or split).

export interface Cidr {
  family: 4 | 6;
  /** Canonical text of `bytes` (RFC 5952 for IPv6). */
  address: string;
  /** 4 or 16 bytes; masked to the prefix, except for an interface Address (see parseCidr). */
  bytes: Uint8Array;
  prefix: number;
}

export interface InterfaceConfig {
  privateKey: Uint8Array;
  /** Interface addresses, with their host bits kept. */
  addresses: Cidr[];
  /** DNS server IPs, canonical text. */
  dns: string[];
  /** DNS entries that are not IPs are search domains, as in wg-quick. */
  dnsSearch: string[];
  mtu?: number;
  listenPort?: number;
  fwmark?: number;
  /** wg-quick's Table value as written: "off", "auto", "main", a number or a table name. */
  table?: string;
}

export interface PeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  /** host is an IP in canonical text (no brackets) or a hostname, not resolved. */
  endpoint?: { host: string; port: number };
  allowedIPs: Cidr[];
  persistentKeepalive?: number;
}

export interface WgQuickConfig {
  interface: InterfaceConfig;
  peers: PeerConfig[];
}

/** A line an import left out, and why (the value is never repeated: it may hold a secret). */
export interface ImportNote {
  /** 1-based line in the text. */
  line: number;
  /** The key as written (PostUp, ListenPort ...), or "[Peer]" for a whole peer section. */
  key: string;
  why: string;
}

/** Anything that looks like a whole base64 key. */
const KEYLIKE = /[A-Za-z0-9+/]{40,}={0,2}/g;
/**
 * What no message repeats: any run of base64 long enough to be most of a key. A key with one
 * character mistyped or a space in it is still a secret, and its pieces are shorter than KEYLIKE.
 */
const KEY_PIECE = /[A-Za-z0-9+/]{20,}={0,2}/g;

export class ConfigError extends Error {
  /** 1-based line, or 0 when the problem is not tied to one line. */
  readonly line: number;
  /** What is wrong, for a person; text that looks like (a piece of) a key is replaced by "(hidden)". */
  readonly problem: string;

  constructor(line: number, problem: string) {
    const safe = problem.replace(KEY_PIECE, '(hidden)');
    super(line > 0 ? `line ${line}: ${safe}` : safe);
    this.name = 'ConfigError';
    this.line = line;
    this.problem = safe;
  }
}

const MAX_QUOTED_CHARS = 60;

/** Config text quoted in a message, cut short: a 64 KiB line must not come back whole. */
function quoted(text: string): string {
  return `"${text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text}"`;
}

// ---------------------------------------------------------------------------------------------
// IP addresses and CIDRs

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  let head = text;
  let tailV4: Uint8Array | undefined;
  // An embedded IPv4 address takes the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "1::2:1.2.3.4" leaves "1::2:" whose trailing ':' belongs to the v4.
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const want = tailV4 ? 6 : 8;
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  if (!left) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const right = groups(halves[1]!);
    if (!right) return undefined;
    const missing = want - left.length - right.length;
    if (missing < 1) return undefined; // "::" stands for at least one zero group
    words = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    if (left.length !== want) return undefined;
    words = left;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address (no prefix); undefined if it is not one. */
export function parseIp(text: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  const bytes = text.includes(':') ? parseIPv6(text) : parseIPv4(text);
  if (!bytes) return undefined;
  return { family: bytes.length === 4 ? 4 : 6, bytes };
}

/** Canonical text of a 4- or 16-byte address (RFC 5952; IPv4-mapped as ::ffff:a.b.c.d). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  }
  // Longest run of two or more zero words is compressed; the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/**
 * Parses "addr/prefix" or a bare address (/32 or /128). The host bits are masked off, as for a
 * route, unless `keepHostBits` is set (an interface address such as 100.64.1.2/24).
 * Throws a ConfigError (line 0) whose problem says what is wrong.
 */
export function parseCidr(text: string, opts: { keepHostBits?: boolean } = {}): Cidr {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  if (addrText.includes('%')) {
    throw new ConfigError(0, `${quoted(t)} has a zone id (%...); use an address without one`);
  }
  const ip = parseIp(addrText);
  if (!ip) {
    const kind = addrText.includes(':') ? 'IPv6' : 'IPv4';
    throw new ConfigError(0, `${quoted(addrText)} is not a valid ${kind} address`);
  }
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new ConfigError(0, `${quoted(t)} has an invalid prefix length ${quoted(`/${p}`)}; an IPv${ip.family} prefix is 0 to ${max}`);
    }
    prefix = Number(p);
  }
  const bytes = opts.keepHostBits ? ip.bytes : maskBytes(ip.bytes, prefix);
  return { family: ip.family, address: formatIp(bytes), bytes, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}

// ---------------------------------------------------------------------------------------------
// Keys

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes a WireGuard key: 44 characters of standard base64 encoding exactly 32 bytes. */
export function parseKey(text: string): Uint8Array {
  const t = text.trim();
  const bad = (why: string) =>
    new ConfigError(0, `not a valid WireGuard key: ${why}; a key is 44 characters of base64 ending in "=", as printed by \`wg genkey\` or \`wg pubkey\``);
  if (t.length !== 44) throw bad(`it has ${t.length} characters`);
  if (t[43] !== '=') throw bad('it does not end in "="');
  let acc = 0;
  let bits = 0;
  const out = new Uint8Array(32);
  let n = 0;
  for (let i = 0; i < 43; i++) {
    const v = B64.indexOf(t[i]!);
    if (v < 0) throw bad('it contains a character that is not base64');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  // 43 * 6 = 258 bits: 256 used, the last 2 must be zero in a canonical encoding.
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad('its last character does not end a 32-byte value');
  return out;
}

function formatKey(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i += 3) {
    const a = key[i]!;
    const b = key[i + 1];
    const c = key[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += b === undefined ? '=' : B64[(n >> 6) & 63]!;
    s += c === undefined ? '=' : B64[n & 63]!;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The file

type Section = 'interface' | 'peer';

const INTERFACE_KEYS = ['privatekey', 'address', 'dns', 'mtu', 'listenport', 'fwmark', 'table', 'saveconfig'];
const PEER_KEYS = ['publickey', 'presharedkey', 'allowedips', 'endpoint', 'persistentkeepalive'];
const HOOKS = ['preup', 'postup', 'predown', 'postdown'];

/** Why an import leaves a line out: keys Umbra reads but decides itself, and the shell hooks. */
const LEFT_OUT: Record<string, string> = {
  preup: 'Umbra never runs commands from a config; its kill switch replaces the firewall rules such lines usually set up',
  postup: 'Umbra never runs commands from a config; its kill switch replaces the firewall rules such lines usually set up',
  predown: 'Umbra never runs commands from a config; its kill switch replaces the firewall rules such lines usually set up',
  postdown: 'Umbra never runs commands from a config; its kill switch replaces the firewall rules such lines usually set up',
  saveconfig: 'Umbra never writes the config file back',
  table: 'Umbra routes the tunnel through its own routing table and rules',
  fwmark: 'Umbra marks its own encrypted packets with its own fwmark',
  listenport: 'Umbra picks its own UDP port for each connection',
};
const NO_ENDPOINT = 'this peer has no Endpoint, so there is no server to connect to (Umbra connects out; it does not wait for peers to call in)';

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function isHostname(s: string): boolean {
  // All-numeric names are meant as IPv4 addresses; they are not hostnames.
  return HOSTNAME.test(s) && !/^[\d.]+$/.test(s);
}

function parseUint(text: string, min: number, max: number, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(0, `${what} must be a whole number from ${min} to ${max}, not ${quoted(text)}`);
  }
  return Number(text);
}

function parseEndpoint(text: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') {
      throw new ConfigError(0, `Endpoint ${quoted(text)} must look like [IPv6]:port`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const ip = parseIp(host);
    if (!ip || ip.family !== 6) throw new ConfigError(0, `Endpoint ${quoted(text)}: ${quoted(host)} is not a valid IPv6 address`);
    host = formatIp(ip.bytes);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new ConfigError(0, `Endpoint ${quoted(text)} has no port; write host:port, e.g. vpn.example.net:51820`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      throw new ConfigError(0, `Endpoint ${quoted(text)}: put an IPv6 address in brackets, e.g. [2001:db8::1]:51820`);
    }
    const ip = parseIp(host);
    if (ip) host = formatIp(ip.bytes);
    else if (!isHostname(host)) throw new ConfigError(0, `Endpoint ${quoted(text)}: ${quoted(host)} is neither an IP address nor a hostname`);
  }
  return { host, port: parseUint(portText, 1, 65535, 'Endpoint port') };
}

function splitList(value: string, key: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(0, `${key} has an empty entry; separate entries with single commas`);
  return items;
}

interface PeerDraft {
  line: number;
  publicKey?: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: { host: string; port: number };
  allowedIPs: Cidr[];
  persistentKeepalive?: number;
}

/**
 * Parses the text of a wg-quick `.conf`, every line of which must be usable: a shell hook is an
 * error. Throws ConfigError naming the line and the problem.
 */
export function parseWgQuick(text: string): WgQuickConfig {
  const doc = parseDocument(text);
  const hook = doc.leftOut.find((n) => HOOKS.includes(n.key.toLowerCase()));
  if (hook) throw new ConfigError(hook.line, `${hook.key} runs shell commands; Umbra does not run them — remove the line`);
  return doc.config;
}

/**
 * Parses a wg-quick `.conf` for import: what the helper decides itself or never does (shell hooks,
 * SaveConfig, Table, FwMark, ListenPort) and peers without an Endpoint are left out, each with a
 * note, in line order. Other problems throw ConfigError as parseWgQuick does.
 */
export function parseWgQuickForImport(text: string): { config: WgQuickConfig; notes: ImportNote[] } {
  const doc = parseDocument(text);
  const notes = [...doc.leftOut];
  const peers: PeerConfig[] = [];
  doc.config.peers.forEach((p, i) => {
    if (p.endpoint) peers.push(p);
    else {
      p.presharedKey?.fill(0); // dropped here: nothing else will wipe it
      notes.push({ line: doc.peerLines[i]!, key: '[Peer]', why: NO_ENDPOINT });
    }
  });
  notes.sort((a, b) => a.line - b.line);
  return { config: { interface: doc.config.interface, peers }, notes };
}

interface ParsedDocument {
  config: WgQuickConfig;
  /** The line of each peer's [Peer] header, in the order of config.peers. */
  peerLines: number[];
  /** Hooks and the keys the helper decides itself, in line order. */
  leftOut: ImportNote[];
}

function parseDocument(text: string): ParsedDocument {
  const leftOut: ImportNote[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let section: Section | undefined;
  let interfaceLine = 0;
  const iface: Partial<InterfaceConfig> & { addresses: Cidr[]; dns: string[]; dnsSearch: string[] } = {
    addresses: [],
    dns: [],
    dnsSearch: [],
  };
  const peers: PeerDraft[] = [];
  let seen = new Map<string, number>(); // single-valued key -> line, per section

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;

    if (line.startsWith('[')) {
      const m = /^\[\s*([A-Za-z]+)\s*\]$/.exec(line);
      const name = m?.[1]?.toLowerCase();
      if (name === 'interface') {
        if (interfaceLine > 0) {
          throw new ConfigError(lineNo, `a second [Interface] section; the first one is on line ${interfaceLine}, and a config has exactly one`);
        }
        interfaceLine = lineNo;
        section = 'interface';
      } else if (name === 'peer') {
        peers.push({ line: lineNo, allowedIPs: [] });
        section = 'peer';
      } else {
        throw new ConfigError(lineNo, `unknown section ${quoted(line)}; a config has one [Interface] and [Peer] sections`);
      }
      seen = new Map();
      return;
    }

    const eq = line.indexOf('=');
    if (eq < 0) throw new ConfigError(lineNo, 'expected "Key = Value", a [Section] header or a # comment');
    const keyText = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const key = keyText.toLowerCase();
    if (keyText === '') throw new ConfigError(lineNo, 'the line starts with "=" and has no key name');
    // Key names are short words; anything else is not echoed (it could be a pasted key).
    if (!/^[A-Za-z0-9_]{1,24}$/.test(keyText)) throw new ConfigError(lineNo, 'the text before "=" is not a wg-quick key name');

    // Never run, so never read: a hook's value is not parsed, whatever section it is in.
    if (HOOKS.includes(key)) {
      leftOut.push({ line: lineNo, key: keyText, why: LEFT_OUT[key]! });
      return;
    }
    if (!section) {
      throw new ConfigError(lineNo, `${keyText} comes before any section; put it under [Interface] or [Peer]`);
    }
    const known = section === 'interface' ? INTERFACE_KEYS : PEER_KEYS;
    if (!known.includes(key)) {
      const other = section === 'interface' ? PEER_KEYS : INTERFACE_KEYS;
      if (other.includes(key)) {
        const [here, there] = section === 'interface' ? ['[Interface]', '[Peer]'] : ['[Peer]', '[Interface]'];
        throw new ConfigError(lineNo, `${keyText} belongs in the ${there} section, not in ${here}`);
      }
      throw new ConfigError(lineNo, `unknown key "${keyText}" in ${section === 'interface' ? '[Interface]' : '[Peer]'}`);
    }
    if (value === '') throw new ConfigError(lineNo, `${keyText} has no value`);
    if (!['address', 'dns', 'allowedips'].includes(key)) {
      const first = seen.get(key);
      if (first !== undefined) throw new ConfigError(lineNo, `${keyText} is set twice in this section (first on line ${first}); keep one`);
      seen.set(key, lineNo);
    }

    if (Object.hasOwn(LEFT_OUT, key)) leftOut.push({ line: lineNo, key: keyText, why: LEFT_OUT[key]! });

    try {
      if (section === 'interface') applyInterfaceKey(iface, key, keyText, value);
      else applyPeerKey(peers[peers.length - 1]!, key, keyText, value);
    } catch (e) {
      if (!(e instanceof ConfigError) || e.line !== 0) throw e;
      // A key pasted into the wrong field: say so without quoting any part of it.
      if (!key.endsWith('key') && new RegExp(KEYLIKE.source).test(value)) {
        throw new ConfigError(lineNo, `${keyText} holds what looks like a WireGuard key; a key does not belong in ${keyText}`);
      }
      const named = e.problem.toLowerCase().startsWith(key);
      throw new ConfigError(lineNo, named ? e.problem : `${keyText}: ${e.problem}`);
    }
  });

  if (interfaceLine === 0) throw new ConfigError(0, 'the config has no [Interface] section');
  if (!iface.privateKey) throw new ConfigError(interfaceLine, 'the [Interface] section has no PrivateKey');
  const byKey = new Map<string, number>();
  const outPeers: PeerConfig[] = peers.map((p) => {
    if (!p.publicKey) throw new ConfigError(p.line, 'this [Peer] section has no PublicKey');
    const k = formatKey(p.publicKey);
    const dup = byKey.get(k);
    if (dup !== undefined) throw new ConfigError(p.line, `this peer has the same PublicKey as the peer on line ${dup}; merge them`);
    byKey.set(k, p.line);
    const peer: PeerConfig = { publicKey: p.publicKey, allowedIPs: p.allowedIPs };
    if (p.presharedKey) peer.presharedKey = p.presharedKey;
    if (p.endpoint) peer.endpoint = p.endpoint;
    if (p.persistentKeepalive !== undefined) peer.persistentKeepalive = p.persistentKeepalive;
    return peer;
  });
  return { config: { interface: iface as InterfaceConfig, peers: outPeers }, peerLines: peers.map((p) => p.line), leftOut };
}

function keyProblem(keyText: string, e: unknown): never {
  // parseKey's problem never contains the key text, only its length.
  if (e instanceof ConfigError) throw new ConfigError(0, `${keyText} is ${e.problem}`);
  throw e;
}

function applyInterfaceKey(
  iface: Partial<InterfaceConfig> & { addresses: Cidr[]; dns: string[]; dnsSearch: string[] },
  key: string,
  keyText: string,
  value: string,
): void {
  switch (key) {
    case 'privatekey':
      try {
        iface.privateKey = parseKey(value);
      } catch (e) {
        keyProblem(keyText, e);
      }
      return;
    case 'address':
      for (const item of splitList(value, keyText)) iface.addresses.push(parseCidr(item, { keepHostBits: true }));
      return;
    case 'dns':
      for (const item of splitList(value, keyText)) {
        const ip = parseIp(item);
        if (ip) iface.dns.push(formatIp(ip.bytes));
        else if (isHostname(item)) iface.dnsSearch.push(item);
        else throw new ConfigError(0, `DNS entry ${quoted(item)} is neither an IP address nor a search domain`);
      }
      return;
    case 'mtu':
      iface.mtu = parseUint(value, 576, 65535, keyText);
      return;
    case 'listenport':
      iface.listenPort = parseUint(value, 1, 65535, keyText);
      return;
    case 'fwmark': {
      if (value.toLowerCase() === 'off') return;
      const ok = /^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(value) && Number(value) <= 0xffffffff;
      if (!ok) throw new ConfigError(0, `${keyText} must be "off" or a number from 0 to 4294967295 (decimal or 0x hex), not ${quoted(value)}`);
      if (Number(value) !== 0) iface.fwmark = Number(value);
      return;
    }
    case 'table':
      if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
        throw new ConfigError(0, `${keyText} must be "off", "auto", a table number or a table name, not ${quoted(value)}`);
      }
      iface.table = value;
      return;
    case 'saveconfig':
      if (!['true', 'false'].includes(value.toLowerCase())) {
        throw new ConfigError(0, `${keyText} must be true or false, not ${quoted(value)}`);
      }
      return; // checked only: an import leaves it out (Umbra never writes the file back)
  }
}

function applyPeerKey(peer: PeerDraft, key: string, keyText: string, value: string): void {
  switch (key) {
    case 'publickey':
      try {
        peer.publicKey = parseKey(value);
      } catch (e) {
        keyProblem(keyText, e);
      }
      return;
    case 'presharedkey':
      try {
        peer.presharedKey = parseKey(value);
      } catch (e) {
        keyProblem(keyText, e);
      }
      return;
    case 'allowedips':
      for (const item of splitList(value, keyText)) peer.allowedIPs.push(parseCidr(item));
      return;
    case 'endpoint':
      peer.endpoint = parseEndpoint(value);
      return;
    case 'persistentkeepalive': {
      if (value.toLowerCase() === 'off') return;
      const n = parseUint(value, 0, 65535, `${keyText} (seconds, or "off")`);
      if (n !== 0) peer.persistentKeepalive = n;
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Logging

export interface RedactedConfig {
  interface: {
    privateKey: '(hidden)';
    addresses: string[];
    dns: string[];
    dnsSearch: string[];
    mtu?: number;
    listenPort?: number;
    fwmark?: number;
    table?: string;
  };
  peers: {
    publicKey: string;
    presharedKey?: '(hidden)';
    endpoint?: string;
    allowedIPs: string[];
    persistentKeepalive?: number;
  }[];
}

/** A copy fit for logs: secrets hidden, public keys in base64, CIDRs and endpoints as text. */
export function redactConfig(cfg: WgQuickConfig): RedactedConfig {
  const { privateKey: _hidden, addresses, ...rest } = cfg.interface;
  return {
    interface: { ...rest, privateKey: '(hidden)', addresses: addresses.map(formatCidr), dns: [...rest.dns], dnsSearch: [...rest.dnsSearch] },
    peers: cfg.peers.map((p) => ({
      publicKey: formatKey(p.publicKey),
      ...(p.presharedKey ? { presharedKey: '(hidden)' as const } : {}),
      ...(p.endpoint ? { endpoint: p.endpoint.host.includes(':') ? `[${p.endpoint.host}]:${p.endpoint.port}` : `${p.endpoint.host}:${p.endpoint.port}` } : {}),
      allowedIPs: p.allowedIPs.map(formatCidr),
      ...(p.persistentKeepalive !== undefined ? { persistentKeepalive: p.persistentKeepalive } : {}),
    })),
  };
}

/** Standard base64 of a key (for public keys; never log a private or preshared key). */
export function formatPublicKey(key: Uint8Array): string {
  return formatKey(key);
}
