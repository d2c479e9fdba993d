import { describe, expect, it } from 'vitest';
import { ConfigError, parseWgQuick, parseWgQuickForImport, redactConfig, type WgQuickConfig } from './wg-quick.js';
import { formatPrefix } from '../net/ip.js';

const PRIV = 'CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=';
const PUB1 = 'FmCq9D6I0hxmsPpEjtgibLYASpTeKHK8BlCa5C54wgw=';
const PUB2 = 'IZD/bt1MuyqZCHfmVcQzohGA717NPKsaifhn1kW0I5I=';
const PSK = 'LMBU6HwQpDjMYPSIHLBE2GwAlCi8UOR4DKA0yFzwhBg=';

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Parses and returns the ConfigError, failing the test if none is thrown. */
function errorOf(text: string): ConfigError {
  try {
    parseWgQuick(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    for (const secret of [PRIV, PSK]) expect(err.message).not.toContain(secret);
    return err;
  }
  throw new Error('expected a ConfigError');
}

function expectError(text: string, line: number, problem: RegExp): ConfigError {
  const err = errorOf(text);
  expect(err.line).toBe(line);
  expect(err.problem).toMatch(problem);
  expect(err.message).toBe(line > 0 ? `line ${line}: ${err.problem}` : err.problem);
  return err;
}

const minimal = (extraInterface = '', peer = `[Peer]\nPublicKey = ${PUB1}\nAllowedIPs = 0.0.0.0/0\n`) =>
  `[Interface]\nPrivateKey = ${PRIV}\n${extraInterface}\n${peer}`;

describe('parseWgQuick: realistic configs', () => {
  it('parses a provider config with IPv4 and IPv6, DNS and several AllowedIPs', () => {
    const text = [
      '# Mullvad-style config, generated 2024-05-01',
      '[Interface]',
      '# Device: Quiet Otter',
      `PrivateKey = ${PRIV}`,
      'Address = 100.64.12.34/32,2001:db8:ff00::c:1222/128',
      'DNS = 100.64.0.1, 2001:db8:ff00::1',
      'MTU = 1420',
      '',
      '[Peer]',
      `PublicKey = ${PUB1}`,
      `PresharedKey = ${PSK}`,
      'AllowedIPs = 0.0.0.0/0, ::0/0',
      'Endpoint = 203.0.113.45:51820 # se-sto-wg-001',
      'PersistentKeepalive = 25',
    ].join('\n');
    const cfg = parseWgQuick(text);
    expect(b64(cfg.interface.privateKey)).toBe(PRIV);
    expect(cfg.interface.addresses.map(formatPrefix)).toEqual(['100.64.12.34/32', '2001:db8:ff00::c:1222/128']);
    expect(cfg.interface.addresses.map((a) => a.family)).toEqual([4, 6]);
    expect(cfg.interface.dns).toEqual(['100.64.0.1', '2001:db8:ff00::1']);
    expect(cfg.interface.dnsSearch).toEqual([]);
    expect(cfg.interface.mtu).toBe(1420);
    expect(cfg.interface.listenPort).toBeUndefined();
    expect(cfg.peers).toHaveLength(1);
    const peer = cfg.peers[0]!;
    expect(b64(peer.publicKey)).toBe(PUB1);
    expect(b64(peer.presharedKey!)).toBe(PSK);
    expect(peer.allowedIPs.map(formatPrefix)).toEqual(['0.0.0.0/0', '::/0']);
    expect(peer.endpoint).toEqual({ host: '203.0.113.45', port: 51820 });
    expect(peer.persistentKeepalive).toBe(25);
  });

  it('parses several peers, repeated list keys, hostnames, [v6]:port, search domains, Table and FwMark', () => {
    const text = `
[Interface]
PrivateKey = ${PRIV}
Address = 100.64.1.2/24
Address = 2001:db8:1::2/64
DNS = 198.51.100.53
DNS = corp.example, 2001:db8::53, lan.example.
ListenPort = 51820
FwMark = 0x1234
Table = off
SaveConfig = false

[Peer] # office
PublicKey = ${PUB1}
AllowedIPs = 198.51.100.0/24
AllowedIPs = 203.0.113.7/24, 2001:db8:abcd::1/48
Endpoint = vpn.example.net:443

[Peer] # home
PublicKey = ${PUB2}
Endpoint = [2001:DB8::0:1]:51820
PersistentKeepalive = off
`;
    const cfg = parseWgQuick(text);
    const i = cfg.interface;
    // Address keeps the host bits: it is the interface's own address with its subnet.
    expect(i.addresses.map(formatPrefix)).toEqual(['100.64.1.2/24', '2001:db8:1::2/64']);
    expect(i.dns).toEqual(['198.51.100.53', '2001:db8::53']);
    expect(i.dnsSearch).toEqual(['corp.example', 'lan.example.']);
    expect(i.listenPort).toBe(51820);
    expect(i.fwmark).toBe(0x1234);
    expect(i.table).toBe('off');
    expect(cfg.peers).toHaveLength(2);
    const [office, home] = cfg.peers as [WgQuickConfig['peers'][0], WgQuickConfig['peers'][0]];
    // AllowedIPs are masked to their prefix.
    expect(office.allowedIPs.map(formatPrefix)).toEqual(['198.51.100.0/24', '203.0.113.0/24', '2001:db8:abcd::/48']);
    expect(office.endpoint).toEqual({ host: 'vpn.example.net', port: 443 });
    expect(office.presharedKey).toBeUndefined();
    expect(b64(home.publicKey)).toBe(PUB2);
    expect(home.endpoint).toEqual({ host: '2001:db8::1', port: 51820 });
    expect(home.allowedIPs).toEqual([]);
    expect(home.persistentKeepalive).toBeUndefined();
  });

  it('accepts CRLF line endings, a UTF-8 BOM, odd spacing and any letter case in keys and sections', () => {
    const text = `\uFEFF[interface]\r\n  privatekey=${PRIV}   \r\nADDRESS   =   100.64.0.2/32\r\n\r\n[ PEER ]\r\npublicKEY = ${PUB1}\r\nallowedips=0.0.0.0/0,::/0\r\n`;
    const cfg = parseWgQuick(text);
    expect(b64(cfg.interface.privateKey)).toBe(PRIV);
    expect(cfg.interface.addresses.map(formatPrefix)).toEqual(['100.64.0.2/32']);
    expect(cfg.peers[0]!.allowedIPs.map(formatPrefix)).toEqual(['0.0.0.0/0', '::/0']);
  });

  it('parses a config with no peers (the caller decides whether that is enough)', () => {
    const cfg = parseWgQuick(`[Interface]\nPrivateKey = ${PRIV}\n`);
    expect(cfg.peers).toEqual([]);
    expect(cfg.interface.addresses).toEqual([]);
  });

  it('treats FwMark 0/off and PersistentKeepalive 0 as off', () => {
    expect(parseWgQuick(minimal('FwMark = off')).interface.fwmark).toBeUndefined();
    expect(parseWgQuick(minimal('FwMark = 0')).interface.fwmark).toBeUndefined();
    expect(parseWgQuick(minimal('FwMark = 51820')).interface.fwmark).toBe(51820);
    const cfg = parseWgQuick(minimal('', `[Peer]\nPublicKey = ${PUB1}\nPersistentKeepalive = 0\n`));
    expect(cfg.peers[0]!.persistentKeepalive).toBeUndefined();
  });

  it('accepts MTU and port bounds', () => {
    expect(parseWgQuick(minimal('MTU = 576')).interface.mtu).toBe(576);
    expect(parseWgQuick(minimal('MTU = 65535')).interface.mtu).toBe(65535);
    expect(parseWgQuick(minimal('ListenPort = 1')).interface.listenPort).toBe(1);
    expect(parseWgQuick(minimal('ListenPort = 65535')).interface.listenPort).toBe(65535);
  });
});

describe('parseWgQuick: errors name the line and the problem', () => {
  const I = `[Interface]\nPrivateKey = ${PRIV}\n`; // lines 1-2
  const P = `[Peer]\nPublicKey = ${PUB1}\n`;

  it('a key before any section', () => {
    expectError(`# header\nPrivateKey = ${PRIV}\n[Interface]\n`, 2, /PrivateKey comes before any section/);
  });
  it('no [Interface] section at all', () => {
    expectError(`# only a peer\n${P}`, 0, /no \[Interface\] section/);
    expectError('', 0, /no \[Interface\] section/);
  });
  it('a second [Interface]', () => {
    expectError(`${I}\n[Interface]\n`, 4, /second \[Interface\].*line 1/);
  });
  it('a missing PrivateKey (reported on the [Interface] line)', () => {
    expectError(`# c\n[Interface]\nAddress = 100.64.0.2/32\n${P}`, 2, /no PrivateKey/);
  });
  it('a peer without PublicKey (reported on its [Peer] line)', () => {
    expectError(`${I}${P}\n[Peer]\nAllowedIPs = 0.0.0.0/0\n`, 6, /\[Peer\] section has no PublicKey/);
  });
  it('the same peer twice', () => {
    expectError(`${I}${P}${P}`, 5, /same PublicKey as the peer on line 3/);
  });
  it('an unknown section', () => {
    expectError(`${I}[Peers]\n`, 3, /unknown section "\[Peers\]"/);
  });
  it('an unknown key, named', () => {
    expectError(`${I}Jc = 4\n`, 3, /unknown key "Jc" in \[Interface\]/);
    expectError(`${I}${P}Keepalive = 25\n`, 5, /unknown key "Keepalive" in \[Peer\]/);
  });
  it('a key in the wrong section', () => {
    expectError(`${I}PublicKey = ${PUB1}\n`, 3, /PublicKey belongs in the \[Peer\] section/);
    expectError(`${I}${P}DNS = 198.51.100.53\n`, 5, /DNS belongs in the \[Interface\] section/);
  });
  it('wg-quick hooks are refused with a clear message', () => {
    for (const hook of ['PreUp', 'PostUp', 'PreDown', 'PostDown']) {
      const err = expectError(`${I}${hook} = iptables -A FORWARD -i %i -j ACCEPT\n`, 3, /runs shell commands/);
      expect(err.message).toBe(`line 3: ${hook} runs shell commands; Umbra does not run them — remove the line`);
    }
  });
  it('a line that is not Key = Value', () => {
    expectError(`${I}just some words\n`, 3, /expected "Key = Value"/);
    expectError(`${I}= 5\n`, 3, /no key name/);
    expectError(`${I}Private Key = x\n`, 3, /not a wg-quick key name/);
    expectError(`${I}H1 = 1234\n`, 3, /unknown key "H1" in \[Interface\]/);
  });
  it('a key without a value', () => {
    expectError(`${I}Address =\n`, 3, /Address has no value/);
  });
  it('a single-valued key set twice', () => {
    expectError(`${I}MTU = 1420\nMTU = 1280\n`, 4, /MTU is set twice in this section \(first on line 3\)/);
    expectError(`${I}PrivateKey = ${PRIV}\n`, 3, /PrivateKey is set twice/);
  });
  it('invalid keys, without echoing the key', () => {
    const short = PRIV.slice(0, 43);
    const e1 = expectError(`[Interface]\nPrivateKey = ${short}\n`, 2, /PrivateKey is not a valid WireGuard key: it has 43 characters/);
    expect(e1.message).not.toContain(short);
    const notB64 = `${PRIV.slice(0, 10)}!${PRIV.slice(11)}`;
    const e2 = expectError(`[Interface]\nPrivateKey = ${notB64}\n`, 2, /not base64/);
    expect(e2.message).not.toContain(notB64);
    // 'Z' is 25 = 0b011001: its low two bits are not zero, so this is not a 32-byte value.
    expectError(`${I}${P}PresharedKey = ${PSK.slice(0, 42)}Z=\n`, 5, /PresharedKey is not a valid WireGuard key: its last character/);
    expectError(`${I}[Peer]\nPublicKey = ${PUB1}==\n`, 4, /PublicKey is not a valid WireGuard key: it has 46 characters/);
  });
  it('never repeats a key pasted in the wrong place', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ='; // a valid-looking key of letters only
    for (const [text, line] of [
      [`${letters}\n${I}`, 1],
      [`${I}${letters}\n`, 3],
      [`${I}Address = ${PRIV}\n`, 3],
      [`${I}DNS = 198.51.100.53, ${PSK}\n`, 3],
      [`${I}${P}Endpoint = ${PSK}:51820\n`, 5],
      [`${I}${P}AllowedIPs = ${PSK}\n`, 5],
      [`${I}[${PSK}]\n`, 3],
    ] as const) {
      const err = errorOf(text);
      expect(err.line).toBe(line);
      expect(err.message).not.toContain(letters.slice(0, 40));
      expect(err.message).not.toContain(PSK.slice(0, 40));
      expect(err.message).not.toContain(PRIV.slice(0, 40));
    }
    expect(errorOf(`${I}Address = ${PRIV}\n`).message).toBe('line 3: Address holds what looks like a WireGuard key; a key does not belong in Address');
    expect(errorOf(`${I}[${PSK}]\n`).message).toBe('line 3: unknown section "[(hidden)]"; a config has one [Interface] and [Peer] sections');
    expect(new ConfigError(0, `x ${PRIV} y`).problem).toBe('x (hidden) y');
  });

  it('never repeats most of a key either: one with a typo, a space or a NUL in it (found by wg-quick.fuzz.test.ts)', () => {
    // Each piece is shorter than a whole key, so the old "40 base64 characters" rule let it through.
    for (const broken of [`${PRIV.slice(0, 4)} ${PRIV.slice(5)}`, `${PRIV.slice(0, 22)}\u0000${PRIV.slice(23)}`, `${PRIV.slice(0, 30)}!`]) {
      const err = errorOf(`${I}FwMark = ${broken}\n`);
      expect(err.line).toBe(3);
      for (let i = 0; i + 20 <= PRIV.length; i++) expect(err.message).not.toContain(PRIV.slice(i, i + 20));
    }
    expect(errorOf(`${I}DNS = ${PSK.slice(0, 25)}!\n`).message).toBe('line 3: DNS entry "(hidden)!" is neither an IP address nor a search domain');
  });

  it('malformed addresses and CIDRs', () => {
    expectError(`${I}Address = 100.64.0.2/33\n`, 3, /Address: "100.64.0.2\/33" has an invalid prefix length "\/33"; an IPv4 prefix is 0 to 32/);
    expectError(`${I}Address = 256.1.1.1/32\n`, 3, /"256.1.1.1" is not a valid IPv4 address/);
    expectError(`${I}${P}AllowedIPs = 0.0.0.0/0, 1:::2/64\n`, 5, /AllowedIPs: "1:::2" is not a valid IPv6 address/);
    expectError(`${I}${P}AllowedIPs = 0.0.0.0/0,,::/0\n`, 5, /AllowedIPs has an empty entry/);
    expectError(`${I}${P}AllowedIPs = ::/129\n`, 5, /IPv6 prefix is 0 to 128/);
    expectError(`${I}Address = fe80::1%eth0/64\n`, 3, /zone id/);
  });
  it('bad DNS entries', () => {
    expectError(`${I}DNS = 198.51.100.53, 300.1.1.1\n`, 3, /DNS entry "300.1.1.1" is neither an IP address nor a search domain/);
    expectError(`${I}DNS = bad_domain!\n`, 3, /DNS entry "bad_domain!"/);
  });
  it('out-of-range numbers', () => {
    expectError(`${I}MTU = 575\n`, 3, /MTU must be a whole number from 576 to 65535, not "575"/);
    expectError(`${I}MTU = 65536\n`, 3, /MTU must be/);
    expectError(`${I}MTU = 1420.5\n`, 3, /MTU must be/);
    expectError(`${I}ListenPort = 0\n`, 3, /ListenPort must be a whole number from 1 to 65535/);
    expectError(`${I}ListenPort = 65536\n`, 3, /ListenPort must be/);
    expectError(`${I}FwMark = 0x1ffffffff\n`, 3, /FwMark must be "off" or a number/);
    expectError(`${I}FwMark = -1\n`, 3, /FwMark must be/);
    expectError(`${I}${P}PersistentKeepalive = 65536\n`, 5, /PersistentKeepalive \(seconds, or "off"\) must be a whole number from 0 to 65535/);
    expectError(`${I}${P}PersistentKeepalive = soon\n`, 5, /PersistentKeepalive/);
    expectError(`${I}SaveConfig = maybe\n`, 3, /SaveConfig must be true or false/);
    expectError(`${I}Table = two words\n`, 3, /Table must be/);
  });
  it('bad endpoints', () => {
    expectError(`${I}${P}Endpoint = 203.0.113.45\n`, 5, /Endpoint "203.0.113.45" has no port/);
    expectError(`${I}${P}Endpoint = 203.0.113.45:0\n`, 5, /Endpoint port must be a whole number from 1 to 65535/);
    expectError(`${I}${P}Endpoint = 203.0.113.45:65536\n`, 5, /Endpoint port/);
    expectError(`${I}${P}Endpoint = vpn.example.net:\n`, 5, /Endpoint port/);
    expectError(`${I}${P}Endpoint = 2001:db8::1:51820\n`, 5, /put an IPv6 address in brackets/);
    expectError(`${I}${P}Endpoint = [2001:db8::1]51820\n`, 5, /must look like \[IPv6\]:port/);
    expectError(`${I}${P}Endpoint = [198.51.100.1]:51820\n`, 5, /is not a valid IPv6 address/);
    expectError(`${I}${P}Endpoint = 256.1.1.1:51820\n`, 5, /neither an IP address nor a hostname/);
    expectError(`${I}${P}Endpoint = bad host:51820\n`, 5, /neither an IP address nor a hostname/);
  });
  it('quotes at most 60 characters of a bad line or value (found by wg-quick.fuzz.test.ts)', () => {
    // A 64 KiB line used to come back whole in the message.
    const long = '-'.repeat(64 * 1024);
    for (const [text, line] of [
      [`${I}[${long}]\n`, 3],
      [`${I}DNS = ${long}!\n`, 3],
      [`${I}MTU = ${long}\n`, 3],
      [`${I}${P}Endpoint = ${long}:1:2\n`, 5],
    ] as const) {
      const err = errorOf(text);
      expect(err.line).toBe(line);
      expect(err.message.length).toBeLessThan(300);
      expect(err.message).toContain('…"');
      expect(err.message).not.toContain('-'.repeat(61));
    }
  });
  it('keeps the line number right with CRLF and a BOM', () => {
    expectError(`\uFEFF[Interface]\r\nPrivateKey = ${PRIV}\r\n\r\nMTU = 9\r\n`, 4, /MTU must be/);
  });
});

