import { describe, expect, it } from 'vitest';
import { formatKey, KeyError, parseKey } from './keys.js';

const PRIV = 'CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=';

describe('parseKey', () => {
  it('decodes 32 bytes', () => {
    expect(formatKey(parseKey(PRIV))).toBe(PRIV);
    expect(parseKey(PRIV)).toHaveLength(32);
    expect(parseKey('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toEqual(new Uint8Array(32));
  });
  it('rejects other lengths, alphabets and non-canonical encodings', () => {
    expect(() => parseKey(PRIV.slice(0, -1))).toThrow(KeyError);
    expect(() => parseKey(PRIV.slice(0, -1))).toThrow(/43 characters/);
    expect(() => parseKey(`${PRIV.slice(0, -1)}A`)).toThrow(/does not end in "="/);
    expect(() => parseKey(PRIV.replace('/', '_'))).toThrow(/not base64/);
    expect(() => parseKey('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=')).toThrow(/last character/);
    expect(() => parseKey(Buffer.alloc(33).toString('base64'))).toThrow(/does not end in "="/);
    expect(() => parseKey(Buffer.alloc(31).toString('base64'))).toThrow(/does not end in "="|44/);
  });
});
