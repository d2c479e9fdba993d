// Who a process runs as, from its /proc/<pid>/status text (proc(5)). Pure. The socket's permission
// check reads the groups; split tunnelling reads every uid and whether it holds capabilities.

export interface ProcessIds {
  /** Real, effective, saved, filesystem uid. */
  uids: number[];
  /** Supplementary groups. */
  groups: number[];
  /** Whether it holds any effective capability (CapEff not all zero); absent without a CapEff: line. */
  privileged?: boolean;
}

/** The Uid:, Groups: and CapEff: lines of a /proc/<pid>/status text; undefined when Uid: is missing. */
export function parseProcStatus(text: string): ProcessIds | undefined {
  let uids: number[] | undefined;
  let groups: number[] = [];
  let privileged: boolean | undefined;
  for (const line of text.split('\n')) {
    const cap = /^CapEff:\s*([0-9a-f]+)\s*$/.exec(line);
    if (cap) privileged = /[1-9a-f]/.test(cap[1]!);
    const m = /^(Uid|Groups):(.*)$/.exec(line);
    if (!m) continue;
    const ids = m[2]!.trim().split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
    if (m[1] === 'Uid') uids = ids;
    else groups = ids;
  }
  return uids ? { uids, groups, ...(privileged === undefined ? {} : { privileged }) } : undefined;
}
