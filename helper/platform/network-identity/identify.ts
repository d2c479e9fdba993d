// Which network this machine is on, from the first source that knows: NetworkManager, then iwd
// (both over the system bus, Wi-Fi only), then the default gateway's MAC with the DHCP server's
// identifier of the lease on the gateway's device (NetworkManager's word for it, else the DHCP
// clients' lease files). A source that is not there (no bus, the service not running) answers
// nothing; the next one is asked.
import type { CommandRunner } from '../exec.js';
import { leaseServer, type LeaseFiles } from './dhcp-lease.js';
import { readDeviceAddresses, readGateway, type GatewayOptions } from './gateway.js';
import { gatewayIdentity, type NetworkIdentity } from './identity.js';
import { readIwd } from './iwd.js';
import { readNetworkManager } from './networkmanager.js';

export interface IdentifyOptions extends GatewayOptions {
  /** Whether a system bus is there to ask (else NetworkManager and iwd are not asked). */
  systemBus: boolean;
  /** The DHCP clients' lease files, under this root ("/"). */
  leases: LeaseFiles;
  leaseRoot: string;
}

export async function identifyNetwork(run: CommandRunner, o: IdentifyOptions): Promise<NetworkIdentity | undefined> {
  const nm = o.systemBus ? await readNetworkManager(run).catch(() => undefined) : undefined;
  if (nm?.wifi) return nm.wifi;
  const iwd = o.systemBus ? await readIwd(run).catch(() => undefined) : undefined;
  if (iwd) return iwd;
  const gw = await readGateway(run, o);
  if (!gw) return undefined;
  let dhcpServer = nm?.device === gw.device ? nm.dhcpServer : undefined;
  if (!dhcpServer) {
    const dev = await readDeviceAddresses(run, gw.device);
    dhcpServer = dev && (await leaseServer(o.leases, { device: gw.device, ...dev, root: o.leaseRoot }));
  }
  return gatewayIdentity({ ...gw, dhcpServer });
}
