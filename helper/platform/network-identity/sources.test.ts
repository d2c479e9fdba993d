// The identity sources against recorded answers (testdata/README.md): NetworkManager and iwd over
// busctl, the gateway from ip -j, and the order identify() asks them in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../testing/fake-runner.js';
import { parseDefaultRoute, parseNeighbourMac, readGateway } from './gateway.js';
import { gatewayIdentity, wifiIdentity } from './identity.js';
import { identifyNetwork } from './identify.js';
import { parseIwdObjects } from './iwd.js';
import { parseAccessPoint, parseActive, parseDhcp4Server, parsePrimary, readNetworkManager } from './networkmanager.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8');
const tunnel = (dev: string) => dev.startsWith('umbra');
const noSleep = async () => undefined;

/** NetworkManager on Wi-Fi (written-out answers). */
function networkManager(): FakeRunner {
  return new FakeRunner()
    .respond(/PrimaryConnection$/, fixture('nm-primary.json'))
    .respond(/ActiveConnection\/2 org\.freedesktop\.NetworkManager\.Connection\.Active Type SpecificObject Devices Dhcp4Config$/, fixture('nm-active-wifi.json'))
    .respond(/Devices\/3 org\.freedesktop\.NetworkManager\.Device Interface$/, fixture('nm-device.json'))
    .respond(/AccessPoint\/7 org\.freedesktop\.NetworkManager\.AccessPoint Ssid HwAddress$/, fixture('nm-access-point.json'));
}

/** NetworkManager 1.42 on a wired connection with a DHCP lease (recorded answers). */
function wiredNetworkManager(): FakeRunner {
  return new FakeRunner()
    .respond(/PrimaryConnection$/, fixture('nm-recorded-primary.json'))
    .respond(/ActiveConnection\/2 org\.freedesktop\.NetworkManager\.Connection\.Active Type SpecificObject Devices Dhcp4Config$/, fixture('nm-recorded-active.json'))
    .respond(/Devices\/2 org\.freedesktop\.NetworkManager\.Device Interface$/, fixture('nm-recorded-device.json'))
    .respond(/DHCP4Config\/1 org\.freedesktop\.NetworkManager\.DHCP4Config Options$/, fixture('nm-recorded-dhcp4.json'));
}

describe('NetworkManager', () => {
  it('names the Wi-Fi network by its SSID, keyed by SSID and BSSID', async () => {
    const id = (await readNetworkManager(networkManager()))?.wifi;
    expect(id).toEqual({ ...wifiIdentity({ ssid: new TextEncoder().encode('Café Guest'), bssid: '3c:84:6a:12:34:56', source: 'networkmanager' }), device: 'wlp2s0' });
    expect(id?.name).toBe('Café Guest');
    expect(id?.key).toMatch(/^[0-9a-f]{16}$/);
  });

  it("leaves a wired primary connection to the gateway source, with its lease's DHCP server", async () => {
    const run = wiredNetworkManager();
    expect(await readNetworkManager(run)).toEqual({ device: 'eth0', dhcpServer: '198.51.100.1' });
    expect(run.lines.some((l) => l.includes('AccessPoint'))).toBe(false);
    expect(parseDhcp4Server('{"type":"a{sv}","data":{"dhcp_server_identifier":{"type":"s","data":"not an address"}}}')).toBeUndefined();
    expect(parseDhcp4Server('{"type":"a{sv}","data":{"ip_address":{"type":"s","data":"198.51.100.7"}}}')).toBeUndefined();
  });

  it('answers nothing without a primary connection, and parses each answer on its own', () => {
    expect(parsePrimary(fixture('nm-primary-none.json'))).toBeUndefined();
    expect(parsePrimary(fixture('nm-primary.json'))).toBe('/org/freedesktop/NetworkManager/ActiveConnection/2');
    expect(parseActive(fixture('nm-recorded-active.json'))).toEqual({ type: '802-3-ethernet', specificObject: undefined, device: '/org/freedesktop/NetworkManager/Devices/2', dhcp4: '/org/freedesktop/NetworkManager/DHCP4Config/1' });
    expect(parseActive('')).toBeUndefined();
    // An SSID that is not bytes, or a BSSID that is not a MAC: no identity.
    expect(parseAccessPoint('{"type":"ay","data":[300]}\n{"type":"s","data":"3C:84:6A:12:34:56"}\n', undefined)).toBeUndefined();
    expect(parseAccessPoint('{"type":"ay","data":[72,105]}\n{"type":"s","data":"nope"}\n', undefined)).toBeUndefined();
  });

  it('the same network on another access point is another network (the BSSID is in the key)', () => {
    const ssid = new TextEncoder().encode('Café Guest');
    const a = wifiIdentity({ ssid, bssid: '3c:84:6a:12:34:56', source: 'networkmanager' });
    const b = wifiIdentity({ ssid, bssid: '3c:84:6a:12:34:57', source: 'networkmanager' });
    expect(a?.key).not.toBe(b?.key);
    // Same SSID and BSSID from either source, in either case: the same key.
    expect(wifiIdentity({ ssid, bssid: '3C:84:6A:12:34:56', source: 'iwd' })?.key).toBe(a?.key);
  });
});

