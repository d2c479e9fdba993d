// One round of leak-matrix probes, run inside the client's namespace (`ip netns exec … node
// probe-runner.mjs '<json>'`): every probe at once, each short, none retried. Prints one JSON line:
// [{id, outcome}] — outcome says what the probe saw (answered, timeout, EPERM: …) for the report;
// the capture on the router decides whether it leaked.
//
// Input: {"timeoutMs": 600, "token": "…", "sourcePortBase"?: n, "probes": [{"id", "kind", "address", "port"?}]}
// kinds: tcp, udp, icmp (the ping binary), dns-udp, dns-tcp (an A query for <token>.lab.test).
// sourcePortBase: probe n sends from local port base+n (TCP and UDP), so the capture can tell this
// round's packets from another's (the excluded app's round runs beside the ordinary one).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

const input = JSON.parse(process.argv[2] ?? '{}');
const timeoutMs = Number(input.timeoutMs ?? 600);
const base = Number.isInteger(input.sourcePortBase) ? input.sourcePortBase : undefined;
const token = String(input.token ?? 'probe').replace(/[^A-Za-z0-9-]/g, '').slice(0, 60) || 'probe';

const why = (e) => `${e.code ?? 'error'}: ${e.message}`;

/** A DNS query for A <label>.lab.test (RFC 1035 §4.1), recursion desired. */
function dnsQuery(label) {
  const id = Math.floor(Math.random() * 0x10000);
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const name = Buffer.concat([...[label, 'lab', 'test'].map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  return Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]);
}

function tcp(address, port, payload, localPort) {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, ...(localPort === undefined ? {} : { localPort }) });
    const done = (outcome) => {
      clearTimeout(timer);
      s.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('connect', () => {
      if (!payload) return done('connected');
      s.write(payload);
    });
    s.on('data', () => done('answered'));
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : why(e)));
  });
}

function udp(address, port, payload, localPort) {
  return new Promise((resolve) => {
    const s = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    const done = (outcome) => {
      clearTimeout(timer);
      s.close();
      resolve(outcome);
    };
    let sent = false;
    const timer = setTimeout(() => done(sent ? 'sent, no answer' : 'timeout'), timeoutMs);
    s.on('message', () => done('answered'));
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : why(e)));
    const send = () =>
      s.send(payload, port, address, (e) => {
        if (e) done(why(e));
        else sent = true;
      });
    if (localPort === undefined) send();
    else s.bind(localPort, send);
  });
}

function icmp(address) {
  return new Promise((resolve) => {
    // -W is whole seconds in older iputils; 1 s bounds the round.
    const child = spawn('ping', ['-n', '-c', '1', '-W', '1', address], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => (err += b.toString()));
    child.on('error', (e) => resolve(why(e)));
    child.on('close', (code) => resolve(code === 0 ? 'answered' : code === 1 ? 'no answer' : `ping: ${err.trim() || `exit ${code}`}`));
  });
}

function run(p, n) {
  const label = `${token}-${n}`;
  const from = base === undefined ? undefined : base + n;
  switch (p.kind) {
    case 'tcp':
      return tcp(p.address, p.port, undefined, from);
    case 'udp':
      return udp(p.address, p.port, Buffer.from(`umbra leak probe ${label}`), from);
    case 'icmp':
      return icmp(p.address);
    case 'dns-udp':
      return udp(p.address, p.port, dnsQuery(label), from);
    case 'dns-tcp': {
      const q = dnsQuery(label);
      const len = Buffer.from([q.length >> 8, q.length & 0xff]);
      return tcp(p.address, p.port, Buffer.concat([len, q]), from);
    }
    default:
      return Promise.resolve(`unknown probe kind ${p.kind}`);
  }
}

const probes = Array.isArray(input.probes) ? input.probes : [];
const outcomes = await Promise.all(probes.map((p, n) => run(p, n).then((outcome) => ({ id: p.id, outcome }))));
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
