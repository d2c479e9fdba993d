// How the leak matrix brings the helper into each state and probes it there. Each step starts
// from where the previous one in STATES order left the helper (and repairs what it needs), probes
// inside a capture, and returns the evidence; putting things back afterwards (a stopped server
// restarted, a setting undone) happens outside the capture and, when it fails, is one more
// problem of the cell.
import type { ChildProcess } from 'node:child_process';
import { sleep } from '../lab/proc.js';
import type { TunnelStatus } from '../../helper/ipc/schema.js';
import { inPrefix, type CellEvidence, type CellState } from './cells.js';
import { TCP_PORT } from './probe-plan.js';
import { SERVER_IDS, statusLine, type MatrixSession, type Observer } from './session.js';

export type Step = (s: MatrixSession) => Promise<CellEvidence>;

/** Time for a connect to a server that does not answer to end in error (12 s today), with margin. */
const ERROR_WITHIN_MS = 45_000;
/**
 * Time for a dead server to be noticed while connected: WireGuard initiates a new handshake 15 s
 * after data went unanswered (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT), the helper calls it lost 10 s
 * later — with margin.
 */
const LOST_WITHIN_MS = 60_000;

function expectState(o: Observer, names: TunnelStatus['state'][], what: string): void {
  const st = o.lastStatus;
  if (!st) o.problem(`the helper did not answer status after probing ${what}`);
  else if (!names.includes(st.state)) o.problem(`probed ${what}, but the helper said ${statusLine(st)} (expected state ${names.join(' or ')})`);
}

/**
 * Runs the cell, then `restore` (outside the capture): its failure becomes one more problem of the
 * cell; when the cell itself throws, restore still runs (so the next cell starts from a sane
 * state) and the cell's error is what is reported.
 */
async function thenRestore(cell: () => Promise<CellEvidence>, what: string, restore: () => Promise<unknown>): Promise<CellEvidence> {
  let ev: CellEvidence;
  try {
    ev = await cell();
  } catch (e) {
    await restore().catch(() => undefined);
    throw e;
  }
  try {
    await restore();
  } catch (e) {
    ev.problems.push(`after the cell, ${what} failed: ${(e as Error).message}`);
  }
  return ev;
}

/** Probe rounds started every `everyMs` while `pending` runs (at least one), then all awaited. */
async function probeWhile(o: Observer, pending: Promise<unknown>, everyMs: number, maxRounds: number): Promise<number> {
  let settled = false;
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  const rounds: Promise<void>[] = [];
  let during = 0;
  do {
    rounds.push(o.probe());
    if (!settled) during++;
    await sleep(everyMs);
  } while (!settled && rounds.length < maxRounds);
  await Promise.all(rounds);
  return during;
}

/**
 * Datagrams to the server's inner address every 500 ms: data only the tunnel can carry (whatever
 * a handed-out subnet does to the routes), so the engine notices the server is gone.
 */
const BAIT = `
const s = require('node:dgram').createSocket('udp4');
const until = Date.now() + Number(process.argv[3]);
const tick = () => {
  if (Date.now() > until) return s.close();
  s.send('umbra leak-matrix bait', Number(process.argv[2]), process.argv[1], () => undefined);
  setTimeout(tick, 500);
};
tick();`;

const BAIT_PORT = 9;

function startBait(s: MatrixSession, server: number): ChildProcess {
  const to = s.lab.servers[server]!.tunnelAddress;
  return s.lab.spawn(s.lab.client.ns, [process.execPath, '-e', BAIT, to, String(BAIT_PORT), String(LOST_WITHIN_MS + 30_000)]);
}

const disconnected: Step = (s) =>
  s.observe(async (o) => {
    await o.probe();
    expectState(o, ['disconnected'], 'disconnected');
  });

// A connect to a stopped server: the helper sends initiations nobody answers.
const connecting: Step = async (s) => {
  await s.lab.servers[0]!.stop();
  return s.observe(async (o) => {
    // The call returns once the helper is in connecting; the state's block is set before anything
    // else the state does, so nothing may leave from here on.
    await (await s.client()).call('connect', { serverId: SERVER_IDS[0] });
    await o.probe();
    expectState(o, ['connecting'], 'while connecting');
  });
};

// Still the stopped server: connecting gives up into error (NO_HANDSHAKE) and keeps retrying.
const error: Step = async (s) => {
  if (s.lab.servers[0]!.running) await s.lab.servers[0]!.stop();
  const st = await s.status();
  if (st.state === 'disconnected') await (await s.client()).call('connect', { serverId: SERVER_IDS[0] });
  return s.observe(async (o) => {
    await s.waitState((x) => x.state === 'error', ERROR_WITHIN_MS, 'error');
    await o.probe();
    expectState(o, ['error'], 'in error');
  });
};

