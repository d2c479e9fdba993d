// Runs the real preload (electron/preload/index.cts) under Node the way a sandboxed preload runs:
// compiled to CommonJS, with a `require` that knows only 'electron'. Its 'electron' is a fake
// whose ipcRenderer talks to a fake ipcMain through two ordered pipes (each message in its own
// macrotask, replies and pushes in the order sent, as over Electron's IPC). Test-only.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import ts from 'typescript';
import type { UmbraApi } from '../../../renderer/api.js';

type Listener = (event: unknown, ...args: unknown[]) => void;
type InvokeHandler = (sender: number, ...args: unknown[]) => unknown;
type SendHandler = (sender: number, ...args: unknown[]) => void;

/** Delivers each posted function in its own macrotask, in order. */
class Pipe {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;
  post(fn: () => void): void {
    this.queue.push(fn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drainOne());
  }
  private drainOne(): void {
    const fn = this.queue.shift();
    fn?.();
    if (this.queue.length > 0) setImmediate(() => this.drainOne());
    else this.scheduled = false;
  }
}

export interface PreloadWorld {
  /** What the preload exposed, by key. */
  exposed: Record<string, unknown>;
  /** window.umbra. */
  umbra: UmbraApi;
  /** Modules the preload asked for. */
  required: string[];
  /** main side: handle an invoke channel. */
  handle(channel: string, handler: InvokeHandler): void;
  /** main side: listen to a send channel. */
  on(channel: string, handler: SendHandler): void;
  /** main side: webContents.send to this window. */
  send(channel: string, ...args: unknown[]): void;
  /** The IPC event objects the preload's listeners got (never to reach the page). */
  readonly ipcEvents: unknown[];
  readonly senderId: number;
}

let nextSender = 1;

function compilePreload(): string {
  const src = readFileSync(new URL('../../preload/index.cts', import.meta.url), 'utf8');
  return ts.transpileModule(src, {
    fileName: 'index.cts',
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  }).outputText;
}

export function loadPreload(): PreloadWorld {
  const senderId = nextSender++;
  const toMain = new Pipe();
  const toRenderer = new Pipe();
  const invokeHandlers = new Map<string, InvokeHandler>();
  const sendHandlers = new Map<string, SendHandler>();
  const rendererListeners = new Map<string, Set<Listener>>();
  const exposed: Record<string, unknown> = {};
  const required: string[] = [];
  const ipcEvents: unknown[] = [];

  const ipcRenderer = {
    invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      return new Promise((resolve, reject) => {
        toMain.post(() => {
          const handler = invokeHandlers.get(channel);
          if (!handler) {
            toRenderer.post(() => reject(new Error(`Error invoking remote method '${channel}': No handler registered`)));
            return;
          }
          Promise.resolve()
            .then(() => handler(senderId, ...args))
            .then(
              (value) => toRenderer.post(() => resolve(structuredClone(value))),
              (e: unknown) => toRenderer.post(() => reject(new Error(`Error invoking remote method '${channel}': ${String(e)}`))),
            );
        });
      });
    },
    send(channel: string, ...args: unknown[]): void {
      const copy = structuredClone(args);
      toMain.post(() => sendHandlers.get(channel)?.(senderId, ...copy));
    },
    on(channel: string, listener: Listener) {
      let set = rendererListeners.get(channel);
      if (!set) rendererListeners.set(channel, (set = new Set()));
      set.add(listener);
      return ipcRenderer;
    },
    removeListener(channel: string, listener: Listener) {
      rendererListeners.get(channel)?.delete(listener);
      return ipcRenderer;
    },
  };
  const electron = {
    ipcRenderer,
    contextBridge: {
      exposeInMainWorld(key: string, api: unknown) {
        exposed[key] = api;
      },
    },
  };

  const module = { exports: {} as unknown };
  const sandboxRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`a sandboxed preload cannot require ${JSON.stringify(id)}`);
  };
  const wrapper = vm.runInThisContext(`(function (exports, require, module) {\n${compilePreload()}\n})`, { filename: 'electron/preload/index.cjs' }) as (e: unknown, r: unknown, m: unknown) => void;
  wrapper(module.exports, sandboxRequire, module);

  return {
    exposed,
    umbra: exposed.umbra as UmbraApi,
    required,
    senderId,
    ipcEvents,
    handle: (channel, handler) => void invokeHandlers.set(channel, handler),
    on: (channel, handler) => void sendHandlers.set(channel, handler),
    send(channel, ...args) {
      const copy = structuredClone(args);
      toRenderer.post(() => {
        for (const l of rendererListeners.get(channel) ?? []) {
          const event = { sender: ipcRenderer, senderId: 0 };
          ipcEvents.push(event);
          l(event, ...copy);
        }
      });
    },
  };
}
