// Lab test of split tunnelling at platform level, in two namespaces of its own (ukx-<pid>-c/-r,
// never connected to the host): the client's tunnel is a TUN that nothing reads (everything routed
// into it is lost), with wg-quick's routing (routes.ts, with the excluded rule) and the kill
// switch's ruleset with `excluded` (loaded with nft under nsenter --net, see excluded-support.ts).
// A process moved into the excluded cgroup before it starts reaches the router's echo service
// with the client's own address and has its DNS to the tunnel's resolver answered by the system
// resolver; a process outside the cgroup gets nowhere. Each proof is shown failing without the
// piece it proves (no `excluded` in the ruleset; no routing rule). The reverse-path filter is on
// (strict, with src_valid_mark), so the replies' mark restore is needed too.
//
//   ukx-<pid>-c (client)                                          ukx-<pid>-r (router / "internet")
//   eth0 198.51.100.2/24, 2001:db8:1::2/64  ──── veth ────  eth0 198.51.100.1/24, 2001:db8:1::1/64
//                                                                (system resolver, DNS on :53)
//   umbra0 (TUN, no reader) 100.64.0.2, 2001:db8:64::2           lo 203.0.113.250, 2001:db8:ff::250
//                                                                (echo service, HTTP on :80)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicePath } from '../../../e2e/lab/probes.js';
import { readJsonLines, type DnsRecord, type EchoRecord } from '../../../e2e/lab/services.js';
import { parsePrefix } from '../../net/ip.js';
import { openExcludedCgroup, type ExcludedCgroup } from '../cgroup/excluded-cgroup.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK, UMBRA_TABLE } from '../routing/constants.js';
import { applyTunnelRouting } from '../routing/routes.js';
import { netnsRunner } from '../testing/netns-runner.js';
import { ChangeSet } from '../undo.js';
import { excludedSkipReason, nftInNet } from './testdata/excluded-support.js';
import { buildRuleset, removalScript, type FirewallSpec } from './ruleset.js';

const prefix = `ukx-${process.pid}`;
const C = `${prefix}-c`;
const R = `${prefix}-r`;
const TUNNEL_DNS = '100.64.0.53';
const RESOLVER = { v4: '198.51.100.1', v6: '2001:db8:1::1' };
const ECHO = { v4: '203.0.113.250', v6: '2001:db8:ff::250' };
const CLIENT = { v4: '198.51.100.2', v6: '2001:db8:1::2' };

const reason = excludedSkipReason() ?? (existsSync('/dev/net/tun') ? undefined : '/dev/net/tun is missing');

