// The addon's poller (startPollInto, kind 'tun': the plain TUN's reads) and argument checks,
// without root: a FIFO stands in for the TUN fd (any pollable fd works; a FIFO just does not keep
// packet boundaries). Child processes check that
// the process exits once the poller stops, and what happens to a callback's exception.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadNative, nativeAddonPath, type NativeAddon } from '../native.js';

let native: NativeAddon;
let dir: string;
let fifoCount = 0;
const openFds: number[] = [];
const handles: number[] = [];

function makeFifo(): string {
  const path = join(dir, `fifo${fifoCount++}`);
  execFileSync('mkfifo', [path]);
  return path;
}

/** A FIFO opened read-write and non-blocking: one fd to poll and to write test data into. */
function openFifo(path = makeFifo()): number {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  openFds.push(fd);
  return fd;
}

function closeQuietly(fd: number): void {
  const i = openFds.indexOf(fd);
  if (i >= 0) openFds.splice(i, 1);
  native.closeFd(fd);
}

/** Starts a TUN-kind poller on fd; `onBatch` gets the packets of each batch, copied. */
function poll(fd: number, onBatch: (packets: Buffer[]) => void, onError: (e: Error) => void = (e) => { throw e; }): number {
  const arena = new Uint8Array(ARENA);
  const meta = new Int32Array(2 * 16);
  return native.startPollInto(fd, 'tun', arena, 0, meta, (count) => {
    onBatch(Array.from({ length: count }, (_, i) => Buffer.from(arena.subarray(meta[2 * i]!, meta[2 * i]! + meta[2 * i + 1]!))));
  }, onError);
}

/** The smallest arena the addon takes for a TUN: one largest packet and its offload header. */
const ARENA = 65600;

/** The source of a child that loads the addon and polls the FIFO at `fifo` the same way. */
const childPoll = (fifo: string, onBatch: string) => `
      import { createRequire } from 'node:module';
      import { openSync, writeSync, constants } from 'node:fs';
      const native = createRequire(import.meta.url)(${JSON.stringify(nativeAddonPath())});
      const fd = openSync(${JSON.stringify(fifo)}, constants.O_RDWR | constants.O_NONBLOCK);
      const poll = (onBatch) => native.startPollInto(fd, 'tun', new Uint8Array(${ARENA}), 0, new Int32Array(32), onBatch, (e) => { throw e; });
      ${onBatch}
    `;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

