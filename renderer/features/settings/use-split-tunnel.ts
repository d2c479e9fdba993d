// Split tunnelling's state for the Settings section: the user's list of apps (from the window's
// host), the installed apps to add from (read when the picker opens), and what the helper says runs
// outside the VPN (listExcluded). Each is what its owner last answered; nothing is guessed, and
// after a launch or a move back the helper is asked again.
import { useCallback, useEffect, useRef, useState } from 'react';
import { toUmbraError, type DesktopAppInfo, type ExcludedApp, type Result, type UmbraApi, type UmbraError } from '../../api.js';

/** What the section needs of window.umbra. */
export interface SplitTunnelPort {
  call: UmbraApi['call'];
  apps: NonNullable<UmbraApi['splitApps']>;
}

type Running = Result<'listExcluded'>;

export interface SplitTunnelView {
  /** null until the host answers. */
  apps: ExcludedApp[] | null;
  /** null until the picker asked for them. */
  installed: DesktopAppInfo[] | null;
  /** null until the helper answers (or when it could not be asked). */
  running: Running | null;
  /** What is in flight: 'launch:<id>', 'remove:<id>', 'add:<id>', 'include:<pid>', 'installed'. */
  busy: ReadonlySet<string>;
  error: { title: string; error: UmbraError } | undefined;
  /** The last launch that worked, for a status line. */
  launched: string | null;
  loadInstalled(): Promise<void>;
  add(id: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  launch(app: ExcludedApp): Promise<void>;
  include(pid: number): Promise<void>;
  refreshRunning(): Promise<void>;
  dismiss(): void;
}

export function useSplitTunnel(port: SplitTunnelPort): SplitTunnelView {
  const [apps, setApps] = useState<ExcludedApp[] | null>(null);
  const [installed, setInstalled] = useState<DesktopAppInfo[] | null>(null);
  const [running, setRunning] = useState<Running | null>(null);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<SplitTunnelView['error']>(undefined);
  const [launched, setLaunched] = useState<string | null>(null);
  const live = useRef(true);

  /** Runs `work` marked busy as `key`; its rejection becomes the section's error under `title`. */
  const run = useCallback(async <T,>(key: string, title: string, work: () => Promise<T>): Promise<T | undefined> => {
    setBusy((b) => new Set(b).add(key));
    try {
      return await work();
    } catch (e) {
      if (live.current) setError({ title, error: toUmbraError(e) });
      return undefined;
    } finally {
      if (live.current) {
        setBusy((b) => {
          const next = new Set(b);
          next.delete(key);
          return next;
        });
      }
    }
  }, []);

  const refreshRunning = useCallback(async () => {
    const r = await run('running', 'Could not ask the helper which apps run outside the VPN', () => port.call('listExcluded', {}));
    if (r && live.current) setRunning(r);
  }, [port, run]);

  useEffect(() => {
    live.current = true;
    void run('apps', 'Could not read the list of apps', () => port.apps.listExcluded()).then((list) => {
      if (list && live.current) setApps(list);
    });
    void refreshRunning();
    return () => {
      live.current = false;
    };
  }, [port, run, refreshRunning]);

  return {
    apps,
    installed,
    running,
    busy,
    error,
    launched,
    refreshRunning,
    dismiss: () => setError(undefined),
    async loadInstalled() {
      const list = await run('installed', 'Could not list the installed apps', () => port.apps.listInstalled());
      if (list && live.current) setInstalled(list);
    },
    async add(id) {
      const list = await run(`add:${id}`, 'The app was not added', () => port.apps.add(id));
      if (list && live.current) setApps(list);
      return list !== undefined;
    },
    async remove(id) {
      const list = await run(`remove:${id}`, 'The app was not removed', () => port.apps.remove(id));
      if (list && live.current) setApps(list);
    },
    async launch(app) {
      setLaunched(null);
      const r = await run(`launch:${app.id}`, `${app.name} was not started`, () => port.apps.launch(app.id));
      if (!r || !live.current) return;
      setLaunched(`Started ${app.name} outside the VPN.`);
      await refreshRunning();
    },
    async include(pid) {
      const r = await run(`include:${pid}`, 'The app was not moved back into the VPN', () => port.call('includeProcess', { pid }));
      if (r && live.current) setRunning((old) => ({ ...(old ?? { available: true }), excluded: r.excluded }));
    },
  };
}