function sh(...argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${String(r.status)}: ${r.stderr}`);
}

function deleteLab(): void {
  for (const ns of [C, R]) spawnSync('ip', ['netns', 'del', ns]);
}

function buildLab(): void {
  deleteLab();
  for (const ns of [C, R]) {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  sh('ip', '-n', C, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', R);
  for (const [ns, v4, v6] of [[C, CLIENT.v4, CLIENT.v6], [R, RESOLVER.v4, RESOLVER.v6]] as const) {
    sh('ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', 'eth0');
    sh('ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad');
    sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  }
  sh('ip', '-n', R, 'addr', 'add', `${ECHO.v4}/32`, 'dev', 'lo');
  sh('ip', '-n', R, 'addr', 'add', `${ECHO.v6}/128`, 'dev', 'lo');
  sh('ip', '-n', C, 'route', 'add', 'default', 'via', RESOLVER.v4);
  sh('ip', '-n', C, '-6', 'route', 'add', 'default', 'via', RESOLVER.v6);
  // The tunnel: a TUN nobody opens has no carrier, and drops what is routed into it.
  sh('ip', '-n', C, 'tuntap', 'add', 'dev', 'umbra0', 'mode', 'tun');
  for (const key of ['all', 'eth0']) sh('ip', 'netns', 'exec', C, 'sysctl', '-q', '-w', `net.ipv4.conf.${key}.rp_filter=1`);
  sh('ip', 'netns', 'exec', C, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.src_valid_mark=1');
}

interface ProbeResult {
  code: number | null;
  json: Record<string, unknown>;
}

/**
 * Runs a lab probe (a services/*.mjs program) in the client, held until it is released: with
 * `cgroup`, the held process is moved in first, so every socket the probe opens is in it.
 */
async function probe(argv: string[], cgroup?: ExcludedCgroup): Promise<ProbeResult> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', C, 'sh', '-c', 'read _ <&3; exec "$@"', 'sh', process.execPath, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    if (cgroup) {
      await cgroup.add(child.pid!, 0);
      expect(await cgroup.members()).toContain(child.pid);
    }
  } finally {
    (child.stdio[3] as NodeJS.WritableStream).end('go\n');
  }
  const code = await exited;
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return { code, json: JSON.parse(line) as Record<string, unknown> };
  } catch {
    throw new Error(`probe ${argv.join(' ')} printed no JSON (exit ${String(code)}): ${out}${err}`);
  }
}

const http = (host: string, cgroup?: ExcludedCgroup) => probe([servicePath('http-probe.mjs'), `http://${host.includes(':') ? `[${host}]` : host}/`, '--timeout', '3000'], cgroup);
const dns = (server: string, type: 'A' | 'AAAA', cgroup?: ExcludedCgroup) => probe([servicePath('dns-probe.mjs'), server, 'whoami.lab.test', '--type', type, '--timeout', '3000'], cgroup);

function startService(argv: string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', R, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\n').includes('ready')) resolve(child);
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`${argv[0]} exited (${String(code)}) before it was ready: ${out}`)));
  });
}

