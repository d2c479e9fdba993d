// NetworkManager's word for the Wi-Fi network: its primary active connection, and when that is
// Wi-Fi, the access point's SSID and BSSID (org.freedesktop.NetworkManager.AccessPoint), read
// with busctl on the system bus. Other kinds of connection are left to the gateway source.
import type { CommandRunner } from '../exec.js';
import { asBytes, asPaths, asString, busctl, parseBusctlAnswers } from './busctl-json.js';
import { wifiIdentity, type NetworkIdentity } from './identity.js';

const NM = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';
const WIFI = '802-11-wireless';

const nmPrimaryArgv = (): string[] => busctl('get-property', NM, NM_PATH, NM, 'PrimaryConnection');
const nmActiveArgv = (path: string): string[] => busctl('get-property', NM, path, `${NM}.Connection.Active`, 'Type', 'SpecificObject', 'Devices');
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
}

export function parseActive(stdout: string): ActiveConnection | undefined {
  const [type, specific, devices] = parseBusctlAnswers(stdout);
  const t = asString(type);
  if (t === undefined) return undefined;
  const so = asString(specific);
  return { type: t, specificObject: so && so !== '/' ? so : undefined, device: asPaths(devices)[0] };
}

export function parseAccessPoint(stdout: string, device: string | undefined): NetworkIdentity | undefined {
  const [ssid, hw] = parseBusctlAnswers(stdout);
  const bytes = asBytes(ssid);
  const bssid = asString(hw);
  if (!bytes || !bssid) return undefined;
  return wifiIdentity({ ssid: bytes, bssid, ...(device ? { device } : {}), source: 'networkmanager' });
}

/** The Wi-Fi network NetworkManager is on; undefined when it does not run or the primary connection is not Wi-Fi. */
export async function readNetworkManager(run: CommandRunner): Promise<NetworkIdentity | undefined> {
  const primary = parsePrimary((await run.run(nmPrimaryArgv())).stdout);
  if (!primary) return undefined;
  const active = parseActive((await run.run(nmActiveArgv(primary))).stdout);
  if (!active || active.type !== WIFI || !active.specificObject) return undefined;
  const device = active.device ? asString(parseBusctlAnswers((await run.run(nmDeviceArgv(active.device))).stdout)[0]) : undefined;
  return parseAccessPoint((await run.run(nmAccessPointArgv(active.specificObject))).stdout, device);
}
