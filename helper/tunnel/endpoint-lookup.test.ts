// The endpoint lookups against fake DNS servers on 127.0.0.x (dgram sockets in the test), with the
// `port` override. Sockets are plain (unmarked) except in the one test of the default marked socket.
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeAddonPath } from '../platform/native.js';
import { buildResponse, readQuery, type BuiltRecord } from '../platform/dns/testdata/response-builder.js';
import { TYPE_A, TYPE_AAAA, TYPE_CNAME } from '../platform/dns/wire.js';
import { ENDPOINT_CACHE_FILE } from './endpoint-cache.js';
import { createEndpointLookup, EndpointUnresolvable, type EndpointLookupOptions } from './endpoint-lookup.js';

type Query = { id: number; name: string; type: number };
/** What a fake server does with a query: the datagrams to send back (none: stay silent). */
type Handler = (q: Query, n: number) => Uint8Array[];

interface FakeServer {
  address: string;
  queries: Query[];
  socket: dgram.Socket;
  /** Where the last query came from. */
  lastFrom?: dgram.RemoteInfo;
}

let dir: string;
const sockets: dgram.Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-eplookup-'));
});
afterEach(async () => {
  for (const s of sockets.splice(0)) {
    try {
      s.close();
    } catch {
      // already closed (the lookup closes its own sockets)
    }
  }
  await rm(dir, { recursive: true, force: true });
});

async function bindUdp(address: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address, port }, () => resolve());
  });
  return s;
}

/** A fake resolver at `address` (on `port`, or a free one); the handler answers each query. */
async function fakeServer(address: string, handler: Handler, port = 0): Promise<FakeServer> {
  const socket = await bindUdp(address, port);
  const server: FakeServer = { address, queries: [], socket };
  socket.on('message', (msg, rinfo) => {
    const q = readQuery(msg);
    server.queries.push(q);
    server.lastFrom = rinfo;
    for (const out of handler(q, server.queries.length)) socket.send(out, rinfo.port, rinfo.address);
  });
  return server;
}

const portOf = (s: FakeServer) => s.socket.address().port;

/** A normal answer to `q` with these records (owner names default to the question's). */
function reply(q: Query, records: (Omit<BuiltRecord, 'name'> & { name?: BuiltRecord['name'] })[], extra: { rcode?: number; id?: number; name?: string } = {}): Uint8Array {
  return buildResponse({
    id: extra.id ?? q.id,
    rcode: extra.rcode ?? 0,
    question: { name: extra.name ?? q.name, type: q.type },
    answers: records.map((r) => ({ name: q.name, ...r })),
  });
}

/** A and AAAA from tables (type -> addresses); other types and missing entries: no records. */
const zone =
  (a: string[], aaaa: string[]): Handler =>
  (q) => [reply(q, (q.type === TYPE_A ? a : q.type === TYPE_AAAA ? aaaa : []).map((address) => ({ type: q.type, address })))];

function lookup(servers: FakeServer[], more: Partial<EndpointLookupOptions> = {}) {
  return createEndpointLookup({
    stateDir: dir,
    fwmark: 0x756d,
    resolvConfPath: join(dir, 'resolv.conf'),
    resolversOverride: servers.map((s) => s.address),
    port: servers[0] ? portOf(servers[0]) : 1,
    timeoutMs: 400,
    openSocket: () => bindUdp('127.0.0.1'),
    ...more,
  });
}

const EP = { host: 'vpn.example.com', port: 51820 };