describe('redactConfig', () => {
  it('hides the private and preshared keys and keeps what helps debugging', () => {
    const cfg = parseWgQuick(minimal('Address = 100.64.0.2/32\nMTU = 1380', `[Peer]\nPublicKey = ${PUB1}\nPresharedKey = ${PSK}\nEndpoint = [2001:db8::1]:51820\nAllowedIPs = ::/0\n`));
    const red = redactConfig(cfg);
    const json = JSON.stringify(red);
    expect(json).not.toContain(PRIV);
    expect(json).not.toContain(PSK);
    expect(red).toEqual({
      interface: { privateKey: '(hidden)', addresses: ['100.64.0.2/32'], dns: [], dnsSearch: [], mtu: 1380 },
      peers: [{ publicKey: PUB1, presharedKey: '(hidden)', endpoint: '[2001:db8::1]:51820', allowedIPs: ['::/0'] }],
    });
  });
});

describe('parseWgQuickForImport: what an import keeps and leaves out', () => {
  // An older provider/self-hosted config: hooks carrying iptables rules, and the keys the helper
  // decides itself.
  const OLD_STYLE = [
    '[Interface]', // 1
    `PrivateKey = ${PRIV}`, // 2
    'Address = 100.64.7.2/32', // 3
    'ListenPort = 51820', // 4
    'FwMark = 0xca6c', // 5
    'Table = off', // 6
    'SaveConfig = true', // 7
    'PostUp = iptables -I OUTPUT ! -o %i -m mark ! --mark $(wg show %i fwmark) -j REJECT', // 8
    'PreDown = iptables -D OUTPUT ! -o %i -j REJECT; wg set %i private-key /etc/wireguard/secret', // 9
    'preup = echo hi', // 10
    'PostDown = ', // 11: no value: never read, so not an error either
    '', // 12
    '[Peer]', // 13
    `PublicKey = ${PUB1}`, // 14
    'AllowedIPs = 0.0.0.0/0', // 15
    'Endpoint = 198.51.100.7:51820', // 16
    '', // 17
    '[Peer] # a road warrior that calls in', // 18
    `PublicKey = ${PUB2}`, // 19
    'AllowedIPs = 100.64.7.9/32', // 20
  ].join('\n');

  it('imports a config with hooks and helper-owned keys, naming every line it left out and why', () => {
    const { config, notes } = parseWgQuickForImport(OLD_STYLE);
    expect(config.interface.addresses.map(formatPrefix)).toEqual(['100.64.7.2/32']);
    expect(config.peers.map((p) => b64(p.publicKey))).toEqual([PUB1]);
    expect(notes.map((n) => [n.line, n.key])).toEqual([
      [4, 'ListenPort'], [5, 'FwMark'], [6, 'Table'], [7, 'SaveConfig'],
      [8, 'PostUp'], [9, 'PreDown'], [10, 'preup'], [11, 'PostDown'], [18, '[Peer]'],
    ]);
    const why = Object.fromEntries(notes.map((n) => [n.key, n.why]));
    expect(why.PostUp).toMatch(/never runs commands .*kill switch replaces the firewall rules/);
    expect(why.ListenPort).toMatch(/its own UDP port/);
    expect(why.FwMark).toMatch(/own fwmark/);
    expect(why.Table).toMatch(/own routing table/);
    expect(why.SaveConfig).toMatch(/never writes the config file back/);
    expect(why['[Peer]']).toMatch(/no Endpoint/);
  });

  it('never repeats a dropped line\'s value (a hook may name a key file or hold a secret)', () => {
    const { notes } = parseWgQuickForImport(OLD_STYLE.replace('echo hi', `echo ${PSK}`));
    const text = JSON.stringify(notes);
    for (const leaked of ['iptables', '/etc/wireguard/secret', 'echo', PSK, '0xca6c', '51820']) expect(text).not.toContain(leaked);
  });

  it('a config with nothing to leave out has no notes; parseWgQuick still refuses hooks', () => {
    expect(parseWgQuickForImport(minimal('Address = 100.64.0.2/32', `[Peer]\nPublicKey = ${PUB1}\nEndpoint = 198.51.100.1:51820\n`)).notes).toEqual([]);
    expect(() => parseWgQuick(OLD_STYLE)).toThrow(/^line 8: PostUp runs shell commands/);
  });

  it('a hook anywhere is left out, never an error; other errors still are', () => {
    const inPeer = minimal('', `[Peer]\nPublicKey = ${PUB1}\nEndpoint = 198.51.100.1:51820\nPostUp = rm -rf /\nPostUp = again\n`);
    expect(parseWgQuickForImport(inPeer).notes.map((n) => [n.line, n.key])).toEqual([[7, 'PostUp'], [8, 'PostUp']]);
    expect(parseWgQuickForImport(`PreUp = x\n${minimal()}`).notes.map((n) => [n.line, n.key])).toEqual([[1, 'PreUp'], [5, '[Peer]']]);
    expect(() => parseWgQuickForImport(`${OLD_STYLE}\nMTU = 9\n`)).toThrow(ConfigError);
    // Helper-owned keys are still checked as wg-quick checks them: a broken value is a broken file.
    expect(() => parseWgQuickForImport(minimal('ListenPort = 0'))).toThrow(/ListenPort must be a whole number/);
  });
});
