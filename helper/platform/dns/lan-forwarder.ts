// The small DNS forwarder that LAN DNS (Settings.lanDns) points resolv.conf at while connected.
// It listens on a loopback address of its own (LAN_FORWARDER_ADDRESS, port 53, UDP and TCP) and
// sends each query, unchanged, to one upstream (lan-split.ts decides which):
//   - a name in or under the user's domains: the LAN servers, from a socket carrying the helper's
//     fwmark, so policy routing sends it by the main table (not the tunnel) and the kill switch
//     lets exactly that out (FirewallSpec.lanDnsServers);
//   - every other name: the tunnel's DNS servers, from an ordinary socket, routed into the tunnel.
// The first answer from the server asked, with the query's id, goes back unchanged. No cache.
// A malformed query is dropped (UDP) or ends its connection (TCP); a query nobody answers within
// the timeout goes to the next server of its list, then is dropped (the client retries).
// Upstream is always UDP, also for a TCP client (Node cannot mark a TCP socket before it
// connects): an answer too big for UDP reaches a TCP client with its TC bit set.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import type { Undo } from '../undo.js';
import { openUdpSocket } from '../udp/marked-socket.js';
import { messageId, upstreamFor, type Upstream } from './lan-split.js';

/** Not 127.0.0.53 (systemd-resolved's stub) nor 127.0.0.1 (a local resolver may own its port 53). */
export const LAN_FORWARDER_ADDRESS = '127.0.80.53';
const DNS_PORT = 53;
/** One try at one server. */
const TRY_TIMEOUT_MS = 2000;
/** Queries in flight at once; more are dropped (a local program cannot make the helper hold unbounded sockets). */
const MAX_IN_FLIGHT = 256;
/** A TCP client that sends nothing for this long is closed. */
const TCP_IDLE_MS = 10_000;

export interface LanForwarderOptions {
  domains: readonly string[];
  lanServers: readonly string[];
  tunnelServers: readonly string[];
  /** The helper's fwmark, on the sockets to the LAN servers. */
  fwmark: number;
  /** For tests: where to listen and which upstream port to use. */
  listen?: { address: string; port: number };
  upstreamPort?: number;
  /** For tests: opens an upstream socket (default: openUdpSocket, marked for the LAN). */
  openSocket?: (family: 4 | 6, mark: number | undefined) => Promise<UdpSocket>;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Starts the forwarder; the undo closes its sockets (queries in flight are abandoned). */
export async function startLanForwarder(o: LanForwarderOptions): Promise<Undo> {
  const listen = o.listen ?? { address: LAN_FORWARDER_ADDRESS, port: DNS_PORT };
  const port = o.upstreamPort ?? DNS_PORT;
  const timeoutMs = o.timeoutMs ?? TRY_TIMEOUT_MS;
  const open = o.openSocket ?? ((family, mark) => openUdpSocket({ family, bufferBytes: 0, ...(mark !== undefined ? { mark } : {}) }));
  const log = o.log ?? (() => {});
  const servers: Record<Upstream, readonly string[]> = { lan: o.lanServers, tunnel: o.tunnelServers };
  const upstreams = new Set<UdpSocket>();
  let inFlight = 0;
  let stopped = false;

  /** One server, one try: its answer with the query's id, or undefined. */
  async function ask(server: string, query: Uint8Array, mark: number | undefined): Promise<Uint8Array | undefined> {
    const sock = await open(isIP(server) === 6 ? 6 : 4, mark);
    upstreams.add(sock);
    const id = messageId(query);
    try {
      return await new Promise<Uint8Array | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        sock.on('message', (msg, from) => {
          if (from.address !== server || from.port !== port || messageId(msg) !== id) return;
          clearTimeout(timer);
          resolve(msg);
        });
        sock.on('error', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        sock.on('close', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        sock.send(query, port, server);
      });
    } finally {
      // stop() may have closed it already (a second close throws).
      if (upstreams.delete(sock)) sock.close();
    }
  }

  /** The answer to `query` from its upstream list, or undefined (malformed, too busy, no answer). */
  async function forward(query: Uint8Array): Promise<Uint8Array | undefined> {
    const where = upstreamFor(query, o.domains);
    if (!where || stopped || inFlight >= MAX_IN_FLIGHT) return undefined;
    inFlight++;
    try {
      for (const server of servers[where]) {
        const answer = await ask(server, query, where === 'lan' ? o.fwmark : undefined).catch((e: Error) => {
          log(`LAN DNS: asking ${server} failed: ${e.message}`);
          return undefined;
        });
        if (answer || stopped) return answer;
      }
      return undefined;
    } finally {
      inFlight--;
    }
  }

  const listener = createSocket({ type: isIP(listen.address) === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.bind({ address: listen.address, port: listen.port }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (e) => log(`LAN DNS: the UDP listener failed: ${e.message}`));
  listener.on('message', (msg, from) => {
    void forward(msg).then((answer) => {
      if (answer && !stopped) listener.send(answer, from.port, from.address);
    });
  });

  const clients = new Set<Socket>();
  const tcp: Server = createServer((conn) => serveTcp(conn, forward, clients));
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: listen.address, port: listen.port }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    listener.close();
    throw e;
  }

  return async () => {
    if (stopped) return;
    stopped = true;
    for (const s of upstreams) s.close();
    upstreams.clear();
    for (const c of clients) c.destroy();
    listener.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  };
}

/** DNS over TCP (RFC 1035 4.2.2, RFC 7766): 2-byte length, message; answers in any order. */
function serveTcp(conn: Socket, forward: (q: Uint8Array) => Promise<Uint8Array | undefined>, clients: Set<Socket>): void {
  clients.add(conn);
  conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
  conn.on('close', () => clients.delete(conn));
  conn.on('error', () => conn.destroy());
  let buffered = Buffer.alloc(0);
  conn.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (buffered.length < 2 + len) return;
      const query = buffered.subarray(2, 2 + len);
      buffered = buffered.subarray(2 + len);
      if (upstreamFor(query, []) === undefined) {
        conn.destroy();
        return;
      }
      void forward(query).then((answer) => {
        if (!answer || conn.destroyed) return;
        const framed = Buffer.alloc(2 + answer.length);
        framed.writeUInt16BE(answer.length, 0);
        framed.set(answer, 2);
        conn.write(framed);
      });
    }
  });
}
