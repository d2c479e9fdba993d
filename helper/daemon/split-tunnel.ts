// Split tunnelling: the helper's cgroup of excluded processes, and the IPC methods that fill it.
// The firewall of every state lets this cgroup's traffic leave outside the tunnel (policy.ts adds
// it to each state's spec from `traffic()`); nothing else here touches the network. The cgroup is
// made on the first exclusion, never before (a machine that never excludes an app keeps its
// cgroup tree as it was), adopted when it survives a restart of the helper (its processes stay
// excluded), and removed when the helper stops with it empty.
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProcStatus } from '../platform/proc-status.js';
import { ErrorCode, RpcError, type Caller, type ExcludedProcess, type Handlers } from '../ipc/schema.js';
import type { ExcludedTraffic } from './tunnel-state/types.js';
import { CgroupError, type ExcludedCgroup as Cgroup } from '../platform/cgroup/excluded-cgroup.js';

/** What this needs of the cgroup (a fake in tests). */
export type ExcludedCgroup = Pick<Cgroup, 'path' | 'level' | 'add' | 'remove' | 'members' | 'destroy'>;

export interface SplitTunnelDeps {
  /** Opens (create: makes) the helper's cgroup; undefined when it does not exist and create is false. Throws CgroupError when cgroup v2 is not usable. */
  open(create: boolean): Promise<ExcludedCgroup | undefined>;
  /** Throws, saying why, when the kernel's nftables cannot match this cgroup (`socket cgroupv2`). */
  checkFirewall(cgroup: ExcludedCgroup): Promise<void>;
  /** A process's command name and real uid; undefined when it is gone. */
  process(pid: number): Promise<{ name: string; uid: number } | undefined>;
  /** Records (true) or forgets that the cgroup exists, so the next start adopts it. */
  inUse(used: boolean): Promise<void>;
  /** The cgroup began to exist (or went): each state's firewall must be set again. */
  policyChanged(): Promise<void>;
  mark: number;
  log(line: string): void;
}

/** Excluded processes one user other than root may have at a time. */
export const MAX_PER_UID = 256;

type SplitHandlers = Pick<Handlers, 'excludeProcess' | 'includeProcess' | 'listExcluded'>;

export class SplitTunnel {
  private cgroup: ExcludedCgroup | undefined;
  /** Why excluding cannot work here, once an attempt found out. */
  private unavailable: string | undefined;
  /** The cgroup each excluded process came from (this run's), where includeProcess puts it back. */
  private readonly origins = new Map<number, string>();

  constructor(private readonly deps: SplitTunnelDeps) {}

  /** At start: a cgroup left by the last run is adopted, with its processes (still excluded). */
  async start(): Promise<void> {
    try {
      const cgroup = await this.deps.open(false);
      if (!cgroup) return;
      await this.deps.checkFirewall(cgroup);
      this.cgroup = cgroup;
      const n = (await cgroup.members()).length;
      if (n > 0) this.deps.log(`split tunnelling: ${n} process(es) excluded from the tunnel since the last run stay excluded`);
    } catch (e) {
      this.unavailable = (e as Error).message;
      this.deps.log(`split tunnelling is not available: ${this.unavailable}`);
    }
  }

  /** For the firewall of each state; undefined while nothing was ever excluded. */
  traffic(): ExcludedTraffic | undefined {
    return this.cgroup ? { cgroupPath: this.cgroup.path, cgroupLevel: this.cgroup.level, mark: this.deps.mark } : undefined;
  }

  /** At stop: an empty cgroup goes (the undo of making it); one with processes stays for the next run. */
  async stop(): Promise<void> {
    if (!this.cgroup) return;
    try {
      if ((await this.cgroup.members()).length === 0) {
        await this.cgroup.destroy();
        await this.deps.inUse(false);
      }
    } catch (e) {
      this.deps.log(`split tunnelling: could not remove the cgroup ${this.cgroup.path}: ${(e as Error).message}`);
    }
  }

