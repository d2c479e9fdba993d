// The link monitor's parser against `ip -o monitor` output recorded in a namespace (testdata/ip-monitor.txt).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChangeTracker, parseMonitorLine, type NetChange } from './net-change.js';

const lines = readFileSync(join(import.meta.dirname, 'testdata', 'ip-monitor.txt'), 'utf8').split('\n').filter(Boolean);
const tunnel = (dev: string) => dev.startsWith('umbra') || dev === 'd1';

describe('parseMonitorLine', () => {
  it('reads links with their carrier, addresses, default routes and neighbours; nothing else', () => {
    const changes = lines.map((l) => parseMonitorLine(l, () => false)).filter((c): c is NetChange => c !== undefined);
    expect(changes).toContainEqual({ kind: 'link', dev: 'd0', up: true });
    expect(changes).toContainEqual({ kind: 'link', dev: 'd0', up: false });
    expect(changes).toContainEqual({ kind: 'address', dev: 'd0', deleted: false });
    expect(changes).toContainEqual({ kind: 'route', dev: 'd0', deleted: false });
    expect(changes).toContainEqual({ kind: 'route', dev: 'd0', deleted: true });
    expect(changes).toContainEqual({ kind: 'neigh', dev: 'd0' });
    // Local, broadcast, multicast and link-local routes, link-local addresses and multicast neighbours say nothing.
    expect(changes.filter((c) => c.kind === 'route')).toHaveLength(2);
    expect(changes.filter((c) => c.kind === 'address')).toEqual([{ kind: 'address', dev: 'd0', deleted: false }]);
    expect(changes.filter((c) => c.kind === 'neigh')).toHaveLength(1);
  });

  it('ignores the tunnel\'s devices and routes outside the main table', () => {
    expect(parseMonitorLine('default dev d1 table 51820 scope link ', () => false)).toBeUndefined();
    const d1 = lines.map((l) => parseMonitorLine(l, tunnel)).filter((c) => c !== undefined && 'dev' in c && c.dev === 'd1');
    expect(d1).toEqual([]);
    expect(parseMonitorLine('1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN', () => false)).toBeUndefined();
  });
});

describe('ChangeTracker', () => {
  it('a carrier coming up or a default route added may be a new network; a repeated line is not', () => {
    const t = new ChangeTracker();
    const seen = lines.map((l) => parseMonitorLine(l, () => false)).filter((c): c is NetChange => c !== undefined).map((c) => [c.kind, t.classify(c)]);
    expect(seen).toContainEqual(['link', 'appeared']);
    expect(seen).toContainEqual(['route', 'appeared']);
    expect(seen).toContainEqual(['route', 'settle']);
    expect(seen).toContainEqual(['neigh', 'neighbour']);
    expect(t.classify({ kind: 'link', dev: 'd0', up: false })).toBeUndefined(); // it was already down
    expect(t.classify({ kind: 'link', dev: 'd0', up: true })).toBe('appeared');
    expect(t.classify({ kind: 'link', dev: 'd0', up: true })).toBeUndefined();
  });
});
