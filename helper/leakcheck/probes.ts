// What the leak checks look at, with I/O: HTTP to IP-echo services and to the DNS leak-test API,
// DNS queries straight to a resolver (node:dgram), the kernel's routes and addresses (`ip -j`), and
// the resolvers the system uses (the resolv.conf the helper manages, or systemd-resolved).
// Every network request has a short timeout and opens a fresh connection (no keep-alive pool: a
// connection opened before the tunnel came up would keep its old source address). Errors never
// quote what a service answered: the URL came from a caller.
import type { DnsBackendName } from '../platform/dns/types.js';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { CommandRunner } from '../platform/exec.js';
import { helperFetch, SafeFetchError, type SafeGet } from '../platform/net/safe-fetch.js';
import { encodeQuery, parseResponseHead, rcodeName, TYPE_A } from './dns-wire.js';
import { canonicalIp, type RouteFact } from './verdicts.js';

const MAX_BODY = 16 * 1024;

/**
 * The body of a 2xx answer to GET `url`, through the helper's safe fetch (https to public
 * addresses only, every redirect checked; see platform/net/safe-fetch.ts); rejects with a short
 * message that says nothing of the answer otherwise.
 */
async function httpGet(url: string, opts: { timeoutMs: number; family?: 4 | 6; accept?: string }, get: SafeGet = helperFetch()): Promise<string> {
  try {
    const { body } = await get(url, {
      timeoutMs: opts.timeoutMs,
      maxBytes: MAX_BODY,
      accept: opts.accept ?? 'text/plain, application/json;q=0.9',
      maxRedirects: 2,
      ...(opts.family !== undefined ? { family: opts.family } : {}),
    });
    return body.toString('utf8');
  } catch (e) {
    if (!(e instanceof SafeFetchError)) throw new Error('the request failed');
    if (e.code === 'timeout') throw new Error(`no answer within ${opts.timeoutMs} ms`);
    if (e.code === 'status') throw new Error(`HTTP ${e.status ?? '?'}`);
    throw new Error(e.message);
  }
}

/** The address in an IP-echo answer: plain text ("203.0.113.2\n") or JSON ({"ip": "…"}). */
export function parseEchoBody(body: string): string | undefined {
  const text = body.trim();
  if (text.startsWith('{') || text.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'string') return canonicalIp(v);
      if (typeof v === 'object' && v !== null) {
        for (const key of ['ip', 'address', 'ip_addr', 'query', 'origin']) {
          const x = (v as Record<string, unknown>)[key];
          if (typeof x === 'string' && canonicalIp(x)) return canonicalIp(x);
        }
      }
    } catch {
      return undefined;
    }
    return undefined;
  }
  const first = text.split(/\s+/)[0] ?? '';
  return canonicalIp(first);
}

/** The address an IP-echo service sees for this machine. */
export async function echoAddress(url: string, opts: { timeoutMs: number; family?: 4 | 6 }, get?: SafeGet): Promise<string> {
  const address = parseEchoBody(await httpGet(url, opts, get));
  if (!address) throw new Error('the answer is not an IP address');
  return address;
}

