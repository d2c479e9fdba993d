// Which network this machine is on, from the first source that knows: NetworkManager, then iwd
// (both over the system bus, Wi-Fi only), then the default gateway's MAC. A source that is not
// there (no bus, the service not running) answers nothing; the next one is asked.
import type { CommandRunner } from '../exec.js';
import { readGateway, type GatewayOptions } from './gateway.js';
import type { NetworkIdentity } from './identity.js';
import { readIwd } from './iwd.js';
import { readNetworkManager } from './networkmanager.js';

export interface IdentifyOptions extends GatewayOptions {
  /** Whether a system bus is there to ask (else NetworkManager and iwd are not asked). */
  systemBus: boolean;
}

export async function identifyNetwork(run: CommandRunner, o: IdentifyOptions): Promise<NetworkIdentity | undefined> {
  const bus = o.systemBus ? [() => readNetworkManager(run), () => readIwd(run)] : [];
  for (const source of bus) {
    const id = await source().catch(() => undefined);
    if (id) return id;
  }
  return readGateway(run, o);
}
