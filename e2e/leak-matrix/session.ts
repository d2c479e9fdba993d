// One lab and one helper for one (kill switch, allow LAN) combination of the leak matrix: the
// helper's status, waiting for a state, and observe() — a capture on the lab router around probe
// rounds, returned as the evidence a cell is judged on.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, type AllowedEndpoint, type CapturedPacket, type Lab } from '../lab/lab.js';
import { onPath } from '../lab/probes.js';
import { sleep } from '../lab/proc.js';
import { DaemonRun } from '../daemon-process.js';
import type { IpcClient } from '../../helper/ipc/client.js';
import type { TunnelStatus } from '../../helper/ipc/schema.js';
import type { CellEvidence, Combo } from './cells.js';
import { probePlan, type Probe } from './probe-plan.js';
import { runProbes, type ProbeOutcome } from './run-probes.js';
import { cgroup2MountPoint, ExcludedProgram } from '../excluded-program.js';

export const SERVER_IDS = ['lab-0', 'lab-1'] as const;

export function statusLine(st: TunnelStatus): string {
  // firewall is optional here only for helpers older than the status that carries it.
  const fw = (st as Partial<TunnelStatus>).firewall;
  return [
    `state=${st.state}`,
    `blocked=${st.blocked}`,
    `firewall=${fw ? `${fw.wanted}/${fw.kernel}` : '?'}`,
    `hold=${st.hold ?? '-'}`,
    `server=${st.server?.id ?? '-'}`,
    `error=${st.error?.code ?? '-'}`,
  ].join(' ');
}

/** What a cell's action can do inside observe(). */
export interface Observer {
  /** One round of every probe, in parallel; the helper's status is read right after it. */
  probe(): Promise<void>;
  /** A problem besides the capture (reported, fails the cell). */
  problem(text: string): void;
  /** The status read after the last probe round (undefined: the helper did not answer). */
  readonly lastStatus: TunnelStatus | undefined;
  /** The outcomes of the last round. */
  readonly lastRound: ProbeOutcome[] | undefined;
}

/** Source ports for the excluded app's rounds: a window below the namespace's ephemeral range, so no ordinary probe shares one. */
const EXCLUDED_PORT_WINDOW = 1600;
const PORTS_PER_ROUND = 32;

export class MatrixSession {
  lab!: Lab;
  daemon!: DaemonRun;
  probes: Probe[] = [];
  /** The excluded app (split tunnelling), started once the helper is; undefined where cgroup v2 is missing. */
  excludedApp: ExcludedProgram | undefined;
  excludedProbes: Probe[] = [];
  private excludedPorts = { first: 0, rounds: 0 };
  private ipc: IpcClient | undefined;

  constructor(readonly combo: Combo) {}

  async setup(): Promise<void> {
    this.lab = await createLab({ servers: SERVER_IDS.length });
    if (this.combo.handedOut) {
      // Before the helper starts: it finds the lease as a network would leave it.
      const r = await this.lab.exec(this.lab.client.ns, ['ip', 'address', 'add', this.combo.handedOut, 'dev', 'eth0']);
      if (r.code !== 0) throw new Error(`adding the handed-out address ${this.combo.handedOut}: ${r.stderr.trim()}`);
    }
    this.daemon = new DaemonRun(this.lab);
    await this.daemon.start();
    const c = await this.client();
    for (const [i, id] of SERVER_IDS.entries()) {
      const { server } = await c.call('importConfig', { text: this.lab.clientConfig(i, { dns: this.lab.internet.dnsAddress }), name: `lab ${i}` });
      if (server.id !== id) throw new Error(`imported server ${i} got id ${server.id}, expected ${id}`);
    }
    await c.call('setSettings', { killSwitch: this.combo.killSwitch, allowLan: this.combo.allowLan });
    const i = this.lab.internet;
    this.probes = probePlan({
      internet: [i.serviceAddress, i.ispResolver],
      internet6: i.serviceAddress6,
      gateway: this.lab.client.gateway,
      icmp: onPath('ping'),
    });
    if (cgroup2MountPoint()) await this.startExcludedApp();
  }

