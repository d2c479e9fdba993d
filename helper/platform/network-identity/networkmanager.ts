// NetworkManager's word for the network: its primary active connection, and when that is Wi-Fi,
// the access point's SSID and BSSID (org.freedesktop.NetworkManager.AccessPoint), read with
// busctl on the system bus. Any other kind is named by the gateway source; NetworkManager adds
// the DHCP server's identifier of that connection's lease (its DHCP4Config), which its own DHCP
// client keeps in no file.
import { isIPv4 } from 'node:net';
import type { CommandRunner } from '../exec.js';
import { asBytes, asPaths, asString, busctl, isVariant, parseBusctlAnswers, type Variant } from '../busctl-json.js';
import { wifiIdentity, type NetworkIdentity } from './identity.js';

const NM = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';
const WIFI = '802-11-wireless';

const nmPrimaryArgv = (): string[] => busctl('get-property', NM, NM_PATH, NM, 'PrimaryConnection');
const nmActiveArgv = (path: string): string[] => busctl('get-property', NM, path, `${NM}.Connection.Active`, 'Type', 'SpecificObject', 'Devices', 'Dhcp4Config');
const nmDhcp4Argv = (path: string): string[] => busctl('get-property', NM, path, `${NM}.DHCP4Config`, 'Options');
const nmAccessPointArgv = (path: string): string[] => busctl('get-property', NM, path, `${NM}.AccessPoint`, 'Ssid', 'HwAddress');
const nmDeviceArgv = (path: string): string[] => busctl('get-property', NM, path, `${NM}.Device`, 'Interface');

/** The primary active connection's path; undefined when there is none ("/"). */
export function parsePrimary(stdout: string): string | undefined {
  const p = asString(parseBusctlAnswers(stdout)[0]);
  return p && p !== '/' ? p : undefined;
}

export interface ActiveConnection {
  type: string;
  /** The access point, for Wi-Fi. */
  specificObject: string | undefined;
  device: string | undefined;
  /** The lease's options (DHCP4Config), when the connection got one. */
  dhcp4: string | undefined;
}

const object = (v: Variant | undefined): string | undefined => {
  const p = asString(v);
  return p && p !== '/' ? p : undefined;
};

export function parseActive(stdout: string): ActiveConnection | undefined {
  const [type, specific, devices, dhcp4] = parseBusctlAnswers(stdout);
  const t = asString(type);
  if (t === undefined) return undefined;
  return { type: t, specificObject: object(specific), device: asPaths(devices)[0], dhcp4: object(dhcp4) };
}

/** The server identifier among a DHCP4Config's Options (a{sv}, each option's value a string). */
export function parseDhcp4Server(stdout: string): string | undefined {
  const options = parseBusctlAnswers(stdout)[0];
  if (!options || options.type !== 'a{sv}' || typeof options.data !== 'object' || options.data === null) return undefined;
  const id = (options.data as Record<string, unknown>).dhcp_server_identifier;
  const server = isVariant(id) ? asString(id) : undefined;
  return server !== undefined && isIPv4(server) ? server : undefined;
}

export function parseAccessPoint(stdout: string, device: string | undefined): NetworkIdentity | undefined {
  const [ssid, hw] = parseBusctlAnswers(stdout);
  const bytes = asBytes(ssid);
  const bssid = asString(hw);
  if (!bytes || !bssid) return undefined;
  return wifiIdentity({ ssid: bytes, bssid, ...(device ? { device } : {}), source: 'networkmanager' });
}

export interface NetworkManagerView {
  /** The Wi-Fi network, when the primary connection is one. */
  wifi?: NetworkIdentity;
  /** The primary connection's interface, and its DHCP server's identifier when it has a lease. */
  device?: string;
  dhcpServer?: string;
}

/** What NetworkManager says of the primary connection; undefined when it does not run or has none. */
export async function readNetworkManager(run: CommandRunner): Promise<NetworkManagerView | undefined> {
  const primary = parsePrimary((await run.run(nmPrimaryArgv())).stdout);
  if (!primary) return undefined;
  const active = parseActive((await run.run(nmActiveArgv(primary))).stdout);
  if (!active) return undefined;
  const device = active.device ? asString(parseBusctlAnswers((await run.run(nmDeviceArgv(active.device))).stdout)[0]) : undefined;
  if (active.type === WIFI && active.specificObject) {
    const wifi = parseAccessPoint((await run.run(nmAccessPointArgv(active.specificObject))).stdout, device);
    if (wifi) return { wifi };
  }
  const dhcpServer = active.dhcp4 ? parseDhcp4Server((await run.run(nmDhcp4Argv(active.dhcp4))).stdout) : undefined;
  return { ...(device ? { device } : {}), ...(dhcpServer ? { dhcpServer } : {}) };
}
