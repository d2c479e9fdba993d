import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args.js';
import type { TunnelStatus } from '../ipc/schema.js';
import { formatStatus } from './format.js';
import type { IpcClient } from '../ipc/client.js';
import { formatNetworks, runNetworks } from './networks.js';

const cmd = (...argv: string[]) => parseArgs(argv).command;

describe('umbra networks', () => {
  it('parses list, set and default', () => {
    expect(cmd('networks')).toEqual({ name: 'networks' });
    expect(cmd('networks', 'set', 'current', 'trusted')).toEqual({ name: 'networks-set', key: 'current', rule: 'trusted' });
    expect(cmd('networks', 'set', '0123456789ABCDEF', 'Ask', '--name', 'Café')).toEqual({ name: 'networks-set', key: '0123456789abcdef', rule: 'ask', networkName: 'Café' });
    expect(cmd('networks', 'set', 'current', '--name', 'Home')).toEqual({ name: 'networks-set', key: 'current', networkName: 'Home' });
    expect(cmd('networks', 'forget', '0123456789ABCDEF')).toEqual({ name: 'networks-forget', key: '0123456789abcdef' });
    expect(() => cmd('networks', 'forget')).toThrow(/networks forget KEY\|current/);
    expect(() => cmd('networks', 'forget', 'current', '--name', 'x')).toThrow(/usage/);
    expect(cmd('networks', 'default', 'untrusted')).toEqual({ name: 'networks-default', rule: 'untrusted' });
    expect(cmd('networks', 'default', 'off')).toEqual({ name: 'networks-default', rule: 'off' });
  });

  it('refuses what it cannot do, saying how', () => {
    expect(() => cmd('networks', 'set', 'current', 'maybe')).toThrow(/trusted, untrusted or ask/);
    expect(() => cmd('networks', 'set', 'current')).toThrow(UsageError);
    expect(() => cmd('networks', 'default')).toThrow(/networks default/);
    expect(() => cmd('networks', '--name', 'x')).toThrow(/--name goes with networks set/);
    expect(() => cmd('status', '--name', 'x')).toThrow(/--name goes with import/);
  });

  it('lists the networks with the current one marked', () => {
    const known = [
      { key: '0123456789abcdef', name: 'Home', kind: 'wifi' as const, rule: 'trusted' as const },
      { key: 'fedcba9876543210', name: 'Café', kind: 'gateway' as const, rule: 'untrusted' as const },
    ];
    const lines = formatNetworks({ unseen: 'untrusted', known }, { ...known[1]! });
    expect(lines[0]).toBe('Networks never seen: untrusted');
    expect(lines.filter((l) => l.startsWith('*'))).toEqual(['* fedcba9876543210  untrusted  gateway  Café']);
    expect(formatNetworks(undefined, undefined)[0]).toMatch(/off/);
  });

  it('umbra status names the network and what its rule does', () => {
    const status: TunnelStatus = { state: 'connected', blocked: true, firewallActive: true, firewall: { wanted: 'block', kernel: 'block' }, addresses: [], dns: [], rxBytes: 0, txBytes: 0, attempt: 0 };
    const lines = formatStatus({ ...status, network: { key: 'fedcba9876543210', name: 'Café', kind: 'gateway', rule: 'untrusted' } }, undefined, 0);
    expect(lines).toContain('Network: Café, untrusted: Umbra connects, with the kill switch on (umbra networks)');
    expect(formatStatus(status, undefined, 0).some((l) => l.startsWith('Network:'))).toBe(false);
  });
});

describe('runNetworks', () => {
  it('forgets a network through setNetwork and lists what is left', async () => {
    const calls: [string, unknown][] = [];
    const rules = { unseen: 'untrusted' as const, known: [{ key: '0123456789abcdef', name: 'Home', kind: 'gateway' as const, rule: 'trusted' as const }] };
    const client = {
      call: async (method: string, params?: unknown) => {
        calls.push([method, params]);
        return method === 'setNetwork' ? rules : { network: undefined };
      },
    } as unknown as IpcClient;
    const out = await runNetworks(client, { name: 'networks-forget', key: 'fedcba9876543210' });
    expect(calls[0]).toEqual(['setNetwork', { key: 'fedcba9876543210', forget: true }]);
    expect(out.lines).toEqual(['Networks never seen: untrusted', '  0123456789abcdef  trusted    gateway  Home']);
    await runNetworks(client, { name: 'networks-set', key: 'current', rule: 'ask', networkName: 'Flat' });
    expect(calls[2]).toEqual(['setNetwork', { key: 'current', rule: 'ask', name: 'Flat' }]);
  });
});
