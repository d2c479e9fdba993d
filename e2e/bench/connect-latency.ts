// Time from "connect" on a running helper to the first packet through the tunnel: what a user
// waits for after a click (the helper is a service that is already up). A ping at 1 ms intervals
// to the server's tunnel address runs before the call; its first reply is the first packet through.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Lab } from '../lab/lab.js';
import { DaemonRun } from '../daemon-process.js';
import { measureIdle, statusKb, type IdleFigures } from './procfs.js';

export interface HelperConnectResult {
  /** Each connect's time to the first packet, ms. */
  connectMs: number[];
  /** Whether the kill switch was on for them. */
  killSwitch: boolean;
  /** Connected and idle, with a subscriber (as the app is): the helper's wakeups and spawned processes. */
  idle?: IdleFigures;
  /** Status events pushed to that subscriber during the idle window, and how many repeated the one before. */
  statusEvents?: number;
  repeatedStatusEvents?: number;
  idleRssKb?: number;
}

function firstReply(child: ChildProcess, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no reply through the tunnel in ${ms} ms`)), ms);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      // ping -D: "[1763793212.123456] 64 bytes from 100.64.1.1: icmp_seq=… time=…"
      const m = /\[(\d+\.\d+)\] \d+ bytes from/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]) * 1000);
      }
    });
  });
}

export async function measureHelperConnect(
  lab: Lab,
  trials: number,
  idle: { seconds: number; settleSeconds: number },
  log: (l: string) => void,
  o: { killSwitch: boolean; umbrad?: { node: string; script: string } } = { killSwitch: false },
): Promise<HelperConnectResult> {
  const daemon = new DaemonRun(lab, o.umbrad ? { umbrad: o.umbrad } : {});
  const out: number[] = [];
  const result: HelperConnectResult = { connectMs: out, killSwitch: o.killSwitch };
  try {
    await daemon.start();
    const c = await daemon.client();
    await c.call('importConfig', { text: lab.clientConfig(0), name: 'bench' });
    if (o.killSwitch) await c.call('setSettings', { killSwitch: true });
    const stdbuf = ['/usr/bin/stdbuf', '/bin/stdbuf'].some((p) => existsSync(p));
    for (let i = 0; i < trials; i++) {
      const ping = ['ping', '-n', '-D', '-i', '0.001', '-W', '1', '-c', '10000', lab.servers[0]!.tunnelAddress];
      const probe = lab.spawn(lab.client.ns, stdbuf ? ['stdbuf', '-oL', ...ping] : ping);
      const reply = firstReply(probe, 10_000);
      await new Promise((r) => setTimeout(r, 200)); // the probe is running (and failing) first
      const t0 = Date.now();
      await c.call('connect', { serverId: 'bench' });
      try {
        const ms = (await reply) - t0;
        out.push(ms);
        log(`  umbra via the helper: connect ${i + 1}/${trials}${o.killSwitch ? ' (kill switch on)' : ''}: first packet after ${ms.toFixed(1)} ms`);
      } finally {
        probe.kill('SIGKILL');
        await c.call('disconnect');
      }
    }
    if (idle.seconds > 0) Object.assign(result, await measureIdleConnected(daemon, idle, log));
  } finally {
    await daemon.stop('SIGTERM').catch(() => undefined);
    daemon.cleanup();
  }
  return result;
}

/** Connects once more, subscribes as the app does, and watches the helper sit idle. */
async function measureIdleConnected(daemon: DaemonRun, { seconds, settleSeconds }: { seconds: number; settleSeconds: number }, log: (l: string) => void): Promise<Partial<HelperConnectResult>> {
  const pid = daemon.child?.pid;
  if (pid === undefined) throw new Error('the helper has no pid');
  const c = await daemon.client();
  let counting = false;
  let events = 0;
  let repeated = 0;
  let previous = '';
  await c.subscribe((e) => {
    if (e.type !== 'status' || !counting) return;
    const key = JSON.stringify(e.status);
    events++;
    if (key === previous) repeated++;
    previous = key;
  });
  await c.call('connect', { serverId: 'bench' });
  await daemon.waitFor((s) => s.state === 'connected', 10_000, 'connected');
  // The connect's own status events, checks and start-up garbage are not idling.
  await new Promise((r) => setTimeout(r, settleSeconds * 1000));
  log(`  umbra via the helper: connected, left alone ${settleSeconds} s, then idle with a subscriber for ${seconds} s…`);
  counting = true;
  const idle = await measureIdle(pid, seconds * 1000);
  counting = false;
  const idleRssKb = statusKb(pid, 'VmRSS');
  log(`  umbra via the helper: idle ${idle.wakeupsPerSecond.toFixed(2)} wakeups/s, ${idle.spawned} processes spawned${idle.spawned ? ` (${idle.spawnedNames.join(', ')})` : ''}, ${events} status events`);
  await c.call('disconnect');
  return { idle, statusEvents: events, repeatedStatusEvents: repeated, ...(idleRssKb === undefined ? {} : { idleRssKb }) };
}
