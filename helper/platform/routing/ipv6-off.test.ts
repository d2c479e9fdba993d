import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { carriesNoIpv6 } from './ipv6-off.js';

const p = (t: string) => parsePrefix(t, { keepHostBits: true });

describe('IPv6 off on a tunnel that carries none', () => {
  it('only when neither the addresses nor the AllowedIPs have IPv6 (::/0 without an address still needs it)', () => {
    expect(carriesNoIpv6([p('100.64.1.2/32')], [p('0.0.0.0/0')])).toBe(true);
    expect(carriesNoIpv6([p('100.64.1.2/32')], [p('0.0.0.0/0'), p('::/0')])).toBe(false);
    expect(carriesNoIpv6([p('100.64.1.2/32'), p('fd00::2/128')], [p('0.0.0.0/0')])).toBe(false);
  });
});
