// Runs one round of probes (probe-runner.mjs) inside a lab namespace: one node process for all of
// them, so a round costs one process start whatever the number of probes.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../lab/lab.js';
import type { Probe } from './probe-plan.js';
import type { ExcludedProgram } from '../excluded-program.js';

export interface ProbeOutcome {
  id: string;
  outcome: string;
}

/** Socket probes give up after this long; ICMP waits 1 s (ping's smallest portable wait). */
const PROBE_TIMEOUT_MS = 600;

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'probe-runner.mjs');

export interface RoundOptions {
  /** Probe n sends from this port + n (TCP, UDP): the capture can tell the round's packets apart. */
  sourcePortBase?: number;
  /** Run the round as a child of this excluded app instead of a plain process in `ns`. */
  via?: ExcludedProgram;
}

export async function runProbes(lab: Lab, ns: string, probes: Probe[], opts: RoundOptions = {}): Promise<ProbeOutcome[]> {
  const input = JSON.stringify({ timeoutMs: PROBE_TIMEOUT_MS, token: `lm${randomBytes(4).toString('hex')}`, probes, ...(opts.sourcePortBase === undefined ? {} : { sourcePortBase: opts.sourcePortBase }) });
  const argv = [process.execPath, RUNNER, input];
  const r = opts.via ? await opts.via.run(argv) : await lab.exec(ns, argv, { timeoutMs: 15_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as ProbeOutcome[];
  } catch {
    throw new Error(`leak probes in ${ns} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
}
