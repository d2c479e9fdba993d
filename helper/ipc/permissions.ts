// Who may control the helper: root, and members of the control group ("umbra"). If the group
// does not exist, only root. The caller's uid, gid and pid come from SO_PEERCRED (the kernel
// records them at connect(); they cannot be forged); its supplementary groups from
// /proc/<pid>/status. The pure decision is separate from the file reading, and the file paths
// are injectable, so tests need neither a real group nor other users' processes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCredentials } from '../platform/native.js';
import { parseProcStatus, type ProcessIds } from '../platform/proc-status.js';
import { CONTROL_GROUP } from './schema.js';

export interface PermissionFiles {
  /** Default /etc/group. */
  groupFile?: string;
  /** Default /proc. */
  procRoot?: string;
}

/** The gid of group `name` in the text of an /etc/group file, or undefined when it has none. */
export function groupGid(groupFileText: string, name: string): number | undefined {
  for (const line of groupFileText.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] !== name) continue;
    const gid = fields[2]!.trim();
    if (/^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

export type Decision = { allowed: true; why: string } | { allowed: false; why: string; message: string };

/** The message a refused caller gets: what is needed and how to get it. */
export function permissionDeniedMessage(group: string, groupExists: boolean): string {
  if (groupExists) {
    return `permission denied: only root and members of the ${group} group may control Umbra. Add yourself: sudo usermod -aG ${group} $USER, then log out and in`;
  }
  return `permission denied: only root may control Umbra on this machine (there is no "${group}" group). Create it and add yourself: sudo groupadd --system ${group} && sudo usermod -aG ${group} $USER, restart the helper (sudo systemctl restart umbrad), then log out and in`;
}

/**
 * The decision, pure. `status` is what /proc/<pid>/status said (undefined: unreadable, e.g. the
 * caller already exited). Its supplementary groups count only when its effective uid is the
 * peer's uid: otherwise the pid may have been reused by another process since connect().
 */
export function decide(cred: PeerCredentials, group: string, gid: number | undefined, status: ProcessIds | undefined): Decision {
  if (cred.uid === 0) return { allowed: true, why: 'root' };
  const refuse = (why: string): Decision => ({ allowed: false, why, message: permissionDeniedMessage(group, gid !== undefined) });
  if (gid === undefined) return refuse(`uid ${cred.uid} is not root and there is no "${group}" group`);
  if (cred.gid === gid) return { allowed: true, why: `primary group ${group}` };
  if (status && status.uids[1] === cred.uid && status.groups.includes(gid)) return { allowed: true, why: `member of ${group}` };
  return refuse(`uid ${cred.uid} (pid ${cred.pid}) is not in the "${group}" group`);
}

/** Reads the group file and the caller's /proc status, then decides. Never throws. */
export function checkCaller(cred: PeerCredentials, group: string = CONTROL_GROUP, files: PermissionFiles = {}): Decision {
  if (cred.uid === 0) return decide(cred, group, undefined, undefined);
  const gid = readGroupGid(group, files.groupFile);
  let status: ProcessIds | undefined;
  if (gid !== undefined && cred.gid !== gid) {
    try {
      status = parseProcStatus(readFileSync(join(files.procRoot ?? '/proc', String(cred.pid), 'status'), 'utf8'));
    } catch {
      status = undefined;
    }
  }
  return decide(cred, group, gid, status);
}

/** The gid of `group` from the group file (default /etc/group); undefined when absent or unreadable. */
export function readGroupGid(group: string, groupFile = '/etc/group'): number | undefined {
  try {
    return groupGid(readFileSync(groupFile, 'utf8'), group);
  } catch {
    return undefined;
  }
}
