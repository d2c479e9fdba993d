// The system's own DNS resolvers, outside the tunnel: where the helper's own lookups of a hostname
// endpoint go (from a socket with the helper's fwmark, which the kill switch lets through to these
// addresses only). Never the tunnel's DNS, never systemd-resolved's local stub.
//
// Where they come from, in this order:
// 1. resolv.conf. If it holds Umbra's content (we are connected, resolv-conf backend), the
//    original saved in <stateDir>/resolv.conf.umbra-backup (resolv-conf.ts) is read instead.
// 2. When that file hands glibc to systemd-resolved (a symlink into /run/systemd/resolve/, or only
//    stub addresses such as 127.0.0.53 in it): resolved's upstream servers, per link from
//    `resolvectl dns`, leaving out the tunnel's links (Umbra sets the tunnel's DNS on its own link
//    there); if resolvectl fails, /run/systemd/resolve/resolv.conf (all links' servers).
// Servers given by the caller as the tunnel's DNS (`exclude`) are always left out. A server with a
// zone id (fe80::1%eth0) is left out: the firewall matches plain addresses. Other loopback servers
// (a local dnsmasq, 127.0.0.1) are kept; note that such a forwarder's own upstream queries are not
// marked, so under a block they are refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIp, parseIp } from '../../net/ip.js';
import type { CommandRunner } from '../exec.js';
import { pointsIntoResolved } from './choose.js';
import { RESOLV_CONF_BACKUP, RESOLV_CONF_HEADER } from './resolv-conf.js';
import { checkBackup } from './resolv-conf-backup.js';

/** resolved's stub listeners: 127.0.0.53 (the stub) and 127.0.0.54 (its proxy-only twin). */
const RESOLVED_STUBS: readonly string[] = ['127.0.0.53', '127.0.0.54'];
const RESOLVED_UPSTREAM_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

export interface SystemResolversOptions {
  /** /etc/resolv.conf in production. */
  resolvConfPath: string;
  /** The helper's state dir, where the resolv-conf backend keeps its backup of the original. */
  stateDir: string;
  /** For `resolvectl dns`; without one, resolved's servers come from its resolv.conf. */
  run?: CommandRunner;
  /** Links that are Umbra's tunnels (their DNS is the tunnel's); default: names starting with "umbra". */
  isTunnelLink?: (name: string) => boolean;
  /** The tunnel's DNS servers: never returned. */
  exclude?: readonly string[];
  /** resolved's list of every link's servers; RESOLVED_UPSTREAM_RESOLV_CONF by default. */
  resolvedResolvConfPath?: string;
}

export interface SystemResolvers {
  /** IP literals in canonical form, deduplicated, in the system's order of preference. */
  servers: string[];
  /** Where they were read, for messages ("/etc/resolv.conf", "systemd-resolved (resolvectl dns)", ...). */
  source: string;
}

/** Canonical text of an IP literal, or undefined (not an IP, or with a zone id). */
export function canonicalIp(text: string): string | undefined {
  if (text.includes('%')) return undefined;
  const ip = parseIp(text);
  return ip ? formatIp(ip.bytes) : undefined;
}

/** The `nameserver` addresses of a resolv.conf text, in order (comments and other lines skipped). */
export function parseResolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    const ip = m ? canonicalIp(m[1]!) : undefined;
    if (ip) out.push(ip);
  }
  return out;
}

/**
 * Servers from `resolvectl dns` output, e.g.
 *   Global: 9.9.9.9
 *   Link 2 (eth0): 192.168.1.1 fe80::1%eth0 1.1.1.1#cloudflare-dns.com
 *   Link 7 (umbra0): 100.64.0.1
 * Links for which `skipLink` says true are left out. A server may carry a port (`1.2.3.4:53`,
 * `[2001:db8::1]:53`) and a TLS name (`#name`); one on a port other than 53 is left out.
 */
export function parseResolvectlDns(output: string, skipLink: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*(Global|Link\s+\d+\s+\(([^)]*)\))\s*:(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] !== undefined && skipLink(m[2])) continue;
    for (const token of m[3]!.trim().split(/\s+/).filter(Boolean)) {
      const ip = serverToken(token);
      if (ip) out.push(ip);
    }
  }
  return out;
}

function serverToken(token: string): string | undefined {
  const t = token.replace(/#.*$/, '');
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracketed) return bracketed[2] === undefined || bracketed[2] === '53' ? canonicalIp(bracketed[1]!) : undefined;
  const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(t);
  if (v4port) return v4port[2] === '53' ? canonicalIp(v4port[1]!) : undefined;
  return canonicalIp(t);
}

/** Deduplicated, without the stubs and the excluded servers. */
function clean(servers: string[], exclude: readonly string[]): string[] {
  const skip = new Set([...RESOLVED_STUBS, ...exclude.map((s) => canonicalIp(s) ?? s)]);
  return [...new Set(servers)].filter((s) => !skip.has(s));
}

const isErrno = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException | null)?.code === code;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** The resolv.conf text the system had before Umbra wrote its own; undefined when unknown. */
async function originalResolvConf(opts: SystemResolversOptions): Promise<{ text: string | undefined; source: string }> {
  const current = await readOptional(opts.resolvConfPath);
  if (current === undefined || !current.startsWith(RESOLV_CONF_HEADER)) return { text: current, source: opts.resolvConfPath };
  const backupPath = join(opts.stateDir, RESOLV_CONF_BACKUP);
  const source = `the original of ${opts.resolvConfPath} that Umbra keeps in ${backupPath}`;
  const raw = await readOptional(backupPath);
  let parsed: unknown;
  try {
    parsed = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const backup = await checkBackup(parsed);
  if (!backup?.existed) return { text: undefined, source };
  return { text: Buffer.from(backup.content, 'base64').toString('utf8'), source };
}

export async function systemResolvers(opts: SystemResolversOptions): Promise<SystemResolvers> {
  const exclude = opts.exclude ?? [];
  const original = await originalResolvConf(opts);
  const listed = original.text === undefined ? [] : parseResolvConfNameservers(original.text);
  const onlyStubs = listed.length > 0 && listed.every((s) => RESOLVED_STUBS.includes(s));
  // Any link into resolved's directory (stub or not): that file lists every link's servers, the
  // tunnel's included once connected, so resolved is asked per link. (The link only counts while
  // the file is not Umbra's; then the backup's text decides.)
  const viaResolved = onlyStubs || (original.source === opts.resolvConfPath && (await pointsIntoResolved(opts.resolvConfPath)));
  if (!viaResolved) return { servers: clean(listed, exclude), source: original.source };

  const isTunnelLink = opts.isTunnelLink ?? ((name: string) => name.startsWith('umbra'));
  if (opts.run) {
    try {
      const { stdout } = await opts.run.run(['resolvectl', 'dns']);
      return { servers: clean(parseResolvectlDns(stdout, isTunnelLink), exclude), source: 'systemd-resolved (resolvectl dns)' };
    } catch {
      // resolved not answering over D-Bus: its own file still lists the servers.
    }
  }
  const upstreamPath = opts.resolvedResolvConfPath ?? RESOLVED_UPSTREAM_RESOLV_CONF;
  const text = await readOptional(upstreamPath);
  return { servers: clean(text === undefined ? [] : parseResolvConfNameservers(text), exclude), source: `systemd-resolved (${upstreamPath})` };
}
