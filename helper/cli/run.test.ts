// The CLI run in-process against the real IPC server with a fake helper behind it: the output
// and exit code of each command, and of the errors a person will meet.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, ErrorCode, MAX_CATALOG_TEXT_BYTES, RpcError, type LeakCheckResult } from '../ipc/schema.js';
import { disconnectedStatus, FAKE_KEY, FakeHelper } from '../ipc/testing/fake-helper.js';
import { packageVersion } from '../platform/fs/package-version.js';
import { NOW, useCliHarness } from './testing/cli-harness.js';

/** What status says of the fake's Stockholm server once connected. */
const STO_DETAILS = 'Location: Stockholm, Sweden\nExit address: 203.0.113.10 (from the catalog, not measured; umbra leak-check measures it)';
const h = useCliHarness();
const { helper, cli } = h;

describe('usage', () => {
  it('help: the usage on stdout, exit 0', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: umbra \[--socket PATH\] \[--json\] \[--verbose\] <command>/);
    expect(r.out).toContain('set kill-switch on|off');
    expect(r.err).toBe('');
  });

  it.each([
    [['--json', 'set', 'kill-switch', 'maybe'], 'set kill-switch takes on or off, not "maybe"'],
    [['frobnicate', '--json'], 'unknown command "frobnicate"'],
    [['--json', '--colour', 'status'], 'unknown option --colour'],
    [['--json', 'import'], 'usage: umbra import FILE [--name NAME]'],
    [['--json', '--socket'], '--socket needs a value'],
  ])('a usage error with --json (%j): one JSON object on stdout, exit 2', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ error: { kind: 'usage', message } });
  });

  it('--json after -- is an argument, not the option: a plain usage error', async () => {
    const r = await cli(['status', '--', '--json']);
    expect(r).toEqual({ code: 2, out: '', err: 'umbra: status takes no arguments (got --json)\nRun "umbra help" for usage.' });
  });

  it('a usage error: what is wrong and where to look, exit 2', async () => {
    expect(await cli([])).toEqual({ code: 2, out: '', err: 'umbra: no command given\nRun "umbra help" for usage.' });
    expect(await cli(['set', 'kill-switch', 'maybe'])).toEqual({ code: 2, out: '', err: 'umbra: set kill-switch takes on or off, not "maybe"\nRun "umbra help" for usage.' });
  });
});

describe('the helper not reachable: exit 3 with what to do', () => {
  it.each([['status'], ['connect'], ['set', 'kill-switch', 'on'], ['servers']])('%s', async (...argv) => {
    const path = join(h.dir, 'nobody-here.sock');
    const r = await cli(['--socket', path, ...argv]);
    expect(r).toEqual({ code: 3, out: '', err: `umbra: the Umbra helper is not running (no socket at ${path}): start it with sudo systemctl start umbrad (in a source checkout: sudo npx umbrad serve)` });
  });

  it('uses UMBRA_SOCKET, and --json errors are JSON', async () => {
    const path = join(h.dir, 'env.sock');
    const r = await cli(['--json', 'status'], { env: { UMBRA_SOCKET: path } });
    expect(r.code).toBe(3);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ error: { kind: 'not-running', message: expect.stringContaining(`no socket at ${path}`) } });
  });

  it('version still prints the client version', async () => {
    const r = await cli(['--socket', join(h.dir, 'none.sock'), 'version']);
    expect(r.code).toBe(3);
    expect(r.out).toBe('umbra 9.9.9 (protocol 1)');
    expect(r.err).toMatch(/not running/);
  });

  it('version --json: the client version and the error in one JSON object', async () => {
    const r = await cli(['--json', '--socket', join(h.dir, 'none.sock'), 'version']);
    expect(r.code).toBe(3);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ client: { version: '9.9.9', protocol: 1 }, helper: null, error: { kind: 'not-running', message: expect.stringMatching(/not running/) } });
  });
});

