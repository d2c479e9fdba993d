// Time from "connect" on a running helper to the first packet through the tunnel: what a user
// waits for after a click (the helper is a service that is already up). A ping at 1 ms intervals
// to the server's tunnel address runs before the call; its first reply is the first packet through.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Lab } from '../lab/lab.js';
import { DaemonRun } from '../daemon-process.js';

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

export async function measureHelperConnect(lab: Lab, trials: number, log: (l: string) => void): Promise<number[]> {
  const daemon = new DaemonRun(lab);
  const out: number[] = [];
  try {
    await daemon.start();
    const c = await daemon.client();
    await c.call('importConfig', { text: lab.clientConfig(0), name: 'bench' });
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
        log(`  umbra via the helper: connect ${i + 1}/${trials}: first packet after ${ms.toFixed(1)} ms`);
      } finally {
        probe.kill('SIGKILL');
        await c.call('disconnect');
      }
    }
  } finally {
    await daemon.stop('SIGTERM').catch(() => undefined);
    daemon.cleanup();
  }
  return out;
}
