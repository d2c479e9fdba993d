import { describe, expect, it } from 'vitest';
import {
  encodeError, encodeNotification, encodeRequest, encodeResult, LineSplitter, parseClientLine, parseHelperLine,
} from './framing.js';
import { ErrorCode } from './schema.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('LineSplitter', () => {
  it('splits lines across and within chunks, dropping \\r and keeping empty lines', () => {
    const s = new LineSplitter(100);
    expect(s.push(bytes('ab'))).toEqual({ lines: [], overflow: false });
    expect(s.buffered).toBe(2);
    expect(s.push(bytes('c\r\nd\n\nef'))).toEqual({ lines: ['abc', 'd', ''], overflow: false });
    expect(s.push(bytes('\n'))).toEqual({ lines: ['ef'], overflow: false });
    expect(s.buffered).toBe(0);
  });

  it('decodes a multi-byte character split across chunks whole', () => {
    const s = new LineSplitter(100);
    const line = bytes('↓é😀\n');
    const out: string[] = [];
    for (const b of line) out.push(...s.push(Uint8Array.of(b)).lines);
    expect(out).toEqual(['↓é😀']);
  });

  it('accepts a line of exactly the limit and reports one byte more as soon as it is buffered', () => {
    const s = new LineSplitter(10);
    expect(s.push(bytes(`${'x'.repeat(10)}\n`)).lines).toEqual(['x'.repeat(10)]);
    expect(s.push(bytes('x'.repeat(10)))).toEqual({ lines: [], overflow: false });
    // No newline needed: the 11th byte of the unfinished line is enough.
    expect(s.push(bytes('x'))).toEqual({ lines: [], overflow: true });
    expect(s.buffered).toBe(0);
    // Sticky: nothing more is read or buffered.
    expect(s.push(bytes('ok\n'))).toEqual({ lines: [], overflow: true });
    expect(s.buffered).toBe(0);
  });

  it('returns the complete lines before an overflow in the same chunk', () => {
    const s = new LineSplitter(5);
    expect(s.push(bytes('one\ntwo\ntoolong\n'))).toEqual({ lines: ['one', 'two'], overflow: true });
  });

  it('counts bytes, not characters', () => {
    const s = new LineSplitter(4);
    expect(s.push(bytes('éé\n')).lines).toEqual(['éé']); // 4 bytes
    expect(s.push(bytes('ééé\n')).overflow).toBe(true); // 6 bytes
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new LineSplitter(0)).toThrow(RangeError);
  });
});

describe('parseClientLine', () => {
  it('parses requests and notifications', () => {
    expect(parseClientLine('{"jsonrpc":"2.0","id":1,"method":"status","params":{}}')).toEqual({ kind: 'request', id: 1, method: 'status', params: {} });
    expect(parseClientLine('{"jsonrpc":"2.0","id":"a","method":"status"}')).toEqual({ kind: 'request', id: 'a', method: 'status', params: undefined });
    expect(parseClientLine('{"jsonrpc":"2.0","id":null,"method":"status"}')).toEqual({ kind: 'request', id: null, method: 'status', params: undefined });
    expect(parseClientLine('{"jsonrpc":"2.0","method":"status","params":{}}')).toEqual({ kind: 'notification', method: 'status', params: {} });
    expect(parseClientLine('{"jsonrpc":"2.0","id":1,"method":"x","params":[1],"extra":true}')).toMatchObject({ kind: 'request', params: [1] });
  });

  it('answers invalid JSON with ParseError and id null', () => {
    const m = parseClientLine('{"jsonrpc":');
    expect(m).toMatchObject({ kind: 'invalid', id: null, error: { code: ErrorCode.ParseError } });
    if (m.kind === 'invalid') expect(m.error.message).toMatch(/not valid JSON.*"jsonrpc":"2.0"/);
  });

  it('answers batches with one InvalidRequest', () => {
    for (const line of ['[]', '[{"jsonrpc":"2.0","id":1,"method":"status"}]']) {
      expect(parseClientLine(line)).toMatchObject({ kind: 'invalid', id: null, error: { code: ErrorCode.InvalidRequest, message: expect.stringMatching(/batch requests are not supported/) } });
    }
  });

  it.each([
    ['1', null, /not a JSON-RPC request/],
    ['"status"', null, /not a JSON-RPC request/],
    ['null', null, /not a JSON-RPC request/],
    ['{"jsonrpc":"2.0","id":{},"method":"status"}', null, /"id" must be/],
    ['{"jsonrpc":"2.0","id":true,"method":"status"}', null, /"id" must be/],
    ['{"jsonrpc":"1.0","id":3,"method":"status"}', 3, /"jsonrpc" must be "2.0"/],
    ['{"id":3,"method":"status"}', 3, /"jsonrpc" must be "2.0"/],
    ['{"jsonrpc":"2.0","id":4}', 4, /"method" must be a non-empty string/],
    ['{"jsonrpc":"2.0","id":4,"method":7}', 4, /"method" must be a non-empty string/],
    ['{"jsonrpc":"2.0","id":5,"method":"status","params":"x"}', 5, /"params" must be an object/],
    ['{"jsonrpc":"2.0","id":5,"method":"status","params":null}', 5, /"params" must be an object/],
  ])('answers %s with InvalidRequest (id %s)', (line, id, message) => {
    const m = parseClientLine(line);
    expect(m).toMatchObject({ kind: 'invalid', id, error: { code: ErrorCode.InvalidRequest } });
    if (m.kind === 'invalid') expect(m.error.message).toMatch(message);
  });
});

