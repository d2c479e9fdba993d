import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseWgQuick } from '../config/wg-quick.js';
import type { TunnelStatus } from '../ipc/schema.js';
import type { FirewallSpec, TableState } from '../platform/firewall/firewall.js';
import { bootSpec } from '../platform/firewall/ruleset.js';
import type { TunnelPeerStatus } from '../tunnel/tunnel.js';
import type { PathMtuShortfall } from '../tunnel/path-mtu.js';
import { QUIET_PROBE_AFTER } from '../wireguard/constants.js';
import { FirewallOwner } from './firewall-owner.js';
import { HEALTH_IDLE_MAX_MS, LOST_AFTER_MS, TunnelDriver, type DriverDeps, type TunnelHooks } from './tunnel-driver.js';
import type { Target } from './tunnel-state/types.js';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const FWMARK = 0x756d;

function target(id: string, endpoint: string, allowedIPs = '0.0.0.0/0'): Target {
  const config = parseWgQuick(`[Interface]\nPrivateKey = ${KEY}\nAddress = 100.64.1.2/32\nDNS = 100.64.0.53\n[Peer]\nPublicKey = ${PUB}\nEndpoint = ${endpoint}\nAllowedIPs = ${allowedIPs}\n`);
  return { server: { id, name: id, endpoint, publicKey: PUB, source: 'import' }, config };
}

const describeSpec = (s: FirewallSpec) =>
  `${s.block ? 'block' : 'guard'} if=${s.tunnelInterface ?? '-'} ep=${s.endpoints.map((e) => e.address).join(',') || '-'} lookups=${s.lookupResolvers.join(',') || '-'}`;

