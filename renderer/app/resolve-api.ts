// Where `window.umbra` comes from. In Electron the preload sets it before any page script runs;
// in browser mode the same-origin bridge sets it (and, if it loads after the app, says so with
// the `umbra:ready` event). `?fake` loads the in-memory development fake instead, only when no
// real bridge is present, and only as a separate chunk that the real app path never loads.
import type { UmbraApi } from '../api.js';

export const READY_EVENT = 'umbra:ready';

export async function resolveApi(win: Window = window, waitMs = 3000): Promise<UmbraApi | null> {
  if (win.umbra) return win.umbra;
  const params = new URLSearchParams(win.location.search);
  if (params.has('fake')) {
    const { createFakeUmbra, makeManyServers } = await import('../dev/fake-umbra.js');
    const mode = params.get('fake') ?? '';
    const fake = createFakeUmbra({
      servers: mode === 'many' ? makeManyServers(300) : undefined,
      connectedTo: mode === 'connected' || mode === 'reconnecting' ? 'se-stockholm-1' : undefined,
      settings: mode === 'connected' || mode === 'reconnecting' ? { killSwitch: true } : undefined,
      reachable: mode !== 'down',
      failConnect: mode === 'error',
      latencyMs: 120,
    });
    // A silent server stays silent in ?fake=reconnecting, so the state can be looked at.
    if (mode === 'reconnecting') fake.control.silenceServer({ recover: false });
    return fake;
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      win.removeEventListener(READY_EVENT, done);
      resolve(win.umbra ?? null);
    };
    const timer = setTimeout(done, waitMs);
    win.addEventListener(READY_EVENT, done);
  });
}
