// Who a pid is, from /proc (proc(5)), pure: the real and effective uid (status) and the start
// time (stat field 22, in clock ticks since boot). A pid and its start time together name one
// process: a pid reused by another process has a later start time.

/** Real and effective uid from a /proc/PID/status text; undefined when the Uid: line is missing. */
export function parseStatusUids(status: string): { real: number; effective: number } | undefined {
  const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  return m ? { real: Number(m[1]), effective: Number(m[2]) } : undefined;
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

/** Why a caller may not move this process, or undefined when it may (root may move any). */
export function ownershipProblem(pid: number, callerUid: number, uids: { real: number; effective: number }): string | undefined {
  if (callerUid === 0 || (uids.real === callerUid && uids.effective === callerUid)) return undefined;
  return `process ${pid} is not yours (it runs as uid ${uids.effective}, you are uid ${callerUid})`;
}
