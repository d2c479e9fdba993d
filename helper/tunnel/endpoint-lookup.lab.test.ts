// Lab test of the endpoint lookups under a DNS block. A namespace of its own (uelk-<pid>, never
// connected to the host) holds the "ISP resolver" 203.0.113.251 on its loopback, served by the
// lab's DNS server (e2e/lab/services/dns-server.mjs), and /etc/netns/<ns>/resolv.conf naming it.
// An nft rule in that namespace refuses port-53 UDP/TCP unless it carries the helper's fwmark, as
// the kill switch does. Then the helper's lookup (a marked socket) gets its answer, while glibc's
// (node's dns.lookup) and a lookup with another mark get nothing out; the remembered address
// serves when the lookup fails. Needs root, ip, nft and the native addon; skipped otherwise. The
// namespace, its /etc/netns folder and the DNS server are removed afterwards.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddonPath } from '../platform/native.js';

const ns = `uelk-${process.pid}`;
const RESOLVER = '203.0.113.251';
const ANSWER = '203.0.113.250'; // the lab DNS server's A for every name under lab.test
const FWMARK = 0x756d;
const netnsDir = `/etc/netns/${ns}`;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is missing';
  if (spawnSync('nft', ['--version']).status !== 0) return 'nft is missing';
  if (!existsSync(nativeAddonPath())) return 'the native addon is not built (npm run build:native)';
  return undefined;
}
const reason = skipReason();

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const childScript = here('./testdata/endpoint-lookup-child.mjs');
const registerScript = here('../platform/tun/testdata/ts-register.mjs');
const dnsServerScript = here('../../e2e/lab/services/dns-server.mjs');

interface ChildResult {
  resolvers?: string[];
  result?: { host?: string; address?: string; port?: number; family?: number; fromCache?: boolean };
  error?: { name: string; code?: string; message: string };
}

async function inNs(args: Record<string, unknown>): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, '--import', registerScript, childScript, JSON.stringify(args)], {
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
}

describe.skipIf(reason !== undefined)(`endpoint lookups through a DNS block, in namespace ${ns}${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let scratch: string;
  let dnsLog: string;
  let server: ChildProcess | undefined;
  const queriedNames = () =>
    readFileSync(dnsLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { qname: string }).qname);

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'umbra-elk-lab-'));
    dnsLog = join(scratch, 'dns.log');
    writeFileSync(dnsLog, '');
    spawnSync('ip', ['netns', 'del', ns]); // a leftover of this same process, if any
    mkdirSync(netnsDir, { recursive: true });
    writeFileSync(join(netnsDir, 'resolv.conf'), `nameserver ${RESOLVER}\n`);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', `${RESOLVER}/32`, 'dev', 'lo']);
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, dnsServerScript, '--log', dnsLog, '--port', '53', '--listen', RESOLVER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the DNS server did not start: ${out}`)), 15_000);
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      };
      server!.stdout!.on('data', onData);
      server!.stderr!.on('data', onData);
      server!.once('exit', (code) => reject(new Error(`the DNS server exited (${code}): ${out}`)));
    });
  });

  afterAll(async () => {
    if (server?.pid !== undefined && server.exitCode === null) {
      const gone = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await gone;
    }
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(netnsDir, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns'); // only when no one else's namespace folder is left in it
    } catch {
      // not empty, or gone
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('without the block, glibc resolves through the namespace\'s resolv.conf (the setup works)', async () => {
    const r = await inNs({ op: 'getaddrinfo', host: 'before-block.lab.test' });
    expect(r.result?.address).toBe(ANSWER);
    expect(queriedNames()).toContain('before-block.lab.test');
  });

  it('with port 53 refused unless marked: the marked lookup answers, unmarked and wrongly marked ones get nothing out', async () => {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
      input: `table inet uelk {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta l4proto { udp, tcp } th dport 53 meta mark != 0x${FWMARK.toString(16)} reject\n  }\n}\n`,
    });

    const unmarked = await inNs({ op: 'getaddrinfo', host: 'unmarked.lab.test' });
    expect(unmarked.result).toBeUndefined();
    expect(unmarked.error?.code).toMatch(/^E/);

    const state = join(scratch, 'state');
    mkdirSync(state, { mode: 0o700 });
    const marked = await inNs({ op: 'resolve', stateDir: state, fwmark: FWMARK, host: 'vpn.lab.test', port: 51820 });
    expect(marked.resolvers).toEqual([RESOLVER]);
    expect(marked.error).toBeUndefined();
    expect(marked.result).toEqual({ host: ANSWER, port: 51820, family: 4 });
    expect(statSync(join(state, 'endpoint-cache.json')).mode & 0o777).toBe(0o600);

    const otherState = join(scratch, 'other-state');
    mkdirSync(otherState, { mode: 0o700 });
    const wrongMark = await inNs({ op: 'resolve', stateDir: otherState, fwmark: 0x1, host: 'wrong-mark.lab.test', port: 1, timeoutMs: 300, totalTimeoutMs: 1000 });
    expect(wrongMark.error?.name).toBe('EndpointUnresolvable');
    expect(wrongMark.error?.code).toBe('ENDPOINT_UNRESOLVABLE');
    expect(wrongMark.error?.message).toContain(`"wrong-mark.lab.test"`);
    expect(wrongMark.error?.message).toContain(`${RESOLVER} could not be reached: the send was refused (EPERM)`);

    const names = queriedNames();
    expect(names).toContain('vpn.lab.test');
    expect(names).not.toContain('unmarked.lab.test');
    expect(names).not.toContain('wrong-mark.lab.test');
  });

  it('under the block, a failing lookup falls back to the remembered address; a marked NXDOMAIN says so', async () => {
    const state = join(scratch, 'state');
    // Another mark: the block refuses the query, so the address comes from the file.
    const cached = await inNs({ op: 'resolve', stateDir: state, fwmark: 0x1, host: 'vpn.lab.test', port: 443, timeoutMs: 300, totalTimeoutMs: 1000 });
    expect(cached.result).toEqual({ host: ANSWER, port: 443, family: 4, fromCache: true });

    const nx = await inNs({ op: 'resolve', stateDir: state, fwmark: FWMARK, host: 'no-such.example', port: 1 });
    expect(nx.error?.message).toContain(`${RESOLVER} answered NXDOMAIN`);
    expect(queriedNames()).toContain('no-such.example');
  });
});
