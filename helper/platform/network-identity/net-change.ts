// What a line of `ip -o monitor link address route neigh` says about the network the machine is
// on. Pure. iproute2 prints text even with -j for monitor (6.1), one record per line with -o.
// Tunnel devices, loopback and routes outside the main table (the tunnel's own) say nothing about
// the network; a carrier coming up or a default route appearing may be a new network, and the
// helper blocks at once when that could be untrusted (DESIGN: before DHCP finishes).

export type NetChange =
  /** A link's carrier: up when it has LOWER_UP and no NO-CARRIER. */
  | { kind: 'link'; dev: string; up: boolean }
  | { kind: 'address'; dev: string; deleted: boolean }
  | { kind: 'route'; dev: string | undefined; deleted: boolean }
  | { kind: 'neigh'; dev: string };

const LINK = /^\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)>/;
const ADDRESS = /^\d+: (\S+)\s+inet6? (\S+)/;
const DEV = / dev (\S+)/;

export function parseMonitorLine(raw: string, isTunnelDevice: (dev: string) => boolean): NetChange | undefined {
  const deleted = raw.startsWith('Deleted ');
  const line = deleted ? raw.slice('Deleted '.length) : raw;
  const ignored = (dev: string | undefined) => dev === 'lo' || (dev !== undefined && isTunnelDevice(dev));
  const link = LINK.exec(line);
  if (link) {
    const flags = link[2]!.split(',');
    return ignored(link[1]) ? undefined : { kind: 'link', dev: link[1]!, up: !deleted && flags.includes('LOWER_UP') && !flags.includes('NO-CARRIER') };
  }
  const address = ADDRESS.exec(line);
  if (address) {
    // Link-local IPv6 comes with every link and says nothing about which network it is.
    if (ignored(address[1]) || address[2]!.startsWith('fe80:')) return undefined;
    return { kind: 'address', dev: address[1]!, deleted };
  }
  const dev = DEV.exec(line)?.[1];
  if (ignored(dev)) return undefined;
  if (/^default /.test(line)) {
    const table = / table (\S+)/.exec(line)?.[1];
    return table === undefined || table === 'main' ? { kind: 'route', dev, deleted } : undefined;
  }
  if (/ lladdr /.test(line) && !/ NOARP\b/.test(line) && dev) return deleted ? undefined : { kind: 'neigh', dev };
  return undefined;
}

/**
 * Remembers each link's carrier, so that a repeated link line is not a new network: says whether a
 * change may mean another network now (`appeared`: block first if that could be untrusted), only
 * asks for a fresh look (`settle`), or is a neighbour learnt (`neighbour`: the gateway's MAC, maybe).
 */
export class ChangeTracker {
  private readonly carrier = new Map<string, boolean>();

  classify(c: NetChange): 'appeared' | 'settle' | 'neighbour' | undefined {
    switch (c.kind) {
      case 'link': {
        const before = this.carrier.get(c.dev);
        this.carrier.set(c.dev, c.up);
        if (before === c.up) return undefined;
        return c.up ? 'appeared' : 'settle';
      }
      case 'route':
        return c.deleted ? 'settle' : 'appeared';
      case 'address':
        return 'settle';
      case 'neigh':
        // Neighbours come and go all the time: worth a look only while the network is not known.
        return 'neighbour';
    }
  }
}
