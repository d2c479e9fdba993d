// The NetworkManager backend against a fake NetworkManager that keeps GlobalDnsConfiguration and
// reads busctl's words back (so what the backend writes is checked as busctl would take it).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { variantArgs, type Variant } from '../busctl-json.js';
import { CommandError, type CommandRunner } from '../exec.js';
import { NM_DNS_BACKUP, networkManagerBackend, tunnelGlobalDns } from './networkmanager.js';

/** Reads busctl's words for a value of `type` back into {type, data} data (the types the backend writes). */
function readWords(type: string, w: string[]): unknown {
  if (type === 's') return w.shift();
  if (type === 'v') {
    const t = w.shift()!;
    return { type: t, data: readWords(t, w) };
  }
  const n = Number(w.shift());
  if (type === 'as') return Array.from({ length: n }, () => w.shift());
  if (type === 'a{sv}') return Object.fromEntries(Array.from({ length: n }, () => [w.shift()!, readWords('v', w)]));
  throw new Error(`fake busctl cannot read ${type}`);
}

class FakeNetworkManager implements CommandRunner {
  value: Variant = { type: 'a{sv}', data: {} };
  sets = 0;
  refuse: string | undefined;
  /** DnsManager.Configuration reads that still show no servers after a set (NetworkManager catching up). */
  lag = 0;
  configurationReads = 0;
  async run(argv: string[]) {
    const i = argv.indexOf('GlobalDnsConfiguration');
    if (argv.includes('get-property') && argv.at(-1) === 'Configuration') {
      this.configurationReads++;
      const domains = (this.value.data as { domains?: Variant }).domains?.data as Record<string, Variant> | undefined;
      const servers = ((domains?.['*']?.data as { servers?: Variant } | undefined)?.servers?.data as string[] | undefined) ?? [];
      const shown = this.lag-- > 0 ? [] : servers;
      return { stdout: `${JSON.stringify({ type: 'aa{sv}', data: shown.length ? [{ nameservers: { type: 'as', data: shown }, priority: { type: 'i', data: 100 } }] : [] })}\n`, stderr: '' };
    }
    if (argv.includes('get-property')) return { stdout: `${JSON.stringify(this.value)}\n`, stderr: '' };
    if (this.refuse) throw new CommandError(argv, 1, this.refuse);
    const words = argv.slice(i + 1);
    const type = words.shift()!;
    this.value = { type, data: readWords(type, words) };
    expect(words).toEqual([]);
    this.sets++;
    return { stdout: '', stderr: '' };
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-nm-dns-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const cfg = { interfaceName: 'umbra0', servers: ['100.64.0.1', 'fd00::1'], searchDomains: ['corp.example'] };

describe('the NetworkManager DNS backend', () => {
  it('sends every name to the tunnel resolvers, and the undo puts back what was there', async () => {
    const nm = new FakeNetworkManager();
    const before: Variant = { type: 'a{sv}', data: { options: { type: 'as', data: ['rotate'] } } };
    nm.value = before;
    const undo = await networkManagerBackend(nm, dir).apply(cfg);
    expect(nm.value).toEqual(tunnelGlobalDns(['100.64.0.1', 'fd00::1'], ['corp.example']));
    expect(variantArgs(nm.value)).toEqual(['a{sv}', '2', 'searches', 'as', '1', 'corp.example', 'domains', 'a{sv}', '1', '*', 'a{sv}', '1', 'servers', 'as', '2', '100.64.0.1', 'fd00::1']);
    expect((await stat(join(dir, NM_DNS_BACKUP))).mode & 0o777).toBe(0o600);
    await undo();
    expect(nm.value).toEqual(before);
    await expect(stat(join(dir, NM_DNS_BACKUP))).rejects.toThrow();
  });

  it('after a crash, recover() puts back the value from before Umbra, and a second apply keeps that one', async () => {
    const nm = new FakeNetworkManager();
    await networkManagerBackend(nm, dir).apply(cfg); // never undone: the helper "crashed"
    // A new run applies again before recovering: the backup still names the empty value as the original.
    await networkManagerBackend(nm, dir).apply({ ...cfg, servers: ['100.64.0.2'] });
    expect(JSON.parse(await readFile(join(dir, NM_DNS_BACKUP), 'utf8')).previous).toEqual({ type: 'a{sv}', data: {} });
    expect(await networkManagerBackend(nm, dir).recover()).toBe(true);
    expect(nm.value).toEqual({ type: 'a{sv}', data: {} });
    expect(await networkManagerBackend(nm, dir).recover()).toBe(false);
  });

  it('is up only once NetworkManager reports the servers in use; never reporting them fails the apply and leaves nothing behind', async () => {
    const nm = new FakeNetworkManager();
    nm.lag = 3;
    await networkManagerBackend(nm, dir).apply(cfg);
    expect(nm.configurationReads).toBe(4);
    const stuck = new FakeNetworkManager();
    stuck.lag = Infinity;
    await expect(networkManagerBackend(stuck, dir).apply(cfg)).rejects.toThrow(/does not report them in use.*not connecting/);
    expect(stuck.value).toEqual({ type: 'a{sv}', data: {} });
    await expect(stat(join(dir, NM_DNS_BACKUP))).rejects.toThrow();
  });

  it("a failed set keeps a crash's backup: its value is still the one from before Umbra", async () => {
    const nm = new FakeNetworkManager();
    await networkManagerBackend(nm, dir).apply(cfg); // never undone: the helper "crashed"
    const left = await readFile(join(dir, NM_DNS_BACKUP), 'utf8');
    nm.refuse = 'Failed to set property: NetworkManager is restarting';
    await expect(networkManagerBackend(nm, dir).apply(cfg)).rejects.toThrow(/restarting/);
    expect(await readFile(join(dir, NM_DNS_BACKUP), 'utf8')).toBe(left);
    nm.refuse = undefined;
    expect(await networkManagerBackend(nm, dir).recover()).toBe(true);
    expect(nm.value).toEqual({ type: 'a{sv}', data: {} });
  });

  it("leaves a value someone else set since alone, and says why NetworkManager refused", async () => {
    const nm = new FakeNetworkManager();
    const undo = await networkManagerBackend(nm, dir).apply(cfg);
    const theirs: Variant = { type: 'a{sv}', data: { searches: { type: 'as', data: ['theirs.example'] } } };
    nm.value = theirs;
    await undo();
    expect(nm.value).toEqual(theirs);
    nm.refuse = 'Call failed: Global DNS configuration already set via configuration file';
    await expect(networkManagerBackend(nm, dir).apply(cfg)).rejects.toThrow(/\[global-dns\] in NetworkManager\.conf.*--dns resolv-conf/);
    await expect(stat(join(dir, NM_DNS_BACKUP))).rejects.toThrow();
    await expect(networkManagerBackend(nm, dir).apply({ ...cfg, servers: ['not an address'] })).rejects.toThrow(/not an IP address/);
  });
});
