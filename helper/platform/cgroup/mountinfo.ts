// Where cgroup v2 is mounted, from /proc/self/mountinfo (proc(5)). Pure parser plus one read.
// Never assumed: unified systems mount it at /sys/fs/cgroup, hybrid ones at /sys/fs/cgroup/unified,
// containers and CI elsewhere or not at all.
import { readFile } from 'node:fs/promises';

export const MOUNTINFO = '/proc/self/mountinfo';

export interface Cgroup2Mount {
  /** Where it is mounted, e.g. /sys/fs/cgroup/unified. */
  mountPoint: string;
  /** The cgroup this mount shows as its top, as a path in the hierarchy ("/" for the whole tree). */
  root: string;
  readOnly: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Every cgroup2 mount in a mountinfo text, in its order. */
export function parseCgroup2Mounts(mountinfo: string): Cgroup2Mount[] {
  const out: Cgroup2Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    if (dash < 6 || fields[dash + 1] !== 'cgroup2') continue;
    const opts = [...fields[5]!.split(','), ...(fields[dash + 3] ?? '').split(',')];
    out.push({ mountPoint: unescape(fields[4]!), root: unescape(fields[3]!), readOnly: opts.includes('ro') });
  }
  return out;
}

/** The mount to use: the first writable one, else the first one (the caller may mount its own). */
export function pickCgroup2Mount(mounts: Cgroup2Mount[]): Cgroup2Mount | undefined {
  return mounts.find((m) => !m.readOnly) ?? mounts[0];
}

/** This process's cgroup2 mount, or undefined when there is none. */
export async function findCgroup2Mount(read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8')): Promise<Cgroup2Mount | undefined> {
  return pickCgroup2Mount(parseCgroup2Mounts(await read(MOUNTINFO)));
}
