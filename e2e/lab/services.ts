// The lab's services, all in the inet namespace (services/*.mjs, plain Node): the echo service on
// the "internet", the same echo service as the client's LAN host, DNS (the VPN-side server and the
// "ISP resolver"), and STUN. Each appends one JSON line per request to a log in the lab's scratch dir.
// The internet's echo service also answers GET /dns-askers?name=<qname> from the DNS log: the API of
// a "who asked" DNS leak test (lab.internet.dnsAskersUrl).
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { servicePath } from './probes.js';
import { captureOutput, sleep } from './proc.js';
import { CLIENT, DNS_PORT, DNS_ZONE, ISP_RESOLVER, LAN_PORT, SERVICE, STUN_PORT } from './topology.js';

export interface EchoRecord {
  time: number;
  ip: string;
  method: string;
  url: string;
}

export interface DnsRecord {
  time: number;
  /** The address the query was sent to (203.0.113.250, 2001:db8:f::250, 203.0.113.251 ...). */
  server: string;
  /** Who asked. */
  source: string;
  sourcePort: number;
  transport: 'udp' | 'tcp';
  /** null for a message too short to have a header. */
  id: number | null;
  /** Lower case, no trailing dot; null when the question could not be read. */
  qname: string | null;
  /** 'A', 'AAAA', 'TYPE65' ...; null when the question could not be read. */
  qtype: string | null;
  /** The rcode answered (null: not answered). */
  rcode: number | null;
  answers: string[];
  error?: string;
}

export interface StunRecord {
  time: number;
  server: string;
  source: string;
  sourcePort: number;
}

export interface ServiceLogs {
  echo: string;
  lan: string;
  dns: string;
  stun: string;
}

type SpawnIn = (ns: string, argv: string[], o?: { env?: Record<string, string>; stdio?: StdioOptions }) => ChildProcess;

async function waitForLine(child: ChildProcess, line: string, log: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!log().split('\n').includes(line)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited early: ${log()}`);
    if (Date.now() > deadline) throw new Error(`no "${line}" within ${ms} ms: ${log()}`);
    await sleep(20);
  }
}

/** Starts every service in the inet namespace; resolves when all of them listen. */
/** `hosts`: extra names the DNS answers with an A record (e.g. a VPN server's endpoint name). */
export async function startServices(spawnIn: SpawnIn, inetNs: string, scratch: string, hosts: Record<string, string> = {}): Promise<ServiceLogs> {
  const logs: ServiceLogs = {
    echo: join(scratch, 'echo.log'),
    lan: join(scratch, 'lan.log'),
    dns: join(scratch, 'dns.log'),
    stun: join(scratch, 'stun.log'),
  };
  for (const f of Object.values(logs)) writeFileSync(f, '');
  const node = process.execPath;
  const commands: [string, string[]][] = [
    ['echo', [node, servicePath('echo-server.mjs'), '--log', logs.echo, '--dns-log', logs.dns, '--port', '80', '--listen', SERVICE.v4, '--listen', SERVICE.v6]],
    ['lan', [node, servicePath('echo-server.mjs'), '--log', logs.lan, '--port', String(LAN_PORT), '--listen', CLIENT.gw4, '--listen', CLIENT.gw6]],
    ['dns', [
      node, servicePath('dns-server.mjs'), '--log', logs.dns, '--port', String(DNS_PORT),
      '--listen', SERVICE.v4, '--listen', SERVICE.v6, '--listen', ISP_RESOLVER.v4, '--listen', ISP_RESOLVER.v6,
      '--zone', DNS_ZONE, '--a', SERVICE.v4, '--aaaa', SERVICE.v6,
      ...Object.entries(hosts).flatMap(([name, ip]) => ['--host', `${name}=${ip}`]),
    ]],
    ['stun', [node, servicePath('stun-server.mjs'), '--log', logs.stun, '--port', String(STUN_PORT), '--listen', SERVICE.v4, '--listen', SERVICE.v6]],
  ];
  await Promise.all(
    commands.map(async ([name, argv]) => {
      const child = spawnIn(inetNs, argv);
      const out = captureOutput(child);
      try {
        await waitForLine(child, 'ready', out, 10_000);
      } catch (err) {
        throw new Error(`lab service ${name}: ${(err as Error).message}`);
      }
    }),
  );
  return logs;
}

/** The JSON lines of a service log (unparsable lines skipped; a missing file is empty). */
export function readJsonLines<T>(file: string): T[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}
