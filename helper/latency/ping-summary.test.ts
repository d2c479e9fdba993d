import { describe, expect, it } from 'vitest';
import { parsePingSummary } from './ping-summary.js';

// Outputs of iputils 20221126 `ping -n -q -c 3 -i 0.2 -W 1 ADDRESS` under LC_ALL=C, as printed.
const V4_ALL = `PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 409ms
rtt min/avg/max/mdev = 0.052/0.065/0.091/0.017 ms
`;
const V6_ALL = `PING ::1(::1) 56 data bytes

--- ::1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 410ms
rtt min/avg/max/mdev = 0.047/0.053/0.057/0.004 ms
`;
const V4_NONE = `PING 198.51.100.7 (198.51.100.7) 56(84) bytes of data.

--- 198.51.100.7 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 407ms

`;
const V6_NONE = `PING 2001:db8:c::9(2001:db8:c::9) 56 data bytes

--- 2001:db8:c::9 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 412ms

`;
// One lost, with an ICMP error counted (iputils' "+N errors" field sits between the counts and the loss).
const V4_SOME = `PING 203.0.113.2 (203.0.113.2) 56(84) bytes of data.

--- 203.0.113.2 ping statistics ---
3 packets transmitted, 2 received, +1 errors, 33.3333% packet loss, time 403ms
rtt min/avg/max/mdev = 21.204/23.618/26.032/2.414 ms
`;
const BUSYBOX = `PING 198.51.100.1 (198.51.100.1): 56 data bytes

--- 198.51.100.1 ping statistics ---
3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 0.101/0.142/0.190 ms
`;

describe('parsePingSummary', () => {
  it('reads the average over IPv4 and IPv6 when every echo came back', () => {
    expect(parsePingSummary(V4_ALL)).toEqual({ transmitted: 3, received: 3, avgMs: 0.065 });
    expect(parsePingSummary(V6_ALL)).toEqual({ transmitted: 3, received: 3, avgMs: 0.053 });
  });

  it('has no average at 100% loss, over IPv4 and IPv6', () => {
    expect(parsePingSummary(V4_NONE)).toEqual({ transmitted: 3, received: 0 });
    expect(parsePingSummary(V6_NONE)).toEqual({ transmitted: 3, received: 0 });
  });

  it('reads the average of the echoes that came back when some were lost', () => {
    expect(parsePingSummary(V4_SOME)).toEqual({ transmitted: 3, received: 2, avgMs: 23.618 });
  });

  it('reads BusyBox\'s wording too', () => {
    expect(parsePingSummary(BUSYBOX)).toEqual({ transmitted: 3, received: 3, avgMs: 0.142 });
  });

  it('says nothing for text without a summary (ping failed before sending)', () => {
    expect(parsePingSummary('ping: connect: Network is unreachable\n')).toBeUndefined();
    expect(parsePingSummary('')).toBeUndefined();
  });

  it('ignores an rtt line that claims replies when none were counted', () => {
    expect(parsePingSummary(`${V4_NONE}rtt min/avg/max/mdev = 1.0/2.0/3.0/0.5 ms\n`)).toEqual({ transmitted: 3, received: 0 });
  });
});