/** The world the driver acts on, as one ordered log of what it did. */
class World {
  log: string[] = [];
  statuses: TunnelStatus[] = [];
  settings = { killSwitch: true, allowLan: false };
  hooks: TunnelHooks[] = [];
  peer: TunnelPeerStatus = { rxBytes: 0, txBytes: 0, lastHandshakeAt: undefined, handshakeFailingSince: undefined };
  pathMtu: PathMtuShortfall | undefined;
  refuseFirewall = 0;
  /** Refuses this many of the firewalls that name a tunnel interface. */
  refuseTunnelFirewall = 0;
  /** Starts as the real tunnel does: calls onInterface once the TUN exists, the routes made beside it (else never). */
  tellInterface = false;
  /** The start fails after the TUN existed (its routes refused). */
  failRoutes = false;
  lookups: { host: string; answer: (address: string) => void; fail: (message: string) => void }[] = [];
  table: TableState = { present: false };
  owner = new FirewallOwner(
    {
      apply: async (spec) => {
        if (this.refuseFirewall > 0 || (this.refuseTunnelFirewall > 0 && spec.tunnelInterface !== undefined)) {
          if (this.refuseFirewall > 0) this.refuseFirewall--;
          else this.refuseTunnelFirewall--;
          this.log.push('firewall refused');
          throw new Error('nft: Operation not permitted');
        }
        this.table = { present: true, block: spec.block };
        this.log.push(describeSpec(spec));
      },
      remove: async () => {
        this.table = { present: false };
        this.log.push('no table');
      },
      read: async () => this.table,
    },
    bootSpec({ fwmark: FWMARK }),
    (l) => this.log.push(`log: ${l}`),
    () => this.driver.emit(),
  );
  deps: DriverDeps = {
    firewall: this.owner,
    resolve: (ep) =>
      new Promise((resolve, reject) => {
        this.log.push(`lookup ${ep.host}`);
        this.lookups.push({ host: ep.host, answer: (address) => resolve({ host: address, port: ep.port }), fail: (m) => reject(new Error(m)) });
      }),
    lookupResolvers: async () => ['203.0.113.251'],
    startTunnel: async (cfg, hooks) => {
      this.log.push(`start ${cfg.peers[0]!.endpoint!.host}`);
      this.hooks.push(hooks);
      if (this.tellInterface) {
        await hooks.onInterface('umbra0');
        if (this.failRoutes) throw new Error('RTNETLINK answers: File exists');
        this.log.push('routes made');
      }
      return {
        interfaceName: 'umbra0',
        peerStatus: () => this.peer,
        pathMtu: () => this.pathMtu,
        rehandshake: () => this.log.push('rehandshake'),
        stop: async () => {
          this.log.push('stop tunnel');
          return [];
        },
      };
    },
    applyDns: async (c) => {
      this.log.push(`dns ${c.servers.join(',')}`);
      return () => void this.log.push('dns restored');
    },
    settings: () => this.settings,
    fwmark: FWMARK,
    log: (l) => this.log.push(`log: ${l}`),
    now: () => Date.now(),
    onChange: (s) => this.statuses.push(s),
  };
  driver = new TunnelDriver(this.deps);
  get status() {
    return this.driver.status();
  }
  handshake() {
    this.hooks.at(-1)!.onHandshake();
  }
  /** Lets queued events (lookup answers, hooks) run. */
  settle() {
    return vi.advanceTimersByTimeAsync(0);
  }
  actions() {
    return this.log.filter((l) => !l.startsWith('log:'));
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('TunnelDriver', () => {
  it('puts the block in place before the lookup of a hostname endpoint, and lets only that lookup out', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', 'vpn.example.test:51820') });
    expect(w.actions()).toEqual(['block if=- ep=- lookups=203.0.113.251', 'lookup vpn.example.test']);
    expect(w.status).toMatchObject({ state: 'connecting', blocked: true, firewall: { wanted: 'block', kernel: 'block' } });
    w.lookups[0]!.answer('203.0.113.9');
    await w.settle();
    expect(w.actions().slice(2)).toEqual([
      'block if=- ep=203.0.113.9 lookups=203.0.113.251',
      'start 203.0.113.9',
      'dns 100.64.0.53',
      'block if=umbra0 ep=203.0.113.9 lookups=203.0.113.251',
    ]);
    w.handshake();
    await w.settle();
    expect(w.status).toMatchObject({ state: 'connected', interfaceName: 'umbra0', blocked: true });
  });

  it("the new tunnel's block goes in while its routes are made, before DNS and the first packet; its step sets nothing again", async () => {
    const w = new World();
    w.tellInterface = true;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.9:51820') });
    expect(w.actions()).toEqual([
      'block if=- ep=203.0.113.9 lookups=203.0.113.251',
      'start 203.0.113.9',
      'block if=umbra0 ep=203.0.113.9 lookups=203.0.113.251',
      'routes made',
      'dns 100.64.0.53',
    ]);
    expect(w.status).toMatchObject({ state: 'connecting', interfaceName: 'umbra0', firewall: { wanted: 'block', kernel: 'block' } });
    w.handshake();
    await w.settle();
    expect(w.status).toMatchObject({ state: 'connected', blocked: true });
    expect(w.actions()).toHaveLength(5);
  });

  it('without the kill switch the guard goes in as the tunnel starts; nothing is blocked before', async () => {
    const w = new World();
    w.settings = { killSwitch: false, allowLan: false };
    w.tellInterface = true;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.9:51820') });
    expect(w.actions()).toEqual(['start 203.0.113.9', 'guard if=umbra0 ep=203.0.113.9 lookups=-', 'routes made', 'dns 100.64.0.53']);
    expect(w.status).toMatchObject({ state: 'connecting', blocked: false, firewall: { wanted: 'guard', kernel: 'guard' } });
  });

  it("a firewall refused as the tunnel starts is set by tunnelUp's step, which reports it when refused again", async () => {
    const w = new World();
    w.tellInterface = true;
    w.refuseTunnelFirewall = 1;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.9:51820') });
    expect(w.actions()).toEqual([
      'block if=- ep=203.0.113.9 lookups=203.0.113.251',
      'start 203.0.113.9',
      'firewall refused',
      'routes made',
      'dns 100.64.0.53',
      'block if=umbra0 ep=203.0.113.9 lookups=203.0.113.251',
    ]);
    expect(w.status).toMatchObject({ state: 'connecting', interfaceName: 'umbra0', firewall: { kernel: 'block' } });
    await w.driver.dispatch({ type: 'disconnect' });
    w.refuseTunnelFirewall = 2;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.9:51820') });
    expect(w.status).toMatchObject({ state: 'error', blocked: true, error: { code: 'FIREWALL_FAILED' } });
  });

  it('a start that fails after its block went in falls back to the block without the tunnel', async () => {
    const w = new World();
    w.tellInterface = true;
    w.failRoutes = true;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.9:51820') });
    expect(w.actions()).toEqual([
      'block if=- ep=203.0.113.9 lookups=203.0.113.251',
      'start 203.0.113.9',
      'block if=umbra0 ep=203.0.113.9 lookups=203.0.113.251',
      'block if=- ep=203.0.113.9 lookups=203.0.113.251',
    ]);
    expect(w.status).toMatchObject({ state: 'error', blocked: true, error: { code: 'START_FAILED' } });
  });

  it("a connect reads the resolvers for its block while the caller saves the wish, once", async () => {
    const w = new World();
    let reads = 0;
    w.deps.lookupResolvers = async () => {
      reads++;
      w.log.push('read resolvers');
      return ['203.0.113.77'];
    };
    await w.driver.connect(target('a', 'vpn.example.test:51820'), async () => void w.log.push('saved'));
    expect(w.actions()).toEqual(['read resolvers', 'saved', 'block if=- ep=- lookups=203.0.113.77', 'lookup vpn.example.test']);
    expect(reads).toBe(1);
  });

  it("a connect whose save fails goes no further, and its read's failure is no unhandled rejection", async () => {
    const w = new World();
    w.deps.lookupResolvers = () => Promise.reject(new Error('resolvectl: not found'));
    await expect(w.driver.connect(target('a', '203.0.113.9:51820'), () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    await w.settle();
    expect(w.actions()).toEqual([]);
    expect(w.status.state).toBe('disconnected');
  });

  it('a name that cannot be resolved is an error with the block held', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', 'vpn.example.test:51820') });
    w.lookups[0]!.fail('vpn.example.test: no resolver answered');
    await w.settle();
    expect(w.status).toMatchObject({ state: 'error', blocked: true, error: { code: 'ENDPOINT_UNRESOLVABLE' } });
    expect(w.actions()).not.toContain('no table');
    // It tries again later, still under the block.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(w.lookups).toHaveLength(2);
    expect(w.status.blocked).toBe(true);
  });

  it('when the kernel refuses the firewall, nothing of the connect runs that could send a packet', async () => {
    const w = new World();
    w.refuseFirewall = 2;
    await w.driver.dispatch({ type: 'connect', target: target('a', 'vpn.example.test:51820') });
    expect(w.actions()).toEqual(['firewall refused', 'firewall refused']);
    expect(w.lookups).toHaveLength(0);
    expect(w.status).toMatchObject({ state: 'error', error: { code: 'FIREWALL_FAILED' }, blocked: false, firewall: { kernel: 'none' } });
    // No loop: the next try waits for the retry.
    await w.settle();
    expect(w.actions()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(w.actions().slice(2)).toEqual(['block if=- ep=- lookups=203.0.113.251', 'lookup vpn.example.test']);
  });

  it('an answer that arrives after the user disconnected starts nothing', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', 'vpn.example.test:51820') });
    await w.driver.dispatch({ type: 'disconnect' });
    w.lookups[0]!.answer('203.0.113.9');
    await w.settle();
    expect(w.actions()).toEqual(['block if=- ep=- lookups=203.0.113.251', 'lookup vpn.example.test', 'no table']);
    expect(w.status).toMatchObject({ state: 'disconnected', blocked: false, firewallActive: false });
  });

  it("the user's disconnect: the tunnel goes, then DNS, and the firewall last", async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    w.log = [];
    await w.driver.dispatch({ type: 'disconnect' });
    expect(w.actions()).toEqual(['stop tunnel', 'dns restored', 'no table']);
  });

  it('connected without the kill switch holds the guard, and IPv6 is refused for an IPv4-only tunnel', async () => {
    const w = new World();
    w.settings.killSwitch = false;
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    expect(w.owner.wanted).toMatchObject({ block: false, tunnelInterface: 'umbra0', tunnelAddresses: ['100.64.1.2'], tunnelsIpv6: false });
    w.handshake();
    await w.settle();
    expect(w.status).toMatchObject({ state: 'connected', blocked: false, firewallActive: true, firewall: { wanted: 'guard', kernel: 'guard' } });
  });

  it('unanswered initiations while connected: reconnecting, tunnel up, block held', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    w.peer = { ...w.peer, handshakeFailingSince: Date.now() };
    w.hooks.at(-1)!.onHandshakeStarted(); // no subscriber: the initiation alone arms the check
    await vi.advanceTimersByTimeAsync(LOST_AFTER_MS + 1_500);
    expect(w.status).toMatchObject({ state: 'reconnecting', interfaceName: 'umbra0', blocked: true });
    expect(w.actions()).toContain('rehandshake');
    w.peer = { ...w.peer, handshakeFailingSince: undefined };
    w.handshake();
    await w.settle();
    expect(w.status.state).toBe('connected');
  });

  it('connected with data unanswered for QUIET_PROBE_AFTER: status says since when, and only then', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    w.peer = { ...w.peer, quietSince: Date.now() - 500 };
    expect(w.status.noReplySince).toBeUndefined(); // a moment without a reply is normal
    const since = Date.now() - QUIET_PROBE_AFTER - 1_000;
    w.peer = { ...w.peer, quietSince: since };
    expect(w.status).toMatchObject({ state: 'connected', noReplySince: since });
  });