/** The addresses in a leak-test API's answer: ["a", …], [{ip|source|address: "a"}, …] or {askers|sources|ips: [...]}. */
export function parseAskers(body: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new Error('the answer is not JSON'); // JSON.parse's message quotes the text
  }
  const list = Array.isArray(v)
    ? v
    : typeof v === 'object' && v !== null
      ? ['askers', 'sources', 'ips', 'resolvers', 'addresses'].map((k) => (v as Record<string, unknown>)[k]).find(Array.isArray)
      : undefined;
  if (!Array.isArray(list)) throw new Error('the answer is not a list of addresses');
  const out: string[] = [];
  for (const item of list as unknown[]) {
    const text =
      typeof item === 'string'
        ? item
        : typeof item === 'object' && item !== null
          ? ['ip', 'source', 'address', 'resolver'].map((k) => (item as Record<string, unknown>)[k]).find((x) => typeof x === 'string')
          : undefined;
    const ip = typeof text === 'string' ? canonicalIp(text) : undefined;
    if (ip && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/** Who asked the leak-test DNS for `name`: GET apiUrl with ?name=<name>. */
export async function fetchAskers(apiUrl: string, name: string, timeoutMs: number, get?: SafeGet): Promise<string[]> {
  const u = new URL(apiUrl);
  u.searchParams.set('name', name);
  return parseAskers(await httpGet(u.toString(), { timeoutMs, accept: 'application/json' }, get));
}

/** One DNS query (type A) straight to `server`:53 over UDP; resolves with the answer's rcode name. */
export function dnsQuery(server: string, name: string, opts: { timeoutMs: number; port?: number; id?: number }): Promise<string> {
  const family = isIP(server);
  if (family === 0) return Promise.reject(new Error(`${server} is not an IP address`));
  const id = opts.id ?? Math.floor(Math.random() * 0x10000);
  const query = encodeQuery(id, name, TYPE_A);
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise<string>((resolve, reject) => {
    const done = (f: () => void) => {
      clearTimeout(timer);
      sock.removeAllListeners('message');
      try {
        sock.close();
      } catch {
        // already closed
      }
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no answer within ${opts.timeoutMs} ms`))), opts.timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => done(() => reject(new Error(e.code ?? e.message))));
    sock.on('message', (msg) => {
      try {
        const head = parseResponseHead(msg);
        if (head.id !== id || (head.qname !== undefined && head.qname !== name.toLowerCase().replace(/\.$/, ''))) return; // not ours
        done(() => resolve(rcodeName(head.rcode)));
      } catch {
        // not a DNS response: keep waiting
      }
    });
    sock.send(query, opts.port ?? 53, server, (e) => {
      if (e) done(() => reject(new Error((e as NodeJS.ErrnoException).code ?? e.message)));
    });
  });
}

interface JsonRouteGet {
  dst?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  type?: string;
}

/** `ip -j route get <address>` as a RouteFact (never rejects: an error is a route that does not exist). */
export async function routeGet(run: CommandRunner, address: string): Promise<RouteFact> {
  try {
    const { stdout } = await run.run(['ip', '-j', 'route', 'get', address]);
    return parseRouteGet(address, stdout);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? '').trim().replace(/^RTNETLINK answers:\s*/i, '') || err.message;
    return { target: address, ok: false, error: why };
  }
}

export function parseRouteGet(address: string, stdout: string): RouteFact {
  const parsed = JSON.parse(stdout || '[]') as JsonRouteGet[];
  const r = parsed[0];
  if (!r) return { target: address, ok: false, error: 'no route' };
  const fact: RouteFact = { target: address, ok: true };
  if (r.dev) fact.dev = r.dev;
  if (r.gateway) fact.gateway = r.gateway;
  if (r.prefsrc) fact.src = r.prefsrc;
  if (r.type) fact.type = r.type;
  return fact;
}

interface JsonAddr {
  ifname?: string;
  addr_info?: { family?: string; local?: string; scope?: string }[];
}

/** Global addresses on this machine's interfaces other than loopback and `isTunnel` ones. */
export async function ownAddresses(run: CommandRunner, isTunnel: (dev: string) => boolean): Promise<string[]> {
  const { stdout } = await run.run(['ip', '-j', 'address', 'show']);
  return parseOwnAddresses(stdout, isTunnel);
}

export function parseOwnAddresses(stdout: string, isTunnel: (dev: string) => boolean): string[] {
  const out: string[] = [];
  for (const link of JSON.parse(stdout || '[]') as JsonAddr[]) {
    if (!link.ifname || link.ifname === 'lo' || isTunnel(link.ifname)) continue;
    for (const a of link.addr_info ?? []) {
      if (a.scope !== 'global' || !a.local) continue;
      const ip = canonicalIp(a.local);
      if (ip && !out.includes(ip)) out.push(ip);
    }
  }
  return out;
}

/** A resolver the system uses, and where that was found. */
export interface ResolverSource {
  address: string;
  source: string;
  /** The link it belongs to (systemd-resolved), if any. */
  link?: string;
}

/** The `nameserver` lines of a resolv.conf (glibc reads the first three). */
export function parseResolvConf(text: string, path: string): ResolverSource[] {
  const out: ResolverSource[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m ? canonicalIp(m[1]!) : undefined;
    if (ip && !out.some((r) => r.address === ip)) out.push({ address: ip, source: `nameserver in ${path}` });
  }
  return out.slice(0, 3);
}

/** `resolvectl dns` output: "Global: a b", "Link 3 (eth0): c" (addresses may carry #name, %zone, [..]:port). */
export function parseResolvectlDns(text: string): ResolverSource[] {
  const out: ResolverSource[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(Global|Link \d+ \(([^)]+)\))\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const link = m[2];
    for (const word of m[3]!.split(/\s+/).filter(Boolean)) {
      let w = word.replace(/#.*$/, '');
      const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(w);
      if (bracket) w = bracket[1]!;
      else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(w)) w = w.replace(/:\d+$/, '');
      w = w.replace(/%.*$/, '');
      const ip = canonicalIp(w);
      if (!ip || out.some((r) => r.address === ip && r.link === link)) continue;
      out.push(link ? { address: ip, source: `systemd-resolved, link ${link}`, link } : { address: ip, source: 'systemd-resolved, global' });
    }
  }
  return out;
}

/** The resolvers in use, from the DNS backend the helper uses. */
export async function systemResolvers(backend: DnsBackendName, resolvConfPath: string, run: CommandRunner): Promise<ResolverSource[]> {
  if (backend === 'resolved') return parseResolvectlDns((await run.run(['resolvectl', 'dns'])).stdout);
  return parseResolvConf(await readFile(resolvConfPath, 'utf8'), resolvConfPath);
}