const connected: Step = async (s) => {
  await s.ensureConnected(0);
  return s.observe(async (o) => {
    await o.probe();
    expectState(o, ['connected'], 'connected');
    // Blocking everything would pass the leak check too: the tunnel itself must carry the probe —
    // unless a handed-out subnet holds the echo host (its on-link route then wins, and the
    // traffic may only be dropped).
    const address = s.lab.internet.serviceAddress;
    const echo = o.lastRound?.find((r) => r.id === `tcp ${address}:${TCP_PORT}`);
    const onLink = s.combo.handedOut !== undefined && inPrefix(address, s.combo.handedOut);
    if (echo && !onLink && echo.outcome !== 'connected') o.problem(`connected, but TCP to the echo host did not get through the tunnel: ${echo.outcome}`);
  });
};

// Server 0 → server 1 with both running: rounds every 150 ms while the connect call runs.
const switching: Step = async (s) => {
  await s.ensureConnected(0);
  if (!s.lab.servers[1]!.running) await s.lab.servers[1]!.start();
  return s.observe(async (o) => {
    const call = (await s.client()).call('connect', { serverId: SERVER_IDS[1] });
    const during = await probeWhile(o, call, 150, 8);
    await call;
    await o.probe();
    await s.waitState((x) => x.state === 'connected' && x.server?.id === SERVER_IDS[1], 30_000, `connected to ${SERVER_IDS[1]}`);
    if (during === 0) o.problem('no probe round started before the switch call returned (the switch was not probed)');
  });
};

// The connected server stops; bait traffic makes the engine notice; probed once the helper has left connected.
const reconnecting: Step = async (s) => {
  const st = await s.ensureConnected();
  const i = SERVER_IDS.indexOf(st.server!.id as (typeof SERVER_IDS)[number]);
  const server = s.lab.servers[i]!;
  let bait: ChildProcess | undefined;
  const cell = () =>
    s.observe(async (o) => {
      try {
        await server.stop();
        bait = startBait(s, i);
        await s.waitState((x) => x.state !== 'connected', LOST_WITHIN_MS, 'the helper to notice the server is gone');
        await o.probe();
        expectState(o, ['reconnecting'], 'after the server stopped answering');
      } finally {
        bait?.kill('SIGTERM');
      }
    });
  return thenRestore(cell, `reconnecting to ${SERVER_IDS[i]}`, async () => {
    await server.start();
    await s.waitState((x) => x.state === 'connected', 45_000, `connected to ${SERVER_IDS[i]} again`);
  });
};

// SIGKILL while connected: the block stays in the kernel; probed while the helper is down, while
// it starts (it adopts the block) and once it serves; then it must reconnect.
const adopted: Step = async (s) => {
  await s.ensureConnected();
  return s.observe(async (o) => {
    await s.stopHelper('SIGKILL');
    await o.probe();
    const starting = s.startHelper();
    await probeWhile(o, starting, 300, 10);
    await starting;
    await o.probe();
    await s.waitState((x) => x.state === 'connected', 30_000, 'connected after the restart');
  });
};

// killSwitchOnBoot on, the user disconnected, the helper stopped, a reboot: at its start the helper
// must hold the boot block itself.
const boot: Step = async (s) => {
  const c = await s.client();
  await c.call('disconnect');
  await c.call('setSettings', { killSwitchOnBoot: true });
  await s.stopHelper('SIGTERM');
  await s.simulateReboot();
  await s.startHelper();
  const cell = () =>
    s.observe(async (o) => {
      // Give a block applied just after the helper starts serving a moment; probe either way.
      await s.waitState((x) => x.blocked, 5_000, 'the boot block').catch(() => undefined);
      await o.probe();
      expectState(o, ['disconnected'], 'after the reboot');
      if (o.lastStatus && o.lastStatus.hold !== 'boot') o.problem(`after the reboot the helper holds no boot block: ${statusLine(o.lastStatus)}`);
    });
  return thenRestore(cell, "the user's disconnect and turning kill switch on boot off", async () => {
    const c2 = await s.client();
    await c2.call('disconnect');
    await c2.call('setSettings', { killSwitchOnBoot: false });
  });
};

export const STEPS: Record<CellState, Step> = { disconnected, connecting, error, connected, switching, reconnecting, adopted, boot };
