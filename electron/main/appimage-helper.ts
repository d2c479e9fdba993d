// An AppImage cannot install a system service by itself: when no helper is installed, offer to
// install it with pkexec, listing exactly what will happen, and say how it went. Plain module: the
// Electron glue passes in the question and the notice.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HelperInstallError, helperInstalled, helperInstallPlan, runHelperInstall, type HelperInstallOutcome } from '../../packaging/appimage/helper-install.js';

export interface OfferDeps {
  env: NodeJS.ProcessEnv;
  resourcesPath: string;
  /** Shows the steps and asks; true to go ahead. */
  ask(title: string, steps: string[]): Promise<boolean>;
  tell(message: string): void;
  installed?: () => boolean;
  /** Who is installing (added to the umbra group); the current user by default. */
  user?: string;
  run?: typeof runHelperInstall;
}

/** Returns what happened: 'not-appimage' | 'present' | 'declined' | an install outcome kind. */
export async function offerHelperInstall(d: OfferDeps): Promise<string> {
  if (!d.env.APPIMAGE) return 'not-appimage';
  if ((d.installed ?? helperInstalled)()) return 'present';
  const stagingDir = mkdtempSync(path.join(os.tmpdir(), 'umbra-install-'));
  try {
    let plan;
    try {
      plan = helperInstallPlan({ appImage: d.env.APPIMAGE, resourcesPath: d.resourcesPath, user: d.user ?? os.userInfo().username, stagingDir });
    } catch (e) {
      if (!(e instanceof HelperInstallError)) throw e;
      d.tell(`The Umbra helper cannot be installed from here: ${e.message}`);
      return 'impossible';
    }
    if (!(await d.ask('Umbra needs its helper to protect your traffic. Install it now? You will be asked for your password.', plan.steps))) return 'declined';
    const outcome: HelperInstallOutcome = await (d.run ?? runHelperInstall)(plan);
    d.tell(
      outcome.kind === 'installed' ? 'The Umbra helper is installed and running.'
        : outcome.kind === 'cancelled' ? 'Installing the helper was cancelled; Umbra cannot connect without it.'
          : outcome.kind === 'not-authorized' ? 'Installing the helper was not authorized (wrong password, or your account may not install system services).'
            : `Installing the helper failed: ${outcome.output.trim().split('\n').slice(-3).join(' ')}`,
    );
    return outcome.kind;
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
}
