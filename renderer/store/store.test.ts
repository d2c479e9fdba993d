import { describe, expect, it } from 'vitest';
import { FAVOURITES_KEY, createUmbraStore } from './store.js';
import { flush, memoryStorage, mockApi, SERVERS, settings, status } from '../test/support.js';

async function started(m = mockApi(), storage = memoryStorage()) {
  const store = createUmbraStore(m.api, { storage });
  const stop = store.getState().start();
  await flush();
  return { m, store, stop, storage };
}

describe('the store mirrors the helper', () => {
  it('starts from the subscribe snapshot', async () => {
    const m = mockApi({ status: status({ state: 'connected', server: SERVERS[0], connectedSince: 1000 }), settings: settings({ killSwitch: true }) });
    const store = createUmbraStore(m.api, { storage: memoryStorage() });
    expect(store.getState().helper.phase).toBe('starting');
    expect(store.getState().status).toBeNull();
    store.getState().start();
    await flush();
    const s = store.getState();
    expect(s.helper.phase).toBe('ready');
    expect(s.status?.state).toBe('connected');
    expect(s.settings?.killSwitch).toBe(true);
    expect(s.servers).toHaveLength(SERVERS.length);
  });

  it('then follows the events', async () => {
    const { m, store } = await started();
    m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[3] }) });
    expect(store.getState().status?.state).toBe('connecting');
    m.emit({ type: 'settings', settings: settings({ allowLan: true }) });
    expect(store.getState().settings?.allowLan).toBe(true);
    m.emit({ type: 'servers', servers: SERVERS.slice(0, 2) });
    expect(store.getState().servers.map((s) => s.id)).toEqual(['se-sto-1', 'se-sto-2']);
  });

  it('drops events of an old subscription and stops on stop()', async () => {
    const { m, store, stop } = await started();
    stop();
    expect(m.subscribed()).toBe(false);
    m.emit({ type: 'status', status: status({ state: 'connected' }) });
    expect(store.getState().status?.state).toBe('disconnected');
  });

  it('Connect is busy until the helper reports connecting; the state shown stays the helper’s', async () => {
    const { m, store } = await started();
    store.getState().select('es-mad-2');
    const done = store.getState().connect();
    expect(store.getState().busy.connect).toBe(true);
    expect(store.getState().status?.state).toBe('disconnected'); // not guessed
    expect(m.take('connect').params).toEqual({ serverId: 'es-mad-2' });
    // A counter update in the same state does not end the wait.
    m.emit({ type: 'status', status: status({ rxBytes: 1 }) });
    expect(store.getState().busy.connect).toBe(true);
    m.emit({ type: 'status', status: status({ state: 'connecting', server: SERVERS[4] }) });
    expect(store.getState().busy.connect).toBe(false);
    expect(store.getState().status?.state).toBe('connecting');
    void done;
  });

  it('a reply does not overwrite a newer event, and ends the wait', async () => {
    const { m, store } = await started();
    const done = store.getState().connect('se-sto-1');
    const call = m.take('connect');
    m.emit({ type: 'status', status: status({ state: 'connected', server: SERVERS[0] }) });
    call.resolve(status({ state: 'connecting', server: SERVERS[0] }));
    await done;
    expect(store.getState().status?.state).toBe('connected');
    expect(store.getState().busy.connect).toBe(false);
  });

  it('takes the reply’s status when no event came before it', async () => {
    const { m, store } = await started();
    const done = store.getState().disconnect();
    m.take('disconnect').resolve(status({ state: 'disconnecting' }));
    await done;
    expect(store.getState().status?.state).toBe('disconnecting');
  });

  it('without a selection, Connect leaves the choice to the helper', async () => {
    const { m, store } = await started();
    void store.getState().connect();
    expect(m.take('connect').params).toEqual({});
  });

  it('shows a failed call’s message, and the state stays what the helper said', async () => {
    const { m, store } = await started();
    const done = store.getState().connect('gb-lon-1');
    m.take('connect').reject({ code: -32004, message: "no profile yet: import your provider's WireGuard config first" });
    await done;
    const s = store.getState();
    expect(s.errors.connection).toEqual({ code: -32004, message: "no profile yet: import your provider's WireGuard config first" });
    expect(s.busy.connect).toBe(false);
    expect(s.status?.state).toBe('disconnected');
    s.dismissError('connection');
    expect(store.getState().errors.connection).toBeUndefined();
  });

  it('turns anything thrown into a code and a message', async () => {
    const { m, store } = await started();
    const done = store.getState().disconnect();
    m.take('disconnect').reject(new Error('the connection to the Umbra helper failed') as never);
    await done;
    expect(store.getState().errors.connection).toEqual({ code: 'error', message: 'the connection to the Umbra helper failed' });
  });

  it('a setting changes only when the helper confirms it', async () => {
    const { m, store } = await started();
    const done = store.getState().setSetting('killSwitch', true);
    expect(store.getState().settings?.killSwitch).toBe(false);
    expect(store.getState().busy.settings.killSwitch).toBe(true);
    expect(m.take('setSettings').params).toEqual({ killSwitch: true });
    m.emit({ type: 'settings', settings: settings({ killSwitch: true }) });
    expect(store.getState().settings?.killSwitch).toBe(true);
    void done;
  });

  it('a refused setting stays as it was, with the helper’s reason', async () => {
    const { m, store } = await started();
    const done = store.getState().setSetting('killSwitch', true);
    m.take('setSettings').reject({ code: -32005, message: 'nft is not installed: sudo apt install nftables' });
    await done;
    expect(store.getState().settings?.killSwitch).toBe(false);
    expect(store.getState().busy.settings.killSwitch).toBe(false);
    expect(store.getState().errors.killSwitch?.message).toBe('nft is not installed: sudo apt install nftables');
  });

  it('a bad config shows the helper’s message', async () => {
    const { m, store } = await started();
    const done = store.getState().importConfig('nonsense', 'bad');
    const call = m.take('importConfig');
    expect(call.params).toEqual({ text: 'nonsense', name: 'bad' });
    expect(store.getState().busy.import).toBe(true);
    call.reject({ code: -32003, message: 'line 1: expected a [section] or key = value' });
    expect(await done).toBeUndefined();
    expect(store.getState().busy.import).toBe(false);
    expect(store.getState().errors.import?.message).toBe('line 1: expected a [section] or key = value');
  });

  it('selects the imported server once the helper answers', async () => {
    const { m, store } = await started();
    const done = store.getState().importConfig('[Interface]\n', 'work');
    const imported = { ...SERVERS[7]!, id: 'work', name: 'work' };
    m.emit({ type: 'servers', servers: [...SERVERS, imported] });
    m.take('importConfig').resolve({ server: imported, notes: [{ line: 4, key: 'PostUp', why: 'never run' }] });
    expect(await done).toEqual({ server: imported, notes: [{ line: 4, key: 'PostUp', why: 'never run' }] });
    expect(store.getState().selectedId).toBe('work');
  });

  it('an import the page reads first: busy while reading, and a failed read is the import’s error with no call made', async () => {
    const { m, store } = await started();
    let read!: (v: { text: string; name?: string }) => void;
    let done = store.getState().importFrom(() => new Promise((r) => (read = r)));
    expect(store.getState().busy.import).toBe(true);
    expect(m.pending).toHaveLength(0);
    read({ text: '[Interface]\n', name: 'qr' });
    await flush();
    const imported = { ...SERVERS[7]!, id: 'qr', name: 'qr' };
    m.take('importConfig').resolve({ server: imported });
    expect(await done).toEqual({ server: imported, notes: [] });
    expect(store.getState().imported).toEqual({ server: imported, notes: [] });

    done = store.getState().importFrom(() => Promise.reject({ code: 'import-file', message: 'this QR code does not hold a WireGuard config' }));
    expect(await done).toBeUndefined();
    expect(m.pending).toHaveLength(0);
    expect(store.getState().busy.import).toBe(false);
    expect(store.getState().imported).toBeNull();
    expect(store.getState().errors.import?.message).toBe('this QR code does not hold a WireGuard config');
  });

  it('loads a catalog from a chosen file’s text or a URL; never sends a path', async () => {
    const { m, store } = await started();
    expect(await store.getState().loadCatalog(' /etc/umbra/catalog.json ')).toBeUndefined();
    expect(m.pending).toHaveLength(0);
    expect(store.getState().errors.catalog?.message).toMatch(/type an http\(s\) URL here; for a file on this computer, use “Choose a catalog file”/);

    let done = store.getState().loadCatalog({ text: '{"servers": "nope"}' });
    let call = m.take('loadCatalog');
    expect(call.params).toEqual({ text: '{"servers": "nope"}' });
    call.reject({ code: -32003, message: 'the catalog is not valid: servers: expected array' });
    expect(await done).toBeUndefined();
    expect(store.getState().errors.catalog?.message).toBe('the catalog is not valid: servers: expected array');

    done = store.getState().loadCatalog('https://vpn.example/catalog.json');
    call = m.take('loadCatalog');
    expect(call.params).toEqual({ url: 'https://vpn.example/catalog.json' });
    call.resolve({ servers: SERVERS.slice(0, 3) });
    expect(await done).toBe(3);
    expect(store.getState().servers).toHaveLength(3);
    expect(store.getState().errors.catalog).toBeUndefined();
  });

  it('an empty catalog source is refused before asking the helper', async () => {
    const { m, store } = await started();
    expect(await store.getState().loadCatalog('  ')).toBeUndefined();
    expect(m.pending).toHaveLength(0);
    expect(store.getState().errors.catalog?.message).toMatch(/URL, or choose a catalog file/);
    expect(await store.getState().loadCatalog({ text: ' \n' })).toBeUndefined();
    expect(m.pending).toHaveLength(0);
    expect(store.getState().errors.catalog?.message).toMatch(/the chosen file is empty/);
  });

  it('a selection that disappears from the servers is cleared', async () => {
    const { m, store } = await started();
    store.getState().select('gb-lon-1');
    m.emit({ type: 'servers', servers: SERVERS.filter((s) => s.id !== 'gb-lon-1') });
    expect(store.getState().selectedId).toBeNull();
  });
});

