// Server ids and endpoints as text.
import { formatIp, parseIp } from '../../net/ip.js';

/** Lowercase [a-z0-9._-], starting with a letter or digit, at most `max` characters; "server" if nothing is left. */
export function slugify(text: string, max = 56): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, max)
    .replace(/[._-]+$/, '');
  return slug === '' ? 'server' : slug;
}

/** `base`, or `base-2`, `base-3` ... whichever is not taken yet. */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}-${i}`;
    if (!taken.has(id)) return id;
  }
}

export interface Endpoint {
  /** An IP in canonical text (no brackets) or a hostname. */
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Parses host:port or [IPv6]:port; throws an Error that says what is wrong. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) throw new Error('must look like host:port or [IPv6]:port, e.g. vpn.example.net:51820');
  const [, hostText, portText] = m as unknown as [string, string, string];
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error('the port must be from 1 to 65535');
  const ip = parseIp(hostText);
  if (ip) {
    if (ip.family === 6 && !text.startsWith('[')) throw new Error('put an IPv6 address in brackets, e.g. [2001:db8::1]:51820');
    return { host: formatIp(ip.bytes), port };
  }
  if (text.startsWith('[') || !HOSTNAME.test(hostText) || /^[\d.]+$/.test(hostText)) {
    throw new Error('the host is neither an IP address nor a hostname');
  }
  return { host: hostText, port };
}
