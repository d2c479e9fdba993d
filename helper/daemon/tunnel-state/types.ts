// The tunnel state machine's vocabulary (DESIGN.md, "Tunnel states"; after Mullvad's
// talpid-core tunnel_state_machine): states, the events that move them, and the effects a step
// asks the driver to run. Pure data: no I/O, no timers, no clocks.
import type { WgQuickConfig } from '../../config/wg-quick.js';
import type { BlockHold, ErrorInfo, ServerInfo } from '../../ipc/schema.js';
import type { FirewallSpec } from '../../platform/firewall/ruleset.js';

/** A server to connect to, with the profile's config for it (its Endpoint may be a hostname). */
export interface Target {
  server: ServerInfo;
  config: WgQuickConfig;
}

/** An endpoint as an address (resolved once per connect, as wg-quick does at `up`). */
export interface Endpoint {
  address: string;
  port: number;
}

/** What the step's firewall policy depends on besides the state. */
export interface Context {
  killSwitch: boolean;
  /** Always require the VPN: every state blocks outside the tunnel, disconnected included. */
  lockdown: boolean;
  allowLan: boolean;
  fwmark: number;
  /** The system resolvers the helper's own (marked) endpoint lookups may reach while blocked. */
  lookupResolvers: string[];
  /** LAN DNS (Settings.lanDns): the LAN resolvers the helper's forwarder may reach while the tunnel is up. */
  lanDnsServers?: string[];
  /** Epoch milliseconds, for connectedSince. */
  now: number;
  /** Split tunnelling: the cgroup whose traffic every state lets out (with DNS to lookupResolvers); absent while none exists. */
  excluded?: ExcludedTraffic;
}

/** The excluded apps' cgroup as the firewall matches it, and the mark that routes them outside the tunnel. */
export interface ExcludedTraffic {
  cgroupPath: string;
  cgroupLevel: number;
  mark: number;
}

/**
 * `token` names one attempt: results of effects carry the token they were started with, and a
 * result whose token is not the state's is stale (the user moved on) and changes nothing.
 */
interface Wanting {
  target: Target;
  token: number;
  /** Attempts since the user asked (0 before the first failure). */
  attempt: number;
  endpoint?: Endpoint;
  /** The TUN interface, once the tunnel exists. */
  tunnel?: string;
}

export type State =
  | { name: 'disconnected'; hold?: BlockHold }
  | (Wanting & { name: 'connecting'; error?: ErrorInfo })
  | (Wanting & { name: 'connected'; endpoint: Endpoint; tunnel: string; since: number })
  | (Wanting & { name: 'reconnecting'; endpoint: Endpoint; tunnel: string; error: ErrorInfo })
  | (Wanting & { name: 'error'; error: ErrorInfo })
  | { name: 'disconnecting'; target: Target; keep: FirewallSpec | undefined };

export type StateName = State['name'];
export type WantingState = Extract<State, Wanting>;

export type Event =
  /** The user (or the resume at start) asks for this server; also a switch while connected. */
  | { type: 'connect'; target: Target }
  /** The user's disconnect: lifts every block, holds included. */
  | { type: 'disconnect' }
  /** The helper started: hold a block while disconnected (boot, unreadable state), or not. */
  | { type: 'start'; hold?: BlockHold }
  /** The tunnel and its DNS are gone (after stopTunnel in disconnecting). */
  | { type: 'tornDown' }
  | { type: 'resolved'; token: number; endpoint: Endpoint }
  | { type: 'unresolvable'; token: number; message: string }
  | { type: 'tunnelUp'; token: number; interfaceName: string }
  | { type: 'tunnelFailed'; token: number; message: string; started: boolean }
  /** The state's firewall policy could not be put in the kernel: nothing else of that step ran. */
  | { type: 'firewallFailed'; message: string }
  | { type: 'handshake'; token: number }
  /** Connected, but initiations have gone unanswered for a while. */
  | { type: 'handshakeLost'; token: number }
  /** The engine gave up after REKEY_ATTEMPT_TIME without an answer. */
  | { type: 'giveUp'; token: number }
  | { type: 'timeout'; token: number }
  | { type: 'retry'; token: number }
  /** Kill switch or allow LAN changed: the same state, its policy recomputed. */
  | { type: 'policyChanged' }
  /** Another network, or a new path to this one: a wanted tunnel is made again over it now. */
  | { type: 'pathChanged' };

export type TimerName = 'timeout' | 'retry';

export type Effect =
  /** Always the first effect of a step: the policy of the state entered (undefined: no table). */
  | { type: 'firewall'; spec: FirewallSpec | undefined }
  | { type: 'resolve'; token: number; host: string; port: number }
  | { type: 'startTunnel'; token: number; target: Target; endpoint: Endpoint }
  /** The tunnel and its DNS go (DNS restored); the firewall is not touched. */
  | { type: 'stopTunnel' }
  /** Ask the engine for a fresh handshake now. */
  | { type: 'rehandshake' }
  | { type: 'timer'; name: TimerName; token: number; ms: number }
  | { type: 'cancelTimers' }
  /** Feed this event back once the effects before it have run. */
  | { type: 'then'; event: Event };

export interface Step {
  state: State;
  effects: Effect[];
}
