// The attacker of the hostile-client suite (hostile-client.lab.test.ts): a small program the suite
// runs under another uid/gid (child_process's uid/gid options), which speaks the helper's protocol
// in raw frames (no client-side schema check stands between it and the helper) and writes what it
// saw as JSON lines on stdout: progress lines {"event": ...} and, last, {"report": ...}.
//
//   node hostile-client.js calls   '{"socket": P, "requests": [{"method": M, "params": X}], "timeoutMs": N}'
//   node hostile-client.js refused '{"socket": P, "count": N}'
//   node hostile-client.js flood   '{"socket": P, "count": N, "slowEvery": K, "announceAfterClosed": C}'   (until stdin ends)
//   node hostile-client.js app     '{"socket": P}'   (stdin lines "check"; until stdin ends)
import net from 'node:net';

interface Message {
  id?: unknown;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string; data?: { reason?: string } };
  params?: unknown;
}

const out = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

/** A connection that hands each line the helper sends, parsed, to `onMessage`. */
function open(socket: string, onMessage: (m: Message) => void): net.Socket {
  const s = net.connect(socket);
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() !== '') onMessage(JSON.parse(line) as Message);
    }
  });
  return s;
}

const line = (id: number, method: string, params?: unknown): string =>
  `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`;

/** Sends every request on one connection; reports the answers by id, the events and whether the helper hung up. */
function calls(a: { socket: string; requests: { method: string; params?: unknown }[]; timeoutMs?: number }): Promise<unknown> {
  return new Promise((resolve) => {
    const answers: Record<number, Message> = {};
    const unsolicited: Message[] = [];
    const events: unknown[] = [];
    let settled = false;
    const finish = (extra: Record<string, unknown>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ answers, unsolicited, events, ...extra });
    };
    const s = open(a.socket, (m) => {
      if (m.method === 'event') events.push(m.params);
      else if (typeof m.id === 'number') answers[m.id] = m;
      else unsolicited.push(m);
      if (Object.keys(answers).length === a.requests.length) finish({ eof: false });
    });
    const timer = setTimeout(() => finish({ timedOut: true }), a.timeoutMs ?? 30_000);
    s.on('connect', () => {
      a.requests.forEach((r, i) => s.write(line(i + 1, r.method, r.params)));
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish({ connectError: e.code }));
    s.on('end', () => finish({ eof: true }));
  });
}

/**
 * Opens `count` connections and keeps each open after connecting: reports how many the helper
 * answered with an error and then hung up on by itself (while this side still held them).
 */
function refused(a: { socket: string; count: number }): Promise<unknown> {
  return new Promise((resolve) => {
    const codes: Record<string, number> = {};
    const messages = new Set<string>();
    const sockets: net.Socket[] = [];
    let hungUpAfterError = 0;
    let done = 0;
    const settle = () => {
      if (++done < a.count) return;
      for (const s of sockets) s.destroy();
      resolve({ hungUpAfterError, codes, messages: [...messages] });
    };
    for (let i = 0; i < a.count; i++) {
      let gotError = false;
      let counted = false;
      const once = (f: () => void) => () => {
        if (counted) return;
        counted = true;
        f();
        settle();
      };
      const s = open(a.socket, (m) => {
        if (m.error) {
          gotError = true;
          codes[String(m.error.code)] = (codes[String(m.error.code)] ?? 0) + 1;
          messages.add(m.error.message);
        }
      });
      sockets.push(s);
      s.on('end', once(() => {
        if (gotError) hungUpAfterError++;
      }));
      s.on('error', (e: NodeJS.ErrnoException) => once(() => (codes[e.code ?? 'error'] = (codes[e.code ?? 'error'] ?? 0) + 1))());
    }
  });
}

/**
 * Keeps trying to hold `count` connections: every one the helper closes is opened again a second
 * later; every `slowEvery`-th sends garbage a few bytes at a time. Says "flooding" once all were
 * tried and the helper has closed `announceAfterClosed` of them; reports how they fared.
 */
function flood(a: { socket: string; count: number; slowEvery: number; announceAfterClosed: number }): void {
  const tally = { attempts: 0, connected: 0, closedByHelper: 0, reasons: {} as Record<string, number>, connectErrors: {} as Record<string, number> };
  const live = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };
  const start = (n: number): void => {
    if (stopping) return;
    tally.attempts++;
    const s = open(a.socket, (m) => {
      const reason = m.error?.data?.reason ?? (m.error ? String(m.error.code) : 'result');
      tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
    });
    s.on('connect', () => {
      tally.connected++;
      live.add(s);
      if (a.slowEvery > 0 && n % a.slowEvery === 0) dribble(s);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      tally.connectErrors[e.code ?? 'error'] = (tally.connectErrors[e.code ?? 'error'] ?? 0) + 1;
    });
    s.on('close', () => {
      const wasLive = live.delete(s);
      if (stopping) return;
      if (wasLive) tally.closedByHelper++;
      later(1000, () => start(n));
    });
  };
  const dribble = (s: net.Socket): void => {
    const garbage = '{"jsonrpc":"2.0","id":\u0000\u00ff not json\n';
    let i = 0;
    const step = () => {
      if (s.destroyed || stopping) return;
      s.write(garbage.slice(i % garbage.length, (i % garbage.length) + 3));
      i += 3;
      later(300, step);
    };
    step();
  };
  for (let n = 0; n < a.count; n++) start(n);
  const announce = () => {
    if (tally.attempts >= a.count && tally.closedByHelper >= a.announceAfterClosed) out({ event: 'flooding', ...tally });
    else later(50, announce);
  };
  announce();
  process.stdin.resume();
  process.stdin.on('end', () => {
    stopping = true;
    for (const t of timers) clearTimeout(t);
    const openAtEnd = live.size;
    for (const s of live) s.destroy();
    out({ report: { ...tally, openAtEnd } });
  });
}

/** The app's connection: subscribes, then answers "check" lines on stdin with a status call on the same connection. */
function app(a: { socket: string }): void {
  let nextId = 1;
  const waiting = new Map<number, (m: Message) => void>();
  let events = 0;
  let closedByHelper: Message | undefined;
  const s = open(a.socket, (m) => {
    if (m.method === 'event') events++;
    else if (typeof m.id === 'number') waiting.get(m.id)?.(m);
    else closedByHelper = m;
  });
  const call = (method: string): Promise<Message> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      s.write(line(id, method));
    });
  s.on('error', (e: NodeJS.ErrnoException) => out({ event: 'error', code: e.code }));
  s.on('connect', () => {
    void call('subscribe').then((m) => out({ event: 'subscribed', ok: m.result !== undefined, error: m.error }));
  });
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      buf = buf.slice(i + 1);
      const started = Date.now();
      void call('status').then((m) => out({ event: 'status', state: (m.result as { state?: string } | undefined)?.state, error: m.error, ms: Date.now() - started }));
    }
  });
  process.stdin.on('end', () => {
    out({ report: { events, closedByHelper: closedByHelper ?? null, open: !s.destroyed } });
    s.destroy();
  });
}

const [mode, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as never;
switch (mode) {
  case 'calls':
    void calls(args).then((report) => out({ report }));
    break;
  case 'refused':
    void refused(args).then((report) => out({ report }));
    break;
  case 'flood':
    flood(args);
    break;
  case 'app':
    app(args);
    break;
  default:
    process.stderr.write(`hostile-client: unknown mode ${String(mode)}: calls, refused, flood or app\n`);
    process.exitCode = 2;
}
