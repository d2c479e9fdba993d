import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection, CONNECT_TIMEOUT_MS, LOST_AFTER_MS, type BlockSpec, type ConnectionDeps, type TunnelHooks, type ConnectTarget } from './connection.js';
import { parseWgQuick } from '../config/wg-quick.js';
import type { TunnelStatus } from '../ipc/schema.js';
import type { TunnelPeerStatus } from '../tunnel/tunnel.js';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function target(id: string, endpoint: string): ConnectTarget {
  const config = parseWgQuick(`[Interface]\nPrivateKey = ${KEY}\nAddress = 100.64.1.2/32\nDNS = 100.64.0.53\n[Peer]\nPublicKey = ${PUB}\nEndpoint = ${endpoint}\nAllowedIPs = 0.0.0.0/0\n`);
  return { server: { id, name: id, endpoint, publicKey: PUB, source: 'import' }, config };
}

class World {
  log: string[] = [];
  statuses: TunnelStatus[] = [];
  policy = { killSwitch: true, allowLan: false };
  hooks: TunnelHooks[] = [];
  peer: TunnelPeerStatus = { rxBytes: 0, txBytes: 0, lastHandshakeAt: undefined, handshakeFailingSince: undefined };
  failStarts = 0;
  tunnels = 0;
  deps: ConnectionDeps = {
    resolve: async (ep) => ({ host: ep.host, port: ep.port, family: 4 }),
    startTunnel: async (_cfg, hooks) => {
      if (this.failStarts > 0) {
        this.failStarts--;
        this.log.push('start-failed');
        throw new Error('cannot create the TUN');
      }
      const n = this.tunnels++;
      this.log.push(`start umbra${n}`);
      this.hooks.push(hooks);
      return {
        interfaceName: `umbra${n}`,
        peerStatus: () => this.peer,
        rehandshake: () => this.log.push('rehandshake'),
        stop: async () => {
          this.log.push(`stop umbra${n}`);
          return [];
        },
      };
    },
    applyBlock: async (s: BlockSpec) => void this.log.push(`block if=${s.tunnelInterface ?? '-'} ep=${s.endpoints.map((e) => e.address).join(',')} dns=${s.dnsServers.join(',')} lan=${s.lanPrefixes.join(',')}`),
    removeBlock: async () => void this.log.push('unblock'),
    applyDns: async (c) => {
      this.log.push(`dns ${c.interfaceName} ${c.servers.join(',')}`);
      return () => void this.log.push('dns-undo');
    },
    lanPrefixes: async () => ['198.51.100.0/24'],
    fwmark: 0x756d,
    log: (l) => this.log.push(`log: ${l}`),
    now: () => Date.now(),
  };
  conn = new Connection(this.deps, () => this.policy, (s) => this.statuses.push(s));
  get state() {
    return this.conn.status().state;
  }
  handshake() {
    this.hooks.at(-1)!.onHandshake();
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Connection', () => {
  it('blocks before the tunnel exists, then allows it; connected only after a handshake', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    expect(w.state).toBe('connecting');
    expect(w.log).toEqual([
      'block if=- ep=203.0.113.2 dns=100.64.0.53 lan=',
      'start umbra0',
      'block if=umbra0 ep=203.0.113.2 dns=100.64.0.53 lan=',
      'dns umbra0 100.64.0.53',
    ]);
    expect(w.conn.status().blocked).toBe(true);
    w.handshake();
    expect(w.state).toBe('connected');
    expect(w.conn.status().connectedSince).toBeDefined();
  });

  it('without the kill switch nothing is blocked', async () => {
    const w = new World();
    w.policy.killSwitch = false;
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    expect(w.log.filter((l) => l.startsWith('block'))).toEqual([]);
    expect(w.conn.status().blocked).toBe(false);
  });

  it('a server that never answers turns into an error that keeps the block and keeps trying', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT_MS + 10);
    expect(w.state).toBe('error');
    expect(w.conn.status().error?.code).toBe('NO_HANDSHAKE');
    expect(w.conn.status().blocked).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(w.log.filter((l) => l === 'rehandshake').length).toBeGreaterThanOrEqual(2);
    expect(w.log).not.toContain('unblock');
    expect(w.statuses.some((s) => s.state === 'connected')).toBe(false);
    w.handshake();
    expect(w.state).toBe('connected');
    expect(w.conn.status().error).toBeUndefined();
  });

  it('a failing start retries from scratch with the block held', async () => {
    const w = new World();
    w.failStarts = 2;
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    expect(w.state).toBe('error');
    expect(w.conn.status().error?.code).toBe('START_FAILED');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(w.log.filter((l) => l === 'start-failed')).toHaveLength(2);
    expect(w.log).toContain('start umbra0');
    expect(w.log).not.toContain('unblock');
    w.handshake();
    expect(w.state).toBe('connected');
  });

  it('lost contact while connected becomes connecting (reconnecting), never a silent connected', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    w.peer = { ...w.peer, handshakeFailingSince: Date.now() };
    await vi.advanceTimersByTimeAsync(LOST_AFTER_MS + 1500);
    expect(w.state).toBe('connecting');
    expect(w.conn.status().error?.code).toBe('NO_RESPONSE');
    w.hooks.at(-1)!.onGiveUp();
    expect(w.state).toBe('error');
    expect(w.log).not.toContain('unblock');
  });

  it('switching servers goes straight to the new one and never lifts the block in between', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    w.log = [];
    await w.conn.connect(target('b', '203.0.113.18:51820'));
    expect(w.log).toEqual([
      'block if=umbra0 ep=203.0.113.2,203.0.113.18 dns=100.64.0.53 lan=',
      'stop umbra0',
      'dns-undo',
      'block if=- ep=203.0.113.18 dns=100.64.0.53 lan=',
      'start umbra1',
      'block if=umbra1 ep=203.0.113.18 dns=100.64.0.53 lan=',
      'dns umbra1 100.64.0.53',
    ]);
    expect(w.state).toBe('connecting');
    expect(w.conn.status().server?.id).toBe('b');
    // A late handshake from the old tunnel must not mark the new one connected.
    w.hooks[0]!.onHandshake();
    expect(w.state).toBe('connecting');
    w.handshake();
    expect(w.state).toBe('connected');
  });

  it('the user\'s disconnect removes the tunnel, then DNS, then the block', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    w.log = [];
    await w.conn.disconnect();
    expect(w.log).toEqual(['stop umbra0', 'dns-undo', 'unblock']);
    expect(w.state).toBe('disconnected');
    expect(w.conn.status().blocked).toBe(false);
    expect(w.statuses.map((s) => s.state).slice(-2)).toEqual(['disconnecting', 'disconnected']);
  });

  it('kill switch and allow-LAN changes apply to the kernel at once', async () => {
    const w = new World();
    w.policy.killSwitch = false;
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    w.policy = { killSwitch: true, allowLan: true };
    await w.conn.policyChanged();
    expect(w.log.at(-1)).toBe('block if=umbra0 ep=203.0.113.2 dns=100.64.0.53 lan=198.51.100.0/24');
    w.policy = { killSwitch: false, allowLan: true };
    await w.conn.policyChanged();
    expect(w.log.at(-1)).toBe('unblock');
  });

  it('a helper shutdown stops the tunnel but keeps the block (fail closed)', async () => {
    const w = new World();
    await w.conn.connect(target('a', '203.0.113.2:51820'));
    w.handshake();
    w.log = [];
    await w.conn.shutdown();
    expect(w.log).toEqual(['stop umbra0', 'dns-undo']);
  });
});