describe('iwd', () => {
  it('names the connected station\'s network, keyed by SSID and the access point\'s address', () => {
    const id = parseIwdObjects(fixture('iwd-objects.json'));
    expect(id).toMatchObject({ kind: 'wifi', name: 'Home', device: 'wlan0', source: 'iwd' });
    expect(id?.key).toBe(wifiIdentity({ ssid: new TextEncoder().encode('Home'), bssid: '3c:84:6a:12:34:56', source: 'iwd' })?.key);
  });

  it('without a BSSID (an older iwd) or a connected station: nothing', () => {
    expect(parseIwdObjects(fixture('iwd-objects-no-bssid.json'))).toBeUndefined();
    expect(parseIwdObjects(fixture('iwd-objects-disconnected.json'))).toBeUndefined();
    expect(parseIwdObjects('{"type":"s","data":"x"}')).toBeUndefined();
  });
});

describe('the gateway', () => {
  it('takes the default route of the main table with the lowest metric, tunnels skipped', () => {
    expect(parseDefaultRoute(fixture('ip-route-default.json'), tunnel)).toEqual({ gateway: '198.51.100.1', device: 'eth0', metric: 100 });
    const two = JSON.stringify([
      { dst: 'default', gateway: '203.0.113.225', dev: 'eth1', metric: 600, flags: [] },
      { dst: 'default', gateway: '198.51.100.1', dev: 'eth0', metric: 100, flags: ['linkdown'] },
      { dst: 'default', dev: 'umbra0', metric: 1, flags: [] },
    ]);
    expect(parseDefaultRoute(two, tunnel)).toEqual({ gateway: '203.0.113.225', device: 'eth1', metric: 600 });
    expect(parseDefaultRoute(fixture('ip6-route-none.json'), tunnel)).toBeUndefined();
  });

  it('reads the gateway\'s MAC only from a usable neighbour entry', () => {
    expect(parseNeighbourMac(fixture('ip-neigh-reachable.json'), '198.51.100.1')).toBe('c2:96:31:3f:26:9b');
    expect(parseNeighbourMac(fixture('ip-neigh-none.json'), '198.51.100.1')).toBeUndefined();
    expect(parseNeighbourMac('[{"dst":"198.51.100.1","state":["INCOMPLETE"]}]', '198.51.100.1')).toBeUndefined();
    expect(parseNeighbourMac('[{"dst":"198.51.100.1","lladdr":"c2:96:31:3f:26:9b","state":["FAILED"]}]', '198.51.100.1')).toBeUndefined();
  });

  it("keys the network by the MAC and the lease's DHCP server: a new lease (another address) is the same network", () => {
    const a = gatewayIdentity({ gateway: '198.51.100.1', mac: 'C2:96:31:3F:26:9B', device: 'eth0' });
    expect(a?.key).toBe(gatewayIdentity({ gateway: '198.51.100.254', mac: 'c2:96:31:3f:26:9b', device: 'eth1' })?.key);
    expect(a?.key).not.toBe(gatewayIdentity({ gateway: '198.51.100.1', mac: 'c2:96:31:3f:26:9c', device: 'eth0' })?.key);
    expect(gatewayIdentity({ gateway: '198.51.100.1', mac: '00:00:00:00:00:00', device: 'eth0' })).toBeUndefined();
    // The gateway's MAC cloned by a network with its own DHCP server: another network.
    const served = gatewayIdentity({ gateway: '198.51.100.1', mac: 'c2:96:31:3f:26:9b', device: 'eth0', dhcpServer: '198.51.100.1' });
    expect(served?.key).not.toBe(a?.key);
    expect(served?.key).not.toBe(gatewayIdentity({ gateway: '198.51.100.1', mac: 'c2:96:31:3f:26:9b', device: 'eth0', dhcpServer: '198.51.100.2' })?.key);
  });

  it('has the kernel resolve a MAC it does not have yet, then removes the entry it added', async () => {
    const run = new FakeRunner()
      .respond('ip -4 -j route show default', fixture('ip-route-default.json'))
      .respond('ip -j neigh show to 198.51.100.1 dev eth0', fixture('ip-neigh-reachable.json'))
      .respond('ip -j neigh show to 198.51.100.1 dev eth0', fixture('ip-neigh-none.json'), { times: 2 });
    expect(await readGateway(run, { isTunnelDevice: tunnel, sleep: noSleep })).toEqual({ gateway: '198.51.100.1', device: 'eth0', mac: 'c2:96:31:3f:26:9b' });
    const add = run.lines.indexOf('ip neigh add 198.51.100.1 dev eth0 managed');
    expect(add).toBeGreaterThan(0);
    expect(run.lines.at(-1)).toBe('ip neigh del 198.51.100.1 dev eth0');
  });

  it('leaves an entry it did not add alone, and gives up when the gateway never answers', async () => {
    const run = new FakeRunner()
      .respond('ip -4 -j route show default', fixture('ip-route-default.json'))
      .respond('ip -j neigh show to 198.51.100.1 dev eth0', fixture('ip-neigh-none.json'))
      .failOn('ip neigh add 198.51.100.1 dev eth0 managed', { stderr: 'RTNETLINK answers: File exists' });
    expect(await readGateway(run, { isTunnelDevice: tunnel, sleep: noSleep, resolveMs: 200 })).toBeUndefined();
    expect(run.lines).not.toContain('ip neigh del 198.51.100.1 dev eth0');
  });
});

