import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IpcError } from '../../helper/ipc/client.js';
import { ErrorCode, MAX_CATALOG_TEXT_BYTES, METHOD_NAMES, RpcError } from '../../helper/ipc/schema.js';
import {
  APP_METHOD_NAMES, CHANNELS, checkAppRequest, checkCallRequest, RENDERER_METHODS, toUmbraError, unreachableError,
} from './ipc-contract.js';

describe('channels and allowlist', () => {
  it('names the channels once, all distinct and namespaced', () => {
    const names = Object.values(CHANNELS);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^umbra:[a-z-]+$/);
    expect(CHANNELS).toMatchObject({ call: 'umbra:call', subscribe: 'umbra:subscribe', event: 'umbra:event', reachable: 'umbra:reachable' });
  });

  it('lets windows call every helper method but subscribe (which has its own channel)', () => {
    expect([...RENDERER_METHODS].sort()).toEqual(METHOD_NAMES.filter((m) => m !== 'subscribe').sort());
    expect(APP_METHOD_NAMES).toEqual(['getLaunchAtLogin', 'setLaunchAtLogin', 'listInstalledApps', 'listExcludedApps', 'addExcludedApp', 'removeExcludedApp', 'launchExcludedApp']);
  });
});

describe('the glue', () => {
  it('index.ts handles every channel a window sends on (events and reachability go the other way)', () => {
    const glue = readFileSync(new URL('./index.ts', import.meta.url), 'utf8');
    const handled = new Set([...glue.matchAll(/ipcMain\.(?:handle|on)\(CHANNELS\.(\w+)/g)].map((m) => m[1]));
    expect([...handled].sort()).toEqual(Object.keys(CHANNELS).filter((k) => k !== 'event' && k !== 'reachable').sort());
  });
});

describe('checkCallRequest', () => {
  it('passes valid requests, params parsed by the schema', () => {
    expect(checkCallRequest({ method: 'connect', params: { serverId: 'se-sto' } })).toEqual({ ok: true, value: { method: 'connect', params: { serverId: 'se-sto' } } });
    expect(checkCallRequest({ method: 'disconnect' })).toEqual({ ok: true, value: { method: 'disconnect', params: {} } });
    expect(checkCallRequest({ method: 'setSettings', params: { killSwitch: true } })).toMatchObject({ ok: true });
    expect(checkCallRequest({ method: 'loadCatalog', params: { url: 'https://catalog.example/servers.json' } })).toMatchObject({ ok: true });
  });

  it('refuses bad params with InvalidParams and a message that says what is wrong', () => {
    const r = checkCallRequest({ method: 'connect', params: { serverId: 'Not An Id' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(ErrorCode.InvalidParams);
    expect(r.error.message).toMatch(/^invalid params for connect: serverId: /);
    expect(Object.keys(r.error)).toEqual(['code', 'message']);
    expect(checkCallRequest({ method: 'setSettings', params: { killSwitch: 'yes' } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
    expect(checkCallRequest({ method: 'setSettings', params: { rootShell: true } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
    expect(checkCallRequest({ method: 'loadCatalog', params: { url: 'file:///etc/shadow' } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
    expect(checkCallRequest({ method: 'importConfig', params: { text: 'x'.repeat(70_000) } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
  });

  it('a window can hand the helper a catalog\'s text, never a path for it to open', () => {
    expect(checkCallRequest({ method: 'loadCatalog', params: { text: '{"servers": []}' } })).toMatchObject({ ok: true });
    expect(checkCallRequest({ method: 'loadCatalog', params: { text: ' '.repeat(MAX_CATALOG_TEXT_BYTES + 1) } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
    for (const file of ['/etc/shadow', '/home/u/catalog.json', '../../root/.ssh/id_ed25519']) {
      const r = checkCallRequest({ method: 'loadCatalog', params: { file } });
      expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
      if (!r.ok) expect(r.error.message).not.toContain(file);
    }
  });

  it('refuses unknown methods, subscribe, and anything not shaped { method, params }', () => {
    for (const method of ['shutdown', '__proto__', 'toString', 'constructor', '']) {
      expect(checkCallRequest({ method, params: {} }), method).toMatchObject({ ok: false, error: { code: ErrorCode.MethodNotFound } });
    }
    expect(checkCallRequest({ method: 'subscribe', params: {} })).toMatchObject({ ok: false, error: { code: ErrorCode.MethodNotFound, message: expect.stringContaining('umbra.subscribe()') } });
    for (const req of [null, 'connect', ['connect'], { params: {} }, { method: 7 }, { method: 'status', params: {}, extra: 1 }]) {
      expect(checkCallRequest(req), JSON.stringify(req)).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidRequest } });
    }
  });
});

describe('checkAppRequest', () => {
  it('checks the app-only methods', () => {
    expect(checkAppRequest({ method: 'getLaunchAtLogin', params: {} })).toEqual({ ok: true, value: { method: 'getLaunchAtLogin', params: {} } });
    expect(checkAppRequest({ method: 'setLaunchAtLogin', params: { enabled: true } })).toEqual({ ok: true, value: { method: 'setLaunchAtLogin', params: { enabled: true } } });
    expect(checkAppRequest({ method: 'setLaunchAtLogin', params: { enabled: 'yes' } })).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidParams } });
    expect(checkAppRequest({ method: 'connect', params: {} })).toMatchObject({ ok: false, error: { code: ErrorCode.MethodNotFound } });
    expect(checkAppRequest({ method: 'hasOwnProperty', params: {} })).toMatchObject({ ok: false, error: { code: ErrorCode.MethodNotFound } });
  });
});

describe('errors as values', () => {
  it('keeps the code and the message, nothing else', () => {
    expect(toUmbraError(new RpcError(ErrorCode.NoProfile, 'import a config first', { secret: 1 }))).toEqual({ code: ErrorCode.NoProfile, message: 'import a config first' });
    expect(toUmbraError(new IpcError('timeout', 'the helper did not answer'))).toEqual({ code: 'timeout', message: 'the helper did not answer' });
    expect(toUmbraError({ code: 'not-running', message: 'start it', stack: 'x' })).toEqual({ code: 'not-running', message: 'start it' });
    expect(toUmbraError(new Error('boom'))).toEqual({ code: 'error', message: 'boom' });
    expect(toUmbraError('plain')).toEqual({ code: 'error', message: 'plain' });
    expect(toUmbraError(undefined).message).toMatch(/gave no reason/);
  });

  it('classifies unreachability', () => {
    expect(unreachableError('the Umbra helper is not running (no socket at /x)').code).toBe('not-running');
    expect(unreachableError('permission denied on /x').code).toBe('permission-denied');
    expect(unreachableError('cannot reach the Umbra helper at /x: EIO')).toEqual({ code: 'unreachable', message: 'cannot reach the Umbra helper at /x: EIO' });
    expect(unreachableError(undefined)).toMatchObject({ code: 'not-running' });
  });
});
