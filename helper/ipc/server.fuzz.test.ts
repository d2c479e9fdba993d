// The IPC server end to end on a real Unix socket, with the fake helper behind it: connections
// send fuzzed byte streams (valid, near-valid and garbage lines, over-long lines, cut at any
// point, written in pieces). Each must get exactly the answers the framing says (one per request
// or bad line, none per notification; after an over-long line, that error and a close), every
// line it reads must be well-formed JSON-RPC, and a well-formed client must keep being answered
// throughout. The pure layers are fuzzed in fuzz.test.ts at far higher counts.
import fc from 'fast-check';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fail, fuzzAsync } from '../testing/fuzz-run.js';
import { longRun, splitAt } from '../testing/hostile-values.js';
import { encodeRequest, LineSplitter, parseClientLine, parseHelperLine, type HelperMessage } from './framing.js';
import { MAX_REPLY_LINE_BYTES } from './schema.js';
import { startIpcServer, type IpcServer } from './server.js';
import { FakeHelper } from './testing/fake-helper.js';
import { hostileRequestText } from './testing/hostile-requests.js';

/** Small, so that over-long lines are cheap to send; the limit is a parameter, its handling is not. */
const MAX_LINE = 16 * 1024;

let dir: string;
let server: IpcServer;
let fake: FakeHelper;
const bugs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ipc-fuzz-'));
  chmodSync(dir, 0o755);
  fake = new FakeHelper({ connectDelayMs: 1 });
  server = await startIpcServer({
    socketPath: join(dir, 'fuzz.sock'),
    handlers: fake.handlers,
    subscribe: fake.subscribe,
    group: 'nogroup',
    maxLineBytes: MAX_LINE,
    // The server logs when a result fails the schema ("BUG"): fuzzed params must never cause one.
    log: (line) => {
      if (/BUG|failed for/.test(line)) bugs.push(line);
    },
  });
});
afterAll(async () => {
  await server?.close();
  fake?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A connection that collects what the server sends, line by line. */
class Peer {
  readonly lines: string[] = [];
  private readonly splitter = new LineSplitter(MAX_REPLY_LINE_BYTES);
  closed = false;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.lines.push(...this.splitter.push(chunk).lines);
      this.wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(path: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path, () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }

  /** Waits until `done` holds, the server closes, or `ms` pass. */
  async until(done: () => boolean, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  responses(): HelperMessage[] {
    return this.lines.map(parseHelperLine).filter((m) => m.kind === 'result' || m.kind === 'error');
  }
}

/** What the server must answer for `stream`, read with its own line limit. */
function expectedAnswers(stream: Buffer): { ids: string[]; overflow: boolean } {
  const { lines, overflow } = new LineSplitter(MAX_LINE).push(stream);
  const ids: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const msg = parseClientLine(line);
    if (msg.kind !== 'notification') ids.push(JSON.stringify(msg.id));
  }
  return { ids, overflow };
}

const text = (a: fc.Arbitrary<string>) => a.map((t) => Buffer.from(t));
const line = fc.oneof(
  { weight: 6, arbitrary: text(hostileRequestText({ maxHuge: 2000 }).map((t) => `${t}\n`)) },
  { weight: 1, arbitrary: text(fc.constantFrom('\n', '\r\n', '   \n', 'not json\n', '[]\n', '{}\n', '{"jsonrpc":"2.0","method":"status"}\n')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: text(longRun(MAX_LINE - 8, MAX_LINE + 64, ['a', '{', ' '])) },
);
const session = fc.record({
  bytes: fc.array(line, { minLength: 1, maxLength: 8 }).map((ls) => Buffer.concat(ls)),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

describe('fuzz: the IPC server on a socket', () => {
  it('answers fuzzed streams as the framing says, and keeps answering a good client', async () => {
    const good = await Peer.open(server.address);
    let goodId = 0;
    const report = await fuzzAsync(session, async ({ bytes, cuts }) => {
      const peer = await Peer.open(server.address);
      try {
        for (const chunk of splitAt(bytes, cuts)) {
          peer.socket.write(chunk);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const want = expectedAnswers(bytes);
        if (want.overflow) {
          await peer.until(() => false);
          if (!peer.closed) fail('the server kept a connection open after an over-long line');
          const last = peer.responses().at(-1);
          if (last?.kind !== 'error' || (last.error.data as { reason?: string })?.reason !== 'line-too-long') fail(`the last answer after an over-long line was ${JSON.stringify(last)}`);
          if (peer.responses().length > want.ids.length + 1) fail('more answers than lines before an over-long line');
        } else {
          await peer.until(() => peer.responses().length >= want.ids.length);
          const got = peer.responses().map((m) => JSON.stringify((m as { id: unknown }).id));
          if (JSON.stringify([...got].sort()) !== JSON.stringify([...want.ids].sort())) {
            fail(`answered ids ${JSON.stringify(got).slice(0, 300)}, wanted ${JSON.stringify(want.ids).slice(0, 300)}`);
          }
        }
        const bad = peer.lines.find((l) => parseHelperLine(l).kind === 'invalid');
        if (bad !== undefined) fail(`the server sent a line that is not JSON-RPC: ${bad.slice(0, 200)}`);
      } finally {
        peer.socket.destroy();
      }
      // The well-formed client is still answered, and in time.
      const id = ++goodId;
      good.socket.write(encodeRequest(id, 'version', {}));
      await good.until(() => good.responses().some((m) => m.kind === 'result' && m.id === id), 3000);
      if (!good.responses().some((m) => m.kind === 'result' && m.id === id)) fail('the well-formed client got no answer after a fuzzed connection');
      good.lines.length = 0;
      fake.calls.length = 0; // the fake's record of calls is the test's, not the server's
    }, { runs: 600, maxMsPerInput: 6000 });
    expect(report.runs).toBeGreaterThan(0);
    expect(bugs).toEqual([]);
    // Every fuzzed connection is gone from the server's books; only the good client is left.
    const deadline = Date.now() + 3000;
    while (server.clientCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.clientCount).toBe(1);
    good.socket.destroy();
  }, 180_000);
});