describe('reaching the helper', () => {
  it('a failed subscribe means the helper is unreachable, with its message', async () => {
    const m = mockApi();
    m.subscribeError = { code: 'not-running', message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)' };
    const { store } = await started(m);
    expect(store.getState().helper).toEqual({ phase: 'unreachable', message: 'the Umbra helper is not running (no socket at /run/umbra/umbrad.sock)' });
  });

  it('losing the helper hides its state; it coming back subscribes again for a fresh picture', async () => {
    const { m, store } = await started();
    void store.getState().connect('se-sto-1');
    m.setReachable(false, 'the Umbra helper closed the connection (did it stop or restart?)');
    expect(store.getState().helper.phase).toBe('unreachable');
    expect(store.getState().busy.connect).toBe(false);
    m.emit({ type: 'status', status: status({ state: 'connected' }) }); // not from a live subscription
    m.snapshot = { ...m.snapshot, status: status({ state: 'connected', server: SERVERS[0] }) };
    m.setReachable(true);
    await flush();
    expect(m.subscribeCount).toBe(2);
    expect(store.getState().helper.phase).toBe('ready');
    expect(store.getState().status?.state).toBe('connected');
  });

  it('retry subscribes again', async () => {
    const m = mockApi();
    m.subscribeError = { code: 'not-running', message: 'not running' };
    const { store } = await started(m);
    m.subscribeError = undefined;
    await store.getState().retry();
    expect(store.getState().helper.phase).toBe('ready');
  });
});

