import { describe, expect, it } from 'vitest';
import { IpcError } from '../ipc/client.js';
import { DEFAULT_SETTINGS, ErrorCode, RpcError, type LeakReport, type Settings, type TunnelStatus } from '../ipc/schema.js';
import { disconnectedStatus, FAKE_SERVERS } from '../ipc/testing/fake-helper.js';
import {
  formatLeakReport, describeFailure, exitLines, formatTable, formatAddresses, formatBytes, formatCatalogLoaded, formatDuration, formatImported, formatKillSwitch, formatRtt, formatServers, formatSettingChange, serversJson,
  formatSettings, formatStatus, formatStatusLine, serverLabel,
} from './format.js';

const sto = FAKE_SERVERS[0]!;
const NOW = 1_700_000_000_000;
const settings = (s: Partial<Settings> = {}): Settings => ({ ...DEFAULT_SETTINGS, ...s });

describe('units', () => {
  it.each([
    [0, '0 B'], [999, '999 B'], [1000, '1.0 kB'], [1234, '1.2 kB'], [300_000, '300 kB'], [999_499, '999 kB'],
    [999_600, '1.0 MB'], [1_234_567, '1.2 MB'], [12_345_678, '12 MB'], [5e12, '5.0 TB'], [-1, '?'],
  ])('formatBytes(%d) = %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [0, '0s'], [45_900, '45s'], [192_000, '3m12s'], [3_600_000, '1h00m'], [7_500_000, '2h05m'], [(3 * 24 + 4) * 3_600_000, '3d4h'], [-5, '0s'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('labels servers and addresses', () => {
    expect(serverLabel(sto)).toBe('Stockholm (se-sto)');
    expect(serverLabel({ id: 'home', name: 'home' })).toBe('home');
    expect(formatAddresses(['100.64.1.2/32', 'fd00::2/128'])).toBe('100.64.1.2, fd00::2');
  });
});

describe('formatStatusLine', () => {
  it('connected: server, address, uptime, traffic', () => {
    const s = disconnectedStatus({ state: 'connected', server: sto, addresses: ['100.64.1.2/32'], connectedSince: NOW - 192_000, rxBytes: 1_234_567, txBytes: 300_000 });
    expect(formatStatusLine(s, NOW)).toBe('Connected to Stockholm (se-sto) · 100.64.1.2 · up 3m12s · ↓1.2 MB ↑300 kB');
    expect(formatStatusLine(disconnectedStatus({ state: 'connected' }), NOW)).toBe('Connected · ↓0 B ↑0 B');
  });

  it('already: a connect that found the tunnel so says it', () => {
    const s = disconnectedStatus({ state: 'connected', server: sto, connectedSince: NOW - 5000 });
    expect(formatStatusLine(s, NOW, { already: true })).toBe('Already connected to Stockholm (se-sto) · up 5s · ↓0 B ↑0 B');
    expect(formatStatusLine({ ...s, state: 'connecting' }, NOW, { already: true })).toBe('Already connecting to Stockholm (se-sto)…');
  });

  it('connected but the server has not answered lately: says for how long', () => {
    const s = disconnectedStatus({ state: 'connected', noReplySince: NOW - 4_200 });
    expect(formatStatusLine(s, NOW)).toBe('Connected · ↓0 B ↑0 B · no reply from the server for 4 s');
  });

  it('the other states', () => {
    expect(formatStatusLine(disconnectedStatus(), NOW)).toBe('Disconnected');
    expect(formatStatusLine(disconnectedStatus({ state: 'connecting', server: sto }), NOW)).toBe('Connecting to Stockholm (se-sto)…');
    expect(formatStatusLine(disconnectedStatus({ state: 'connecting', server: sto, attempt: 2 }), NOW)).toBe('Connecting to Stockholm (se-sto)… (retry 2)');
    expect(formatStatusLine(disconnectedStatus({ state: 'disconnecting', server: sto }), NOW)).toBe('Disconnecting from Stockholm (se-sto)…');
    expect(formatStatusLine(disconnectedStatus({ state: 'error', server: sto, error: { code: 'x', message: 'no handshake answer' } }), NOW)).toBe('Could not connect to Stockholm (se-sto): no handshake answer');
    expect(formatStatusLine(disconnectedStatus({ state: 'error' }), NOW)).toBe('Not connected: the helper gave no reason');
    expect(formatStatusLine(disconnectedStatus({ state: 'reconnecting', server: sto }), NOW)).toBe('Reconnecting to Stockholm (se-sto): the server stopped answering…');
    expect(formatStatusLine(disconnectedStatus({ state: 'reconnecting', attempt: 3 }), NOW)).toBe('Reconnecting: the server stopped answering… (retry 3)');
  });
});