  /** `umbra exclude -- …` once, disconnected: the same app is probed in every state after. */
  private async startExcludedApp(): Promise<void> {
    const r = await this.lab.exec(this.lab.client.ns, ['cat', '/proc/sys/net/ipv4/ip_local_port_range']);
    const [low, high] = r.stdout.trim().split(/\s+/).map(Number) as [number, number];
    const first = low - 1024 >= EXCLUDED_PORT_WINDOW ? low - EXCLUDED_PORT_WINDOW : high + 1;
    if (!(first >= 1024 && first + EXCLUDED_PORT_WINDOW <= 65536)) throw new Error(`no room for the excluded app's source ports beside the ephemeral range ${r.stdout.trim()}`);
    this.excludedPorts = { first, rounds: 0 };
    const i = this.lab.internet;
    // TCP and UDP only: their source ports tell the excluded app's packets from the ordinary ones.
    this.excludedProbes = probePlan({ internet: [i.serviceAddress, i.ispResolver], internet6: i.serviceAddress6, gateway: this.lab.client.gateway, icmp: false });
    this.excludedApp = new ExcludedProgram(this.lab.client.ns, this.daemon.socket);
    await this.excludedApp.started();
  }

  private excludedRange(port: number | undefined): boolean {
    return port !== undefined && port >= this.excludedPorts.first && port < this.excludedPorts.first + EXCLUDED_PORT_WINDOW;
  }

  async teardown(): Promise<void> {
    await this.excludedApp?.stop();
    await this.daemon?.stop('SIGKILL').catch(() => undefined);
    this.daemon?.cleanup();
    await this.lab?.destroy();
  }

  /** The encrypted UDP to every server's endpoint: the one thing that may always leave. */
  endpoints(): AllowedEndpoint[] {
    return this.lab.servers.map((s) => ({ address: s.endpoint.host, port: s.endpoint.port }));
  }

  /** One IPC connection per helper run (restarts make a new one). */
  async client(): Promise<IpcClient> {
    if (!this.ipc || this.ipc.closed) this.ipc = await this.daemon.client();
    return this.ipc;
  }

  async status(): Promise<TunnelStatus> {
    return (await this.client()).call('status');
  }

  /** Stops the helper (the IPC connection goes with it). */
  async stopHelper(signal: NodeJS.Signals): Promise<void> {
    this.ipc = undefined;
    await this.daemon.stop(signal);
  }

  async startHelper(): Promise<void> {
    this.ipc = undefined;
    await this.daemon.start();
  }

  /** Polls the status until pred holds; throws with the last status and the helper's recent log. */
  async waitState(pred: (s: TunnelStatus) => boolean, ms: number, what: string): Promise<TunnelStatus> {
    const deadline = Date.now() + ms;
    let last: TunnelStatus | undefined;
    let lastError = '';
    for (;;) {
      try {
        last = await this.status();
        if (pred(last)) return last;
      } catch (e) {
        lastError = (e as Error).message;
      }
      if (Date.now() > deadline) {
        const seen = last ? statusLine(last) : `none (${lastError})`;
        throw new Error(`timed out after ${ms / 1000} s waiting for ${what}; last status: ${seen}\nhelper log (end):\n${this.logTail()}`);
      }
      await sleep(200);
    }
  }

  /** Connected to server i (or to any server), starting it and asking for it as needed. */
  async ensureConnected(i?: number): Promise<TunnelStatus> {
    if (i !== undefined && !this.lab.servers[i]!.running) await this.lab.servers[i]!.start();
    const matches = (s: TunnelStatus): boolean => i === undefined || s.server?.id === SERVER_IDS[i];
    const st = await this.status();
    if (st.state === 'connected' && matches(st)) return st;
    const wanting = st.state !== 'disconnected' && st.state !== 'disconnecting';
    if (!wanting || !matches(st)) await (await this.client()).call('connect', { serverId: SERVER_IDS[i ?? 0] });
    return this.waitState((s) => s.state === 'connected' && matches(s), 45_000, `connected${i === undefined ? '' : ` to ${SERVER_IDS[i]}`}`);
  }

