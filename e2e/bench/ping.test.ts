import { describe, expect, it } from 'vitest';
import { parsePing } from './measure.js';

const out = `PING 100.64.1.1 (100.64.1.1) 56(84) bytes of data.
64 bytes from 100.64.1.1: icmp_seq=1 ttl=64 time=3.12 ms
64 bytes from 100.64.1.1: icmp_seq=2 ttl=64 time=0.477 ms
64 bytes from 100.64.1.1: icmp_seq=3 ttl=64 time=0.530 ms
64 bytes from 100.64.1.1: icmp_seq=4 ttl=64 time=0.401 ms

--- 100.64.1.1 ping statistics ---
4 packets transmitted, 4 received, 0% packet loss, time 31ms
rtt min/avg/max/mdev = 0.401/1.132/3.120/1.150 ms
`;

describe('parsePing', () => {
  it('keeps the replies in the order they came, so the first one after the idle window shows', () => {
    const p = parsePing(out)!;
    expect(p.rttsMs).toEqual([3.12, 0.477, 0.53, 0.401]);
    expect(p.p50Ms).toBe(0.477);
    expect(p.p99Ms).toBe(3.12);
    expect(p).toMatchObject({ transmitted: 4, received: 4, minMs: 0.401, maxMs: 3.12 });
  });

  it('gives nothing for output without replies or a summary', () => {
    expect(parsePing('ping: connect: Network is unreachable\n')).toBeUndefined();
  });
});
