// Trusted and untrusted networks, the impure half: runs the link monitor, identifies the network
// after each change, asks trusted-networks.ts what to do and does it through the tunnel driver.
// The block comes first: a possible new network is answered at once (the kill switch forced on,
// or a hold while disconnected), before the network is identified (before DHCP has finished);
// identifying it may then lift the block again (trusted) or connect (untrusted).
import type { NetworkIdentity } from '../platform/network-identity/identity.js';
import { ErrorCode, RpcError, type NetworkRule, type NetworkRules, type Params, type TunnelStatus } from '../ipc/schema.js';
import { mayBeUntrusted, networkStatus, onAppeared, onIdentified, withNetwork, withoutNetwork, type Decision, type GuardView, type SeenNetwork } from './trusted-networks.js';
import type { TunnelDriver } from './tunnel-driver.js';
import type { Target } from './tunnel-state/types.js';

export interface NetworkGuardDeps {
  /** The rules in the settings; undefined: trusted networks are off. */
  rules(): NetworkRules | undefined;
  saveRules(rules: NetworkRules): Promise<void>;
  driver: Pick<TunnelDriver, 'state' | 'dispatch' | 'wantsConnection' | 'emit'>;
  /** Whether the user asked for the connection (the state store's desired state). */
  userWants(): boolean;
  /** What the rules connect to: the last server used; undefined when there is none. */
  target(): Target | undefined;
  identify(): Promise<NetworkIdentity | undefined>;
  watch(o: { onAppeared(): void; onSettled(onlyNeighbours: boolean): void }): { stop(): void };
  log(line: string): void;
}

const HOLD = 'untrusted-network';

export class NetworkGuard {
  private watcher: { stop(): void } | undefined;
  private current: (SeenNetwork & { device?: string | undefined }) | undefined;
  private forcedValue = false;
  private appeared = false;
  /** Bumped by every change: an identification started before the latest change is stale. */
  private generation = 0;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  constructor(private readonly deps: NetworkGuardDeps) {
    // Until the first identification: forced wherever the rules could make the network untrusted.
    const rules = deps.rules();
    this.forcedValue = rules !== undefined && mayBeUntrusted(rules);
  }

  /** Whether the kill switch is forced on (an untrusted network, or one not identified yet). */
  get forced(): boolean {
    return this.forcedValue;
  }

  /** Starts watching when the rules are on (and identifies the network now); stops when they are off. */
  async sync(): Promise<void> {
    const on = this.deps.rules() !== undefined;
    if (on && !this.watcher) {
      this.watcher = this.deps.watch({ onAppeared: () => void this.appearedNow(), onSettled: (only) => this.settleSoon(only) });
      // Whatever network the machine is on is new to this guard: blocked (if it may be untrusted) until identified.
      await this.appearedNow();
      this.settleSoon(false);
    } else if (!on && this.watcher) {
      this.watcher.stop();
      this.watcher = undefined;
      this.current = undefined;
      await this.apply({ action: 'release', force: false, ask: false });
    } else if (on) {
      this.settleSoon(false);
    }
    await this.chain;
  }

