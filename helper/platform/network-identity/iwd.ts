// iwd's word for the Wi-Fi network: its ObjectManager's objects (one GetManagedObjects call), a
// Station in state "connected", the Network it is connected to (Name: the SSID) and, where this
// iwd says (ConnectedAccessPoint, newer versions), the access point's Address (the BSSID). Without
// a BSSID there is no Wi-Fi identity here: the gateway source decides.
import type { CommandRunner } from '../exec.js';
import { asString, busctl, isVariant, parseBusctlAnswers } from '../busctl-json.js';
import { wifiIdentity, type NetworkIdentity } from './identity.js';

const IWD = 'net.connman.iwd';

const iwdObjectsArgv = (): string[] => busctl('call', IWD, '/', 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');

type Props = Record<string, unknown>;
type Objects = Record<string, Record<string, Props>>;

function prop(objects: Objects, path: string | undefined, iface: string, name: string): string | undefined {
  if (!path) return undefined;
  const v = objects[path]?.[iface]?.[name];
  return isVariant(v) ? asString(v) : undefined;
}

export function parseIwdObjects(stdout: string): NetworkIdentity | undefined {
  const answer = parseBusctlAnswers(stdout)[0];
  if (!answer || answer.type !== 'a{oa{sa{sv}}}' || !Array.isArray(answer.data)) return undefined;
  const objects = answer.data[0];
  if (typeof objects !== 'object' || objects === null) return undefined;
  const all = objects as Objects;
  for (const path of Object.keys(all).sort()) {
    if (prop(all, path, `${IWD}.Station`, 'State') !== 'connected') continue;
    const ssid = prop(all, prop(all, path, `${IWD}.Station`, 'ConnectedNetwork'), `${IWD}.Network`, 'Name');
    const bssid = prop(all, prop(all, path, `${IWD}.Station`, 'ConnectedAccessPoint'), `${IWD}.BasicServiceSet`, 'Address');
    const device = prop(all, path, `${IWD}.Device`, 'Name');
    if (!ssid || !bssid) continue;
    const id = wifiIdentity({ ssid: new TextEncoder().encode(ssid), bssid, ...(device ? { device } : {}), source: 'iwd' });
    if (id) return id;
  }
  return undefined;
}

export async function readIwd(run: CommandRunner): Promise<NetworkIdentity | undefined> {
  return parseIwdObjects((await run.run(iwdObjectsArgv())).stdout);
}
