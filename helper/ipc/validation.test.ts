import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from './schema.js';
import { issuePath, validateEvent, validateParams, validateResult } from './validation.js';

describe('validateParams', () => {
  it('takes absent params as {} and returns the parsed value', () => {
    expect(validateParams('status', undefined)).toEqual({ ok: true, value: {} });
    expect(validateParams('connect', { serverId: 'se-sto' })).toEqual({ ok: true, value: { serverId: 'se-sto' } });
  });

  it('says which field is wrong and why, as InvalidParams', () => {
    const r = validateParams('connect', { serverId: 'Not An Id' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(RpcError);
    expect(r.error.code).toBe(ErrorCode.InvalidParams);
    expect(r.error.message).toBe('invalid params for connect: serverId: ids are lowercase letters, digits, ".", "_" and "-"');
    expect(r.error.data).toEqual({ reason: 'invalid-params', issues: [{ path: 'serverId', message: 'ids are lowercase letters, digits, ".", "_" and "-"' }] });
  });

  it('names unknown fields, wrong types and the params themselves', () => {
    const unknown = validateParams('status', { verbose: true });
    expect(!unknown.ok && unknown.error.message).toMatch(/^invalid params for status: params: Unrecognized key: "verbose"$/);
    const type = validateParams('setSettings', { killSwitch: 'yes' });
    expect(!type.ok && type.error.message).toMatch(/killSwitch: Invalid input: expected boolean, received string/);
    const array = validateParams('status', [1]);
    expect(!array.ok && array.error.message).toMatch(/params: Invalid input: expected object, received array/);
  });

  it('spells out the branches of a union', () => {
    const r = validateParams('loadCatalog', { path: '/x' });
    expect(!r.ok && r.error.message).toMatch(/none of the accepted forms matched: \(1\) .*text.* or \(2\) .*url/);
  });

  it('keeps the reply small however many fields are wrong (found by fuzz.test.ts)', () => {
    // zod names every unknown key in one issue; 20,000 of them came back as a 200 KB reply.
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`unknown-field-${i}`, 1]));
    const unknown = validateParams('status', many);
    expect(!unknown.ok && JSON.stringify([unknown.error.message, unknown.error.data]).length).toBeLessThan(2000);
    const badEntries = validateParams('setSettings', { dnsServers: ['x', 'y', 'z', 'w'], stunServers: Array(8).fill('x'), echoUrls: Array(8).fill('x'), killSwitch: 1, allowLan: 1, autoConnect: 1 });
    expect(badEntries.ok).toBe(false);
    if (badEntries.ok) return;
    const data = badEntries.error.data as { issues: unknown[]; moreIssues?: number };
    expect(data.issues).toHaveLength(20);
    expect(data.moreIssues).toBeGreaterThan(0);
  });

  it('does not echo the values it rejects (importConfig text holds a private key)', () => {
    const secret = 'PrivateKey = SECRETSECRETSECRET';
    const r = validateParams('importConfig', { text: secret, name: 5 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.stringify([r.error.message, r.error.data])).not.toContain('SECRET');
  });
});

describe('validateResult and validateEvent', () => {
  it('passes good values and names the paths of bad ones', () => {
    expect(validateResult('version', { version: '1', protocol: 1 })).toEqual({ ok: true, value: { version: '1', protocol: 1 } });
    expect(validateResult('listServers', { servers: [{ id: 'x' }] })).toMatchObject({ ok: false, problem: expect.stringMatching(/servers\[0\]\.name: /) });
    expect(validateEvent({ type: 'nope' })).toMatchObject({ ok: false, problem: expect.stringMatching(/^type: /) });
    expect(validateEvent({ type: 'settings', settings: { killSwitch: true, killSwitchOnBoot: false, allowLan: false, autoConnect: false } }).ok).toBe(true);
  });

  it('formats paths', () => {
    expect(issuePath([], 'params')).toBe('params');
    expect(issuePath(['servers', 0, 'id'], 'x')).toBe('servers[0].id');
    expect(issuePath([0, 'a'], 'x')).toBe('[0].a');
  });
});
