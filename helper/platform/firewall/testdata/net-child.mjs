// A test child for the kill-switch lab (`ip netns exec <ns> node --import
// ../../tun/testdata/ts-register.mjs net-child.mjs`): echo servers on the router side, probes on
// the client side. One JSON command per stdin line, one JSON event per stdout line; every probe
// answers with {event: 'result', id, ...}. UDP probes use openUdpSocket (so they can carry a
// fwmark with SO_MARK); a send the firewall refuses fails with EPERM.
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';
import { openUdpSocket } from '../../udp/marked-socket.ts';

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const servers = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const commands = {
  /** UDP echo on each {address, port}; TCP echo on each port (all addresses). */
  async serve({ udp = [], tcp = [] }) {
    for (const { address, port } of udp) {
      const s = dgram.createSocket(net.isIPv6(address) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
      s.on('message', (msg, rinfo) => {
        emit({ event: 'udp-recv', address, port, payload: msg.toString(), from: rinfo.address });
        s.send(msg, rinfo.port, rinfo.address);
      });
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address, port }, resolve);
      });
      servers.push(s);
    }
    for (const port of tcp) {
      const srv = net.createServer((c) => {
        emit({ event: 'tcp-accept', port, from: c.remoteAddress });
        c.on('data', (d) => c.write(d));
        c.on('error', () => {});
      });
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host: '::', port, ipv6Only: false }, resolve);
      });
      servers.push(srv);
    }
    emit({ event: 'serving' });
  },

  /** UDP sockets that only record what arrives (udp-recv events), on each {address, port};
   *  `broadcast` lets send-from use them for a broadcast destination. */
  async listen({ udp = [] }) {
    for (const { address, port, broadcast = false } of udp) {
      const s = dgram.createSocket(net.isIPv6(address) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
      s.on('message', (msg, rinfo) => emit({ event: 'udp-recv', address, port, payload: msg.toString(), from: rinfo.address, fromPort: rinfo.port }));
      s.on('error', () => {});
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address, port }, resolve);
      });
      if (broadcast) s.setBroadcast(true);
      servers.push(s);
    }
    emit({ event: 'listening' });
  },

  /** One datagram from the socket that serve/listen bound to {address, port} (its source address and port). */
  async 'send-from'({ id, address, port, to, toPort, payload = id }) {
    const s = servers.find((x) => x instanceof dgram.Socket && x.address().address === address && x.address().port === port);
    if (!s) throw new Error(`no socket bound to ${address}:${port}`);
    const sendError = await new Promise((resolve) => s.send(payload, toPort, to, (err) => resolve(err ? err.code : null)));
    emit({ event: 'result', id, sendError });
  },

  /** One datagram; waits for the echo. sendError: the send's error code; reply: the echo or null. */
  async udp({ id, family = 4, to, port, payload = id, mark, timeoutMs = 600 }) {
    const s = await openUdpSocket({ family, mark, bufferBytes: 0 });
    try {
      const reply = new Promise((resolve) => {
        const t = setTimeout(() => resolve(null), timeoutMs);
        s.on('message', (msg, rinfo) => {
          clearTimeout(t);
          resolve({ payload: msg.toString(), from: rinfo.address, fromPort: rinfo.port });
        });
      });
      const sendError = await new Promise((resolve) => s.send(payload, port, to, (err) => resolve(err ? err.code : null)));
      emit({ event: 'result', id, sendError, reply: sendError ? null : await reply });
    } finally {
      s.close();
    }
  },

  /** A TCP connection that sends a line and waits for its echo. */
  async tcp({ id, to, port, timeoutMs = 1500 }) {
    const started = performance.now();
    const result = await new Promise((resolve) => {
      const c = net.connect({ host: to, port });
      const done = (r) => {
        clearTimeout(t);
        c.destroy();
        resolve({ ...r, ms: Math.round(performance.now() - started) });
      };
      const t = setTimeout(() => done({ error: 'TIMEOUT', reply: null }), timeoutMs);
      c.on('connect', () => c.write(`${id}\n`));
      c.on('data', (d) => done({ error: null, reply: d.toString().trim() }));
      c.on('error', (e) => done({ error: e.code ?? e.message, reply: null }));
    });
    emit({ event: 'result', id, ...result });
  },

  /** `count` datagrams, one every `intervalMs`, from one socket: counts send errors and echoes. */
  async stream({ id, family = 4, to, port, mark, count, intervalMs = 1 }) {
    const s = await openUdpSocket({ family, mark });
    const errors = {};
    let replies = 0;
    s.on('message', () => replies++);
    const sends = [];
    for (let i = 0; i < count; i++) {
      sends.push(new Promise((resolve) => s.send(`${id}-${i}`, port, to, (err) => {
        if (err) errors[err.code] = (errors[err.code] ?? 0) + 1;
        resolve();
      })));
      await sleep(intervalMs);
    }
    await Promise.all(sends);
    await sleep(300); // the last echoes
    s.close();
    emit({ event: 'result', id, sent: count, errors, replies });
  },
};

async function run(cmd) {
  try {
    const handler = commands[cmd.cmd];
    if (!handler) throw new Error(`unknown command ${cmd.cmd}`);
    await handler(cmd);
  } catch (err) {
    emit({ event: 'error', id: cmd.id, cmd: cmd.cmd, message: err.message, code: err.code });
  }
}

// Commands run concurrently (streams run while the test changes the firewall).
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => void run(JSON.parse(line)));
rl.on('close', () => {
  for (const s of servers) s.close();
});
emit({ event: 'ready', pid: process.pid });