  stop(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  /** Status with the network the machine is on, when known. */
  decorate(s: TunnelStatus): TunnelStatus {
    const rules = this.deps.rules();
    return rules && this.current ? { ...s, network: networkStatus(rules, this.current) } : s;
  }

  async setNetwork(p: Params<'setNetwork'>): Promise<NetworkRules> {
    const rules = this.deps.rules() ?? { unseen: 'untrusted' as NetworkRule, known: [] };
    const network = p.key === 'current' ? this.current : (rules.known.find((n) => n.key === p.key) ?? (this.current?.key === p.key ? this.current : undefined));
    if (!network) {
      throw new RpcError(
        ErrorCode.NotFound,
        p.key === 'current' ? 'the network this machine is on is not known yet (trusted networks off, offline, or not identified): see umbra networks' : `no network "${p.key}": umbra networks lists them`,
      );
    }
    const next = p.forget ? withoutNetwork(rules, network.key) : withNetwork(rules, network, { ...(p.rule ? { rule: p.rule } : {}), ...(p.name ? { name: p.name } : {}) });
    if (!next) {
      throw new RpcError(ErrorCode.InvalidParams, `${rules.known.length} networks have rules of their own, the most Umbra keeps: forget one first (umbra networks forget KEY)`);
    }
    await this.deps.saveRules(next);
    // A new rule for the network the machine is on is acted on as if it had just arrived there
    // (untrusted connects, even after the user's own disconnect there).
    if (network.key === this.current?.key && (p.rule !== undefined || p.forget)) this.appeared = true;
    await this.sync();
    return next;
  }

  private view(rules: NetworkRules): GuardView {
    const wanted = !this.deps.driver.wantsConnection ? 'idle' : this.deps.userWants() ? 'user' : 'rules';
    return { rules, wanted, canConnect: this.deps.target() !== undefined };
  }

  private async appearedNow(): Promise<void> {
    const rules = this.deps.rules();
    if (!rules) return;
    this.generation++;
    this.appeared = true;
    await this.apply(onAppeared(this.view(rules)));
  }

  private settleSoon(onlyNeighbours: boolean): void {
    // A neighbour learnt matters only while the network is not known (the gateway's MAC came).
    if (onlyNeighbours && this.current) return;
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain.then(() => {
      this.queued = false;
      return this.identifyNow();
    }).catch((e: Error) => this.deps.log(`trusted networks: ${e.message}`));
  }

  private async identifyNow(): Promise<void> {
    const generation = this.generation;
    let id: NetworkIdentity | undefined;
    try {
      id = await this.deps.identify();
    } catch (e) {
      this.deps.log(`trusted networks: could not identify the network: ${(e as Error).message}`);
    }
    const rules = this.deps.rules();
    if (!rules || generation !== this.generation) return; // another change came: its settle follows
    const seen = id && { key: id.key, kind: id.kind, name: id.name, device: id.device };
    const moved = this.appeared || seen?.key !== this.current?.key;
    this.appeared = false;
    if (seen && seen.key !== this.current?.key) this.deps.log(`trusted networks: on "${networkStatus(rules, seen).name}" (${seen.key}), rule ${networkStatus(rules, seen).rule}`);
    this.current = seen;
    const decision = onIdentified(this.view(rules), seen, moved && seen !== undefined);
    if (decision.known) await this.deps.saveRules({ ...rules, known: decision.known });
    await this.apply(decision);
    this.deps.driver.emit();
  }

  private async apply(d: Decision): Promise<void> {
    const driver = this.deps.driver;
    if (d.force !== this.forcedValue) {
      this.forcedValue = d.force;
      // The states that want a connection take the kill switch from the settings, forced or not.
      if (driver.wantsConnection) await driver.dispatch({ type: 'policyChanged' });
    }
    const s = driver.state;
    switch (d.action) {
      case 'hold':
        if (s.name === 'disconnected' && s.hold === undefined) await driver.dispatch({ type: 'start', hold: HOLD });
        return;
      case 'release':
        if (s.name === 'disconnected' && s.hold === HOLD) await driver.dispatch({ type: 'start' });
        return;
      case 'connect': {
        const target = this.deps.target();
        if (!target) return this.apply({ ...d, action: 'hold' });
        this.deps.log(`trusted networks: an untrusted network; connecting to ${target.server.id}`);
        await driver.dispatch({ type: 'connect', target });
        return;
      }
      case 'reconnect':
        await driver.dispatch({ type: 'pathChanged' });
        return;
      case 'disconnect':
        this.deps.log('trusted networks: a trusted network; disconnecting the connection the rules made');
        await driver.dispatch({ type: 'disconnect' });
        return;
      case 'none':
        return;
    }
  }
}
