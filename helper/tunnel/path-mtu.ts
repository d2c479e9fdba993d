// Whether the path to the server carries the tunnel's full-size packets whole (issue 11). A
// packet of the tunnel's MTU leaves as one UDP datagram of transportSize(mtu) bytes in an IP
// header; where the kernel has learnt a smaller path MTU toward the server (ICMP "fragmentation
// needed", "packet too big"), every such datagram goes in IP fragments. A pure reading of the
// kernel's answer: the figure it has, and the tunnel MTU at which the packets would fit.
import { transportSize } from '../wireguard/messages/transport-data.js';

const UDP_HEADER = 8;
const IP_HEADER = { 4: 20, 6: 40 } as const;
/** The lowest MTU a config may set (wg-quick.ts): a fit below it is no advice. */
const LOWEST_MTU = 576;

export interface PathMtuShortfall {
  /** The path MTU the kernel has learnt toward the server. */
  learnt: number;
  /** The tunnel MTU whose full-size packets fit it (absent when none a config may set does). */
  mtuThatFits?: number;
}

/** The IP datagram a full-size packet of a tunnel of `mtu` leaves in. */
export function fullDatagramSize(mtu: number, family: 4 | 6): number {
  return transportSize(mtu, mtu) + UDP_HEADER + IP_HEADER[family];
}

/** Undefined when `routeMtu` (the kernel's, 0 for none known) carries the full-size datagrams. */
export function pathMtuShortfall(mtu: number, family: 4 | 6, routeMtu: number): PathMtuShortfall | undefined {
  const full = fullDatagramSize(mtu, family);
  if (routeMtu <= 0 || routeMtu >= full) return undefined;
  const fits = routeMtu - (full - mtu);
  return { learnt: routeMtu, ...(fits >= LOWEST_MTU ? { mtuThatFits: fits } : {}) };
}
