// What the leak matrix sends in each cell, and which captured packet belongs to which probe. Pure.
//
// Every probe is one connection attempt or datagram that a VPN must keep inside the tunnel (or
// block): TCP, UDP and ICMP to internet addresses and to the LAN gateway, and DNS over UDP and
// TCP to both — after Mullvad's leak tests. The outcome (answered, timeout, EPERM …) is only for
// the failure message: whether a probe leaked is decided by the capture on the router.
import type { CapturedPacket } from '../lab/lab.js';

type ProbeKind = 'tcp' | 'udp' | 'icmp' | 'dns-udp' | 'dns-tcp';

export interface Probe {
  /** e.g. "tcp 203.0.113.250:80", "icmp 198.51.100.1". */
  id: string;
  kind: ProbeKind;
  address: string;
  /** Absent for ICMP. */
  port?: number;
  /** A probe to the LAN gateway (the allow-LAN exception applies to it). */
  lan: boolean;
}

export interface ProbeTargets {
  /** Internet addresses (the echo/DNS host, the ISP resolver). */
  internet: string[];
  /** An internet IPv6 address: with an IPv4-only tunnel, IPv6 must not leave outside it either. */
  internet6?: string;
  /** The LAN gateway (198.51.100.1). */
  gateway: string;
  /** ICMP needs a ping binary in the namespace; without one the ICMP probes are left out. */
  icmp: boolean;
}

export const TCP_PORT = 80;
const LAN_TCP_PORT = 8080;
const UDP_PORT = 3478;
const DNS_PORT = 53;

function idOf(kind: ProbeKind, address: string, port?: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? `${kind} ${address}` : `${kind} ${host}:${port}`;
}

function probe(kind: ProbeKind, address: string, lan: boolean, port?: number): Probe {
  return { id: idOf(kind, address, port), kind, address, ...(port === undefined ? {} : { port }), lan };
}

/** The probes of one round: every kind to every internet address and to the gateway (+ TCP over IPv6). */
export function probePlan(t: ProbeTargets): Probe[] {
  const toHost = (address: string, lan: boolean): Probe[] => [
    probe('tcp', address, lan, lan ? LAN_TCP_PORT : TCP_PORT),
    probe('udp', address, lan, UDP_PORT),
    ...(t.icmp ? [probe('icmp', address, lan)] : []),
    probe('dns-udp', address, lan, DNS_PORT),
    probe('dns-tcp', address, lan, DNS_PORT),
  ];
  return [
    ...t.internet.flatMap((a) => toHost(a, false)),
    ...toHost(t.gateway, true),
    ...(t.internet6 ? [probe('tcp', t.internet6, false, TCP_PORT)] : []),
  ];
}

/** DNS: anything to port 53 over UDP or TCP. */
export function isDns(p: CapturedPacket): boolean {
  return (p.protocol === 'udp' || p.protocol === 'tcp') && p.dstPort === DNS_PORT;
}

/** Whether `p` is (part of) what `probe` sent: same destination, protocol and port. */
export function matchesProbe(p: CapturedPacket, probe: Probe): boolean {
  if (p.dst !== probe.address) return false;
  switch (probe.kind) {
    case 'tcp':
    case 'dns-tcp':
      return p.protocol === 'tcp' && p.dstPort === probe.port;
    case 'udp':
    case 'dns-udp':
      return p.protocol === 'udp' && p.dstPort === probe.port;
    case 'icmp':
      // Echo request (ICMP 8, ICMPv6 128).
      return (p.protocol === 'icmp' && p.icmpType === 8) || (p.protocol === 'icmpv6' && p.icmpType === 128);
  }
}