describe('createEndpointLookup: resolve', () => {
  it('returns IP literals at once, without any I/O', async () => {
    const l = lookup([], { resolversOverride: ['127.0.0.1'], openSocket: () => Promise.reject(new Error('no I/O expected')) });
    expect(await l.resolve({ host: '203.0.113.7', port: 1 })).toEqual({ host: '203.0.113.7', port: 1, family: 4 });
    expect(await l.resolve({ host: '2001:db8::7', port: 2 })).toEqual({ host: '2001:db8::7', port: 2, family: 6 });
    expect(existsSync(join(dir, ENDPOINT_CACHE_FILE))).toBe(false);
  });

  it('prefers A over AAAA, asks both from one random source port, and remembers the answer (0600)', async () => {
    const s = await fakeServer('127.0.0.1', zone(['198.51.100.7'], ['2001:db8::7']));
    const r = await lookup([s]).resolve(EP);
    expect(r).toEqual({ host: '198.51.100.7', port: 51820, family: 4 });
    expect(s.queries.map((q) => [q.name, q.type]).sort()).toEqual([['vpn.example.com', TYPE_A], ['vpn.example.com', TYPE_AAAA]].sort());
    expect(s.queries[0]!.id).not.toBe(s.queries[1]!.id);
    const path = join(dir, ENDPOINT_CACHE_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8')).hosts['vpn.example.com']).toMatchObject({ address: '198.51.100.7', family: 4 });
  });

  it('uses AAAA when only AAAA exists', async () => {
    const s = await fakeServer('127.0.0.1', zone([], ['2001:db8:0:0::9']));
    expect(await lookup([s]).resolve(EP)).toEqual({ host: '2001:db8::9', port: 51820, family: 6 });
  });

  it('follows CNAMEs inside the answer', async () => {
    const s = await fakeServer('127.0.0.1', (q) => [
      reply(q, [
        { type: TYPE_CNAME, target: 'edge.cdn.test' },
        { name: 'edge.cdn.test', type: TYPE_CNAME, target: 'pop.cdn.test' },
        ...(q.type === TYPE_A ? [{ name: 'pop.cdn.test', type: TYPE_A, address: '198.51.100.44' }] : []),
      ]),
    ]);
    expect((await lookup([s]).resolve({ host: 'VPN.Example.COM.', port: 1 })).host).toBe('198.51.100.44');
    expect(s.queries.every((q) => q.name === 'vpn.example.com')).toBe(true);
  });

  it('ignores wrong ids, wrong questions, garbage and datagrams from another source address or port', async () => {
    const spoofer = await bindUdp('127.0.0.1');
    // Bound first, so that the resolver can take the same port on its own address.
    const otherAddress = await bindUdp('127.0.0.9');
    const s = await fakeServer('127.0.0.1', (q) => {
      if (q.type !== TYPE_A) return [reply(q, [])];
      const lie = (extra: { id?: number; name?: string }) => reply(q, [{ type: TYPE_A, address: '203.0.113.66' }], extra);
      // The right id and question, but from another port of the same address, and from the
      // resolver's port on another address.
      spoofer.send(lie({}), s.lastFrom!.port, '127.0.0.1');
      otherAddress.send(lie({}), s.lastFrom!.port, '127.0.0.1');
      return [lie({ id: (q.id + 1) & 0xffff }), lie({ name: 'evil.example.com' }), Uint8Array.of(1, 2, 3), reply(q, [{ type: TYPE_A, address: '198.51.100.8' }])];
    }, otherAddress.address().port);
    // The genuine answer comes last: every lie before it had to be ignored.
    expect((await lookup([s]).resolve(EP)).host).toBe('198.51.100.8');
  });

  it('asks the next resolver, and again those that were silent, while time is left', async () => {
    const silentOnce = await fakeServer('127.0.0.1', (q, n) => (n <= 2 ? [] : zone(['198.51.100.21'], [])(q, n)));
    const nx = await fakeServer('127.0.0.2', (q) => [reply(q, [], { rcode: 3 })], portOf(silentOnce));
    const r = await lookup([silentOnce, nx], { timeoutMs: 300, totalTimeoutMs: 3000 }).resolve(EP);
    expect(r.host).toBe('198.51.100.21');
    expect(nx.queries.length).toBeGreaterThan(0);
  });

  it('throws EndpointUnresolvable saying which resolvers were asked and what each said', async () => {
    const nx = await fakeServer('127.0.0.1', (q) => [reply(q, [], { rcode: 3 })]);
    const silent = await fakeServer('127.0.0.2', () => [], portOf(nx));
    const refused = await fakeServer('127.0.0.3', (q) => [reply(q, [], { rcode: 5 })], portOf(nx));
    const empty = await fakeServer('127.0.0.4', (q) => [reply(q, [])], portOf(nx));
    const err = await lookup([nx, silent, refused, empty], { timeoutMs: 300, totalTimeoutMs: 4000 }).resolve(EP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointUnresolvable);
    const e = err as EndpointUnresolvable;
    expect(e.code).toBe('ENDPOINT_UNRESOLVABLE');
    expect(e.resolvers).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(e.message).toContain('"vpn.example.com"');
    expect(e.message).toContain('127.0.0.1 answered NXDOMAIN (no such name)');
    expect(e.message).toContain('127.0.0.2 did not answer within 300 ms');
    expect(e.message).toContain('127.0.0.3 answered REFUSED');
    expect(e.message).toContain('127.0.0.4 answered that the name has no IPv4 or IPv6 address');
    // The silent one was asked a second time.
    expect(e.answers.filter((a) => a.server === '127.0.0.2')).toHaveLength(2);
    expect(e.message).toMatch(/IP address in Endpoint/);
  });

  it('keeps within the total time, and says who was not asked', async () => {
    const first = await fakeServer('127.0.0.1', () => []);
    const second = await fakeServer('127.0.0.2', () => [], portOf(first));
    const third = await fakeServer('127.0.0.3', () => [], portOf(first));
    const started = Date.now();
    const err = (await lookup([first, second, third], { timeoutMs: 400, totalTimeoutMs: 600 }).resolve(EP).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(EndpointUnresolvable);
    expect(err.message).toContain('127.0.0.3 not asked');
    expect(third.queries).toEqual([]);
  });

  it('falls back to the last good address when a later lookup fails', async () => {
    let broken = false;
    const s = await fakeServer('127.0.0.1', (q, n) => (broken ? [reply(q, [], { rcode: 2 })] : zone(['198.51.100.30'], [])(q, n)));
    const lines: string[] = [];
    const l = lookup([s], { log: (line) => lines.push(line) });
    expect(await l.resolve(EP)).toEqual({ host: '198.51.100.30', port: 51820, family: 4 });
    broken = true;
    // A new lookup (as after a helper restart) reads the file.
    expect(await lookup([s], { log: (line) => lines.push(line) }).resolve({ ...EP, port: 1234 })).toEqual({ host: '198.51.100.30', port: 1234, family: 4, fromCache: true });
    expect(lines.join('\n')).toMatch(/SERVFAIL.*last good address 198\.51\.100\.30/);
    // Another name is not served from the cache.
    await expect(l.resolve({ host: 'other.example.com', port: 1 })).rejects.toThrow(EndpointUnresolvable);
  });

  it('ignores an unreadable cache file', async () => {
    await writeFile(join(dir, ENDPOINT_CACHE_FILE), '{"schemaVersion":1,"hosts":{"vpn.example.com":{"address":"not-ip","family":4,"resolvedAt":"x"}}}');
    const s = await fakeServer('127.0.0.1', (q) => [reply(q, [], { rcode: 2 })]);
    await expect(lookup([s]).resolve(EP)).rejects.toThrow(/127\.0\.0\.1 answered SERVFAIL/);
  });

  it('says so when the name is not a host name or no resolver is known', async () => {
    await expect(lookup([]).resolve({ host: 'bad name!', port: 1 })).rejects.toThrow(/"bad name!": it is not a valid host name/);
    await writeFile(join(dir, 'resolv.conf'), 'search lan\n');
    const l = lookup([], { resolversOverride: undefined });
    await expect(l.resolve(EP)).rejects.toThrow(/no DNS resolver of this system is known .*resolv\.conf/);
  });

  it('reports a send the socket refuses', async () => {
    const s = await fakeServer('127.0.0.1', zone(['198.51.100.1'], []));
    const err = (await lookup([s], { openSocket: () => Promise.reject(Object.assign(new Error('EPERM: setsockopt SO_MARK'), { code: 'EPERM' })) })
      .resolve(EP)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('127.0.0.1 could not be asked: no socket (EPERM: setsockopt SO_MARK)');
  });

  const canMark = process.getuid?.() === 0 && existsSync(nativeAddonPath());
  it.skipIf(!canMark)('by default asks from a socket that carries the fwmark (needs root and the native addon)', async () => {
    const s = await fakeServer('127.0.0.1', zone(['198.51.100.50'], []));
    const l = lookup([s], { openSocket: undefined });
    expect((await l.resolve(EP)).host).toBe('198.51.100.50');
  });
});

describe('createEndpointLookup: resolvers', () => {
  it('reads the system resolvers from resolv.conf, leaving out the tunnel DNS', async () => {
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 203.0.113.251\nnameserver 127.0.0.53\nnameserver 100.64.0.1\nnameserver 2001:DB8:f::251\n');
    const l = createEndpointLookup({ stateDir: dir, fwmark: 1, resolvConfPath: join(dir, 'resolv.conf'), excludeServers: () => ['100.64.0.1'] });
    expect(await l.resolvers()).toEqual(['203.0.113.251', '2001:db8:f::251']);
  });

  it('canonicalizes and deduplicates an override, and refuses what is not an address', async () => {
    const l = lookup([], { resolversOverride: ['2001:DB8::1', '2001:db8:0::1', '127.0.0.1'] });
    expect(await l.resolvers()).toEqual(['2001:db8::1', '127.0.0.1']);
    await expect(lookup([], { resolversOverride: ['dns.example'] }).resolvers()).rejects.toThrow(TypeError);
  });
});
