// A small path MTU between the client and a server: the router's link to server i (both ends)
// carries at most `mtu` bytes, so the router answers larger DF packets with ICMP "fragmentation
// needed" and the client's kernel learns the smaller MTU, as behind PPPoE or a mobile carrier.
import type { Lab } from './lab.js';
import { serverPlan } from './topology.js';

async function check(lab: Lab, ns: string, argv: string[]): Promise<void> {
  const r = await lab.exec(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns} failed (${r.code}): ${r.stderr}`);
}

/** Sets the router–server link's MTU and forgets what the client learnt of the old path. */
export async function setPathMtu(lab: Lab, server: number, mtu: number): Promise<void> {
  const plan = serverPlan(lab.prefix, server);
  await check(lab, lab.internet.ns, ['ip', 'link', 'set', plan.inetIf, 'mtu', String(mtu)]);
  await check(lab, plan.ns, ['ip', 'link', 'set', 'eth0', 'mtu', String(mtu)]);
  // A learnt path MTU only ever shrinks until it expires (10 min); start each setting afresh.
  await check(lab, lab.client.ns, ['ip', '-4', 'route', 'flush', 'cache']);
  await check(lab, lab.client.ns, ['ip', '-6', 'route', 'flush', 'cache']);
}
