// The MTU and up state of an interface straight from the kernel (the addon's ioctls), for the
// undo of the routing's `link set`: one `ip -j link show` process less on the way up.
import { loadNative } from '../platform/native.js';

export function linkState(name: string): { mtu: number; up: boolean } {
  const n = loadNative() as { interfaceState?: (name: string) => { mtu: number; up: boolean } };
  if (typeof n.interfaceState !== 'function') throw new Error('the native addon is out of date (no interfaceState): run npm run build:native');
  return n.interfaceState(name);
}
