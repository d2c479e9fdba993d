// Who a pid is, from /proc (proc(5)), pure: whether a caller may move it (its status, read by
// ../proc-status.ts), its parent and the start
// time (stat field 22, in clock ticks since boot). A pid and its start time together name one
// process: a pid reused by another process has a later start time.
import type { ProcessIds } from '../proc-status.js';

/** The parent pid from a /proc/PID/stat text (field 4). */
export function parseStatParent(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  const t = close < 0 ? undefined : stat.slice(close + 1).trim().split(/\s+/)[1];
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
}

/** The start time from a /proc/PID/stat text; undefined when it cannot be read. */
export function parseStatStartTime(stat: string): string | undefined {
  // The command name (field 2) is in parentheses and may hold spaces or ')': the fields after it
  // start after the LAST ')'. There, state is field 3, so start time (22) is the 20th.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const t = stat.slice(close + 1).trim().split(/\s+/)[19];
  return t !== undefined && /^\d+$/.test(t) ? t : undefined;
}

/** The cgroup v2 path from a /proc/PID/cgroup text (the "0::" line); undefined without one. */
export function parseCgroupV2Path(cgroup: string): string | undefined {
  const m = /^0::(\/.*)$/m.exec(cgroup);
  return m ? m[1]!.replace(/ \(deleted\)$/, '') : undefined;
}

/**
 * Why a caller may not move this process, or undefined when it may: root may move any; a user only
 * a process whose every uid is theirs and that holds no capability (a setuid or file-capability
 * program started by them is not theirs to unprotect). The words are the same whether the process
 * is someone else's or does not exist, so the answer tells nothing of other users' processes.
 */
export function ownershipProblem(pid: number, callerUid: number, owner: ProcessIds | undefined): string | undefined {
  if (callerUid === 0) return undefined;
  // No CapEff: line reads as privileged (refused), never as unprivileged.
  if (owner && owner.uids.every((u) => u === callerUid) && owner.privileged === false) return undefined;
  return notYours(pid);
}

export const notYours = (pid: number) => `no process ${pid} of yours (a process you started, without special privileges)`;
