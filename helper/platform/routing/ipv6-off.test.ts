import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { carriesNoIpv6, disableIpv6Path, turnIpv6Off } from './ipv6-off.js';

const p = (t: string) => parsePrefix(t, { keepHostBits: true });

describe('IPv6 off on a tunnel that carries none', () => {
  it('only when neither the addresses nor the AllowedIPs have IPv6 (::/0 without an address still needs it)', () => {
    expect(carriesNoIpv6([p('100.64.1.2/32')], [p('0.0.0.0/0')])).toBe(true);
    expect(carriesNoIpv6([p('100.64.1.2/32')], [p('0.0.0.0/0'), p('::/0')])).toBe(false);
    expect(carriesNoIpv6([p('100.64.1.2/32'), p('fd00::2/128')], [p('0.0.0.0/0')])).toBe(false);
  });

  it('writes 1 to the device\'s own sysctl, never to a path a name could step out of', () => {
    expect(disableIpv6Path('umbra0')).toBe('/proc/sys/net/ipv6/conf/umbra0/disable_ipv6');
    for (const bad of ['..', '.', '../all', 'a/b', 'x'.repeat(16), '', 'all/../lo']) expect(disableIpv6Path(bad), bad).toBeUndefined();
    const writes: [string, string][] = [];
    expect(turnIpv6Off('umbra0', (path, text) => writes.push([path, text]))).toBe(true);
    expect(writes).toEqual([['/proc/sys/net/ipv6/conf/umbra0/disable_ipv6', '1']]);
    expect(turnIpv6Off('../all', () => writes.push(['?', '?']))).toBe(false);
    expect(writes).toHaveLength(1);
  });

  it('a kernel without IPv6 (no such file) is not an error', () => {
    expect(turnIpv6Off('umbra0', () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    })).toBe(false);
  });
});
