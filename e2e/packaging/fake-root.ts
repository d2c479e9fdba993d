// A throwaway root for the packaging scripts: a temporary folder that stands for / (the scripts
// honour UMBRA_ROOT), and a PATH on which every command that would change this machine
// (systemctl, groupadd, groupdel, usermod, nft, update-alternatives, …) is a fake that records
// its arguments and keeps just enough state (groups, the nftables table) to answer the scripts'
// questions. Nothing here touches the machine: PATH holds only the fakes and a few plain file
// utilities, and the environment is built from scratch.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEB = join(PROJECT_ROOT, 'packaging', 'deb');
export const LINUX = join(PROJECT_ROOT, 'packaging', 'linux');
export const UNITS = ['umbrad.service', 'umbra-early-boot.service'] as const;

/** Commands the scripts may run that change a machine: all faked. */
const FAKED = [
  'systemctl', 'groupadd', 'groupdel', 'usermod', 'nft', 'getent', 'update-alternatives', 'update-desktop-database',
  'update-mime-database', 'apparmor_status', 'apparmor_parser', 'unshare',
];
/** Plain file utilities the scripts use, taken from this machine. */
const REAL = ['sh', 'id', 'mkdir', 'sed', 'chmod', 'chown', 'mv', 'cp', 'rm', 'rmdir', 'readlink', 'cut', 'mktemp', 'ln', 'basename', 'touch', 'cat'];

const FAKE = `#!/bin/sh
# A stand-in that records its call (one line: name and arguments) and answers from $FAKE_STATE.
name=$(basename "$0")
line=$name
for a in "$@"; do line="$line $a"; done
printf '%s\\n' "$line" >>"$FAKE_LOG"
for a in "$@"; do last=$a; done
case $name in
  getent)
    case $1 in
      group) if [ -f "$FAKE_STATE/group-$2" ]; then echo "$2:x:999:"; exit 0; fi; exit 2 ;;
      passwd)
        for u in $FAKE_USERS; do
          n=\${u%%:*}; uid=\${u#*:}
          if [ "$2" = "$n" ] || [ "$2" = "$uid" ]; then echo "$n:x:$uid:$uid::/home/$n:/bin/sh"; exit 0; fi
        done
        exit 2 ;;
    esac
    exit 2 ;;
  groupadd) touch "$FAKE_STATE/group-$last" ;;
  groupdel) rm -f "$FAKE_STATE/group-$last" ;;
  nft)
    case "$*" in
      "list table inet umbra") [ -f "$FAKE_STATE/nft-table" ] || { echo "Error: No such file or directory" >&2; exit 1; } ;;
      "delete table inet umbra") [ -f "$FAKE_STATE/nft-table" ] || exit 1; rm -f "$FAKE_STATE/nft-table" ;;
    esac ;;
  apparmor_status) exit 1 ;;
esac
exit 0
`;

interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

export interface FakeRoot {
  /** The folder that stands for /. */
  root: string;
  /** `root` + an absolute path. */
  path(p: string): string;
  /** Runs a script with `args`, UMBRA_ROOT and the fakes; `env` adds to a clean environment. */
  run(script: string, args: string[], env?: Record<string, string>): RunResult;
  /** The recorded calls, one string each ("systemctl enable …"), optionally of one command. */
  calls(command?: string): string[];
  clearCalls(): void;
  /** Fake machine state: a group or the kill switch's nftables table. */
  hasGroup(name: string): boolean;
  addGroup(name: string): void;
  hasTable(): boolean;
  addTable(): void;
  cleanup(): void;
}

