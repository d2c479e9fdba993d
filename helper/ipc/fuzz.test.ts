// Fuzzes what the helper does with a client's bytes before any handler runs: the line splitter
// (any bytes, cut anywhere), the JSON-RPC envelope (any line) and params validation (every
// method's valid params, mutated, and params of any shape). None may throw, hang or keep memory;
// each answer is one the protocol allows, and small. The server end to end is server.fuzz.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fail, fuzz } from '../testing/fuzz-run.js';
import { hostileString, longRun, splitAt, toJsonText, withLongString } from '../testing/hostile-values.js';
import { encodeError, LineSplitter, parseClientLine, parseHelperLine } from './framing.js';
import { ErrorCode, HelperEvent, isMethodName, MAX_LINE_BYTES, methods, RpcError, type MethodName } from './schema.js';
import { hostileRequestText, VALID_REQUESTS } from './testing/hostile-requests.js';
import { validateEvent, validateParams, validateResult } from './validation.js';

/** Most an error reply to one bad line may take: it goes out for every line a client sends. */
const MAX_ERROR_REPLY_BYTES = 8 * 1024;

// ------------------------------------------------------------------ lines

/** What the splitter must do, written the slow and obvious way: the whole stream at once. */
function modelSplit(stream: Buffer, max: number): { lines: string[]; overflow: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = stream.indexOf(0x0a, start);
    const raw = stream.subarray(start, nl < 0 ? stream.length : nl);
    if (raw.length > max) return { lines, overflow: true };
    if (nl < 0) return { lines, overflow: false };
    const end = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.length - 1 : raw.length;
    lines.push(raw.toString('utf8', 0, end));
    start = nl + 1;
  }
}

// Bytes heavy in what matters to a splitter: newlines, CRs and UTF-8 sequences (whole and cut).
const byte = fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x0a, 0xc3, 0xa9, 0xf0, 0x9f, 0x99, 0x82, 0x80, 0xff, 0x00), fc.integer({ min: 0, max: 255 }));
const stream = fc.oneof(
  fc.array(byte, { maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.tuple(longRun(1, 5000), fc.array(byte, { maxLength: 20 })).map(([s, b]) => Buffer.concat([Buffer.from(s), Buffer.from(b)])),
);

describe('fuzz: the line splitter', () => {
  it('splits any bytes cut anywhere exactly as the whole stream splits, never holding more than the limit', async () => {
    const input = fc.record({
      stream,
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
      max: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 6000 })),
    });
    const report = await fuzz(input, ({ stream, cuts, max }) => {
      const splitter = new LineSplitter(max);
      const lines: string[] = [];
      let overflow = false;
      for (const chunk of splitAt(stream, cuts)) {
        const r = splitter.push(chunk);
        lines.push(...r.lines);
        if (overflow && (r.lines.length > 0 || !r.overflow)) fail('the splitter went on after an overflow');
        overflow = r.overflow;
        if (splitter.buffered > max) fail(`holds ${splitter.buffered} bytes, more than the limit ${max}`);
      }
      const want = modelSplit(stream, max);
      if (overflow !== want.overflow) fail(`overflow ${overflow}, the model says ${want.overflow}`);
      if (JSON.stringify(lines) !== JSON.stringify(want.lines)) fail(`lines ${JSON.stringify(lines).slice(0, 200)}, the model says ${JSON.stringify(want.lines).slice(0, 200)}`);
    }, { runs: 15_000, show: ({ stream, cuts, max }) => `max ${max}, cuts ${JSON.stringify(cuts)}, stream ${stream.toString('hex').slice(0, 200)} (${stream.length} bytes)` });
    expect(report.runs).toBeGreaterThan(0);
  }, 120_000);
});

// ------------------------------------------------------------------ the envelope and params