const noLeases = { leases: { read: async () => undefined, list: async () => [] }, leaseRoot: '/' };
const options = (systemBus: boolean) => ({ systemBus, isTunnelDevice: tunnel, sleep: noSleep, ...noLeases });

describe('identifyNetwork', () => {
  it('asks NetworkManager first, then iwd, then the gateway; a source that fails is skipped', async () => {
    const run = wiredNetworkManager()
      .failOn(/net\.connman\.iwd/, { exitCode: 1, stderr: 'Call failed: The name net.connman.iwd was not provided by any .service files' })
      .respond('ip -4 -j route show default', fixture('ip-route-default.json'))
      .respond('ip -j neigh show to 198.51.100.1 dev eth0', fixture('ip-neigh-reachable.json'));
    expect(await identifyNetwork(run, options(true))).toMatchObject({ source: 'gateway' });
    expect(run.lines.findIndex((l) => l.includes('NetworkManager'))).toBeLessThan(run.lines.findIndex((l) => l.includes('iwd')));
    expect(await identifyNetwork(networkManager(), options(true))).toMatchObject({ source: 'networkmanager', name: 'Café Guest' });
  });

  it('without a system bus asks no D-Bus source', async () => {
    const run = new FakeRunner().respond('ip -4 -j route show default', '[]').respond('ip -6 -j route show default', '[]');
    expect(await identifyNetwork(run, options(false))).toBeUndefined();
    expect(run.lines.some((l) => l.startsWith('busctl'))).toBe(false);
  });
});

describe("the DHCP server in a wired network's identity", () => {
  const mac = 'c2:96:31:3f:26:9b';
  const gatewayAnswers = (run: FakeRunner) =>
    run.respond('ip -4 -j route show default', fixture('ip-route-default.json')).respond('ip -j neigh show to 198.51.100.1 dev eth0', fixture('ip-neigh-reachable.json'));

  it("takes NetworkManager's word for the gateway's device, asking no lease file", async () => {
    const run = gatewayAnswers(wiredNetworkManager());
    const asked: string[] = [];
    const id = await identifyNetwork(run, { ...options(true), leases: { read: async (p) => (asked.push(p), undefined), list: async () => [] } });
    expect(id?.key).toBe(gatewayIdentity({ gateway: '198.51.100.1', mac, device: 'eth0', dhcpServer: '198.51.100.1' })?.key);
    expect(asked).toEqual([]);
  });

  it("reads the lease files for the gateway's device without a bus, and keys by the MAC alone without a lease", async () => {
    const lease = readFileSync(join(import.meta.dirname, 'testdata', 'networkd-lease'));
    const addresses = '[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"198.51.100.71","prefixlen":24}]}]';
    const leases = { read: async (p: string) => (p === '/lab/run/systemd/netif/leases/2' ? lease : undefined), list: async () => [] };
    const run = gatewayAnswers(new FakeRunner()).respond('ip -j -4 address show dev eth0', addresses);
    const id = await identifyNetwork(run, { ...options(false), leases, leaseRoot: '/lab' });
    expect(id?.key).toBe(gatewayIdentity({ gateway: '198.51.100.1', mac, device: 'eth0', dhcpServer: '198.51.100.1' })?.key);
    const none = gatewayAnswers(new FakeRunner()).respond('ip -j -4 address show dev eth0', addresses.replace('198.51.100.71', '198.51.100.5'));
    expect((await identifyNetwork(none, { ...options(false), leases, leaseRoot: '/lab' }))?.key).toBe(gatewayIdentity({ gateway: '198.51.100.1', mac, device: 'eth0' })?.key);
  });
});