/** Runs an ES module in a child node; resolves with its exit code, or 'timeout' (then kills it by pid). */
function runChild(source: string, timeoutMs: number): Promise<{ result: number | 'timeout'; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      const timedOut = code === null;
      clearTimeout(timer);
      resolve({ result: timedOut ? 'timeout' : code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  native = loadNative();
  dir = mkdtempSync(join(tmpdir(), 'umbra-poller-'));
});

afterEach(() => {
  for (const h of handles.splice(0)) native.stopPoll(h);
  for (const fd of openFds.splice(0)) closeSync(fd);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the native poller', () => {
  it('reads what is readable into the arena and describes it in meta (offset, length)', async () => {
    const fd = openFifo();
    const batches: Buffer[][] = [];
    handles.push(poll(fd, (packets) => batches.push(packets)));
    writeSync(fd, Buffer.from('first packet'));
    await until(() => batches.length > 0);
    expect(batches[0]!.map((b) => b.toString())).toEqual(['first packet']);
  });

  it('never calls back after stopPoll, and leaves unread data in the fd', async () => {
    const fd = openFifo();
    let calls = 0;
    const handle = poll(fd, () => calls++);
    writeSync(fd, 'one');
    await until(() => calls === 1);
    native.stopPoll(handle);
    native.stopPoll(handle); // twice is harmless
    writeSync(fd, 'two');
    await sleep(200);
    expect(calls).toBe(1);
    const buf = Buffer.alloc(16);
    expect(buf.subarray(0, readSync(fd, buf)).toString()).toBe('two');
  });

  it('a callback that stops its own poller is not called again', async () => {
    const fd = openFifo();
    let calls = 0;
    const handle: number = poll(fd, () => {
      calls++;
      native.stopPoll(handle);
    });
    writeSync(fd, 'a');
    await until(() => calls === 1);
    writeSync(fd, 'b');
    await sleep(200);
    expect(calls).toBe(1);
  });

  it('refuses a second poller on one fd, and closeFd stops the poller of the fd it closes', async () => {
    const fd = openFifo();
    let calls = 0;
    handles.push(poll(fd, () => calls++));
    expect(() => poll(fd, () => {})).toThrow(/already polled/);
    const next = makeFifo();
    closeQuietly(fd);
    // The fd number is free again; polling it anew works only if the old poller is gone.
    const again = openFifo(next);
    expect(again).toBe(fd);
    let newCalls = 0;
    handles.push(poll(again, () => newCalls++));
    writeSync(again, 'x');
    await until(() => newCalls === 1);
    expect(calls).toBe(0);
  });

  it('says why an fd cannot be polled', () => {
    const file = join(dir, 'regular');
    const fd = openSync(file, 'w');
    openFds.push(fd);
    expect(() => poll(fd, () => {})).toThrow(/cannot poll fd \d+/);
    expect(() => poll(987654, () => {})).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('lets the process exit once the poller is stopped, and keeps it alive while it runs', async () => {
    const fifo = join(dir, 'exit-fifo');
    execFileSync('mkfifo', [fifo]);
    const script = (stop: boolean) => childPoll(fifo, `
      const h = poll(() => {});
      ${stop ? 'native.stopPoll(h); native.closeFd(fd);' : ''}
    `);
    const [stopped, running] = await Promise.all([runChild(script(true), 5000), runChild(script(false), 1500)]);
    expect(stopped).toMatchObject({ result: 0, stderr: '' });
    expect(running.result).toBe('timeout');
  });

  it('turns an exception thrown by onBatch into an uncaught exception of the process', async () => {
    const fifo = join(dir, 'throw-fifo');
    execFileSync('mkfifo', [fifo]);
    const { result, stdout } = await runChild(childPoll(fifo, `
      process.on('uncaughtException', (e) => { console.log('caught:' + e.message); process.exit(7); });
      poll(() => { throw new Error('boom from onBatch'); });
      writeSync(fd, 'x');
    `), 5000);
    expect(result).toBe(7);
    expect(stdout).toContain('caught:boom from onBatch');
  });
});

describe('argument checks of the addon', () => {
  it('rejects bad fds, callbacks and packets with TypeError/RangeError instead of crashing', () => {
    const packet = [Buffer.alloc(20)];
    expect(() => native.writePackets(-1, packet)).toThrow(RangeError);
    expect(() => native.writePackets(1.5, packet)).toThrow(TypeError);
    expect(() => native.writePackets('3' as unknown as number, packet)).toThrow(TypeError);
    expect(() => native.writePackets(0, ['not bytes' as unknown as Uint8Array])).toThrow(/Buffer or Uint8Array/);
    expect(() => native.writePackets(0, [new Uint16Array(4) as unknown as Uint8Array])).toThrow(TypeError);
    expect(() => native.writePackets(0, [new Uint8Array(0)])).toThrow(/empty packet/);
    expect(() => native.writePackets(0, 'x' as unknown as Uint8Array[])).toThrow(TypeError);
    const arena = new Uint8Array(ARENA);
    const meta = new Int32Array(2);
    expect(() => native.startPollInto(0, 'tun', arena, 0, meta, 'x' as unknown as () => void, () => {})).toThrow(/onBatch must be a function/);
    expect(() => native.startPollInto(0, 'pipe' as 'tun', arena, 0, meta, () => {}, () => {})).toThrow(/kind must be/);
    expect(() => native.startPollInto(0, 'tun', new Uint8Array(1500), 0, meta, () => {}, () => {})).toThrow(/arena must hold/);
    expect(() => native.setSocketMark(0, 2 ** 32)).toThrow(RangeError);
    expect(() => native.setSocketMark(0, -1)).toThrow(RangeError);
    expect(() => native.stopPoll(12345)).not.toThrow();
  });

  it('reports a closed fd as EBADF with a readable message', () => {
    expect(() => native.closeFd(987654)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close', message: expect.stringMatching(/fd 987654 is not open/) }));
  });

  it('writes to a plain fd and counts a batch', () => {
    const fd = openFifo();
    expect(native.writePackets(fd, [Buffer.from('abc')])).toBe(1);
    expect(native.writePackets(fd, [Buffer.from('de'), new Uint8Array([0x66])])).toBe(2);
    const buf = Buffer.alloc(16);
    expect(buf.subarray(0, readSync(fd, buf)).toString()).toBe('abcdef');
  });

  it('counts 0 when the kernel would block (the packet is dropped), and ends a batch there', () => {
    const fd = openFifo();
    const chunk = Buffer.alloc(4096, 1);
    let full = false;
    while (!full) {
      try {
        writeSync(fd, chunk);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('EAGAIN');
        full = true;
      }
    }
    expect(native.writePackets(fd, [Buffer.alloc(100)])).toBe(0);
    expect(native.writePackets(fd, [Buffer.alloc(100), Buffer.alloc(100)])).toBe(0);
  });

  it('writes only the bytes a Uint8Array view covers', () => {
    const fd = openFifo();
    const backing = Buffer.from('xxPAYLOADyy');
    expect(native.writePackets(fd, [backing.subarray(2, 9)])).toBe(1);
    const buf = Buffer.alloc(16);
    expect(buf.subarray(0, readSync(fd, buf)).toString()).toBe('PAYLOAD');
  });
});
