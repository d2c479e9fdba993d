import { describe, expect, it } from 'vitest';
import { checkAddress } from './address-policy.js';

const refused = (a: string, lab = false) => {
  const v = checkAddress(a, { lab });
  return v.ok ? undefined : v.why;
};

describe('checkAddress', () => {
  it('lets public unicast through', () => {
    for (const a of ['1.1.1.1', '8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e']) {
      expect(checkAddress(a)).toEqual({ ok: true, kind: 'public' });
    }
  });

  it.each([
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['10.0.0.1', /private/],
    ['100.64.0.1', /CGNAT|tunnel/],
    ['100.127.255.254', /CGNAT|tunnel/],
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['169.254.169.254', /link-local/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.0.0.8', /IETF/],
    ['192.0.2.1', /documentation/],
    ['192.168.1.1', /private/],
    ['198.18.0.1', /benchmarking/],
    ['224.0.0.251', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /reserved/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['fec0::1', /not a global/],
    ['100::1', /not a global/],
    ['2001::1', /IETF|Teredo/],
    ['::ffff:127.0.0.1', /loopback.*IPv4-mapped/],
    ['::ffff:7f00:1', /loopback.*IPv4-mapped/],
    ['::ffff:169.254.169.254', /link-local.*IPv4-mapped/],
    ['::ffff:10.1.2.3', /private.*IPv4-mapped/],
    ['::127.0.0.1', /IPv4-compatible/],
    ['64:ff9b::a9fe:a9fe', /link-local.*NAT64/],
    ['2002:c0a8:0101::1', /private.*6to4/],
    ['not-an-ip', /not an IP/],
  ])('refuses %s', (address, why) => {
    expect(refused(address)).toMatch(why);
  });

  it('range edges: the address just outside a refused range passes', () => {
    expect(refused('100.63.255.255')).toBeUndefined();
    expect(refused('100.128.0.0')).toBeUndefined();
    expect(refused('172.15.255.255')).toBeUndefined();
    expect(refused('172.32.0.0')).toBeUndefined();
    expect(refused('169.253.255.255')).toBeUndefined();
    expect(refused('::ffff:1.1.1.1')).toBeUndefined();
    expect(refused('2002:0101:0101::1')).toBeUndefined();
  });

  it('documentation ranges: refused, except the lab\'s under the lab allowance; 192.0.2.0/24 always', () => {
    for (const a of ['198.51.100.1', '203.0.113.250', '2001:db8:f::250', '::ffff:203.0.113.5']) {
      expect(refused(a)).toMatch(/documentation.*only the test lab/);
      expect(checkAddress(a, { lab: true })).toEqual({ ok: true, kind: 'lab' });
    }
    expect(refused('192.0.2.1', true)).toMatch(/documentation/);
    for (const a of ['127.0.0.1', '169.254.169.254', '10.0.0.1', '100.64.1.2', '::1', 'fd00::1']) expect(refused(a, true)).toBeDefined();
  });
});
