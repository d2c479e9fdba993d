import { describe, expect, it } from 'vitest';
import { parseWgQuick } from '../config/wg-quick.js';
import { userDnsChanged, withUserDns } from './user-dns.js';

const CFG = parseWgQuick(`[Interface]
PrivateKey = ${'A'.repeat(42)}E=
Address = 100.64.1.2/32
DNS = 100.64.0.53

[Peer]
PublicKey = ${'B'.repeat(42)}E=
Endpoint = 203.0.113.2:51820
AllowedIPs = 0.0.0.0/0
`);

describe('the user\'s own DNS servers', () => {
  it('replace the profile\'s DNS when set, and leave the profile as it was', () => {
    const cfg = withUserDns(CFG, ['203.0.113.250', '2001:db8:f::250']);
    expect(cfg.interface.dns).toEqual(['203.0.113.250', '2001:db8:f::250']);
    expect(cfg.interface.addresses).toEqual(CFG.interface.addresses);
    expect(CFG.interface.dns).toEqual(['100.64.0.53']);
  });

  it('unset (absent, null, empty): the profile\'s DNS', () => {
    for (const none of [undefined, null, []]) expect(withUserDns(CFG, none)).toBe(CFG);
  });

  it('a change is a change of the list, in order', () => {
    expect(userDnsChanged(undefined, null)).toBe(false);
    expect(userDnsChanged(['203.0.113.250'], ['203.0.113.250'])).toBe(false);
    expect(userDnsChanged(undefined, ['203.0.113.250'])).toBe(true);
    expect(userDnsChanged(['203.0.113.250', '203.0.113.251'], ['203.0.113.251', '203.0.113.250'])).toBe(true);
  });
});
