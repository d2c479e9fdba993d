import { describe, expect, it } from 'vitest';
import type { DnsBackend, DnsConfig } from '../platform/dns/types.js';
import { dnsWithLan, lanDnsChanged, lanDnsRefusal, withEffectiveLanDns } from './lan-dns.js';
import { LAN_FORWARDER_ADDRESS } from '../platform/dns/lan-forwarder.js';

const LAN = { domains: ['corp.example'], servers: ['198.51.100.53'] };
const CFG: DnsConfig = { interfaceName: 'umbra0', servers: ['100.64.0.53'], searchDomains: [] };

function fakes(name: DnsBackend['name'], failApply = false) {
  const calls: string[] = [];
  const backend: DnsBackend = {
    name,
    apply: async (cfg) => {
      calls.push(`apply ${cfg.servers.join(',')}`);
      if (failApply) throw new Error('read-only file system');
      return async () => void calls.push('restore');
    },
  };
  const start = async (o: { domains: readonly string[]; lanServers: readonly string[]; tunnelServers: readonly string[]; fwmark: number }) => {
    calls.push(`forward ${o.domains.join(',')} to ${o.lanServers.join(',')}, else ${o.tunnelServers.join(',')}, mark ${o.fwmark}`);
    return async () => void calls.push('stop forwarder');
  };
  return { calls, backend, start };
}

describe('LAN DNS: applying DNS for a connection', () => {
  it('off: the backend as it is, nothing else', async () => {
    const f = fakes('resolv-conf');
    const undo = await dnsWithLan({ backend: f.backend, lanDns: () => null, fwmark: 7, log: () => {}, start: f.start })(CFG);
    await undo();
    expect(f.calls).toEqual(['apply 100.64.0.53', 'restore']);
  });

  it('on: the forwarder first, resolv.conf naming it; the undo restores resolv.conf before the forwarder stops', async () => {
    const f = fakes('resolv-conf');
    const undo = await dnsWithLan({ backend: f.backend, lanDns: () => LAN, fwmark: 7, log: () => {}, start: f.start })(CFG);
    expect(f.calls).toEqual(['forward corp.example to 198.51.100.53, else 100.64.0.53, mark 7', 'apply 127.0.80.53']);
    await undo();
    expect(f.calls.slice(2)).toEqual(['restore', 'stop forwarder']);
  });

  it('NetworkManager: its global DNS names the forwarder, as resolv.conf would', async () => {
    const f = fakes('networkmanager');
    const undo = await dnsWithLan({ backend: f.backend, lanDns: () => LAN, fwmark: 7, log: () => {}, start: f.start })(CFG);
    expect(f.calls.at(-1)).toBe(`apply ${LAN_FORWARDER_ADDRESS}`);
    await undo();
    expect(f.calls.slice(-2)).toEqual(['restore', 'stop forwarder']);
  });

  it('a failed apply stops the forwarder again', async () => {
    const f = fakes('resolv-conf', true);
    await expect(dnsWithLan({ backend: f.backend, lanDns: () => LAN, fwmark: 7, log: () => {}, start: f.start })(CFG)).rejects.toThrow(/read-only/);
    expect(f.calls.at(-1)).toBe('stop forwarder');
  });

  it('systemd-resolved: refused when set; ignored (everything through the tunnel) if found set', async () => {
    expect(lanDnsRefusal('resolved', { lanDns: LAN })).toMatch(/lanDns.*only where DNS is set through \/etc\/resolv.conf or NetworkManager.*systemd-resolved.*umbra set lan-dns off/);
    expect(lanDnsRefusal('networkmanager', { lanDns: LAN })).toBeUndefined();
    expect(withEffectiveLanDns('networkmanager', { lanDns: LAN }).lanDns).toEqual(LAN);
    expect(lanDnsRefusal('resolved', { lanDns: null })).toBeUndefined();
    expect(lanDnsRefusal('resolv-conf', { lanDns: LAN })).toBeUndefined();
    const f = fakes('resolved');
    const lines: string[] = [];
    await dnsWithLan({ backend: f.backend, lanDns: () => LAN, fwmark: 7, log: (l) => lines.push(l), start: f.start })(CFG);
    expect(f.calls).toEqual(['apply 100.64.0.53']);
    expect(lines.join('\n')).toMatch(/ignored/);
    expect(withEffectiveLanDns('resolved', { lanDns: LAN }).lanDns).toBeNull();
    expect(withEffectiveLanDns('resolv-conf', { lanDns: LAN }).lanDns).toEqual(LAN);
  });

  it('a change is a change of domains or servers, not of spelling null for absent', () => {
    expect(lanDnsChanged(undefined, null)).toBe(false);
    expect(lanDnsChanged(LAN, { ...LAN })).toBe(false);
    expect(lanDnsChanged(LAN, { ...LAN, servers: ['198.51.100.54'] })).toBe(true);
    expect(lanDnsChanged(null, LAN)).toBe(true);
  });
});
