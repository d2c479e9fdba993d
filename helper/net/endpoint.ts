// A server's endpoint, host:port or [IPv6]:port, as text. Pure.
import { formatIp, parseIp } from './ip.js';

export interface Endpoint {
  /** An IP in canonical text (no brackets) or a hostname. */
  host: string;
  port: number;
}

/** A DNS name as wg-quick and the resolver take it (labels of letters, digits, _ and -). */
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Whether `s` is a hostname; all-numeric names are meant as IPv4 addresses, so they are not. */
export function isHostname(s: string): boolean {
  return HOSTNAME.test(s) && !/^[\d.]+$/.test(s);
}

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
  if (text.startsWith('[') || !isHostname(hostText)) {
    throw new Error('the host is neither an IP address nor a hostname');
  }
  return { host: hostText, port };
}
