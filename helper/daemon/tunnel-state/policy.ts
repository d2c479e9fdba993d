// The firewall each state must hold (DESIGN.md, "Firewall policy per state"), as FirewallSpecs
// for platform/firewall. Pure. The kill switch decides only what happens while the user wants a
// connection; lockdown blocks in every state; connected (and reconnecting, with the tunnel still
// up) always has its guards.
import { bootSpec, type FirewallSpec } from '../../platform/firewall/ruleset.js';
import type { BlockHold } from '../../ipc/schema.js';
import type { Context, Target, WantingState } from './types.js';

/**
 * Excluded apps (split tunnelling) leave outside the tunnel in every state that has a table, the
 * block included; their DNS goes to the system's resolvers. A state without a table routes
 * nothing into a tunnel and blocks nothing, so they need nothing there.
 */
function withExcluded(spec: FirewallSpec | undefined, ctx: Context): FirewallSpec | undefined {
  if (!spec || !ctx.excluded) return spec;
  return { ...spec, excluded: { ...ctx.excluded, resolvers: ctx.lookupResolvers } };
}

/** The block held while disconnected (a hold, or lockdown): the boot block (the boot file carries it without excluded apps: none survive a reboot). */
export function holdPolicy(hold: BlockHold | undefined, ctx: Context): FirewallSpec | undefined {
  if (!hold && !ctx.lockdown) return undefined;
  // LAN per allow LAN for either hold: with settings.json unreadable the store's defaults stand
  // in (allow LAN off), so the setting is narrow exactly when it is not known.
  return withExcluded(bootSpec({ fwmark: ctx.fwmark, allowLan: ctx.allowLan }), ctx);
}

/** Whether the config sends all IPv6 into the tunnel (else IPv6 outside it is refused). */
function tunnelsIpv6(target: Target): boolean {
  return target.config.peers.some((p) => p.allowedIPs.some((c) => c.family === 6 && c.prefix === 0));
}

/** connecting, connected, reconnecting, error: what the kernel must hold. */
export function wantingPolicy(s: WantingState, ctx: Context): FirewallSpec | undefined {
  return withExcluded(plainWantingPolicy(s, ctx), ctx);
}

function plainWantingPolicy(s: WantingState, ctx: Context): FirewallSpec | undefined {
  const iface = s.tunnel;
  const guarded = iface ? s.target.config.interface.addresses.map((a) => a.address) : [];
  const endpoints = s.endpoint ? [{ address: s.endpoint.address, port: s.endpoint.port }] : [];
  const common = {
    ...(iface ? { tunnelInterface: iface } : {}),
    tunnelAddresses: guarded,
    tunnelsIpv6: tunnelsIpv6(s.target),
    endpoints,
    fwmark: ctx.fwmark,
  };
  if (ctx.killSwitch || ctx.lockdown) {
    // LAN DNS only once the tunnel exists: the forwarder that sends it runs only then.
    const lan = iface && ctx.lanDnsServers?.length ? { lanDnsServers: ctx.lanDnsServers } : {};
    return { ...common, block: true, dnsServers: s.target.config.interface.dns, lookupResolvers: ctx.lookupResolvers, allowLan: ctx.allowLan, ...lan };
  }
  // Without the kill switch nothing is blocked before the tunnel exists (the user's choice);
  // once it exists, its guards hold.
  if (!iface) return undefined;
  return { ...common, block: false, dnsServers: [], lookupResolvers: [], allowLan: false };
}
