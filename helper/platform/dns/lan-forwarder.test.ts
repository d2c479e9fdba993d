// The forwarder on loopback ports of its own, with fake upstream servers on 127.0.0.2 (LAN) and
// 127.0.0.3 (tunnel): what goes where, with which mark, and that answers come back unchanged.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Undo } from '../undo.js';
import { startLanForwarder } from './lan-forwarder.js';
import { encodeQuery, parseResponseHead } from './wire.js';
import { buildResponse } from './testdata/response-builder.js';

const LAN = '127.0.0.2';
const TUNNEL = '127.0.0.3';
const MARK = 0x554d;

const bound = (address: string, port = 0): Promise<UdpSocket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address, port }, () => resolve(s));
  });

/** A fake DNS server: answers every query with an A record of its own address, and counts them. */
async function fakeServer(address: string, port: number) {
  const sock = await bound(address, port);
  const asked: string[] = [];
  sock.on('message', (msg, from) => {
    const id = (msg[0]! << 8) | msg[1]!;
    const name = decodeName(msg);
    asked.push(name);
    sock.send(buildResponse({ id, question: { name, type: 1 }, answers: [{ name, type: 1, address }] }), from.port, from.address);
  });
  return { sock, asked };
}

function decodeName(msg: Uint8Array): string {
  const labels: string[] = [];
  for (let o = 12; msg[o]! > 0; o += msg[o]! + 1) labels.push(Buffer.from(msg.subarray(o + 1, o + 1 + msg[o]!)).toString('latin1'));
  return labels.join('.');
}

const cleanups: (Undo | (() => void))[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const lan0 = await bound(LAN);
  const port = lan0.address().port;
  lan0.close();
  const lan = await fakeServer(LAN, port);
  const tunnel = await fakeServer(TUNNEL, port);
  cleanups.push(() => lan.sock.close(), () => tunnel.sock.close());
  const marks: (number | undefined)[] = [];
  const listen0 = await bound('127.0.0.1');
  const listenPort = listen0.address().port;
  listen0.close();
  const stop = await startLanForwarder({
    domains: ['corp.example'],
    lanServers: [LAN],
    tunnelServers: [TUNNEL],
    fwmark: MARK,
    listen: { address: '127.0.0.1', port: listenPort },
    upstreamPort: port,
    openSocket: async (_family, mark) => {
      marks.push(mark);
      return bound('127.0.0.1');
    },
  });
  cleanups.push(stop);
  return { lan, tunnel, marks, listenPort };
}

async function askUdp(port: number, query: Uint8Array): Promise<Uint8Array> {
  const c = await bound('127.0.0.1');
  cleanups.push(() => c.close());
  return new Promise((resolve) => {
    c.on('message', (m) => resolve(new Uint8Array(m)));
    c.send(query, port, '127.0.0.1');
  });
}

describe('LAN DNS forwarder', () => {
  it('sends a corp name to the LAN server from a marked socket, anything else to the tunnel from an unmarked one', async () => {
    const { lan, tunnel, marks, listenPort } = await setup();
    const a = parseResponseHead(await askUdp(listenPort, encodeQuery(0x1234, 'intranet.corp.example')));
    expect(a).toMatchObject({ id: 0x1234, qname: 'intranet.corp.example' });
    const b = parseResponseHead(await askUdp(listenPort, encodeQuery(0x4321, 'www.example.org')));
    expect(b).toMatchObject({ id: 0x4321, qname: 'www.example.org' });
    expect(lan.asked).toEqual(['intranet.corp.example']);
    expect(tunnel.asked).toEqual(['www.example.org']);
    expect(marks).toEqual([MARK, undefined]);
  });

  it('relays the answer byte for byte, over TCP too', async () => {
    const { lan, listenPort } = await setup();
    const query = encodeQuery(0x0a0b, 'db.corp.example');
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: listenPort }, () => {
        const framed = Buffer.alloc(2 + query.length);
        framed.writeUInt16BE(query.length, 0);
        framed.set(query, 2);
        s.write(framed);
      });
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
          s.destroy();
          resolve(got.subarray(2));
        }
      });
      s.on('error', reject);
    });
    const expected = buildResponse({ id: 0x0a0b, question: { name: 'db.corp.example', type: 1 }, answers: [{ name: 'db.corp.example', type: 1, address: LAN }] });
    expect(new Uint8Array(answer)).toEqual(expected);
    expect(lan.asked).toEqual(['db.corp.example']);
  });

  it('drops a malformed query: no upstream is asked, and the next query is still answered', async () => {
    const { lan, tunnel, marks, listenPort } = await setup();
    const c = await bound('127.0.0.1');
    cleanups.push(() => c.close());
    c.send(buildResponse({ id: 5, question: { name: 'x.corp.example', type: 1 } }), listenPort, '127.0.0.1');
    const ok = parseResponseHead(await askUdp(listenPort, encodeQuery(6, 'y.corp.example')));
    expect(ok.id).toBe(6);
    expect(lan.asked).toEqual(['y.corp.example']);
    expect(tunnel.asked).toEqual([]);
    expect(marks).toEqual([MARK]);
  });
});

describe('LAN DNS forwarder: stopping', () => {
  it('with a query in flight to a server that never answers: the socket closes, nothing is sent back, the port is free again', async () => {
    const silent = await bound(LAN);
    cleanups.push(() => silent.close());
    const got: string[] = [];
    silent.on('message', () => got.push('query'));
    const listen0 = await bound('127.0.0.1');
    const listenPort = listen0.address().port;
    listen0.close();
    const stop = await startLanForwarder({
      domains: ['corp.example'], lanServers: [LAN], tunnelServers: [TUNNEL], fwmark: MARK,
      listen: { address: '127.0.0.1', port: listenPort }, upstreamPort: silent.address().port, openSocket: async () => bound('127.0.0.1'),
    });
    const c = await bound('127.0.0.1');
    cleanups.push(() => c.close());
    const answers: Buffer[] = [];
    c.on('message', (m) => answers.push(m));
    c.send(encodeQuery(1, 'x.corp.example'), listenPort, '127.0.0.1');
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    await stop();
    await stop();
    const again = await bound('127.0.0.1', listenPort);
    again.close();
    expect(answers).toEqual([]);
  });
});
