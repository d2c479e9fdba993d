// A test child that runs inside a lab namespace (`ip netns exec <ns> node --import
// ./ts-register.mjs lab-child.mjs`) and drives the real TUN and UDP wrappers. It reads one JSON
// command per stdin line and writes one JSON event per stdout line (see lab-child.ts).
import readline from 'node:readline';
import { openTun } from '../tun-device.ts';
import { dgramSocketFd, openUdpSocket } from '../../udp/marked-socket.ts';
import { openBatchUdpSocket } from '../../udp/batch-socket.ts';
import { loadNative } from '../../native.ts';

const tuns = new Map();
const sockets = new Map();
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const commands = {
  'open-tun'({ id = 'tun', name, offload = true }) {
    const tun = openTun(name, { offload });
    tuns.set(id, tun);
    emit({ event: 'tun-opened', id, name: tun.name });
  },
  poll({ id = 'tun' }) {
    const tun = tuns.get(id);
    tun.onError((err) => emit({ event: 'tun-error', id, message: err.message, code: err.code }));
    // Each packet is a view valid only during the call: hex copies it.
    tun.onPackets((packets) => emit({ event: 'batch', id, packets: packets.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length).toString('hex')) }));
    emit({ event: 'polling', id });
  },
  write({ id = 'tun', hex }) {
    emit({ event: 'written', id, count: tuns.get(id).writeBatch([Buffer.from(hex, 'hex')]) });
  },
  'close-tun'({ id = 'tun' }) {
    const tun = tuns.get(id);
    tun.close();
    tun.close(); // idempotent
    let writeAfterClose = 'no error';
    try {
      tun.writeBatch([Buffer.alloc(20)]);
    } catch (err) {
      writeAfterClose = err.message;
    }
    emit({ event: 'tun-closed', id, closed: tun.closed, writeAfterClose });
  },
  async 'udp-open'({ id, family = 4, mark, address, port }) {
    const socket = await openUdpSocket({ family, mark, address, port });
    sockets.set(id, socket);
    socket.on('message', (msg, rinfo) =>
      emit({ event: 'udp-message', id, payload: msg.toString(), from: rinfo.address, fromPort: rinfo.port }));
    emit({
      event: 'udp-opened', id, port: socket.address().port,
      mark: loadNative().getSocketMark(dgramSocketFd(socket)),
      rcv: socket.getRecvBufferSize(), snd: socket.getSendBufferSize(),
    });
  },
  // The data path's socket (with this mark) asks the kernel the MTU of its route to `to`.
  'route-mtu'({ family = 4, mark, to }) {
    const socket = openBatchUdpSocket({ family, mark });
    try {
      emit({ event: 'route-mtu', mtu: socket.routeMtu({ host: to, port: 9 }) });
    } finally {
      socket.close();
    }
  },
  async 'udp-send'({ id, to, port, payload, count = 1 }) {
    const socket = sockets.get(id);
    // All sends are issued in one tick, so the kernel queues them before anything reads them.
    const results = await Promise.all(Array.from({ length: count }, (_, i) => new Promise((resolve) => {
      socket.send(count === 1 ? payload : `${payload}-${i}`, port, to, (err) => resolve(err ? err.code : null));
    })));
    emit({ event: 'udp-sent', id, errors: results.filter((r) => r !== null) });
  },
  // Closes everything this child holds except, with keepTun, the TUN devices; stdin is released
  // too, so only what is still open can keep the process alive.
  close({ keepTun = false }) {
    for (const socket of sockets.values()) socket.close();
    if (!keepTun) for (const tun of tuns.values()) tun.close();
    rl.close();
    process.stdin.destroy();
    emit({ event: 'closed' });
  },
};

async function run(cmd) {
  try {
    const handler = commands[cmd.cmd];
    if (!handler) throw new Error(`unknown command ${cmd.cmd}`);
    await handler(cmd);
  } catch (err) {
    emit({ event: 'error', cmd: cmd.cmd, id: cmd.id, name: err.name, message: err.message, code: err.code });
  }
}

// Commands run one after the other, in the order they came.
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = JSON.parse(line);
  queue = queue.then(() => run(cmd));
});
emit({ event: 'ready', pid: process.pid });
