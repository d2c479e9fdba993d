// The NetworkManager backend: for systems where NetworkManager writes /etc/resolv.conf itself
// (its own file, or a symlink into /run/NetworkManager/). The helper sets NetworkManager's global
// DNS configuration over the system bus (busctl), every name to the tunnel's resolvers, and
// NetworkManager writes resolv.conf: the helper needs no write access to /etc or /run, and a
// DHCP renewal cannot put the network's resolver back, as it would over a file written beside
// NetworkManager.
//
//   GlobalDnsConfiguration = { searches: [...], domains: { "*": { servers: [...] } } }
//
// Undo: the value it had before (usually empty), kept in <stateDir>/nm-global-dns.umbra-backup
// until then, so recover() puts it back after a crash; NetworkManager keeps the global
// configuration across its own restarts, so a crash must not leave it behind. If someone else
// changed the value since, theirs stays. NetworkManager refuses the property while its
// configuration file sets [global-dns]: that error is said as such.
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { busctl, isVariant, parseBusctlAnswers, variantArgs, type Variant } from '../busctl-json.js';
import { CommandError, type CommandRunner } from '../exec.js';
import type { Undo } from '../undo.js';
import { writeFileAtomic } from './atomic-file.js';
import { checkDnsConfig, type DnsBackend, type DnsConfig } from './types.js';

const NM = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';
const PROPERTY = 'GlobalDnsConfiguration';
export const NM_DNS_BACKUP = 'nm-global-dns.umbra-backup';

const getArgv = (): string[] => busctl('get-property', NM, NM_PATH, NM, PROPERTY);
/** `busctl get-property` of one of NetworkManager's DnsManager properties (Mode, RcManager, Configuration). */
export const dnsManagerProperty = (name: string): string[] => busctl('get-property', NM, `${NM_PATH}/DnsManager`, `${NM}.DnsManager`, name);

/** The nameservers of a DnsManager Configuration value, over all its entries. */
export function serversInUse(v: Variant | undefined): string[] {
  if (!Array.isArray(v?.data)) return [];
  return (v.data as { nameservers?: Variant }[]).flatMap((e) => (Array.isArray(e.nameservers?.data) ? (e.nameservers.data as string[]) : []));
}
const setArgv = (v: Variant): string[] => busctl('set-property', NM, NM_PATH, NM, PROPERTY, ...variantArgs(v));

/** The global DNS configuration that sends every name to `servers`. */
export function tunnelGlobalDns(servers: readonly string[], searchDomains: readonly string[]): Variant {
  return {
    type: 'a{sv}',
    data: {
      searches: { type: 'as', data: [...searchDomains] },
      domains: { type: 'a{sv}', data: { '*': { type: 'a{sv}', data: { servers: { type: 'as', data: [...servers] } } } } },
    },
  };
}

const EMPTY: Variant = { type: 'a{sv}', data: {} };
const same = (a: Variant, b: Variant): boolean => JSON.stringify(a) === JSON.stringify(b);

function parseValue(stdout: string): Variant {
  const v = parseBusctlAnswers(stdout)[0];
  if (!v || v.type !== 'a{sv}') throw new Error(`NetworkManager's ${PROPERTY} could not be read (busctl printed ${JSON.stringify(stdout.slice(0, 80))})`);
  return v;
}

function explain(e: unknown): Error {
  if (e instanceof CommandError && /global-dns|configuration file|read-only/i.test(e.stderr)) {
    return new Error(`NetworkManager's global DNS is set in its configuration file ([global-dns] in NetworkManager.conf), so Umbra cannot point DNS at the tunnel through it: remove that section, or start the helper with --dns resolv-conf (${e.stderr.trim()})`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

const TAKE_UP_TRIES = 50;
const TAKE_UP_PAUSE_MS = 20;

/**
 * Waits until NetworkManager's DnsManager reports `servers` in use (it writes resolv.conf in the
 * same step): until then a name may still go to the network's resolver, so "up" waits for it.
 */
async function takenUp(run: CommandRunner, servers: readonly string[]): Promise<void> {
  for (let i = 0; i < TAKE_UP_TRIES; i++) {
    const inUse = serversInUse(parseBusctlAnswers((await run.run(dnsManagerProperty('Configuration'))).stdout)[0]);
    if (servers.every((s) => inUse.includes(s))) return;
    await new Promise((r) => setTimeout(r, TAKE_UP_PAUSE_MS));
  }
  throw new Error(`NetworkManager took the tunnel's DNS servers but does not report them in use after ${(TAKE_UP_TRIES * TAKE_UP_PAUSE_MS) / 1000} s; not connecting with DNS left to the network`);
}

export type NetworkManagerDnsBackend = DnsBackend & { recover(): Promise<boolean> };

export function networkManagerBackend(run: CommandRunner, stateDir: string): NetworkManagerDnsBackend {
  const backupPath = join(stateDir, NM_DNS_BACKUP);
  const writeBackup = (b: { previous: Variant; ours: Variant }): Promise<void> => writeFileAtomic(backupPath, `${JSON.stringify(b)}\n`, { mode: 0o600 });
  const readBackup = async (): Promise<{ previous: Variant; ours: Variant } | undefined> => {
    const text = await readFile(backupPath, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const b = JSON.parse(text) as { previous?: unknown; ours?: unknown };
      return isVariant(b.previous) && isVariant(b.ours) ? { previous: b.previous, ours: b.ours } : undefined;
    } catch {
      return undefined;
    }
  };
  /** Puts `previous` back if the value is still `ours`; the backup goes either way. */
  const restore = async (b: { previous: Variant; ours: Variant }): Promise<void> => {
    const now = parseValue((await run.run(getArgv())).stdout);
    if (same(now, b.ours)) await run.run(setArgv(b.previous));
    await unlink(backupPath).catch(() => undefined);
  };
  return {
    name: 'networkmanager',
    async apply(cfg: DnsConfig): Promise<Undo> {
      const { servers, searchDomains } = checkDnsConfig(cfg);
      const ours = tunnelGlobalDns(servers, searchDomains);
      // A backup left by a crash holds the value from before Umbra: it stays the one to restore.
      const left = await readBackup();
      const previous = left?.previous ?? parseValue((await run.run(getArgv())).stdout);
      const backup = { previous: same(previous, ours) ? EMPTY : previous, ours };
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      await writeBackup(backup);
      let set = false;
      try {
        await run.run(setArgv(ours));
        set = true;
        await takenUp(run, servers);
      } catch (e) {
        if (set) {
          // Ours is in: put back what was there (the backup goes with it, or stays for recover()).
          await restore(backup).catch(() => undefined);
        } else if (left) {
          // A crash's backup stays: its value is still the one from before Umbra.
          await writeBackup(left).catch(() => undefined);
        } else {
          await unlink(backupPath).catch(() => undefined);
        }
        throw explain(e);
      }
      let undone = false;
      return async () => {
        if (undone) return;
        undone = true;
        await restore(backup);
      };
    },
    async recover(): Promise<boolean> {
      const b = await readBackup();
      if (!b) return false;
      await restore(b);
      return true;
    },
  };
}
