// Probes run from inside a lab namespace: HTTP (services/http-probe.mjs; curl may be absent) and ping.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecResult, RunOptions } from './proc.js';

export type NsExec = (ns: string, argv: string[], o?: RunOptions) => Promise<ExecResult>;

export interface HttpOptions {
  method?: 'GET' | 'POST';
  /** POST this many deterministic bytes (the /bytes generator with `seed`). */
  uploadBytes?: number;
  seed?: string;
  /** Do not return the body, only its sha256 and length (large downloads). */
  hashOnly?: boolean;
  timeoutMs?: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  sha256: string;
  body?: string;
  ms: number;
}

export function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function servicePath(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From the sources (vitest), or from dist/e2e/lab (compiled): the .mjs services are not compiled.
  const candidates = [join(here, 'services', name), join(here, '..', '..', '..', 'e2e', 'lab', 'services', name)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`lab service ${name} not found (looked in ${candidates.join(', ')})`);
  return found;
}

export async function httpIn(exec: NsExec, ns: string, url: string, o: HttpOptions = {}): Promise<HttpResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const argv = [process.execPath, servicePath('http-probe.mjs'), url, '--timeout', String(timeoutMs)];
  if (o.method) argv.push('--method', o.method);
  if (o.uploadBytes !== undefined) argv.push('--upload-bytes', String(o.uploadBytes));
  if (o.seed !== undefined) argv.push('--seed', o.seed);
  if (o.hashOnly) argv.push('--hash');
  const r = await exec(ns, argv, { timeoutMs: timeoutMs + 5000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: Partial<HttpResult> & { error?: string };
  try {
    parsed = JSON.parse(last) as Partial<HttpResult> & { error?: string };
  } catch {
    throw new Error(`http ${url} from ${ns}: probe failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  if (parsed.error !== undefined) throw new Error(`http ${url} from ${ns}: ${parsed.error}`);
  return parsed as HttpResult;
}

// Reachability without ICMP tools: a TCP SYN to a closed port comes back as a RST (ECONNREFUSED),
// which proves the round trip just as an echo reply would.
const TCP_PING = `
const s = require('node:net').connect({ host: process.argv[1], port: 9, timeout: Number(process.argv[2]) * 1000 });
s.on('connect', () => process.exit(0));
s.on('error', (e) => process.exit(e.code === 'ECONNREFUSED' ? 0 : 1));
s.on('timeout', () => process.exit(1));`;

/**
 * Whether host answers from inside ns: ICMP echo with `ping` (iputils) or `busybox ping` when either
 * is installed, else a TCP round trip (see TCP_PING).
 */
export async function pingIn(exec: NsExec, ns: string, host: string, o: { count?: number; timeoutSec?: number } = {}): Promise<boolean> {
  const count = String(o.count ?? 1);
  const wait = String(o.timeoutSec ?? 2);
  let argv: string[];
  if (onPath('ping')) argv = ['ping', '-n', '-c', count, '-W', wait, host];
  else if (onPath('busybox')) argv = ['busybox', 'ping', '-c', count, '-W', wait, host];
  else argv = [process.execPath, '-e', TCP_PING, host, wait];
  const r = await exec(ns, argv, { timeoutMs: (Number(count) + Number(wait)) * 1000 + 5000 });
  return r.code === 0;
}

export interface DnsQueryOptions {
  /** Over TCP instead of UDP. */
  tcp?: boolean;
  /** Record type: 'A' (default), 'AAAA', or a number. */
  type?: 'A' | 'AAAA' | 'TXT' | 'ANY' | number;
  port?: number;
  timeoutMs?: number;
}

export interface DnsQueryResult {
  /** A response arrived and its rcode is NOERROR. */
  ok: boolean;
  /** The response's rcode (0 NOERROR, 3 NXDOMAIN, 5 REFUSED ...); absent when none arrived. */
  rcode?: number;
  /** A/AAAA addresses in the answer section. */
  answers: string[];
  /** Why not ok: the rcode's name, or timeout / ECONNREFUSED / EPERM ... when nothing came back. */
  error?: string;
  /** The server actually asked (resolved from resolv.conf when that was requested). */
  server: string;
  ms: number;
}

/**
 * One DNS query sent from inside ns straight to `server` (services/dns-probe.mjs: no stub
 * resolver, no retries). `server` 'resolv.conf' means the first nameserver of /etc/resolv.conf as
 * a process in ns sees it. Never rejects for a DNS or network failure: see ok, rcode and error.
 */
export async function dnsQueryIn(exec: NsExec, ns: string, server: string, name: string, o: DnsQueryOptions = {}): Promise<DnsQueryResult> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const argv = [process.execPath, servicePath('dns-probe.mjs'), server, name, '--timeout', String(timeoutMs), '--type', String(o.type ?? 'A')];
  if (o.tcp) argv.push('--tcp');
  if (o.port !== undefined) argv.push('--port', String(o.port));
  const r = await exec(ns, argv, { timeoutMs: timeoutMs + 5000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as DnsQueryResult;
  } catch {
    throw new Error(`dns query ${name} @${server} from ${ns}: probe failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

export interface StunResult {
  ok: boolean;
  /** The address and port the STUN server saw (XOR-MAPPED-ADDRESS). */
  address?: string;
  port?: number;
  /** The probe's own socket. */
  localAddress?: string;
  localPort?: number;
  error?: string;
  ms: number;
}

/** One STUN Binding request from inside ns (services/stun-probe.mjs). Never rejects for a network failure. */
export async function stunQueryIn(exec: NsExec, ns: string, server: string, port: number, o: { timeoutMs?: number } = {}): Promise<StunResult> {
  const timeoutMs = o.timeoutMs ?? 3000;
  const argv = [process.execPath, servicePath('stun-probe.mjs'), server, '--port', String(port), '--timeout', String(timeoutMs)];
  const r = await exec(ns, argv, { timeoutMs: timeoutMs + 5000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as StunResult;
  } catch {
    throw new Error(`stun ${server}:${port} from ${ns}: probe failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}
