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
// Addresses, prefixes and keys are helper/net's; this file only parses.
import { AddressError, formatIp, formatPrefix, parseIp, parsePrefix, type Prefix } from '../net/ip.js';
import { formatKey, KeyError, parseKey } from '../net/keys.js';
import { isHostname } from '../net/endpoint.js';
import { quoted } from '../net/quoted.js';

interface InterfaceConfig {
  privateKey: Uint8Array;
  /** Interface addresses, with their host bits kept. */
  addresses: Prefix[];
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
  allowedIPs: Prefix[];
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
  allowedIPs: Prefix[];
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
  const iface: Partial<InterfaceConfig> & { addresses: Prefix[]; dns: string[]; dnsSearch: string[] } = {
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
    } catch (err) {
      const e = err instanceof AddressError || err instanceof KeyError ? new ConfigError(0, err.message) : err;
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
  if (e instanceof KeyError) throw new ConfigError(0, `${keyText} is ${e.message}`);
  throw e;
}

function applyInterfaceKey(
  iface: Partial<InterfaceConfig> & { addresses: Prefix[]; dns: string[]; dnsSearch: string[] },
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
      for (const item of splitList(value, keyText)) iface.addresses.push(parsePrefix(item, { keepHostBits: true }));
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
      for (const item of splitList(value, keyText)) peer.allowedIPs.push(parsePrefix(item));
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
    interface: { ...rest, privateKey: '(hidden)', addresses: addresses.map(formatPrefix), dns: [...rest.dns], dnsSearch: [...rest.dnsSearch] },
    peers: cfg.peers.map((p) => ({
      publicKey: formatKey(p.publicKey),
      ...(p.presharedKey ? { presharedKey: '(hidden)' as const } : {}),
      ...(p.endpoint ? { endpoint: p.endpoint.host.includes(':') ? `[${p.endpoint.host}]:${p.endpoint.port}` : `${p.endpoint.host}:${p.endpoint.port}` } : {}),
      allowedIPs: p.allowedIPs.map(formatPrefix),
      ...(p.persistentKeepalive !== undefined ? { persistentKeepalive: p.persistentKeepalive } : {}),
    })),
  };
}