describe('commands', () => {
  it('status, disconnected and connected, human and JSON', async () => {
    const { fake, path } = await helper();
    expect(await cli(['--socket', path, 'status'])).toEqual({ code: 0, out: 'Disconnected\nKill switch: off', err: '' });
    fake.settings.killSwitch = true;
    fake.status = disconnectedStatus({ state: 'connected', blocked: true, server: fake.servers[0], addresses: ['100.64.1.2/32'], connectedSince: NOW - 192_000, rxBytes: 1_234_567, txBytes: 300_000 });
    expect(await cli(['--socket', path, 'status'])).toEqual({
      code: 0,
      out: `Connected to Stockholm (se-sto) · 100.64.1.2 · up 3m12s · ↓1.2 MB ↑300 kB\n${STO_DETAILS}\nKill switch: on (blocking)`,
      err: '',
    });
    const json = await cli(['--socket', path, '--json', 'status']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(fake.status);
  });

  it('status while the exit is being measured: waits for the helper\'s answer, and shows a mismatch', async () => {
    const { fake, path } = await helper();
    const up = disconnectedStatus({ state: 'connected', server: fake.servers[0], addresses: ['100.64.1.2/32'], connectedSince: NOW, measuredExit: { state: 'measuring', matchesCatalog: null } });
    fake.status = up;
    const measured = { ...up, measuredExit: { state: 'measured' as const, ipv4: '203.0.113.66', at: NOW, matchesCatalog: false } };
    const answer = setInterval(() => fake.listenerCount > 0 && fake.setStatus(measured), 20);
    h.after(() => clearInterval(answer));
    const r = await cli(['--socket', path, '--json', 'status']);
    expect(JSON.parse(r.out)).toMatchObject({ state: 'connected', measuredExit: { state: 'measured', ipv4: '203.0.113.66', matchesCatalog: false } });
    const human = await cli(['--socket', path, 'status']);
    expect(human.out.split('\n')).toEqual(expect.arrayContaining(['Exit address: 203.0.113.66 (measured through the tunnel)', 'Warning: the catalog says 203.0.113.10; the internet sees 203.0.113.66']));
  });

  it('connect: prints the exit the helper measures through the new tunnel, once it is known', async () => {
    const holder: { fake?: FakeHelper } = {};
    const { fake, path } = await helper({
      handlers: {
        connect: async () => {
          const f = holder.fake!;
          const up = disconnectedStatus({ state: 'connected', server: f.servers[0], addresses: ['100.64.1.2/32'], connectedSince: NOW, measuredExit: { state: 'measuring', matchesCatalog: null } });
          f.status = up;
          setTimeout(() => f.setStatus({ ...up, measuredExit: { state: 'measured', ipv4: '203.0.113.10', at: NOW, matchesCatalog: true } }), 30);
          return up;
        },
      },
    });
    holder.fake = fake;
    const r = await cli(['--socket', path, 'connect', 'se-sto']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Exit address: 203.0.113.10 (measured through the tunnel; the catalog agrees)');
    expect(r.out).not.toContain('measuring…');
  });

  it('status while measuring, and no answer in time: says measuring, never the catalog\'s address as measured', async () => {
    const { fake, path } = await helper();
    fake.status = disconnectedStatus({ state: 'connected', server: fake.servers[0], connectedSince: NOW, measuredExit: { state: 'measuring', matchesCatalog: null } });
    const r = await cli(['--socket', path, 'status'], { measureWaitMs: 50 });
    expect(r.out).toContain('Exit address: measuring… (the catalog says 203.0.113.10)');
  });

  it('status with a block held while disconnected: why, and how to lift it', async () => {
    const { fake, path } = await helper();
    fake.settings.killSwitchOnBoot = true;
    fake.status = disconnectedStatus({ blocked: true, hold: 'boot' });
    expect(await cli(['--socket', path, 'status'])).toEqual({
      code: 0,
      out: [
        'Disconnected',
        'Kill switch: off (traffic is blocked: kill switch on boot)',
        'Blocked: kill switch on boot — connect, or turn the setting off (umbra connect, or umbra set kill-switch-on-boot off).',
      ].join('\n'),
      err: '',
    });
    const json = JSON.parse((await cli(['--socket', path, '--json', 'status'])).out);
    expect(json).toMatchObject({ state: 'disconnected', blocked: true, hold: 'boot', firewall: { wanted: 'block', kernel: 'block' } });
  });

  it('servers and settings', async () => {
    const { fake, path } = await helper();
    const servers = await cli(['--socket', path, 'servers']);
    expect(servers.code).toBe(0);
    expect(servers.out.split('\n')).toEqual([
      'ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT             LATENCY',
      'se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820  10 ms',
      'de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820  20 ms',
    ]);
    expect(fake.calls.filter((c) => c.method === 'measureLatency').map((c) => c.params)).toEqual([{}]);
    await cli(['--socket', path, 'connect', 'de-fra']);
    expect((await cli(['--socket', path, 'servers'])).out.split('\n').slice(2)).toEqual([
      '*  de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820  —',
      '* connected',
      '— de-fra: not measured: the server in use (a ping through its own tunnel says nothing)',
      'Latency via the exit of Frankfurt (de-fra): measured through the tunnel, not from this machine',
    ]);
    const json = JSON.parse((await cli(['--socket', path, 'servers', '--json'])).out);
    expect(json).toEqual({
      servers: [{ ...fake.servers[0], latency: { rttMs: 10 } }, { ...fake.servers[1], latency: { rttMs: null, reason: expect.stringMatching(/server in use/) } }],
      latency: { measuredAt: expect.any(Number), via: 'de-fra' },
    });
    expect((await cli(['--socket', path, 'settings'])).out.split('\n').slice(0, 5)).toEqual(['Kill switch: off', 'Kill switch on boot: off', 'Lockdown (always require the VPN): off', 'Allow LAN: off', 'Auto-connect: off']);
  });

  it('servers --no-latency: the table without measuring, and JSON as listServers gives it', async () => {
    const { fake, path } = await helper();
    expect((await cli(['--socket', path, 'servers', '--no-latency'])).out.split('\n')[0]).toBe('ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT');
    expect(JSON.parse((await cli(['--socket', path, '--json', '--no-latency', 'servers'])).out)).toEqual({ servers: fake.servers });
    expect(fake.calls.some((c) => c.method === 'measureLatency')).toBe(false);
  });

  it('servers while the kill switch blocks: no figures, the reason once', async () => {
    const { fake, path } = await helper();
    fake.status = disconnectedStatus({ blocked: true, hold: 'lockdown' });
    expect((await cli(['--socket', path, 'servers'])).out.split('\n')).toEqual([
      'ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT             LATENCY',
      'se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820  —',
      'de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820  —',
      '— blocked by the kill switch',
    ]);
  });

  it('servers when the helper cannot measure: the table still shows, saying why', async () => {
    const { path } = await helper({ handlers: { measureLatency: async () => { throw new RpcError(ErrorCode.MethodNotFound, 'unknown method "measureLatency"'); } } });
    const r = await cli(['--socket', path, 'servers']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').slice(1)).toEqual([
      'se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820  —',
      'de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820  —',
      '— latency not measured: unknown method "measureLatency"',
    ]);
  });

  it('set: each setting, the value the helper now has', async () => {
    const { fake, path } = await helper();
    expect(await cli(['--socket', path, 'set', 'kill-switch', 'on'])).toEqual({ code: 0, out: 'Kill switch: on', err: '' });
    expect(await cli(['--socket', path, 'set', 'kill-switch-on-boot', 'on'])).toEqual({ code: 0, out: 'Kill switch on boot: on', err: '' });
    expect(await cli(['--socket', path, 'set', 'allow-lan', 'on'])).toEqual({ code: 0, out: 'Allow LAN: on', err: '' });
    expect(await cli(['--socket', path, 'set', 'auto-connect', 'on'])).toEqual({ code: 0, out: 'Auto-connect: on', err: '' });
    expect(await cli(['--socket', path, 'set', 'kill-switch', 'off'])).toEqual({ code: 0, out: 'Kill switch: off', err: '' });
    expect(fake.settings).toEqual({ ...DEFAULT_SETTINGS, killSwitch: false, killSwitchOnBoot: true, allowLan: true, autoConnect: true });
    expect(fake.calls.map((c) => c.params)).toEqual([{ killSwitch: true }, { killSwitchOnBoot: true }, { allowLan: true }, { autoConnect: true }, { killSwitch: false }]);
    const json = await cli(['--socket', path, '--json', 'set', 'allow-lan', 'off']);
    expect(JSON.parse(json.out)).toEqual({ ...DEFAULT_SETTINGS, killSwitch: false, killSwitchOnBoot: true, allowLan: false, autoConnect: true });
  });

  it('import: sends the file and the name, says how to connect', async () => {
    const { fake, path } = await helper();
    const file = join(h.dir, 'wg0.conf');
    writeFileSync(file, '[Interface]\nPrivateKey = x\n[Peer]\n');
    expect(await cli(['--socket', path, 'import', file, '--name', 'Home'])).toEqual({ code: 0, out: 'Imported Home (imported) · 198.51.100.30:51820\nConnect with: umbra connect imported', err: '' });
    expect(fake.calls.at(-1)).toMatchObject({ method: 'importConfig', params: { name: 'Home' } });
  });

  it('import: a missing, empty or oversized file fails before calling the helper', async () => {
    const { fake, path } = await helper();
    const missing = join(h.dir, 'nope.conf');
    expect(await cli(['--socket', path, 'import', missing])).toEqual({ code: 1, out: '', err: `umbra: cannot read ${missing}: no such file` });
    const empty = join(h.dir, 'empty.conf');
    writeFileSync(empty, '\n');
    expect((await cli(['--socket', path, 'import', empty])).err).toMatch(/is empty: a WireGuard config has an \[Interface\] and a \[Peer\] section/);
    const big = join(h.dir, 'big.conf');
    writeFileSync(big, 'x'.repeat(70_000));
    expect(await cli(['--socket', path, 'import', big])).toEqual({ code: 1, out: '', err: `umbra: ${big} is 70000 bytes; a WireGuard config is at most 65536: is it the right file?` });
    expect((await cli(['--socket', path, 'import', h.dir])).err).toMatch(/it is a directory/);
    expect(fake.calls).toEqual([]);
  });

  it('import: prints each line the helper left out, and why', async () => {
    const server = { id: 'home', name: 'Home', endpoint: '198.51.100.30:51820', publicKey: FAKE_KEY, source: 'import' as const };
    const notes = [{ line: 6, key: 'PostUp', why: 'Umbra never runs commands from a config' }, { line: 9, key: 'ListenPort', why: 'Umbra picks its own UDP port' }];
    const { path } = await helper({ handlers: { importConfig: async () => ({ server, notes }) } });
    const file = join(h.dir, 'hooked.conf');
    writeFileSync(file, '[Interface]\nPostUp = x\n');
    expect(await cli(['--socket', path, 'import', file])).toEqual({
      code: 0,
      out: ['Imported Home (home) · 198.51.100.30:51820', 'Left out of the config:', '  line 6: PostUp — Umbra never runs commands from a config', '  line 9: ListenPort — Umbra picks its own UDP port', 'Connect with: umbra connect home'].join('\n'),
      err: '',
    });
    expect(JSON.parse((await cli(['--socket', path, '--json', 'import', file])).out)).toEqual({ server, notes });
  });

  it('load-catalog FILE: read here, as the user; the helper gets its text, never the path', async () => {
    const { fake, path } = await helper();
    const file = join(h.dir, 'catalog.json');
    const text = JSON.stringify({ servers: [] });
    writeFileSync(file, text);
    expect(await cli(['--socket', path, 'load-catalog', file])).toEqual({ code: 0, out: `Loaded the catalog: ${fake.servers.filter((x) => x.source === 'catalog').length} servers (${fake.servers.length} in all)\nSee them with: umbra servers`, err: '' });
    expect(fake.calls.at(-1)).toEqual({ method: 'loadCatalog', params: { text }, caller: expect.anything() });
    expect(JSON.stringify(fake.calls)).not.toContain(file);
    await cli(['--socket', path, 'load-catalog', 'https://vpn.example/servers.json']);
    expect(fake.calls.at(-1)).toMatchObject({ method: 'loadCatalog', params: { url: 'https://vpn.example/servers.json' } });
    await cli(['--socket', path, 'load-catalog', 'https://vpn.example/servers.json', '--unsigned']);
    expect(fake.calls.at(-1)?.params).toEqual({ url: 'https://vpn.example/servers.json', allowUnsigned: true });
    const key = Buffer.alloc(32, 5).toString('base64');
    await cli(['--socket', path, 'load-catalog', file, '--key', key]);
    expect(fake.calls.at(-1)?.params).toEqual({ text, signingKey: key });
  });

  it('load-catalog and import: a missing file, a directory, an unreadable file, a FIFO: the CLI\'s own error, nothing sent', async () => {
    const { fake, path } = await helper();
    const missing = join(h.dir, 'nope.json');
    const cannot = (file: string, why: string) => ({ code: 1, out: '', err: `umbra: cannot read ${file}: ${why}` });
    for (const command of ['load-catalog', 'import']) {
      expect(await cli(['--socket', path, command, missing])).toEqual(cannot(missing, 'no such file'));
      expect(await cli(['--socket', path, command, h.dir])).toEqual(cannot(h.dir, 'it is a directory'));
      expect(await cli(['--socket', path, command, join(missing, 'x')])).toEqual(cannot(join(missing, 'x'), 'no such file'));
    }
    // Unreadable: a 0000 file, where this user's permissions are checked (not for root: then the
    // same EACCES comes from the reader the CLI is given).
    const locked = join(h.dir, 'locked.json');
    writeFileSync(locked, '{}', { mode: 0o000 });
    chmodSync(locked, 0o000);
    let permissionsApply = false;
    try {
      readFileSync(locked);
    } catch {
      permissionsApply = true;
    }
    const eacces = permissionsApply ? {} : { readFile: async () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) };
    expect(await cli(['--socket', path, 'load-catalog', locked], eacces)).toEqual(cannot(locked, 'permission denied'));
    expect(await cli(['--socket', path, 'import', locked], eacces)).toEqual(cannot(locked, 'permission denied'));
    // A FIFO nobody writes to is refused at once, not waited on (mkfifo where the machine has it).
    const fifo = join(h.dir, 'fifo.json');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      expect(await cli(['--socket', path, 'load-catalog', fifo])).toEqual(cannot(fifo, 'it is not a regular file (a pipe, socket or device)'));
      expect(await cli(['--socket', path, 'import', fifo])).toEqual(cannot(fifo, 'it is not a regular file (a pipe, socket or device)'));
    }
    const big = join(h.dir, 'big.json');
    writeFileSync(big, ' '.repeat(MAX_CATALOG_TEXT_BYTES + 1));
    expect((await cli(['--socket', path, 'load-catalog', big])).err).toBe(`umbra: ${big} is ${MAX_CATALOG_TEXT_BYTES + 1} bytes; a catalog file is at most 192 KiB (load a larger one by its https URL)`);
    expect(fake.calls).toEqual([]);
  }, 10_000);

  it('connect: waits until connected and says so', async () => {
    const { fake, path } = await helper();
    const r = await cli(['--socket', path, 'connect', 'se-sto']);
    expect(r).toEqual({ code: 0, out: `Connected to Stockholm (se-sto) · 100.64.1.2 · up 0s · ↓1.2 MB ↑300 kB\n${STO_DETAILS}`, err: '' });
    expect(fake.calls.filter((c) => c.method === 'connect').map((c) => c.params)).toEqual([{ serverId: 'se-sto' }]);
  });

  it('connect to the server already in use: says so, exit 0, and the helper redoes nothing', async () => {
    const { fake, path } = await helper();
    expect((await cli(['--socket', path, 'connect', 'se-sto'])).code).toBe(0);
    const since = fake.status.connectedSince;
    const r = await cli(['--socket', path, 'connect', 'Stockholm']);
    expect(r).toEqual({ code: 0, out: `Already connected to Stockholm (se-sto) · 100.64.1.2 · up 0s · ↓1.2 MB ↑300 kB\n${STO_DETAILS}`, err: '' });
    expect(fake.status.connectedSince).toBe(since);
    // Scripts read the same from --json.
    const j = JSON.parse((await cli(['--socket', path, '--json', 'connect', 'se-sto'])).out) as { state: string; alreadyConnected: boolean };
    expect(j).toMatchObject({ state: 'connected', alreadyConnected: true });
    // Another server is a new connection.
    expect((await cli(['--socket', path, 'connect', 'de-fra'])).out).toMatch(/^Connected to .*de-fra/);
    const again = JSON.parse((await cli(['--socket', path, '--json', 'connect', 'se-sto'])).out) as { alreadyConnected: boolean; server: { id: string } };
    expect(again).toMatchObject({ alreadyConnected: false, server: { id: 'se-sto' } });
  });

  it('connect while already connecting to it: says so, then waits as usual', async () => {
    const { fake, path } = await helper({ connectDelayMs: 100 });
    await fake.handlers.connect({ serverId: 'se-sto' }, { uid: 0, gid: 0, pid: 1 });
    const r = await cli(['--socket', path, 'connect', 'se-sto']);
    expect(r).toEqual({ code: 0, out: `Already connecting to Stockholm (se-sto)…\nConnected to Stockholm (se-sto) · 100.64.1.2 · up 0s · ↓1.2 MB ↑300 kB\n${STO_DETAILS}`, err: '' });
  });

  it('connect: finds a server by name, and says when there is none', async () => {
    const { fake, path } = await helper();
    expect((await cli(['--socket', path, 'connect', 'frankfurt'])).code).toBe(0);
    expect(fake.calls.filter((c) => c.method === 'connect').map((c) => c.params)).toEqual([{ serverId: 'de-fra' }]);
    expect(await cli(['--socket', path, 'connect', 'Atlantis City'])).toEqual({ code: 1, out: '', err: 'umbra: no server "Atlantis City": see umbra servers for the ids and names' });
    // An id the helper does not know: its NotFound.
    expect(await cli(['--socket', path, 'connect', 'atlantis'])).toEqual({ code: 1, out: '', err: 'umbra: no server "atlantis": see umbra servers' });
  });

  it('connect: a failure is reported with its cause and the kill-switch block, exit 1', async () => {
    const { fake, path } = await helper({ outcome: 'error' });
    fake.settings.killSwitch = true;
    const r = await cli(['--socket', path, 'connect']);
    expect(r.code).toBe(1);
    expect(r.out).toBe([
      'Could not connect to Stockholm (se-sto): no handshake answer from 198.51.100.10:51820 within 5 s: is the server up and is UDP allowed?',
      'Traffic outside the tunnel is blocked until you connect; umbra disconnect lifts the block.',
    ].join('\n'));
  });

  it('connect: gives up waiting after the limit, exit 1', async () => {
    const { path } = await helper({ outcome: 'hang' });
    const r = await cli(['--socket', path, 'connect'], { connectWaitMs: 150 });
    expect(r).toEqual({ code: 1, out: 'Connecting to Stockholm (se-sto)…', err: 'umbra: still connecting after 150 ms: umbra status shows progress; umbra disconnect stops trying' });
  });

  it('connect --json: the final status', async () => {
    const { path } = await helper();
    const r = await cli(['--socket', path, '--json', 'connect']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ state: 'connected', server: { id: 'se-sto' } });
  });

  it('disconnect', async () => {
    const { fake, path } = await helper();
    fake.status = { ...fake.status, state: 'connected', server: fake.servers[0] };
    expect(await cli(['--socket', path, 'disconnect'])).toEqual({ code: 0, out: 'Disconnected', err: '' });
  });

  it('leak-check: verdicts only, the evidence with --verbose; exit 1 when one fails', async () => {
    const { fake, path } = await helper();
    const disconnected = await cli(['--socket', path, 'leak-check']);
    expect(disconnected.code).toBe(0);
    expect(disconnected.out.split('\n')[0]).toBe('Leak check while disconnected:');
    expect(disconnected.out).toContain('! WARN  Public IP address: Not connected: Public IP address is not protected');
    expect(disconnected.out).not.toContain('Fake: from the in-memory helper');
    expect(disconnected.out).not.toMatch(/nothing (was seen )?escap/i);
    expect(disconnected.out.split('\n').at(-1)).toBe('The evidence behind each verdict: umbra leak-check --verbose');
    expect((await cli(['--socket', path, 'leak-check', '--verbose'])).out).toContain('        Fake: from the in-memory helper');

    // Connected: the server by its name and place, not its id.
    await cli(['--socket', path, 'connect', 'se-sto']);
    expect((await cli(['--socket', path, 'leak-check'])).out.split('\n')[0]).toBe('Leak check while connected to Stockholm (se-sto), Stockholm, Sweden:');

    const failing = fake.leakReport();
    failing.checks[1] = { id: 'dns', title: 'DNS', verdict: 'fail', finding: 'DNS leaks: 203.0.113.251 is reached outside the tunnel', evidence: [{ label: 'Resolver 203.0.113.251', text: 'OUTSIDE the tunnel: 203.0.113.251 via 198.51.100.1 dev eth0' }] };
    const { path: path2 } = await helper({ handlers: { leakCheck: async () => failing } });
    const r = await cli(['--socket', path2, '-v', 'leak-check']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✘ FAIL  DNS: DNS leaks: 203.0.113.251 is reached outside the tunnel');
    expect(r.out).toContain('        Resolver 203.0.113.251: OUTSIDE the tunnel: 203.0.113.251 via 198.51.100.1 dev eth0');
    expect(r.out.split('\n').at(-1)).toBe('1 check failed: something escapes the tunnel or the kill switch is not as set.');
    const json = await cli(['--socket', path2, '--json', 'leak-check']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual(failing);
  });

  it('leak-check prints each check as the helper finishes it, then the tally', async () => {
    const holder: { fake?: FakeHelper } = {};
    const { fake, path } = await helper({
      handlers: {
        leakCheck: async () => {
          const f = holder.fake!;
          const report = f.leakReport();
          const [ip, dns, v6, ks] = report.checks as [LeakCheckResult, LeakCheckResult, LeakCheckResult, LeakCheckResult];
          const tell = (running: LeakCheckResult['id'][], done: LeakCheckResult[]) => f.emit({ type: 'leakCheck', progress: { checkedAt: report.checkedAt, running, done } });
          // A stale run's last word first: not this run, not printed twice.
          f.emit({ type: 'leakCheck', progress: { checkedAt: report.checkedAt - 1, running: [], done: report.checks } });
          tell(['public-ip', 'dns', 'ipv6', 'kill-switch'], []);
          tell(['public-ip', 'dns', 'ipv6'], [ks]);
          tell(['dns', 'ipv6'], [ip, ks]);
          tell(['dns'], [ip, v6, ks]);
          tell([], [ip, dns, v6, ks]);
          return report;
        },
      },
    });
    holder.fake = fake;
    const r = await cli(['--socket', path, 'leak-check']);
    expect(r.out.split('\n')).toEqual([
      'Leak check while disconnected:',
      '! WARN  Kill switch: Not connected: Kill switch is not protected',
      '! WARN  Public IP address: Not connected: Public IP address is not protected',
      '! WARN  IPv6: Not connected: IPv6 is not protected',
      '! WARN  DNS: Not connected: DNS is not protected',
      'Not connected when checked (disconnected): these results do not show a working tunnel; connect and check again.',
      'The evidence behind each verdict: umbra leak-check --verbose',
    ]);
  });

  it('leak-check: lines of a run another client began are not passed off as this one’s', async () => {
    const holder: { fake?: FakeHelper } = {};
    const { fake, path } = await helper({
      handlers: {
        leakCheck: async () => {
          const f = holder.fake!;
          const report = f.leakReport();
          const [, , , ks] = report.checks as [LeakCheckResult, LeakCheckResult, LeakCheckResult, LeakCheckResult];
          // Another client's run begins and tells its kill-switch verdict (a PASS this run will not give)...
          const other = report.checkedAt - 5;
          f.emit({ type: 'leakCheck', progress: { checkedAt: other, running: ['public-ip', 'dns', 'ipv6', 'kill-switch'], done: [] } });
          f.emit({ type: 'leakCheck', progress: { checkedAt: other, running: ['public-ip', 'dns', 'ipv6'], done: [{ ...ks, verdict: 'pass', finding: 'the other run' }] } });
          // ...then this call's own run answers.
          return report;
        },
      },
    });
    holder.fake = fake;
    const lines = (await cli(['--socket', path, 'leak-check'])).out.split('\n');
    const note = lines.indexOf('(those came from a run another client began; this check’s own results:)');
    expect(note).toBeGreaterThan(0);
    // After the note, every check of this run's report, the kill switch included.
    expect(lines.slice(note + 1).filter((l) => /^(! WARN|✔ PASS|✘ FAIL)/.test(l))).toHaveLength(4);
    expect(lines.slice(note + 1).some((l) => l.startsWith('! WARN  Kill switch'))).toBe(true);
  });

  it('set: the leak check’s settings', async () => {
    const { fake, path } = await helper();
    expect(await cli(['--socket', path, 'set', 'echo-urls', 'http://203.0.113.250/'])).toEqual({ code: 0, out: 'Leak check, IP-echo services: http://203.0.113.250/', err: '' });
    expect(await cli(['--socket', path, 'set', 'dns-leak-test', 'lab.test', 'http://203.0.113.250/dns-askers'])).toEqual({
      code: 0, out: 'Leak check, DNS leak test: names under lab.test, asking http://203.0.113.250/dns-askers', err: '',
    });
    expect(fake.settings).toMatchObject({ echoUrls: ['http://203.0.113.250/'], dnsLeakTest: { zone: 'lab.test', apiUrl: 'http://203.0.113.250/dns-askers' } });
    // The helper checks the values (here: the schema, on the client's side already).
    const bad = await cli(['--socket', path, 'set', 'echo-urls', 'ftp://x/']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/invalid params for setSettings/);
  });

  it('version: client and helper', async () => {
    const { path } = await helper();
    expect(await cli(['--socket', path, 'version'])).toEqual({ code: 0, out: 'umbra 9.9.9 (protocol 1)\numbrad 0.1.0-fake (protocol 1)', err: '' });
    expect(JSON.parse((await cli(['--socket', path, '--json', 'version'])).out)).toEqual({ client: { version: '9.9.9', protocol: 1 }, helper: { version: '0.1.0-fake', protocol: 1 } });
  });

  it('an error the helper answers: its message, exit 1; permission denied: exit 3', async () => {
    const { path } = await helper({
      handlers: {
        setSettings: () => Promise.reject(new RpcError(ErrorCode.Busy, 'the kill switch is being applied: try again in a moment')),
        status: () => Promise.reject(new RpcError(ErrorCode.PermissionDenied, 'permission denied: only root and members of the umbra group may control Umbra.')),
      },
    });
    expect(await cli(['--socket', path, 'set', 'kill-switch', 'on'])).toEqual({ code: 1, out: '', err: 'umbra: the kill switch is being applied: try again in a moment' });
    const json = await cli(['--socket', path, '--json', 'set', 'kill-switch', 'on']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual({ error: { code: ErrorCode.Busy, message: 'the kill switch is being applied: try again in a moment' } });
    expect((await cli(['--socket', path, 'status'])).code).toBe(3);
  });
});

it('takes the client’s version from package.json', () => {
  expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
});