  handlers(): SplitHandlers {
    return {
      excludeProcess: async (p, caller) => {
        // Each call reads /proc for every member: a caller may not grow that without end.
        if (caller.uid !== 0 && (await this.list(caller)).length >= MAX_PER_UID) {
          throw new RpcError(ErrorCode.Busy, `you already have ${MAX_PER_UID} processes outside the tunnel (the most one user may): move some back with umbra include PID`);
        }
        const cgroup = await this.ready();
        await refusals(async () => {
          this.origins.set(p.pid, await cgroup.add(p.pid, caller.uid));
        });
        this.deps.log(`split tunnelling: excluded pid ${p.pid} for uid ${caller.uid}`);
        return { excluded: await this.list(caller) };
      },
      includeProcess: async (p, caller) => {
        const cgroup = this.cgroup;
        const mine = cgroup ? await this.list(caller) : [];
        if (!cgroup || !mine.some((x) => x.pid === p.pid)) throw new RpcError(ErrorCode.NotFound, `process ${p.pid} is not excluded from the tunnel${caller.uid === 0 ? '' : ' (or not yours)'}: umbra exclude --list shows yours`);
        await refusals(() => cgroup.remove(p.pid, caller.uid, this.origins.get(p.pid)));
        this.origins.delete(p.pid);
        this.deps.log(`split tunnelling: pid ${p.pid} is back in the tunnel`);
        return { excluded: await this.list(caller) };
      },
      listExcluded: async (_p, caller) => ({
        available: this.unavailable === undefined,
        ...(this.unavailable === undefined ? {} : { reason: this.unavailable.slice(0, 300) }),
        excluded: await this.list(caller),
      }),
    };
  }

  /** The cgroup, made (with every state's firewall let it out) on the first exclusion. */
  private async ready(): Promise<ExcludedCgroup> {
    if (this.cgroup) return this.cgroup;
    try {
      const cgroup = (await this.deps.open(true))!;
      try {
        await this.deps.checkFirewall(cgroup);
      } catch (e) {
        await cgroup.destroy().catch(() => undefined);
        throw e;
      }
      this.cgroup = cgroup;
      this.unavailable = undefined;
      await this.deps.inUse(true);
    } catch (e) {
      this.unavailable = (e as Error).message;
      throw new RpcError(ErrorCode.Unavailable, `split tunnelling is not available on this machine: ${this.unavailable}`);
    }
    // The firewall lets the cgroup out before any process is in it (the caller's is still held).
    await this.deps.policyChanged();
    return this.cgroup;
  }

  /** The excluded processes the caller may see: its own, or all for root. */
  private async list(caller: Caller): Promise<ExcludedProcess[]> {
    if (!this.cgroup) return [];
    const out: ExcludedProcess[] = [];
    for (const pid of await this.cgroup.members()) {
      const p = await this.deps.process(pid);
      if (p && (caller.uid === 0 || p.uid === caller.uid)) out.push({ pid, name: p.name.slice(0, 100), uid: p.uid });
    }
    return out;
  }
}

/** The state file that says the cgroup exists (its processes outlive the helper): written when it is made, removed with it. */
const IN_USE_FILE = 'excluded-cgroup';

export async function excludedInUse(stateDir: string): Promise<boolean> {
  return access(join(stateDir, IN_USE_FILE)).then(() => true, () => false);
}

export async function markExcludedInUse(stateDir: string, used: boolean): Promise<void> {
  const file = join(stateDir, IN_USE_FILE);
  if (used) await writeFile(file, 'split tunnelling: the helper\'s cgroup exists; the next start adopts it\n', { mode: 0o600 });
  else await rm(file, { force: true });
}

/** A process's command name and real uid, from /proc; undefined when it is gone. */
export async function processInfo(pid: number): Promise<{ name: string; uid: number } | undefined> {
  try {
    const [comm, status] = await Promise.all([readFile(`/proc/${pid}/comm`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
    const uid = parseProcStatus(status)?.uids[0];
    return uid === undefined ? undefined : { name: comm.trim(), uid };
  } catch {
    return undefined;
  }
}

/** The cgroup's refusals as errors the caller can act on. */
async function refusals(move: () => Promise<unknown>): Promise<void> {
  try {
    await move();
  } catch (e) {
    if (!(e instanceof CgroupError)) throw e;
    const code = e.code === 'not-yours' ? ErrorCode.PermissionDenied : e.code === 'unavailable' ? ErrorCode.Unavailable : ErrorCode.NotFound;
    throw new RpcError(code, e.message);
  }
}
