// How long a client is cut off when its server restarts and forgets the session (issue 11, item
// 3): the server is restarted once the last handshake is older than REKEY_TIMEOUT (so a new
// initiation is allowed at once, as it would be after minutes of use), while the client keeps
// sending; the figure is the time from the server being back to the first echo reply through the
// tunnel. WireGuard's own timers find out after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT (15 s).
import type { Lab } from '../lab/lab.js';
import { REKEY_TIMEOUT } from '../../helper/wireguard/constants.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ms from the restarted server being up to traffic through the tunnel again; undefined if none within `limitMs`. */
export async function measureServerRestart(lab: Lab, limitMs = 30_000): Promise<number | undefined> {
  const target = lab.servers[0]!.tunnelAddress;
  if (!(await lab.ping(lab.client.ns, target, { count: 1, timeoutSec: 2 }))) throw new Error(`no reply from ${target} before the restart`);
  await sleep(REKEY_TIMEOUT + 1000);
  await lab.servers[0]!.restart();
  const back = Date.now();
  // Echoes every 50 ms (the client keeps sending, as a user's apps would); the first reply after
  // the restart, by ping's own timestamp, ends the outage.
  const count = Math.ceil(limitMs / 50);
  const ping = lab.spawn(lab.client.ns, ['ping', '-n', '-D', '-i', '0.05', '-W', '1', '-c', String(count), target]);
  try {
    return await new Promise<number | undefined>((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(undefined), limitMs + 2000);
      ping.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        for (const m of out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)) {
          const at = Number(m[1]) * 1000;
          if (at >= back) {
            clearTimeout(timer);
            return resolve(at - back);
          }
        }
      });
      ping.once('exit', () => setTimeout(() => resolve(undefined), 100));
    });
  } finally {
    ping.kill('SIGKILL');
  }
}