export function fakeRoot(opts: { systemdRunning?: boolean; users?: string } = {}): FakeRoot {
  const base = mkdtempSync(join(tmpdir(), 'umbra-pkg-'));
  const root = join(base, 'root');
  const bin = join(base, 'bin');
  const state = join(base, 'state');
  const log = join(base, 'calls.log');
  for (const d of [root, bin, state]) mkdirSync(d, { recursive: true });
  writeFileSync(log, '');
  const fake = join(base, 'fake');
  writeFileSync(fake, FAKE, { mode: 0o755 });
  for (const name of FAKED) symlinkSync(fake, join(bin, name));
  for (const name of REAL) {
    const real = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (!real) throw new Error(`${name} is not installed`);
    symlinkSync(real, join(bin, name));
  }
  if (opts.systemdRunning ?? true) mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true });
  const env = {
    PATH: bin,
    UMBRA_ROOT: root,
    FAKE_LOG: log,
    FAKE_STATE: state,
    FAKE_USERS: opts.users ?? 'alice:1000 bob:1001',
    LANG: 'C',
    TMPDIR: base,
  };
  return {
    root,
    path: (p) => join(root, p),
    run(script, args, extra = {}) {
      const r = spawnSync('/bin/sh', [script, ...args], { encoding: 'utf8', env: { ...env, ...extra }, cwd: base, timeout: 30_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    },
    calls(command) {
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      return command ? lines.filter((l) => l === command || l.startsWith(`${command} `)) : lines;
    },
    clearCalls: () => writeFileSync(log, ''),
    hasGroup: (name) => existsSync(join(state, `group-${name}`)),
    addGroup: (name) => writeFileSync(join(state, `group-${name}`), ''),
    hasTable: () => existsSync(join(state, 'nft-table')),
    addTable: () => writeFileSync(join(state, 'nft-table'), ''),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

/** Stands in for Electron's binary (umbra-app): nothing of the helper may run it. */
const FAKE_ELECTRON = '#!/bin/sh\necho "umbra-app must not run: $*" >&2\nexit 99\n';
/**
 * Stands in for the shipped Node.js (resources/helper/node/bin/node): prints how it was called,
 * and whether NODE_OPTIONS reached it. Asked to run `umbrad.js dns-access` or `dns-restore`, it
 * records the call (with $FAKE_LOG, as "node …"); for dns-access it writes the drop-in the real
 * one writes for a plain resolv.conf in /etc.
 */
const FAKE_NODE = `#!/bin/sh
echo "node[NODE_OPTIONS=\${NODE_OPTIONS:-}] $*"
case $2 in
  dns-access)
    [ -z "\${FAKE_LOG:-}" ] || echo "node[NODE_OPTIONS=\${NODE_OPTIONS:-}] $*" >>"$FAKE_LOG"
    mkdir -p "$4/umbrad.service.d"
    printf '[Service]\\nReadWritePaths=-/etc\\n' >"$4/umbrad.service.d/dns-access.conf" ;;
  dns-restore) [ -z "\${FAKE_LOG:-}" ] || echo "node[NODE_OPTIONS=\${NODE_OPTIONS:-}] $*" >>"$FAKE_LOG" ;;
esac
`;

/**
 * An unpacked app as electron-builder lays it out (only what the scripts use): umbra-app,
 * chrome-sandbox, resources/helper/ (the launchers' targets, the Node.js runtime in node/, and the units from helper/systemd/)
 * and resources/packaging/linux/ (from packaging/linux/). `version` marks the unit files, so an
 * upgrade can be told apart.
 */
export function writeApp(dir: string, version = '0.1.0'): void {
  const res = join(dir, 'resources');
  mkdirSync(join(res, 'helper', 'bin'), { recursive: true });
  mkdirSync(join(res, 'helper', 'systemd'), { recursive: true });
  mkdirSync(join(res, 'helper', 'node', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'umbra-app'), FAKE_ELECTRON, { mode: 0o755 });
  writeFileSync(join(res, 'helper', 'node', 'bin', 'node'), FAKE_NODE, { mode: 0o755 });
  writeFileSync(join(dir, 'chrome-sandbox'), '', { mode: 0o755 });
  writeFileSync(join(res, 'helper', 'bin', 'umbrad.js'), '// umbrad\n');
  writeFileSync(join(res, 'helper', 'bin', 'umbra.js'), '// umbra\n');
  for (const unit of UNITS) {
    const text = readFileSync(join(PROJECT_ROOT, 'helper', 'systemd', unit), 'utf8');
    writeFileSync(join(res, 'helper', 'systemd', unit), `${text}# version ${version}\n`);
  }
  cpSync(LINUX, join(res, 'packaging', 'linux'), { recursive: true, filter: (src) => !src.endsWith('.md') });
  writeFileSync(join(res, 'apparmor-profile'), 'profile "umbra-app" "/opt/Umbra/umbra-app" flags=(unconfined) {}\n');
}

/** What dpkg does when it unpacks the package: the app in /opt/Umbra. */
export function unpackDeb(r: FakeRoot, version = '0.1.0'): void {
  rmSync(r.path('/opt/Umbra'), { recursive: true, force: true });
  writeApp(r.path('/opt/Umbra'), version);
}

/** The helper's state as a user leaves it: settings, and the boot ruleset while that setting is on. */
export function writeSettings(r: FakeRoot): void {
  mkdirSync(r.path('/var/lib/umbra'), { recursive: true });
  writeFileSync(r.path('/var/lib/umbra/settings.json'), '{"killSwitch":true,"killSwitchOnBoot":true}\n');
  writeFileSync(r.path('/var/lib/umbra/boot-killswitch.nft'), 'table inet umbra {}\n');
}