describe('favourites', () => {
  it('are kept in storage, and read back by the next store', async () => {
    const storage = memoryStorage();
    const { store } = await started(mockApi(), storage);
    store.getState().toggleFavourite('es-mad-1');
    store.getState().toggleFavourite('gb-lon-1');
    store.getState().toggleFavourite('es-mad-1');
    expect(store.getState().favourites).toEqual(['gb-lon-1']);
    expect(JSON.parse(storage.getItem(FAVOURITES_KEY)!)).toEqual(['gb-lon-1']);
    const again = createUmbraStore(mockApi().api, { storage });
    expect(again.getState().favourites).toEqual(['gb-lon-1']);
  });

  it('survive garbage in storage', () => {
    const storage = memoryStorage({ [FAVOURITES_KEY]: '{not json' });
    expect(createUmbraStore(mockApi().api, { storage }).getState().favourites).toEqual([]);
  });
});

describe('launch at login (the main process’s setting)', () => {
  it('is read at start and set through window.umbra.app', async () => {
    let value = false;
    const m = mockApi({}, { getLaunchAtLogin: async () => value, setLaunchAtLogin: async (on) => (value = on) });
    const { store } = await started(m);
    expect(store.getState().launchAtLogin).toBe(false);
    await store.getState().setLaunchAtLogin(true);
    expect(store.getState().launchAtLogin).toBe(true);
  });

  it('stays unknown where there is no main process', async () => {
    const { store } = await started();
    expect(store.getState().launchAtLogin).toBeNull();
  });
});
