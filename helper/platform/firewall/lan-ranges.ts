// What "allow LAN" means (DESIGN.md, "Firewall policy per state"): a FIXED list of ranges, never a
// subnet the network hands out. A DHCP lease with a wide mask (203.0.113.77/24, or 10.0.0.0/7)
// must not turn the internet into "LAN" (a TunnelVision-style leak), so nothing here is read from
// the interfaces.

/** RFC 1918, IPv4 link-local (RFC 3927), unique local (RFC 4193) and IPv6 link-local. */
export const PRIVATE_PREFIXES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'] as const;

export const LAN_PREFIXES_V4 = PRIVATE_PREFIXES.filter((p) => !p.includes(':'));
export const LAN_PREFIXES_V6 = PRIVATE_PREFIXES.filter((p) => p.includes(':'));

/** Local multicast (mDNS, SSDP, ...) and broadcast that "allow LAN" lets out besides the ranges. */
export const LAN_EXTRAS_V4 = ['224.0.0.0/24', '239.0.0.0/8', '255.255.255.255/32'] as const;
export const LAN_EXTRAS_V6 = ['ff02::/16', 'ff05::/16'] as const;

/**
 * IPv6 destinations that pass outside an IPv4-only tunnel while connected without the kill switch
 * (guard mode): the local network and link-local multicast, so printers and neighbours still work.
 */
export const GUARD_LAN_V6 = ['fc00::/7', 'fe80::/10', 'ff02::/16'] as const;
