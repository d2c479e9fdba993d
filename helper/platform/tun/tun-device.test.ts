// openTun's checks that run anywhere: names the kernel would truncate or reject are refused
// before /dev/net/tun is touched, with an Error (not a crash). Opening real devices is tested in
// tun-device.lab.test.ts.
import { describe, expect, it } from 'vitest';
import { openTun } from './tun-device.js';

describe('openTun', () => {
  it('refuses a name longer than IFNAMSIZ - 1 with a clear RangeError', () => {
    expect(() => openTun('umbra-much-too-long')).toThrow(RangeError);
    expect(() => openTun('umbra-much-too-long')).toThrow('TUN name "umbra-much-too-long" is too long: Linux interface names have at most 15 bytes');
    // 16 bytes in UTF-8 although only 8 characters.
    expect(() => openTun('éééééééé')).toThrow(/too long/);
  });

  it('refuses names that are not strings or contain NUL', () => {
    expect(() => openTun(42 as unknown as string)).toThrow(TypeError);
    expect(() => openTun('umbra\0x')).toThrow(/NUL/);
  });
});
