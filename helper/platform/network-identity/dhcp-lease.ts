// The DHCP server's identity (its server identifier, option 54) for the lease a device holds, from
// the lease files the common DHCP clients keep. It joins the gateway's MAC in a wired network's
// identity: a network that clones the gateway's MAC but runs its own DHCP server is another
// network. A lease counts only while its address is on the device now: a lease file outlives the
// network it came from, and an old one must not name the network the machine is on.
//
// - systemd-networkd: /run/systemd/netif/leases/IFINDEX, KEY=value lines (SERVER_ADDRESS=);
// - ISC dhclient (Debian's ifupdown, NetworkManager with dhcp=dhclient): `lease { ... }` blocks,
//   the last one for the interface is the current one (option dhcp-server-identifier);
// - dhcpcd: /var/lib/dhcpcd/IFACE.lease, the server's DHCPACK as it came (BOOTP + options).
// NetworkManager's own client keeps no server identifier in its file; it says it over D-Bus
// (networkmanager.ts).
import { readdir, readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';

export interface Lease {
  /** The address the lease gives this machine. */
  address: string;
  /** The server identifier of the DHCP server that gave it. */
  server: string;
}

const ipv4 = (s: string | undefined): string | undefined => (s !== undefined && isIPv4(s) ? s : undefined);

function lease(address: string | undefined, server: string | undefined): Lease | undefined {
  const a = ipv4(address);
  const s = ipv4(server);
  return a && s ? { address: a, server: s } : undefined;
}

/** systemd-networkd's lease file: ADDRESS= and SERVER_ADDRESS= lines. */
export function parseNetworkdLease(text: string): Lease | undefined {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return lease(values.get('ADDRESS'), values.get('SERVER_ADDRESS'));
}

/** dhclient's lease file: the last `lease { }` block for this interface (or naming none). */
export function parseDhclientLeases(text: string, device: string): Lease | undefined {
  let found: Lease | undefined;
  for (const block of text.split(/\blease\s*\{/).slice(1)) {
    const body = block.split('}')[0] ?? '';
    const iface = /\binterface\s+"([^"]*)"\s*;/.exec(body)?.[1];
    if (iface !== undefined && iface !== device) continue;
    const address = /\bfixed-address\s+([0-9.]+)\s*;/.exec(body)?.[1];
    const server = /\boption\s+dhcp-server-identifier\s+([0-9.]+)\s*;/.exec(body)?.[1];
    found = lease(address, server) ?? found;
  }
  return found;
}

const BOOTP_OPTIONS = 236;
const MAGIC_COOKIE = 0x63825363;
const OPT_PAD = 0;
const OPT_END = 255;
const OPT_SERVER_ID = 54;

const dotted = (b: Buffer, at: number): string => [...b.subarray(at, at + 4)].join('.');

/** dhcpcd's lease file: the DHCP message; yiaddr is the address, option 54 the server. */
export function parseDhcpcdLease(bytes: Buffer): Lease | undefined {
  if (bytes.length < BOOTP_OPTIONS + 4 || bytes.readUInt32BE(BOOTP_OPTIONS) !== MAGIC_COOKIE) return undefined;
  let server: string | undefined;
  for (let i = BOOTP_OPTIONS + 4; i < bytes.length; ) {
    const code = bytes[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    const len = bytes[i + 1];
    if (len === undefined || i + 2 + len > bytes.length) break;
    if (code === OPT_SERVER_ID && len === 4) server = dotted(bytes, i + 2);
    i += 2 + len;
  }
  return lease(dotted(bytes, 16), server);
}

export interface LeaseFiles {
  /** The file's bytes; undefined when it is not there or cannot be read. */
  read(path: string): Promise<Buffer | undefined>;
  /** The names in a directory; none when it is not there. */
  list(dir: string): Promise<string[]>;
}

export interface LeaseQuery {
  device: string;
  ifindex: number;
  /** The IPv4 addresses on the device now. */
  addresses: readonly string[];
  /** Where the file system starts ("/"; a lab points it elsewhere). */
  root: string;
}

/** The server identifier of the lease the device holds now, from whichever client keeps one. */
export async function leaseServer(files: LeaseFiles, q: LeaseQuery): Promise<string | undefined> {
  const at = (...p: string[]) => join(q.root, ...p);
  const text = async (path: string) => (await files.read(path))?.toString('utf8');
  const dhclientFiles = [
    at('var/lib/dhcp', `dhclient.${q.device}.leases`),
    at('var/lib/dhcp/dhclient.leases'),
    at('var/lib/dhclient', `dhclient-${q.device}.leases`),
    ...(await files.list(at('var/lib/NetworkManager')))
      .filter((n) => n.startsWith('dhclient') && n.endsWith(`-${q.device}.lease`))
      .map((n) => at('var/lib/NetworkManager', n)),
  ];
  const candidates: (() => Promise<Lease | undefined>)[] = [
    async () => {
      const t = await text(at('run/systemd/netif/leases', String(q.ifindex)));
      return t === undefined ? undefined : parseNetworkdLease(t);
    },
    ...dhclientFiles.map((path) => async () => {
      const t = await text(path);
      return t === undefined ? undefined : parseDhclientLeases(t, q.device);
    }),
    async () => {
      const b = await files.read(at('var/lib/dhcpcd', `${q.device}.lease`));
      return b === undefined ? undefined : parseDhcpcdLease(b);
    },
  ];
  for (const candidate of candidates) {
    const l = await candidate();
    if (l && q.addresses.includes(l.address)) return l.server;
  }
  return undefined;
}

/** The lease files as they are on this machine. */
export const leaseFilesOnDisk: LeaseFiles = {
  read: (path) => readFile(path).catch(() => undefined),
  list: (dir) => readdir(dir).catch(() => []),
};