describe('parseHelperLine', () => {
  it('parses results, errors and notifications', () => {
    expect(parseHelperLine('{"jsonrpc":"2.0","id":1,"result":{"a":1}}')).toEqual({ kind: 'result', id: 1, result: { a: 1 } });
    expect(parseHelperLine('{"jsonrpc":"2.0","id":1,"result":null}')).toEqual({ kind: 'result', id: 1, result: null });
    expect(parseHelperLine('{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"no"}}')).toEqual({ kind: 'error', id: 2, error: { code: -32601, message: 'no' } });
    expect(parseHelperLine('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"no","data":{"reason":"x"}}}')).toEqual({ kind: 'error', id: null, error: { code: -32001, message: 'no', data: { reason: 'x' } } });
    expect(parseHelperLine('{"jsonrpc":"2.0","method":"event","params":{"type":"status"}}')).toEqual({ kind: 'notification', method: 'event', params: { type: 'status' } });
  });

  it.each([
    ['nope', /not valid JSON/],
    ['[1]', /not a JSON object/],
    ['{"id":1,"result":1}', /"jsonrpc"/],
    ['{"jsonrpc":"2.0","id":1,"method":"x"}', /a request from the helper/],
    ['{"jsonrpc":"2.0","result":1}', /without a valid "id"/],
    ['{"jsonrpc":"2.0","id":1}', /neither/],
    ['{"jsonrpc":"2.0","id":null,"result":1}', /null "id"/],
    ['{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}', /not \{code, message\}/],
    ['{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}', /not \{code, message\}/],
  ])('flags %s as invalid', (line, problem) => {
    const m = parseHelperLine(line);
    expect(m.kind).toBe('invalid');
    if (m.kind === 'invalid') expect(m.problem).toMatch(problem);
  });
});

describe('encoders', () => {
  it('build one line each that the parsers read back', () => {
    const req = encodeRequest(7, 'connect', { serverId: 'se-sto' });
    expect(req.endsWith('\n')).toBe(true);
    expect(req.indexOf('\n')).toBe(req.length - 1);
    expect(parseClientLine(req.slice(0, -1))).toEqual({ kind: 'request', id: 7, method: 'connect', params: { serverId: 'se-sto' } });
    expect(parseHelperLine(encodeResult(7, { ok: 'a\nb' }).slice(0, -1))).toEqual({ kind: 'result', id: 7, result: { ok: 'a\nb' } });
    expect(parseHelperLine(encodeError(null, { code: -1, message: 'm' }).slice(0, -1))).toEqual({ kind: 'error', id: null, error: { code: -1, message: 'm' } });
    expect(JSON.parse(encodeError(1, { code: -1, message: 'm', data: undefined }))).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'm' } });
    expect(parseHelperLine(encodeNotification('event', { type: 'x' }).slice(0, -1))).toEqual({ kind: 'notification', method: 'event', params: { type: 'x' } });
  });

  it('refuses an undefined result and values JSON cannot hold', () => {
    expect(() => encodeResult(1, undefined)).toThrow(TypeError);
    expect(() => encodeResult(1, { n: 1n })).toThrow();
  });
});
