// The DHCP lease files against ones real clients wrote (e2e/lab/record-dhcp-leases.sh: dnsmasq
// 2.90 serving, dhclient 4.4.3, dhcpcd 9.4.1 and systemd-networkd 252 asking).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leaseServer, parseDhclientLeases, parseDhcpcdLease, parseNetworkdLease, type LeaseFiles } from './dhcp-lease.js';

const raw = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name));
const text = (name: string) => raw(name).toString('utf8');

/** Files at paths under /lab, as a map. */
function files(map: Record<string, Buffer | string>): LeaseFiles & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    read: async (path) => {
      asked.push(path);
      const v = map[path];
      return v === undefined ? undefined : Buffer.from(v);
    },
    list: async (dir) => Object.keys(map).filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1)),
  };
}

describe('the lease files', () => {
  it('reads the server identifier and the address from each client\'s file', () => {
    expect(parseNetworkdLease(text('networkd-lease'))).toEqual({ address: '198.51.100.71', server: '198.51.100.1' });
    expect(parseDhclientLeases(text('dhclient.eth0.leases'), 'eth0')).toEqual({ address: '198.51.100.70', server: '198.51.100.1' });
    expect(parseDhcpcdLease(raw('dhcpcd-eth0.lease'))).toEqual({ address: '198.51.100.70', server: '198.51.100.1' });
  });

  it('takes dhclient\'s last lease for the interface, not another interface\'s or an older one', () => {
    const recorded = text('dhclient.eth0.leases');
    const other = recorded.replace('"eth0"', '"wlan0"').replace(/dhcp-server-identifier [0-9.]+/, 'dhcp-server-identifier 203.0.113.1');
    const older = recorded.replace(/dhcp-server-identifier [0-9.]+/, 'dhcp-server-identifier 203.0.113.9');
    expect(parseDhclientLeases(older + recorded + other, 'eth0')?.server).toBe('198.51.100.1');
    expect(parseDhclientLeases(recorded + other, 'wlan0')?.server).toBe('203.0.113.1');
    expect(parseDhclientLeases(recorded, 'eth1')).toBeUndefined();
  });

  it('answers nothing for what is not a lease', () => {
    expect(parseNetworkdLease('ADDRESS=198.51.100.2\n')).toBeUndefined();
    expect(parseNetworkdLease('ADDRESS=198.51.100.2\nSERVER_ADDRESS=not-an-address\n')).toBeUndefined();
    expect(parseDhclientLeases('lease { interface "eth0"; fixed-address 198.51.100.2; }', 'eth0')).toBeUndefined();
    const lease = raw('dhcpcd-eth0.lease');
    expect(parseDhcpcdLease(lease.subarray(0, 200))).toBeUndefined();
    // Cut inside the options: no server identifier is read from half an option.
    const cut = Buffer.from(lease.subarray(0, lease.indexOf(Buffer.from([54, 4])) + 4));
    expect(parseDhcpcdLease(cut)).toBeUndefined();
  });
});

describe('leaseServer', () => {
  const q = { device: 'eth0', ifindex: 2, root: '/lab' };

  it('asks networkd, dhclient and dhcpcd, and takes only a lease whose address the device holds now', async () => {
    const f = files({ '/lab/run/systemd/netif/leases/2': text('networkd-lease'), '/lab/var/lib/dhcpcd/eth0.lease': raw('dhcpcd-eth0.lease') });
    expect(await leaseServer(f, { ...q, addresses: ['198.51.100.71'] })).toBe('198.51.100.1');
    // networkd's lease is for another address (an old one): dhcpcd's, for the address held, is taken.
    const moved = raw('dhcpcd-eth0.lease');
    moved.set([203, 0, 113, 226], 16);
    moved.set([203, 0, 113, 225], moved.indexOf(Buffer.from([54, 4])) + 2);
    const g = files({ '/lab/run/systemd/netif/leases/2': text('networkd-lease'), '/lab/var/lib/dhcpcd/eth0.lease': moved });
    expect(await leaseServer(g, { ...q, addresses: ['203.0.113.226'] })).toBe('203.0.113.225');
    // No lease for any address the device holds (static addresses): none.
    expect(await leaseServer(g, { ...q, addresses: ['198.51.100.9'] })).toBeUndefined();
  });

  it("finds NetworkManager's dhclient files by the interface, and nothing at all on a machine with no DHCP client", async () => {
    const f = files({ '/lab/var/lib/NetworkManager/dhclient-5a1e-eth0.lease': text('dhclient.eth0.leases'), '/lab/var/lib/NetworkManager/dhclient-5a1e-eth01.lease': 'x' });
    expect(await leaseServer(f, { ...q, addresses: ['198.51.100.70'] })).toBe('198.51.100.1');
    expect(f.asked).not.toContain('/lab/var/lib/NetworkManager/dhclient-5a1e-eth01.lease');
    expect(await leaseServer(files({}), { ...q, addresses: ['198.51.100.70'] })).toBeUndefined();
  });
});
