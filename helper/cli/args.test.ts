import { describe, expect, it } from 'vitest';
import { parseArgs, socketPath, UsageError } from './args.js';

describe('parseArgs', () => {
  it('parses every command', () => {
    expect(parseArgs(['status'])).toEqual({ json: false, verbose: false, command: { name: 'status' } });
    expect(parseArgs(['servers']).command).toEqual({ name: 'servers' });
    expect(parseArgs(['servers', '--no-latency']).command).toEqual({ name: 'servers', noLatency: true });
    expect(parseArgs(['--no-latency', '--json', 'servers']).command).toEqual({ name: 'servers', noLatency: true });
    expect(parseArgs(['settings']).command).toEqual({ name: 'settings' });
    expect(parseArgs(['version']).command).toEqual({ name: 'version' });
    expect(parseArgs(['disconnect']).command).toEqual({ name: 'disconnect' });
    expect(parseArgs(['help']).command).toEqual({ name: 'help' });
    expect(parseArgs(['connect']).command).toEqual({ name: 'connect' });
    expect(parseArgs(['connect', 'se-sto']).command).toEqual({ name: 'connect', server: 'se-sto' });
    expect(parseArgs(['import', 'wg0.conf']).command).toEqual({ name: 'import', file: 'wg0.conf' });
    expect(parseArgs(['import', 'wg0.conf', '--name', 'Home']).command).toEqual({ name: 'import', file: 'wg0.conf', serverName: 'Home' });
    expect(parseArgs(['import', '--name=Home', 'wg0.conf']).command).toEqual({ name: 'import', file: 'wg0.conf', serverName: 'Home' });
    expect(parseArgs(['load-catalog', 'servers.json']).command).toEqual({ name: 'load-catalog', source: { file: 'servers.json' } });
    expect(parseArgs(['load-catalog', 'HTTPS://vpn.example/servers.json']).command).toEqual({ name: 'load-catalog', source: { url: 'HTTPS://vpn.example/servers.json' } });
  });

  it('load-catalog: --key pins the provider\'s signing key, --unsigned accepts an unsigned URL on purpose', () => {
    expect(parseArgs(['load-catalog', 'https://vpn.example/c.json', '--key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']).command)
      .toEqual({ name: 'load-catalog', source: { url: 'https://vpn.example/c.json' }, signingKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(parseArgs(['load-catalog', '--unsigned', 'https://vpn.example/c.json']).command)
      .toEqual({ name: 'load-catalog', source: { url: 'https://vpn.example/c.json' }, allowUnsigned: true });
    expect(parseArgs(['load-catalog', 'c.json', '--key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']).command).toEqual({ name: 'load-catalog', source: { file: 'c.json' }, signingKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(() => parseArgs(['load-catalog', 'c.json', '--unsigned'])).toThrow(/--unsigned goes with a URL/);
    expect(() => parseArgs(['load-catalog', 'https://x.example/c', '--unsigned', '--key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='])).toThrow(/contradict/);
    expect(() => parseArgs(['status', '--unsigned'])).toThrow(/go with load-catalog/);
    expect(() => parseArgs(['status', '--no-latency'])).toThrow(/--no-latency goes with servers/);
    expect(() => parseArgs(['servers', '--no-latency=1'])).toThrow(/takes no value/);
  });

  it('parses the settings, on and off', () => {
    expect(parseArgs(['set', 'kill-switch', 'on']).command).toEqual({ name: 'set', key: 'killSwitch', value: true });
    expect(parseArgs(['set', 'kill-switch-on-boot', 'off']).command).toEqual({ name: 'set', key: 'killSwitchOnBoot', value: false });
    expect(parseArgs(['set', 'allow-lan', 'ON']).command).toEqual({ name: 'set', key: 'allowLan', value: true });
    expect(parseArgs(['set', 'auto-connect', 'false']).command).toEqual({ name: 'set', key: 'autoConnect', value: false });
  });

  it('parses leak-check and the leak check’s settings', () => {
    expect(parseArgs(['leak-check', '--json'])).toEqual({ json: true, verbose: false, command: { name: 'leak-check' } });
    expect(parseArgs(['set', 'echo-urls', 'http://203.0.113.250/', 'https://a.example/ip']).command).toEqual({
      name: 'configure', key: 'echoUrls', patch: { echoUrls: ['http://203.0.113.250/', 'https://a.example/ip'] },
    });
    expect(parseArgs(['set', 'echo-urls', 'http://a/,http://b/']).command).toMatchObject({ patch: { echoUrls: ['http://a/', 'http://b/'] } });
    expect(parseArgs(['set', 'echo-urls', 'default']).command).toMatchObject({ patch: { echoUrls: ['https://api.ipify.org/', 'https://ipv4.icanhazip.com/'] } });
    expect(parseArgs(['set', 'echo-url6', 'off']).command).toEqual({ name: 'configure', key: 'echoUrl6', patch: { echoUrl6: null } });
    expect(parseArgs(['set', 'echo-url6', 'http://[2001:db8:f::250]/']).command).toMatchObject({ patch: { echoUrl6: 'http://[2001:db8:f::250]/' } });
    expect(parseArgs(['set', 'dns-leak-test', 'lab.test', 'http://203.0.113.250/dns-askers']).command).toEqual({
      name: 'configure', key: 'dnsLeakTest', patch: { dnsLeakTest: { zone: 'lab.test', apiUrl: 'http://203.0.113.250/dns-askers' } },
    });
    expect(parseArgs(['set', 'dns-leak-test', 'off']).command).toMatchObject({ patch: { dnsLeakTest: null } });
    expect(parseArgs(['set', 'stun-servers', 'none']).command).toMatchObject({ patch: { stunServers: [] } });
    expect(parseArgs(['set', 'stun-servers', 'stun:203.0.113.250:3478']).command).toMatchObject({ patch: { stunServers: ['stun:203.0.113.250:3478'] } });
    expect(parseArgs(['set', 'dns', '203.0.113.250,2001:db8:f::250']).command).toMatchObject({ key: 'dnsServers', patch: { dnsServers: ['203.0.113.250', '2001:db8:f::250'] } });
    expect(parseArgs(['set', 'dns', 'config']).command).toMatchObject({ patch: { dnsServers: null } });
    expect(() => parseArgs(['set', 'dns'])).toThrow(/usage: umbra set dns ADDRESS/);
    expect(parseArgs(['set', 'lan-dns', 'Corp.Example.,lan', 'via', '198.51.100.53']).command).toEqual({
      name: 'configure', key: 'lanDns', patch: { lanDns: { domains: ['corp.example', 'lan'], servers: ['198.51.100.53'] } },
    });
    expect(parseArgs(['set', 'lan-dns', 'corp.example', 'VIA', '198.51.100.53,', '2001:db8::53']).command).toMatchObject({ patch: { lanDns: { servers: ['198.51.100.53', '2001:db8::53'] } } });
    expect(parseArgs(['set', 'lan-dns', 'off']).command).toMatchObject({ patch: { lanDns: null } });
    for (const bad of [[], ['corp.example'], ['corp.example', 'via'], ['via', '198.51.100.53']]) {
      expect(() => parseArgs(['set', 'lan-dns', ...bad])).toThrow(/usage: umbra set lan-dns DOMAIN\[,DOMAIN...\] via SERVER/);
    }
    expect(() => parseArgs(['leak-check', 'now'])).toThrow(/leak-check takes no arguments/);
    expect(() => parseArgs(['set', 'dns-leak-test', 'lab.test'])).toThrow(/usage: umbra set dns-leak-test ZONE API-URL/);
    expect(() => parseArgs(['set', 'echo-urls'])).toThrow(/usage: umbra set echo-urls/);
  });

  it('parses exclude and include (split tunnelling)', () => {
    expect(parseArgs(['exclude', '--', 'firefox', '--new-window', 'https://bank.example']).command).toEqual({ name: 'exclude', run: { command: 'firefox', args: ['--new-window', 'https://bank.example'] } });
    // After --, the program's options are its own, --json included.
    expect(parseArgs(['exclude', '--', 'tool', '--json'])).toMatchObject({ json: false, command: { run: { command: 'tool', args: ['--json'] } } });
    expect(parseArgs(['exclude', 'steam']).command).toEqual({ name: 'exclude', run: { command: 'steam', args: [] } });
    expect(parseArgs(['exclude', '--pid', '4242']).command).toEqual({ name: 'exclude', pid: 4242 });
    expect(parseArgs(['exclude', '--list']).command).toEqual({ name: 'exclude', list: true });
    expect(parseArgs(['include', '4242']).command).toEqual({ name: 'include', pid: 4242 });
    for (const bad of [['exclude'], ['exclude', '--pid', '1', '--list'], ['exclude', '--pid', '1', '--', 'x'], ['exclude', '--pid', '0'], ['exclude', '--pid', '12abc'], ['exclude', '--pid', '99999999'], ['include'], ['include', 'x'], ['status', '--pid', '3'], ['connect', '--list']]) {
      expect(() => parseArgs(bad), bad.join(' ')).toThrow(UsageError);
    }
  });

  it('takes global options before or after the command', () => {
    expect(parseArgs(['--socket', '/tmp/s', '--json', 'status'])).toEqual({ socket: '/tmp/s', json: true, verbose: false, command: { name: 'status' } });
    expect(parseArgs(['status', '--json', '--socket=/tmp/s'])).toEqual({ socket: '/tmp/s', json: true, verbose: false, command: { name: 'status' } });
    expect(parseArgs(['--help']).command).toEqual({ name: 'help' });
    expect(parseArgs(['leak-check', '-v']).verbose).toBe(true);
    expect(parseArgs(['status', '-h']).command).toEqual({ name: 'help' });
    expect(parseArgs(['--version']).command).toEqual({ name: 'version' });
    expect(parseArgs(['import', '--', '--odd-file-name.conf']).command).toEqual({ name: 'import', file: '--odd-file-name.conf' });
  });

  it.each([
    [[], /no command given/],
    [['stats'], /unknown command "stats"/],
    [['--loud', 'status'], /unknown option --loud/],
    [['--verbose=yes', 'leak-check'], /--verbose takes no value/],
    [['--socket'], /--socket needs a value/],
    [['--json=yes', 'status'], /--json takes no value/],
    [['status', 'now'], /status takes no arguments \(got now\)/],
    [['import'], /usage: umbra import FILE \[--name NAME\]/],
    [['import', 'a', 'b'], /usage: umbra import FILE/],
    [['load-catalog'], /usage: umbra load-catalog FILE\|URL/],
    [['connect', 'a', 'b'], /usage: umbra connect \[SERVER\]/],
    [['connect', '--name', 'x'], /--name goes with import/],
    [['set'], /usage: umbra set SETTING on\|off {2}\(SETTING: kill-switch, kill-switch-on-boot, lockdown, allow-lan, auto-connect\)/],
    [['set', 'kill-switch'], /usage: umbra set SETTING/],
    [['set', 'killswitch', 'on'], /unknown setting "killswitch": one of kill-switch, kill-switch-on-boot, lockdown, allow-lan, auto-connect/],
    [['set', 'kill-switch', 'maybe'], /set kill-switch takes on or off, not "maybe"/],
    [['set', 'toString', 'on'], /unknown setting "toString"/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('socketPath', () => {
  it('prefers --socket, then UMBRA_SOCKET, then the default', () => {
    expect(socketPath(parseArgs(['--socket', '/a', 'status']), { UMBRA_SOCKET: '/b' })).toBe('/a');
    expect(socketPath(parseArgs(['status']), { UMBRA_SOCKET: '/b' })).toBe('/b');
    expect(socketPath(parseArgs(['status']), { UMBRA_SOCKET: '' })).toBe('/run/umbra/umbrad.sock');
    expect(socketPath(parseArgs(['status']), {})).toBe('/run/umbra/umbrad.sock');
  });
});