describe('formatKillSwitch and formatStatus', () => {
  it('shows the kill switch as the helper reports it', () => {
    const connected = disconnectedStatus({ state: 'connected', blocked: true, firewallActive: true });
    expect(formatKillSwitch(connected, settings({ killSwitch: true }))).toBe('on (blocking)');
    expect(formatKillSwitch(disconnectedStatus(), settings({ killSwitch: true }))).toBe('on (not blocking while disconnected)');
    expect(formatKillSwitch(disconnectedStatus({ state: 'disconnecting' }), settings({ killSwitch: true }))).toBe('on (not blocking)');
    expect(formatKillSwitch(disconnectedStatus(), settings())).toBe('off');
    expect(formatKillSwitch(disconnectedStatus({ state: 'reconnecting', blocked: true }), settings({ killSwitch: true }))).toBe('on (blocking)');
  });

  it('says when a wanted block is not in the kernel: a tunnel wanted with the kill switch on, or the helper wanting one', () => {
    for (const state of ['connecting', 'connected', 'reconnecting', 'error'] as const) {
      // The guard alone (firewallActive) is no kill switch.
      expect(formatKillSwitch(disconnectedStatus({ state, firewallActive: true }), settings({ killSwitch: true })), state).toMatch(/^on \(but its rules are not in the kernel: traffic may leak/);
    }
    expect(formatKillSwitch(disconnectedStatus({ state: 'connecting', firewall: { wanted: 'block', kernel: 'foreign' } }), settings({ killSwitch: true }))).toMatch(
      /^on \(but a table named like Umbra’s that is not Umbra’s is in the kernel/,
    );
    expect(formatKillSwitch(disconnectedStatus({ hold: 'boot', firewall: { wanted: 'block', kernel: 'none' } }), settings())).toMatch(/^off \(but its rules are not in the kernel/);
  });

  it('off, with a block held while disconnected: why', () => {
    expect(formatKillSwitch(disconnectedStatus({ blocked: true, hold: 'boot' }), settings({ killSwitchOnBoot: true }))).toBe('off (traffic is blocked: kill switch on boot)');
    expect(formatKillSwitch(disconnectedStatus({ blocked: true, hold: 'unreadable-state' }), settings())).toBe('off (traffic is blocked: the settings were unreadable after a crash)');
    expect(formatKillSwitch(disconnectedStatus({ blocked: true }), settings({ killSwitchOnBoot: true }))).toBe('off (but traffic is blocked)');
  });

  it('status: summary, last error, kill switch, and what to do when blocked', () => {
    const failing = disconnectedStatus({ state: 'connecting', server: sto, attempt: 1, blocked: true, firewallActive: true, error: { code: 't', message: 'no answer' } });
    expect(formatStatus(failing, settings({ killSwitch: true }), NOW)).toEqual([
      'Connecting to Stockholm (se-sto)… (retry 1)',
      'Last error: no answer',
      'Kill switch: on (blocking)',
      'Traffic outside the tunnel is blocked until you connect; umbra disconnect lifts the block.',
    ]);
    expect(formatStatus(disconnectedStatus(), undefined, NOW)).toEqual(['Disconnected']);
  });

  it('a leak check says "nothing escapes" only when a tunnel was up for it', () => {
    const report = (state: LeakReport['state'], verdict: LeakReport['checks'][number]['verdict']): LeakReport => ({
      checkedAt: NOW,
      state,
      checks: [{ id: 'public-ip', title: 'Public IP address', verdict, finding: 'seen', evidence: [] }],
      addresses: { seen: [], seen6: [], own: [], tunnel: [] },
      stunServers: [],
    });
    expect(formatLeakReport(report('connected', 'pass')).at(-1)).toBe('All checks passed: nothing escapes the tunnel.');
    expect(formatLeakReport(report('disconnected', 'pass')).at(-1)).toBe('Not connected when checked (disconnected): these results do not show a working tunnel; connect and check again.');
    expect(formatLeakReport(report('reconnecting', 'warn')).at(-1)).toMatch(/^Not connected when checked \(reconnecting\)/);
    expect(formatLeakReport(report('disconnected', 'fail')).at(-1)).toMatch(/^1 check failed/);
  });

  it('a leak check names the server by name and place, and shows the evidence only when asked', () => {
    const r: LeakReport = {
      checkedAt: NOW, state: 'connected', serverId: 'se-sto',
      checks: [{ id: 'kill-switch', title: 'Kill switch', verdict: 'pass', finding: 'the rules are in place', evidence: [{ label: 'Ruleset', text: 'table inet umbra {\n}' }] }],
      addresses: { seen: [], seen6: [], own: [], tunnel: [] }, stunServers: [],
    };
    expect(formatLeakReport(r, { servers: FAKE_SERVERS })).toEqual(['Leak check while connected to Stockholm (se-sto), Stockholm, Sweden:', '✔ PASS  Kill switch: the rules are in place', 'All checks passed: nothing escapes the tunnel.']);
    // A server the list no longer has: its id.
    expect(formatLeakReport({ ...r, serverId: 'gone' })[0]).toBe('Leak check while connected to gone:');
    expect(formatLeakReport(r, { evidence: true }).slice(1, 4)).toEqual(['✔ PASS  Kill switch: the rules are in place', '        Ruleset: table inet umbra {', '          }']);
  });

  it('status says when someone floods the client with handshakes, and only then', () => {
    const up = disconnectedStatus({ state: 'connected', connectedSince: NOW - 1000 });
    expect(formatStatus(up, undefined, NOW)).toHaveLength(1);
    expect(formatStatus({ ...up, handshakeFloodDropped: 1 }, undefined, NOW)[1]).toBe('Under a handshake flood: 1 handshake message dropped (flood); traffic goes on');
    expect(formatStatus({ ...up, handshakeFloodDropped: 52_000 }, undefined, NOW)[1]).toMatch(/^Under a handshake flood: 52000 handshake messages dropped/);
  });

  it('status says when the path MTU is below the tunnel\'s packets, and only then', () => {
    const up = disconnectedStatus({ state: 'connected', connectedSince: NOW - 1000 });
    expect(formatStatus({ ...up, pathMtuFragmented: 0 }, undefined, NOW)).toHaveLength(1);
    expect(formatStatus({ ...up, pathMtuFragmented: 1234 }, undefined, NOW)[1]).toBe(
      'Path MTU: the network carries less than the tunnel\'s packets; 1234 sent in fragments (lower MTU in the config to avoid it)',
    );
    expect(formatStatus({ ...up, pathMtuFragmented: 12, pathMtu: { learnt: 1400, mtuThatFits: 1340 } }, undefined, NOW)[1]).toBe(
      'Path MTU: the network carries at most 1400 bytes to the server, less than the tunnel\'s packets; 12 sent in fragments (set MTU = 1340 under [Interface] in the config to avoid it)',
    );
    expect(formatStatus({ ...up, pathMtuFragmented: 0, pathMtu: { learnt: 600 } }, undefined, NOW)[1]).toBe(
      'Path MTU: the network carries at most 600 bytes to the server, less than the tunnel\'s packets; they go in fragments (lower MTU in the config to avoid it)',
    );
  });

  it('status while connected: where the server is, and its exit address said to be the catalog\'s', () => {
    const up = disconnectedStatus({ state: 'connected', server: { ...sto, exitIp: '203.0.113.10' }, connectedSince: NOW - 1000 });
    expect(formatStatus(up, undefined, NOW).slice(1)).toEqual([
      'Location: Stockholm, Sweden',
      'Exit address: 203.0.113.10 (from the catalog, not measured; umbra leak-check measures it)',
    ]);
    const { exitIp: _, city: __, ...bare } = up.server!;
    expect(formatStatus({ ...up, server: bare }, undefined, NOW).slice(1)).toEqual(['Location: Sweden', 'Exit address: not in the catalog (umbra leak-check measures it)']);
    // On the way up nothing is known of the exit yet.
    expect(formatStatus({ ...up, state: 'connecting' }, undefined, NOW)).toEqual(['Connecting to Stockholm (se-sto)…']);
  });

  it('status while connected: the exit the helper measured, and a catalog that names another', () => {
    const up = disconnectedStatus({ state: 'connected', server: { ...sto, exitIp: '203.0.113.10' }, connectedSince: NOW - 1000 });
    const exit = (measuredExit: TunnelStatus['measuredExit']) => formatStatus({ ...up, measuredExit }, undefined, NOW).slice(2);
    expect(exit({ state: 'measuring', matchesCatalog: null })).toEqual(['Exit address: measuring… (the catalog says 203.0.113.10)']);
    expect(exit({ state: 'measured', ipv4: '203.0.113.10', at: NOW, matchesCatalog: true })).toEqual(['Exit address: 203.0.113.10 (measured through the tunnel; the catalog agrees)']);
    expect(exit({ state: 'measured', ipv4: '203.0.113.66', ipv6: '2001:db8::66', at: NOW, matchesCatalog: false })).toEqual([
      'Exit address: 203.0.113.66, 2001:db8::66 (measured through the tunnel)',
      'Warning: the catalog says 203.0.113.10; the internet sees 203.0.113.66, 2001:db8::66',
    ]);
    // No answer: never the catalog's address as if measured.
    const none = exit({ state: 'unmeasurable', at: NOW, matchesCatalog: null, error: 'http://e/: no answer within 3000 ms' });
    expect(none).toEqual(['Exit address: could not measure: no IP-echo service answered through the tunnel (http://e/: no answer within 3000 ms); the catalog says 203.0.113.10, unconfirmed']);
    expect(exitLines({ state: 'measured', ipv4: '203.0.113.66', at: NOW, matchesCatalog: null }, undefined)).toEqual(['Exit address: 203.0.113.66 (measured through the tunnel; not in the catalog)']);
    // The machine's own address: never "measured through the tunnel".
    const own = exitLines({ state: 'measured', ipv4: '198.51.100.2', at: NOW, matchesCatalog: null, outsideTunnel: true }, undefined);
    expect(own).toEqual(['Exit address: 198.51.100.2', "Warning: the internet sees 198.51.100.2, this machine's own address without the VPN: this traffic does not go through the tunnel"]);
  });

  it('status while reconnecting: the server went silent, the last error, the block', () => {
    const lost = disconnectedStatus({ state: 'reconnecting', server: sto, blocked: true, error: { code: 'NO_HANDSHAKE', message: 'no answer from Stockholm' } });
    expect(formatStatus(lost, settings({ killSwitch: true }), NOW)).toEqual([
      'Reconnecting to Stockholm (se-sto): the server stopped answering…',
      'Location: Stockholm, Sweden',
      'Last error: no answer from Stockholm',
      'Kill switch: on (blocking)',
      'Traffic outside the tunnel is blocked until the server answers again; umbra disconnect lifts the block.',
    ]);
    expect(formatStatus(disconnectedStatus({ state: 'reconnecting', server: sto, firewallActive: true }), settings(), NOW)).toEqual([
      'Reconnecting to Stockholm (se-sto): the server stopped answering…',
      'Location: Stockholm, Sweden',
      'Kill switch: off',
    ]);
  });

  it('status under lockdown while disconnected: blocked, and the two ways out', () => {
    expect(formatStatus(disconnectedStatus({ blocked: true, hold: 'lockdown' }), settings({ lockdown: true }), NOW)).toEqual([
      'Disconnected',
      'Kill switch: off (traffic is blocked: lockdown is on)',
      'Blocked: lockdown is on — connect, or turn lockdown off (umbra connect, or umbra set lockdown off).',
    ]);
  });

  it('status while disconnected with a block held: why, and the commands that lift it', () => {
    expect(formatStatus(disconnectedStatus({ blocked: true, hold: 'boot' }), settings({ killSwitchOnBoot: true }), NOW)).toEqual([
      'Disconnected',
      'Kill switch: off (traffic is blocked: kill switch on boot)',
      'Blocked: kill switch on boot — connect, or turn the setting off (umbra connect, or umbra set kill-switch-on-boot off).',
    ]);
    expect(formatStatus(disconnectedStatus({ blocked: true, hold: 'unreadable-state' }), undefined, NOW)).toEqual([
      'Disconnected',
      'Blocked: Umbra could not read its settings after a crash; connect, or disconnect to lift the block (umbra connect, or umbra disconnect).',
    ]);
    // The kernel decides: a hold the kernel does not carry out is no block.
    expect(formatStatus(disconnectedStatus({ hold: 'unreadable-state', firewall: { wanted: 'block', kernel: 'none' } }), undefined, NOW)).toEqual(['Disconnected']);
  });
});

describe('lists and settings', () => {
  it('servers as an aligned table, or what to do when there are none', () => {
    expect(formatServers(FAKE_SERVERS)).toEqual([
      'ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT',
      'se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820',
      'de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820',
    ]);
    const imported = { id: 'work', name: 'work', endpoint: 'vpn.example.org:51820', publicKey: sto.publicKey, source: 'import' } as const;
    expect(formatServers([...FAKE_SERVERS, imported], disconnectedStatus({ state: 'connected', server: FAKE_SERVERS[1] }))).toEqual([
      '   ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT',
      '   se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820',
      '*  de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820',
      '   work                                                 vpn.example.org:51820',
      '* connected',
    ]);
    expect(formatServers(FAKE_SERVERS, disconnectedStatus({ state: 'reconnecting', server: sto })).map((l) => l.slice(0, 9))).toEqual(['   ID    ', '~  se-sto', '   de-fra', '~ reconne']);
    // Disconnected, or in use but not listed: no mark column.
    expect(formatServers(FAKE_SERVERS, disconnectedStatus())[0]).toMatch(/^ID /);
    expect(formatServers([])).toEqual(['No servers yet. Add one from a WireGuard config: umbra import FILE.conf']);
  });

  it('servers with latency: a figure, or — with the reason under the table; via the exit while connected', () => {
    expect([0.03, 0.065, 4.24, 9.96, 23.4, 180.6].map(formatRtt)).toEqual(['<0.1 ms', '0.1 ms', '4.2 ms', '10 ms', '23 ms', '181 ms']);
    const third = { id: 'us-nyc', name: 'New York', endpoint: '198.51.100.30:51820', publicKey: sto.publicKey, source: 'catalog' } as const;
    const all = [...FAKE_SERVERS, third];
    const report = {
      measuredAt: NOW,
      via: 'de-fra',
      results: [{ id: 'se-sto', rttMs: 23.4 }, { id: 'de-fra', rttMs: null, reason: 'not measured: the server in use' }, { id: 'us-nyc', rttMs: null, reason: 'no reply' }],
    };
    expect(formatServers(all, disconnectedStatus({ state: 'connected', server: FAKE_SERVERS[1] }), { report })).toEqual([
      '   ID      NAME       CITY       COUNTRY  EXIT IP       ENDPOINT             LATENCY',
      '   se-sto  Stockholm  Stockholm  Sweden   203.0.113.10  198.51.100.10:51820  23 ms',
      '*  de-fra  Frankfurt  Frankfurt  Germany                198.51.100.20:51820  —',
      '   us-nyc  New York                                     198.51.100.30:51820  —',
      '* connected',
      '— de-fra: not measured: the server in use',
      '— us-nyc: no reply',
      'Latency via the exit of Frankfurt (de-fra): measured through the tunnel, not from this machine',
    ]);
    // One reason for all: said once, no ids; no figure at all: no "via" line.
    const blocked = { measuredAt: NOW, results: all.map((x) => ({ id: x.id, rttMs: null, reason: 'blocked by the kill switch' })) };
    expect(formatServers(all, disconnectedStatus({ blocked: true }), { report: blocked }).slice(-2)).toEqual(['us-nyc  New York                                     198.51.100.30:51820  —', '— blocked by the kill switch']);
    // A server the report leaves out is not given a figure.
    expect(formatServers([third], undefined, { report: { measuredAt: NOW, results: [] } })).toEqual([
      'ID      NAME      CITY  COUNTRY  EXIT IP  ENDPOINT             LATENCY',
      'us-nyc  New York                          198.51.100.30:51820  —',
      '— not measured (the helper did not report it)',
    ]);
  });

  it('servers --json: the latency inside each server, and when and via which server it was measured', () => {
    const report = { measuredAt: NOW, via: 'de-fra', results: [{ id: 'de-fra', rttMs: null, reason: 'in use' }, { id: 'se-sto', rttMs: 8 }] };
    expect(serversJson(FAKE_SERVERS, { report })).toEqual({
      servers: [{ ...FAKE_SERVERS[0], latency: { rttMs: 8 } }, { ...FAKE_SERVERS[1], latency: { rttMs: null, reason: 'in use' } }],
      latency: { measuredAt: NOW, via: 'de-fra' },
    });
    expect(serversJson(FAKE_SERVERS)).toEqual({ servers: FAKE_SERVERS });
    expect(serversJson(FAKE_SERVERS, { error: 'boom' })).toEqual({ servers: FAKE_SERVERS, latency: { error: 'boom' } });
  });

  it('tables: columns as wide as their widest cell, missing cells blank, no trailing blanks', () => {
    expect(formatTable(['A', 'LONG HEADER', 'C'], [['wide cell', 'x'], ['', 'y', 'z']])).toEqual(['A          LONG HEADER  C', 'wide cell  x', '           y            z']);
  });

  it('settings and changes', () => {
    expect(formatSettings(settings({ killSwitch: true, lastServerId: 'se-sto' }))).toEqual([
      'Kill switch: on', 'Kill switch on boot: off', 'Lockdown (always require the VPN): off', 'Allow LAN: off', 'Auto-connect: off', 'Last server: se-sto',
      'Leak check, IP-echo services: https://api.ipify.org/, https://ipv4.icanhazip.com/',
      'Leak check, IPv6 echo service: https://api6.ipify.org/',
      'Leak check, DNS leak test: off',
      'Leak check, STUN servers: stun:stun.cloudflare.com:3478',
      "DNS servers: each config's own",
      'Local network domains: off (every name through the tunnel)',
    ]);
    expect(formatSettings(settings({ echoUrl6: null, dnsLeakTest: { zone: 'lab.test', apiUrl: 'http://203.0.113.250/dns-askers' }, stunServers: [], dnsServers: ['203.0.113.250'], lanDns: { domains: ['corp.example'], servers: ['198.51.100.53'] } })).slice(-5)).toEqual([
      'Leak check, IPv6 echo service: off',
      'Leak check, DNS leak test: names under lab.test, asking http://203.0.113.250/dns-askers',
      'Leak check, STUN servers: none',
      'DNS servers: 203.0.113.250, through the tunnel',
      'Local network domains: corp.example via 198.51.100.53, outside the tunnel',
    ]);
    expect(formatSettingChange('allowLan', settings({ allowLan: true }))).toBe('Allow LAN: on');
    expect(formatImported({ ...sto, source: 'import' })).toEqual(['Imported Stockholm (se-sto) · 198.51.100.10:51820', 'Connect with: umbra connect se-sto']);
    expect(formatImported({ ...sto, source: 'import' }, [{ line: 8, key: 'PostUp', why: 'Umbra never runs commands from a config' }, { line: 14, key: '[Peer]', why: 'this peer has no Endpoint' }])).toEqual([
      'Imported Stockholm (se-sto) · 198.51.100.10:51820',
      'Left out of the config:',
      '  line 8: PostUp — Umbra never runs commands from a config',
      '  line 14: [Peer] — this peer has no Endpoint',
      'Connect with: umbra connect se-sto',
    ]);
    expect(formatCatalogLoaded([{ ...sto, source: 'import' }, { ...sto, id: 'c1', source: 'catalog' }])).toEqual(['Loaded the catalog: 1 server (2 in all)', 'See them with: umbra servers']);
  });
});

describe('describeFailure', () => {
  it('maps errors to messages and exit codes', () => {
    expect(describeFailure(new IpcError('not-running', 'not running'))).toEqual({ message: 'not running', exitCode: 3, json: { error: { kind: 'not-running', message: 'not running' } } });
    expect(describeFailure(new RpcError(ErrorCode.NotFound, 'no server', { reason: 'not-found' }))).toEqual({ message: 'no server', exitCode: 1, json: { error: { code: ErrorCode.NotFound, message: 'no server', data: { reason: 'not-found' } } } });
    expect(describeFailure(new RpcError(ErrorCode.PermissionDenied, 'permission denied')).exitCode).toBe(3);
    expect(describeFailure(new Error('boom'))).toEqual({ message: 'boom', exitCode: 1, json: { error: { message: 'boom' } } });
  });
});