  it('status carries the tunnel\'s count of datagrams sent in fragments, and the path MTU, for a small path MTU', async () => {
    const w = new World();
    expect(w.status.pathMtuFragmented).toBeUndefined(); // no tunnel, no count
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    w.peer = { ...w.peer, pathMtuFragmented: 42 };
    expect(w.status).toMatchObject({ state: 'connected', pathMtuFragmented: 42 });
    expect(w.status.pathMtu).toBeUndefined(); // the path carries the packets: nothing to say
    w.pathMtu = { learnt: 1400, mtuThatFits: 1340 };
    expect(w.status.pathMtu).toEqual({ learnt: 1400, mtuThatFits: 1340 });
    expect(w.status.handshakeFloodDropped).toBeUndefined(); // none dropped: nothing to say
    w.peer = { ...w.peer, handshakeFloodDropped: 7 };
    expect(w.status.handshakeFloodDropped).toBe(7);
  });

  it('pushes status on change only: nothing while idle, the byte counters at most once a second', async () => {
    const w = new World();
    w.driver.setWatched(true);
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    const n = w.statuses.length;
    expect(w.statuses.at(-1)!.state).toBe('connected');
    await vi.advanceTimersByTimeAsync(10_000); // idle: ten health checks, nothing new to say
    expect(w.statuses.length).toBe(n);
    w.peer = { ...w.peer, rxBytes: 1000 };
    w.peer = { ...w.peer, rxBytes: 2000 };
    await vi.advanceTimersByTimeAsync(HEALTH_IDLE_MAX_MS); // idle, the check had backed off
    expect(w.statuses.length).toBe(n + 1);
    expect(w.statuses.at(-1)!.rxBytes).toBe(2000);
    w.driver.emit(); // asked to tell, with nothing changed
    expect(w.statuses.length).toBe(n + 1);
  });

