// What identifies the network this machine is on, whatever told us: a Wi-Fi network by its SSID
// and the BSSID of the access point (NetworkManager or iwd over D-Bus), any other by its default
// gateway's MAC address and, where the network gave a lease, its DHCP server's identifier. The key is a short hash of that, stable across restarts and never
// showing the raw values; the name is only a default the user may change.
import { createHash } from 'node:crypto';

type NetworkKind = 'wifi' | 'gateway';

export interface NetworkIdentity {
  /** 16 hex digits: sha256 of the kind and what identifies the network. */
  key: string;
  kind: NetworkKind;
  /** A default display name (the SSID; the gateway and its MAC). */
  name: string;
  /** The interface the network is on, when known. */
  device?: string;
  /** Which source said so. */
  source: 'networkmanager' | 'iwd' | 'gateway';
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const MAX_NAME = 100;

export function normalMac(mac: string): string | undefined {
  const m = mac.trim().toLowerCase();
  return MAC.test(m) && m !== '00:00:00:00:00:00' ? m : undefined;
}

function hashKey(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

/** The SSID as text for a name: UTF-8 where it is, control characters dropped. */
function ssidText(ssid: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(ssid);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_NAME);
}

export function wifiIdentity(o: { ssid: Uint8Array; bssid: string; device?: string; source: 'networkmanager' | 'iwd' }): NetworkIdentity | undefined {
  const bssid = normalMac(o.bssid);
  if (o.ssid.length === 0 || o.ssid.length > 32 || !bssid) return undefined;
  const name = ssidText(o.ssid) || 'Wi-Fi network';
  return { key: hashKey(['wifi', Buffer.from(o.ssid).toString('hex'), bssid]), kind: 'wifi', name, ...(o.device ? { device: o.device } : {}), source: o.source };
}

/** A wired (or otherwise unnamed) network: its gateway's MAC, and its DHCP server's identifier when it gave a lease. */
export function gatewayIdentity(o: { gateway: string; mac: string; device: string; dhcpServer?: string | undefined }): NetworkIdentity | undefined {
  const mac = normalMac(o.mac);
  if (!mac) return undefined;
  // Without a lease the key is the MAC's alone, as for a network with static addresses.
  const key = hashKey(o.dhcpServer ? ['gateway', mac, 'dhcp', o.dhcpServer] : ['gateway', mac]);
  return { key, kind: 'gateway', name: `${o.device} via ${o.gateway} (${mac})`.slice(0, MAX_NAME), device: o.device, source: 'gateway' };
}