describe.skipIf(reason !== undefined)(`split tunnelling with real traffic, in namespaces ${prefix}-*${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let cg: ExcludedCgroup;
  let scratch: string;
  const services: ChildProcess[] = [];
  const logs = { echo: '', dns: '' };
  let routing: ChangeSet;

  const spec = (over: Partial<FirewallSpec> = {}): FirewallSpec => ({
    block: true,
    tunnelInterface: 'umbra0',
    tunnelAddresses: ['100.64.0.2', '2001:db8:64::2'],
    tunnelsIpv6: true,
    endpoints: [],
    fwmark: UMBRA_FWMARK,
    dnsServers: [TUNNEL_DNS],
    lookupResolvers: [],
    allowLan: false,
    excluded: { cgroupPath: cg.path, cgroupLevel: cg.level, mark: EXCLUDED_FWMARK, resolvers: [RESOLVER.v4, RESOLVER.v6] },
    ...over,
  });
  const load = (s: FirewallSpec) => {
    const r = nftInNet(C, ['-f', '-'], buildRuleset(s));
    if (r.status !== 0) throw new Error(`nft -f in ${C}: ${r.stderr}`);
  };
  const route = async (excludedMark: number | undefined) => {
    await routing?.undoAll();
    routing = new ChangeSet();
    await applyTunnelRouting(netnsRunner(C), routing, {
      dev: 'umbra0',
      addresses: [parsePrefix('100.64.0.2/32', { keepHostBits: true }), parsePrefix('2001:db8:64::2/128', { keepHostBits: true })],
      mtu: 1420,
      allowedIPs: [parsePrefix('0.0.0.0/0'), parsePrefix('::/0')],
      fwmark: UMBRA_FWMARK,
      table: UMBRA_TABLE,
      ...(excludedMark === undefined ? {} : { excludedMark }),
    }, { mtu: 1500, up: false });
  };
  const askedBy = (ip: string) => readJsonLines<EchoRecord>(logs.echo).filter((r) => r.ip === ip).length;

  beforeAll(async () => {
    buildLab();
    cg = await openExcludedCgroup({ name: `umbra-lab-${process.pid}` });
    scratch = await mkdtemp(join(tmpdir(), 'umbra-excluded-'));
    logs.echo = join(scratch, 'echo.log');
    logs.dns = join(scratch, 'dns.log');
    services.push(
      await startService([servicePath('echo-server.mjs'), '--log', logs.echo, '--port', '80', '--listen', ECHO.v4, '--listen', ECHO.v6]),
      await startService([servicePath('dns-server.mjs'), '--log', logs.dns, '--port', '53', '--listen', RESOLVER.v4, '--listen', RESOLVER.v6, '--zone', 'lab.test']),
    );
    // The cgroup exists before the ruleset that names it is loaded (nft resolves it then).
    await route(EXCLUDED_FWMARK);
    load(spec());
  }, 60_000);

  afterAll(async () => {
    for (const s of services) if (s.pid !== undefined && s.exitCode === null) process.kill(s.pid, 'SIGTERM');
    deleteLab();
    await cg?.destroy();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("an excluded process reaches the internet with the client's own address, IPv4 and IPv6, through the block", async () => {
    const v4 = await http(ECHO.v4, cg);
    expect(v4.json.body).toBe(CLIENT.v4);
    const v6 = await http(ECHO.v6, cg);
    expect(v6.json.body).toBe(CLIENT.v6);
  }, 30_000);

  it('a process outside the cgroup gets nowhere (its traffic goes into the tunnel)', async () => {
    const before = askedBy(CLIENT.v4) + askedBy('100.64.0.2');
    const r = await http(ECHO.v4);
    expect(r.json.error).toBeDefined();
    expect(r.json.body).toBeUndefined();
    expect(askedBy(CLIENT.v4) + askedBy('100.64.0.2')).toBe(before);
  }, 30_000);

  it("an excluded process's DNS to the tunnel's resolver lands at the system resolver, IPv4 and IPv6", async () => {
    const a = await dns(TUNNEL_DNS, 'A', cg);
    expect(a.json.ok).toBe(true);
    expect(a.json.answers).toEqual([CLIENT.v4]);
    const aaaa = await dns('2001:db8:64::53', 'AAAA', cg);
    expect(aaaa.json.answers).toEqual([CLIENT.v6]);
    const asked = readJsonLines<DnsRecord>(logs.dns).map((r) => `${r.server} ${r.source}`);
    expect(asked).toEqual([`${RESOLVER.v4} ${CLIENT.v4}`, `${RESOLVER.v6} ${CLIENT.v6}`]);
    // Outside the cgroup the same query goes into the tunnel.
    expect((await dns(TUNNEL_DNS, 'A')).json.ok).toBe(false);
    expect(readJsonLines<DnsRecord>(logs.dns)).toHaveLength(2);
  }, 30_000);

  it('the move checks who asks: another uid may not move a root process', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await expect(cg.add(child.pid!, 1000)).rejects.toThrow(`no process ${child.pid} of yours`);
      expect(await cg.members()).not.toContain(child.pid);
    } finally {
      child.kill();
    }
  });

  it('without the routing rule the excluded process is routed into the tunnel (the rule is what sends it out)', async () => {
    await route(undefined);
    try {
      expect((await http(ECHO.v4, cg)).json.error).toBeDefined();
    } finally {
      await route(EXCLUDED_FWMARK);
    }
  }, 30_000);

  it('without `excluded` in the ruleset the block stops the excluded process too', async () => {
    // Connecting: a block without a tunnel, so nothing is routed into the TUN.
    await routing.undoAll();
    const connecting = { tunnelInterface: undefined, tunnelAddresses: [], dnsServers: [] };
    load(spec(connecting));
    expect((await http(ECHO.v4, cg)).json.body).toBe(CLIENT.v4);
    expect((await http(ECHO.v4)).json.error).toBeDefined();
    load(spec({ ...connecting, excluded: undefined }));
    expect((await http(ECHO.v4, cg)).json.error).toBeDefined();
    expect(nftInNet(C, ['-f', '-'], removalScript()).status).toBe(0);
  }, 30_000);
});
