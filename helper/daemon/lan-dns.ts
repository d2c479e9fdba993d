// LAN DNS (Settings.lanDns, issue 16): while connected, names under the user's local domains go to
// the LAN resolvers they named, outside the tunnel; everything else still through it. With the
// backends that put the servers into resolv.conf (the file itself, or NetworkManager's global
// DNS) the helper points the system at its own forwarder (lan-forwarder.ts), which sends each
// query on; the firewall lets its marked queries reach exactly those servers. systemd-resolved is
// refused: its own queries to a LAN server would be unmarked, and the kill switch (rightly) lets
// no unmarked DNS out but into the tunnel.
import type { LanDns, Settings } from '../ipc/schema.js';
import { LAN_FORWARDER_ADDRESS, startLanForwarder, type LanForwarderOptions } from '../platform/dns/lan-forwarder.js';
import type { DnsBackend, DnsConfig } from '../platform/dns/types.js';
import type { Undo } from '../platform/undo.js';

/** Why a settings patch that turns LAN DNS on cannot be taken with this DNS backend; undefined when it can. */
export function lanDnsRefusal(backend: DnsBackend['name'], patch: Partial<Settings>): string | undefined {
  if (!patch.lanDns || canForward(backend)) return undefined;
  return 'Local network domains (lanDns) work only where DNS is set through /etc/resolv.conf or NetworkManager; this system uses systemd-resolved. Turn the setting off (umbra set lan-dns off), or start the helper with --dns resolv-conf.';
}

/** The backends whose servers glibc asks directly (resolv.conf names them), so they can name the forwarder. */
const canForward = (backend: DnsBackend['name']): boolean => backend === 'resolv-conf' || backend === 'networkmanager';

/** Settings as the firewall and the DNS apply take them: LAN DNS dropped where the backend cannot do it. */
export function withEffectiveLanDns<S extends { lanDns?: LanDns | null | undefined }>(backend: DnsBackend['name'], s: S): S {
  return canForward(backend) || !s.lanDns ? s : { ...s, lanDns: null };
}

/** Whether a settings change alters where a connection's DNS goes (then a wanted connection is made again). */
export function lanDnsChanged(before: LanDns | null | undefined, after: LanDns | null | undefined): boolean {
  return JSON.stringify(before ?? null) !== JSON.stringify(after ?? null);
}

export interface LanDnsDeps {
  backend: DnsBackend;
  /** The setting now (read at each apply). */
  lanDns(): LanDns | null | undefined;
  fwmark: number;
  log(line: string): void;
  /** For tests: starts the forwarder. */
  start?: (o: LanForwarderOptions) => Promise<Undo>;
}

/**
 * The DNS apply the tunnel driver uses: the backend's, unless LAN DNS is on (and the backend puts
 * its servers into resolv.conf): then the forwarder starts first, resolv.conf names it, and the undo puts
 * resolv.conf back before it stops the forwarder (no moment names a forwarder that is gone).
 */
export function dnsWithLan(d: LanDnsDeps): (cfg: DnsConfig) => Promise<Undo> {
  const start = d.start ?? startLanForwarder;
  return async (cfg) => {
    const lan = d.lanDns();
    if (!lan) return d.backend.apply(cfg);
    if (!canForward(d.backend.name)) {
      d.log(`Local network domains are ignored: the ${d.backend.name} DNS backend cannot send them outside the tunnel; every name goes through it`);
      return d.backend.apply(cfg);
    }
    const stop = await start({ domains: lan.domains, lanServers: lan.servers, tunnelServers: cfg.servers, fwmark: d.fwmark, log: d.log });
    let restore: Undo;
    try {
      restore = await d.backend.apply({ ...cfg, servers: [LAN_FORWARDER_ADDRESS] });
    } catch (e) {
      await stop();
      throw e;
    }
    d.log(`names under ${lan.domains.join(', ')} go to ${lan.servers.join(', ')} on the local network (Local network domains); every other name through the tunnel`);
    return async () => {
      try {
        await restore();
      } finally {
        await stop();
      }
    };
  };
}