  it('connected with no subscriber and every handshake answered: no health timer at all', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    const idle = vi.getTimerCount();
    w.driver.setWatched(true);
    expect(vi.getTimerCount()).toBe(idle + 1);
    w.driver.setWatched(false);
    expect(vi.getTimerCount()).toBe(idle);
    // Counters that change with no one to tell are not pushed; a subscriber gets them within a second.
    const n = w.statuses.length;
    w.peer = { ...w.peer, rxBytes: 500 };
    await vi.advanceTimersByTimeAsync(5_000);
    expect(w.statuses.length).toBe(n);
    w.driver.setWatched(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.statuses.at(-1)!.rxBytes).toBe(500);
  });

  it('a subscriber\'s check backs off while nothing changes, and is back to every second on a change', async () => {
    const w = new World();
    w.driver.setWatched(true);
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    await vi.advanceTimersByTimeAsync(30_000);
    const gap = async () => {
      const t = Date.now();
      await vi.advanceTimersToNextTimerAsync();
      return Date.now() - t;
    };
    expect(vi.getTimerCount()).toBe(1); // the health check only
    await gap(); // to the next check
    expect(await gap()).toBe(HEALTH_IDLE_MAX_MS);
    w.peer = { ...w.peer, rxBytes: 100 };
    await gap(); // the check that sees it
    expect(w.statuses.at(-1)!.rxBytes).toBe(100);
    w.peer = { ...w.peer, rxBytes: 200 };
    expect(await gap()).toBe(1_000);
    expect(w.statuses.at(-1)!.rxBytes).toBe(200);
  });

  it('an initiation answered stops the check it armed', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    const idle = vi.getTimerCount();
    w.peer = { ...w.peer, handshakeFailingSince: Date.now() }; // a rekey under way
    w.hooks.at(-1)!.onHandshakeStarted();
    expect(vi.getTimerCount()).toBe(idle + 1);
    w.peer = { ...w.peer, handshakeFailingSince: undefined };
    await vi.advanceTimersByTimeAsync(1_000);
    expect(vi.getTimerCount()).toBe(idle);
    expect(w.status.state).toBe('connected');
  });

  it('status says what the kernel holds, not what was wanted', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.owner.observe(false); // the watchdog found the table gone
    expect(w.status).toMatchObject({ blocked: false, firewallActive: false, firewall: { wanted: 'block', kernel: 'none' } });
    expect(w.statuses.at(-1)?.blocked).toBe(false);
  });

  it('a helper shutdown keeps a block (fail closed) and removes a guard', async () => {
    const blocked = new World();
    await blocked.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    await blocked.driver.shutdown();
    expect(blocked.actions().slice(-2)).toEqual(['stop tunnel', 'dns restored']);
    expect(blocked.table.present).toBe(true);

    const guarded = new World();
    guarded.settings.killSwitch = false;
    await guarded.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    await guarded.driver.shutdown();
    expect(guarded.actions().slice(-3)).toEqual(['stop tunnel', 'dns restored', 'no table']);
  });

  it('a held block at start stays until the user connects or disconnects', async () => {
    const w = new World();
    await w.driver.dispatch({ type: 'start', hold: 'boot' });
    expect(w.status).toMatchObject({ state: 'disconnected', hold: 'boot', blocked: true });
    await w.driver.dispatch({ type: 'disconnect' });
    expect(w.status).toMatchObject({ state: 'disconnected', blocked: false });
    expect(w.status.hold).toBeUndefined();
  });

  it('every status carries what decorate adds, and a change of it alone is pushed on emit', async () => {
    const w = new World();
    const known: { exit?: TunnelStatus['measuredExit'] } = {};
    w.deps.decorate = (s) => (known.exit ? { ...s, measuredExit: known.exit } : s);
    await w.driver.dispatch({ type: 'connect', target: target('a', '203.0.113.2:51820') });
    w.handshake();
    await w.settle();
    const pushed = w.statuses.length;
    w.driver.emit(); // nothing new: nothing pushed
    expect(w.statuses).toHaveLength(pushed);
    const extra = { state: 'measured', ipv4: '203.0.113.50', at: 1, matchesCatalog: null } as const;
    known.exit = extra;
    expect(w.status.measuredExit).toEqual(extra);
    w.driver.emit();
    expect(w.statuses).toHaveLength(pushed + 1);
    expect(w.statuses.at(-1)).toMatchObject({ state: 'connected', measuredExit: extra });
  });
});
