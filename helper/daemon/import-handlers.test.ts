// The import and catalog handlers with a real state store in a temporary dir, and every node:fs
// call recorded: a caller's string never reaches the file system, whatever it names.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, RpcError, type HelperEvent } from '../ipc/schema.js';
import { validateParams } from '../ipc/validation.js';
import { importHandlers } from './import-handlers.js';
import type { SafeGet } from '../platform/net/safe-fetch.js';
import { StateStore } from './store/state-store.js';
import { catalogEntry, PROVIDER_CONF } from './store/testdata/configs.js';

/** Every string argument any node:fs function got, while `recording`. */
const seen = vi.hoisted(() => ({ recording: false, args: [] as string[] }));

function recorded<T extends object>(mod: T): T {
  const out: Record<string, unknown> = { ...(mod as Record<string, unknown>) };
  for (const [name, fn] of Object.entries(mod)) {
    if (typeof fn !== 'function' || /^[A-Z]/.test(name)) continue;
    out[name] = (...args: unknown[]) => {
      if (seen.recording) for (const a of args) if (typeof a === 'string' || a instanceof URL) seen.args.push(String(a));
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  if ('default' in mod) out.default = out;
  return out as T;
}
vi.mock('node:fs', async (original) => recorded(await original<typeof import('node:fs')>()));
vi.mock('node:fs/promises', async (original) => recorded(await original<typeof import('node:fs/promises')>()));

let root: string;
let events: HelperEvent[];
let handlers: ReturnType<typeof importHandlers>;
let store: StateStore;
const caller = { pid: 4242, uid: 1000, gid: 1000 };

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'umbra-import-handlers-'));
  store = await StateStore.open(join(root, 'state'), () => undefined);
  events = [];
  handlers = importHandlers({ store, emit: (e) => events.push(e), one: (t) => t() });
  await handlers.importConfig({ text: PROVIDER_CONF, name: 'se' }, caller);
});
afterEach(async () => {
  seen.recording = false;
  seen.args = [];
  await rm(root, { recursive: true, force: true });
});

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected an RpcError');
}

/** A catalog the caller might hope the helper reads for it, a missing file, a dir, /etc/shadow and a planted symlink. */
async function plantedPaths(): Promise<string[]> {
  const catalog = join(root, 'catalog.json');
  await writeFile(catalog, JSON.stringify({ servers: [catalogEntry({ id: 'from-a-file' })] }));
  await mkdir(join(root, 'dir'));
  await symlink('/etc/shadow', join(root, 'link.json'));
  return [catalog, join(root, 'missing.json'), join(root, 'dir'), '/etc/shadow', join(root, 'link.json')];
}

describe('loadCatalog never opens a path a caller names', () => {
  it('the old { file } form is refused by the schema, with one error whatever the path names', async () => {
    const messages = new Set<string>();
    for (const file of await plantedPaths()) {
      const r = validateParams('loadCatalog', { file });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe(ErrorCode.InvalidParams);
        messages.add(r.error.message.replace(file, '<path>'));
        expect(r.error.message).not.toContain(file);
      }
    }
    expect(messages.size).toBe(1);
  });

  it('a path sent as text is parsed as text: the same error for each, no fs call with it, nothing loaded', async () => {
    const paths = await plantedPaths();
    const messages = new Set<string>();
    seen.recording = true;
    for (const text of paths) {
      const e = await rpcError(handlers.loadCatalog({ text }, caller));
      expect(e.code).toBe(ErrorCode.InvalidConfig);
      messages.add(e.message);
    }
    seen.recording = false;
    expect([...messages]).toEqual(['the catalog is not valid JSON; a catalog is a JSON file']);
    for (const p of paths) expect(seen.args.filter((a) => a.includes(p) || a.includes('shadow'))).toEqual([]);
    expect(events.filter((e) => e.type === 'servers')).toHaveLength(1); // the import in beforeEach only
  });

  it('catalog text the client read is loaded, and the list pushed', async () => {
    seen.recording = true;
    const { servers } = await handlers.loadCatalog({ text: JSON.stringify({ servers: [catalogEntry()] }) }, caller);
    // The recording sees the store's own writes: the check above would see a read of a path.
    expect(seen.args.some((a) => a.startsWith(join(root, 'state')))).toBe(true);
    expect(servers.map((s) => s.id)).toEqual(['se', 'se-got-001']);
    expect(events.at(-1)).toEqual({ type: 'servers', servers });
  });
});

describe('loadCatalog by URL', () => {
  const served: string[] = [];
  const get: SafeGet = async (url) => {
    served.push(url);
    return { body: Buffer.from(JSON.stringify({ servers: [catalogEntry({ id: 'fi-hel-001' })] })), url };
  };

  it('an unsigned catalog from a URL is refused unless the caller allows it, and then says it is unsigned', async () => {
    const h = importHandlers({ store, emit: (e) => events.push(e), one: (t) => t(), get });
    const e = await rpcError(h.loadCatalog({ url: 'https://catalog.example/servers.json' }, caller));
    expect(e.code).toBe(ErrorCode.InvalidParams);
    expect(e.message).toMatch(/not signed/);
    expect(store.servers().map((s) => s.id)).toEqual(['se']);
    const r = await h.loadCatalog({ url: 'https://catalog.example/servers.json', allowUnsigned: true }, caller);
    expect(r.trust).toEqual({ signed: false });
    expect(r.servers.map((s) => s.id)).toEqual(['se', 'fi-hel-001']);
    expect(served).toEqual(['https://catalog.example/servers.json', 'https://catalog.example/servers.json']);
  });

  it('the helper\'s own fetch refuses loopback and metadata addresses', async () => {
    for (const url of ['https://127.0.0.1/servers.json', 'https://169.254.169.254/latest/', 'http://198.51.100.1:8080/']) {
      const e = await rpcError(handlers.loadCatalog({ url, allowUnsigned: true }, caller));
      expect(e.code).toBe(ErrorCode.InvalidParams);
      expect(e.message).toMatch(/refused/);
    }
  });
});

describe('importConfig says what it left out', () => {
  it('a config with PostUp and ListenPort imports, and the result names those lines', async () => {
    const text = PROVIDER_CONF.replace('MTU = 1380', 'MTU = 1380\nListenPort = 51999\nPostUp = iptables -I OUTPUT -j REJECT');
    const result = await handlers.importConfig({ text, name: 'se' }, caller);
    expect(result.server.id).toBe('se'); // the same server as before, updated
    expect(result.notes?.map((n) => [n.line, n.key])).toEqual([[8, 'ListenPort'], [9, 'PostUp']]);
    expect(JSON.stringify(result)).not.toMatch(/iptables|51999/);
    expect(events.at(-1)).toMatchObject({ type: 'servers' });
  });
});
