// An app excluded from the tunnel, the way a user makes one: `umbra exclude -- PROGRAM` in the
// client's namespace. The program is run-lines.mjs, which runs one command per request as its own
// child, so every probe is a new process inside the excluded cgroup, and the same excluded
// process can be asked again after the helper restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroup2Mounts, pickCgroup2Mount } from '../helper/platform/cgroup/mountinfo.js';
import { servicePath } from './lab/probes.js';
import { PROJECT_ROOT } from './umbrad-process.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class ExcludedProgram {
  /** Answers not yet taken, and callers waiting for one, in order (run-lines answers in order). */
  private readonly lines: string[] = [];
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly child: ChildProcess;
  /** What `umbra exclude` and the program wrote to stderr. */
  stderr = '';

  /** Starts `umbra --socket SOCKET exclude -- node run-lines.mjs` in namespace `ns`. */
  constructor(ns: string, socket: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(PROJECT_ROOT, 'bin', 'umbra.js'), '--socket', socket, 'exclude', '--', process.execPath, servicePath('run-lines.mjs')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Until `umbra exclude` says the program runs outside the tunnel. */
  async started(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!/runs outside the tunnel/.test(this.stderr)) {
      if (this.child.exitCode !== null) throw new Error(`umbra exclude ended (${this.child.exitCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`umbra exclude did not start the program: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs argv as a child of the excluded program; calls may overlap (they run one after another). */
  async run(argv: string[], ms = 15_000): Promise<RunResult> {
    this.child.stdin!.write(`${JSON.stringify(argv)}\n`);
    const ready = this.lines.shift();
    if (ready !== undefined) return JSON.parse(ready) as RunResult;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the excluded program did not answer in ${ms} ms; it said: ${this.stderr}`)), ms);
    });
    try {
      return JSON.parse(await Promise.race([answer, timeout])) as RunResult;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the program (EOF on its input; `umbra exclude` then ends with it). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Where this machine mounts cgroup v2 writable (never assumed), or undefined: split tunnelling cannot work here. */
export function cgroup2MountPoint(): string | undefined {
  const mount = pickCgroup2Mount(parseCgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8')));
  return mount && !mount.readOnly ? mount.mountPoint : undefined;
}

/**
 * Removes a lab run's split-tunnel cgroup if it is there and empty (a helper killed by the test
 * leaves it, as a real one does for the excluded apps it keeps); a cgroup with processes stays.
 */
export function removeCgroupNow(name: string): void {
  const mount = cgroup2MountPoint();
  const dir = mount && join(mount, name);
  if (!dir || !existsSync(dir)) return;
  try {
    rmdirSync(dir);
  } catch {
    // still has processes (EBUSY): not ours to kill
  }
}
