import { describe, expect, it } from 'vitest';
import type { UmbraApi } from '../api.js';
import { READY_EVENT, resolveApi } from './resolve-api.js';

const fakeWindow = (search = '') => {
  const w = new EventTarget() as EventTarget & { umbra?: UmbraApi; location: { search: string } };
  w.location = { search };
  return w as unknown as Window;
};

describe('where window.umbra comes from', () => {
  it('the preload’s, when there is one (even with ?fake)', async () => {
    const w = fakeWindow('?fake');
    const real = { unsubscribe() {} } as unknown as UmbraApi;
    w.umbra = real;
    expect(await resolveApi(w)).toBe(real);
  });

  it('a bridge that arrives later says so with umbra:ready', async () => {
    const w = fakeWindow();
    const p = resolveApi(w, 5000);
    const real = { unsubscribe() {} } as unknown as UmbraApi;
    w.umbra = real;
    w.dispatchEvent(new Event(READY_EVENT));
    expect(await p).toBe(real);
  });

  it('none: null after the wait', async () => {
    expect(await resolveApi(fakeWindow(), 10)).toBeNull();
  });

  it('?fake without a bridge: the development fake', async () => {
    const api = await resolveApi(fakeWindow('?fake'));
    expect(typeof api?.subscribe).toBe('function');
  });
});