  /**
   * A reboot as the contract has tests simulate it, with the helper stopped: the kernel forgets
   * every table (Umbra's, in the client namespace only) and the boot id differs from the one the
   * helper recorded in <stateDir>/last-boot-id. The early-boot unit is deliberately not run: the
   * helper must apply the boot block itself.
   */
  async simulateReboot(): Promise<void> {
    const ns = this.lab.client.ns;
    const r = await this.lab.exec(ns, ['nft', '-j', 'list', 'tables']);
    if (r.code !== 0) throw new Error(`nft list tables in ${ns}: ${r.stderr.trim()}`);
    const items = (JSON.parse(r.stdout) as { nftables?: { table?: { family: string; name: string } }[] }).nftables ?? [];
    for (const t of items.flatMap((x) => (x.table ? [x.table] : []))) {
      if (!t.name.startsWith('umbra')) continue;
      const d = await this.lab.exec(ns, ['nft', 'delete', 'table', t.family, t.name]);
      if (d.code !== 0) throw new Error(`nft delete table ${t.family} ${t.name}: ${d.stderr.trim()}`);
    }
    writeFileSync(join(this.daemon.stateDir, 'last-boot-id'), `${randomUUID()}\n`, { mode: 0o600 });
  }

  /**
   * Captures on the router while `action` runs (it sends probe rounds through the observer) and
   * returns what left the client outside the tunnel: capture.leaks with the endpoints allowed.
   */
  async observe(action: (o: Observer) => Promise<void>): Promise<CellEvidence> {
    const capture = await this.lab.startCapture();
    const rounds: ProbeOutcome[][] = [];
    const excludedRounds: ProbeOutcome[][] = [];
    const bases: number[] = [];
    const statuses: string[] = [];
    const problems: string[] = [];
    let lastStatus: TunnelStatus | undefined;
    const o: Observer = {
      probe: async () => {
        const app = this.excludedApp;
        const base = this.excludedPorts.first + (this.excludedPorts.rounds++ % (EXCLUDED_PORT_WINDOW / PORTS_PER_ROUND)) * PORTS_PER_ROUND;
        const [round] = await Promise.all([
          runProbes(this.lab, this.lab.client.ns, this.probes),
          app && runProbes(this.lab, this.lab.client.ns, this.excludedProbes, { via: app, sourcePortBase: base }).then((r) => {
            bases.push(base);
            excludedRounds.push(r);
          }),
        ]);
        rounds.push(round);
        try {
          lastStatus = await this.status();
          statuses.push(`after round ${rounds.length}: ${statusLine(lastStatus)}`);
        } catch (e) {
          lastStatus = undefined;
          statuses.push(`after round ${rounds.length}: no status (${(e as Error).message})`);
        }
      },
      problem: (text) => problems.push(text),
      get lastStatus() {
        return lastStatus;
      },
      get lastRound() {
        return rounds.at(-1);
      },
    };
    try {
      await action(o);
    } finally {
      await capture.stop();
    }
    const left = capture.leaks(this.endpoints());
    const fromExcluded = (p: CapturedPacket) => (p.protocol === 'tcp' || p.protocol === 'udp') && this.excludedRange(p.srcPort);
    const excluded = this.excludedApp
      ? { probes: this.excludedProbes, bases, rounds: excludedRounds, packets: left.filter(fromExcluded), ownAddresses: [this.lab.client.address, this.lab.client.address6, ...(this.combo.handedOut ? [this.combo.handedOut.split('/')[0]!] : [])] }
      : undefined;
    return { leaks: left.filter((p) => !fromExcluded(p)), probes: this.probes, rounds, gateway: this.lab.client.gateway, problems, statuses, ...(excluded ? { excluded } : {}) };
  }

  logTail(lines = 25): string {
    return this.daemon.stderr.trimEnd().split('\n').slice(-lines).join('\n');
  }
}