/** Checks one line as the server handles it: classify, look the method up, validate the params. */
function checkRequestLine(line: string): void {
  const msg = parseClientLine(line);
  if (msg.kind === 'invalid') {
    if (msg.error.code !== ErrorCode.ParseError && msg.error.code !== ErrorCode.InvalidRequest) fail(`an invalid line got code ${msg.error.code}`);
    const reply = encodeError(msg.id, msg.error);
    if (Buffer.byteLength(reply) > MAX_ERROR_REPLY_BYTES + idBytes(msg.id)) fail(`the error reply to an invalid line is ${reply.length} bytes`);
    return;
  }
  if (typeof msg.method !== 'string' || msg.method === '') fail('a request without a method got through');
  if (msg.params !== undefined && (msg.params === null || typeof msg.params !== 'object')) fail('params that are not an object got through');
  if (!isMethodName(msg.method)) return;
  checkParams(msg.method, msg.params, msg.kind === 'request' ? msg.id : null);
}

const idBytes = (id: unknown) => Buffer.byteLength(JSON.stringify(id) ?? '');

function checkParams(method: MethodName, params: unknown, id: string | number | null): void {
  const v = validateParams(method, params);
  if (v.ok) {
    // What passes is what the schema means: it passes again, and it can be answered as JSON.
    const again = methods[method].params.safeParse(v.value);
    if (!again.success) fail(`${method}: validated params fail validation again`);
    if (Object.getPrototypeOf(v.value) !== Object.prototype) fail(`${method}: validated params have another prototype`);
    JSON.stringify(v.value);
    return;
  }
  if (!(v.error instanceof RpcError) || v.error.code !== ErrorCode.InvalidParams) fail(`${method}: rejected with ${String(v.error)}`);
  const reply = encodeError(id, { code: v.error.code, message: v.error.message, data: v.error.data });
  if (Buffer.byteLength(reply) > MAX_ERROR_REPLY_BYTES + idBytes(id)) fail(`${method}: the InvalidParams reply is ${Buffer.byteLength(reply)} bytes (the bound is ${MAX_ERROR_REPLY_BYTES})`);
}

describe('fuzz: request lines', () => {
  it('any text as a line: classified, never thrown over, answered briefly', async () => {
    const line = fc.oneof(
      hostileString(MAX_LINE_BYTES),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', 'e', '-', '.', 'a', ' ', 'n', 't') , maxLength: 80 }),
    );
    await fuzz(line, checkRequestLine, { runs: 15_000 });
  }, 120_000);

  it('near-valid requests of every method: params validated, never thrown over, rejections answered briefly', async () => {
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).join();
    await fuzz(hostileRequestText({ maxHuge: 70_000 }), checkRequestLine, { runs: 25_000, show: (t) => `${t.slice(0, 300)}… (${t.length} characters)` });
    expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(protoBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);

  it('requests at the size limits: 64 KiB configs, 192 KiB catalogs, 256 KiB lines', async () => {
    await fuzz(withLongString(VALID_REQUESTS, 50_000, MAX_LINE_BYTES + 1024).map(toJsonText), checkRequestLine, {
      runs: 400,
      show: (t) => `${t.slice(0, 300)}… (${t.length} characters)`,
    });
  }, 120_000);
});

// ------------------------------------------------------------------ what a client reads

describe('fuzz: what a client reads from the helper', () => {
  it('any line, result or event: classified or rejected, never thrown over', async () => {
    const methodNames = Object.keys(methods) as MethodName[];
    const input = fc.tuple(hostileRequestText(), fc.constantFrom(...methodNames));
    await fuzz(input, ([text, method]) => {
      const msg = parseHelperLine(text);
      if (!['result', 'error', 'notification', 'invalid'].includes(msg.kind)) fail(`kind ${msg.kind}`);
      const value: unknown = JSON.parse(text);
      const params = (value as { params?: unknown } | null)?.params;
      const r = validateResult(method, params);
      if (r.ok && !methods[method].result.safeParse(r.value).success) fail('a validated result fails again');
      const e = validateEvent(params);
      if (e.ok && !HelperEvent.safeParse(e.value).success) fail('a validated event fails again');
    }, { runs: 5_000 });
  }, 120_000);
});
