// The AppImage's way to the privileged helper. An AppImage cannot install a system service by
// itself, so at start the main process checks for an installed helper (helperInstalled) and,
// when there is none, shows the steps of helperInstallPlan (exactly what will be done, as root)
// and, when the user agrees, runs it (runHelperInstall): pkexec asks for an administrator's
// password and runs packaging/linux/install-helper.sh.
//
// The script is copied out of the AppImage first (plan.stage): the AppImage is a FUSE mount that
// only its user may read, not even root. The script then unpacks the AppImage file itself, as
// root, with the AppImage's own --appimage-extract.
//
// Plain Node (no electron import), so it is tested without Electron.
import { spawn as nodeSpawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/** The helper's socket (helper/ipc/schema.ts has the same default). */
export const HELPER_SOCKET = '/run/umbra/umbrad.sock';
/** The launcher umbrad.service runs; written by setup-helper.sh (the .deb and the AppImage). */
export const HELPER_LAUNCHER = '/usr/lib/umbra/umbrad';
/** Where install-helper.sh puts its copy of the app's runtime. */
export const APPIMAGE_HELPER_DIR = '/opt/umbra-helper';

/** pkexec's own exit codes (pkexec(1)); anything else is the script's. */
const PKEXEC_DISMISSED = 126;
const PKEXEC_NOT_AUTHORIZED = 127;

/** Whether a helper is installed: its socket is there (it runs) or its launcher is. */
export function helperInstalled(exists: (path: string) => boolean = existsSync): boolean {
  return exists(HELPER_SOCKET) || exists(HELPER_LAUNCHER);
}

export interface HelperInstallInput {
  /** The AppImage file: process.env.APPIMAGE (set by the AppImage runtime). */
  appImage: string | undefined;
  /** The app's resources folder inside the AppImage's mount: process.resourcesPath. */
  resourcesPath: string;
  /** Who is installing, to be added to the group "umbra": os.userInfo().username. */
  user: string;
  /**
   * A new folder only this user can write, for the copy of the installer script, e.g.
   * fs.mkdtempSync(path.join(os.tmpdir(), 'umbra-install-')). The caller removes it afterwards.
   */
  stagingDir: string;
}

export interface HelperInstallPlan {
  /** What will happen, in order, one sentence each: show them all before asking. */
  steps: string[];
  /** Copy `from` to `to` with `mode` before running argv (runHelperInstall does). */
  stage: { from: string; to: string; mode: number };
  /** The command: pkexec, the staged script and its arguments. */
  argv: string[];
}

export class HelperInstallError extends Error {
  override name = 'HelperInstallError';
}

const USER_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;

/** The steps and the command that install the helper from the running AppImage. */
export function helperInstallPlan(input: HelperInstallInput): HelperInstallPlan {
  const { appImage, resourcesPath, user, stagingDir } = input;
  if (!appImage) throw new HelperInstallError('not running from an AppImage (APPIMAGE is not set): install the .deb instead');
  if (!isAbsolute(appImage)) throw new HelperInstallError(`the AppImage's path is not absolute: ${appImage}`);
  if (!isAbsolute(resourcesPath)) throw new HelperInstallError(`the resources path is not absolute: ${resourcesPath}`);
  if (!isAbsolute(stagingDir)) throw new HelperInstallError(`the staging folder is not absolute: ${stagingDir}`);
  if (!USER_NAME.test(user) || user === 'root') throw new HelperInstallError(`not a user to add to the group umbra: ${user}`);

  const script = join(stagingDir, 'install-helper.sh');
  return {
    steps: [
      'Ask for an administrator password (pkexec): the helper is a system service that runs as root.',
      `Unpack this AppImage (${appImage}) into ${APPIMAGE_HELPER_DIR}: the helper runs on the Node.js inside the app, and the AppImage's own files are gone when the app quits.`,
      `Install the launchers ${HELPER_LAUNCHER} (the helper) and /usr/bin/umbra (the command-line client).`,
      'Install the systemd units umbrad.service and umbra-early-boot.service into /usr/lib/systemd/system.',
      `Create the system group "umbra" and add ${user} to it: its members may control Umbra without a password (from your next login).`,
      'Enable and start umbrad.service, and enable umbra-early-boot.service, which blocks traffic from early boot only while "kill switch on boot" is on.',
      `Remove it all later with: sudo ${APPIMAGE_HELPER_DIR}/resources/packaging/linux/install-helper.sh uninstall`,
    ],
    stage: { from: join(resourcesPath, 'packaging', 'linux', 'install-helper.sh'), to: script, mode: 0o700 },
    argv: ['pkexec', script, 'install', '--appimage', appImage, '--user', user],
  };
}

export type HelperInstallOutcome =
  | { kind: 'installed'; output: string }
  /** The user closed the password dialog. */
  | { kind: 'cancelled'; output: string }
  /** No authorization (wrong password, or polkit refused). */
  | { kind: 'not-authorized'; output: string }
  /** pkexec missing, or the script failed: `output` has its messages. */
  | { kind: 'failed'; code: number | null; output: string };

type Spawn = typeof nodeSpawn;

/** Stages the script, runs the plan's command and says how it went. Never throws for a failed run. */
export async function runHelperInstall(plan: HelperInstallPlan, opts: { spawn?: Spawn } = {}): Promise<HelperInstallOutcome> {
  const spawn = opts.spawn ?? nodeSpawn;
  try {
    await copyFile(plan.stage.from, plan.stage.to);
    await chmod(plan.stage.to, plan.stage.mode);
  } catch (e) {
    return { kind: 'failed', code: null, output: `could not copy the installer out of the AppImage: ${(e as Error).message}` };
  }
  try {
    const [command, ...args] = plan.argv;
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      let output = '';
      const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ code: null, output: e.code === 'ENOENT' ? `${command} is not installed (it comes with polkit)` : e.message }),
      );
      child.on('close', (c) => resolve({ code: c, output }));
    });
    if (code === 0) return { kind: 'installed', output };
    if (code === PKEXEC_DISMISSED) return { kind: 'cancelled', output };
    if (code === PKEXEC_NOT_AUTHORIZED) return { kind: 'not-authorized', output };
    return { kind: 'failed', code, output };
  } finally {
    await rm(plan.stage.to, { force: true });
  }
}
