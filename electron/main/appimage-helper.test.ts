import { describe, expect, it } from 'vitest';
import { offerHelperInstall } from './appimage-helper.js';

describe('offering to install the helper from an AppImage', () => {
  const base = { resourcesPath: '/tmp/.mount_Umbra/resources', user: 'alice', tell: () => undefined };

  it('does nothing outside an AppImage, or when a helper is installed', async () => {
    expect(await offerHelperInstall({ ...base, env: {}, ask: async () => true })).toBe('not-appimage');
    expect(await offerHelperInstall({ ...base, env: { APPIMAGE: '/home/u/Umbra.AppImage' }, installed: () => true, ask: async () => true })).toBe('present');
  });

  it('shows every step before asking, and runs nothing when declined', async () => {
    let shown: string[] = [];
    let ran = false;
    const r = await offerHelperInstall({
      ...base, env: { APPIMAGE: '/home/u/Umbra.AppImage' }, installed: () => false,
      ask: async (_t, steps) => ((shown = steps), false),
      run: async () => ((ran = true), { kind: 'installed', output: '' }),
    });
    expect(r).toBe('declined');
    expect(ran).toBe(false);
    expect(shown.length).toBeGreaterThan(2);
    expect(shown.join('\n')).toMatch(/umbra/i);
  });

  it('says so when the plan is impossible (e.g. running as root)', async () => {
    const told: string[] = [];
    const r = await offerHelperInstall({ ...base, user: 'root', env: { APPIMAGE: '/home/u/Umbra.AppImage' }, installed: () => false, ask: async () => true, tell: (m) => told.push(m) });
    expect(r).toBe('impossible');
    expect(told[0]).toMatch(/cannot be installed/);
  });

  it('runs the plan when accepted and says how it went', async () => {
    const told: string[] = [];
    const r = await offerHelperInstall({
      ...base, env: { APPIMAGE: '/home/u/Umbra.AppImage' }, installed: () => false,
      ask: async () => true, tell: (m) => told.push(m),
      run: async (plan) => {
        expect(plan.argv[0]).toBe('pkexec');
        return { kind: 'not-authorized', output: '' };
      },
    });
    expect(r).toBe('not-authorized');
    expect(told[0]).toMatch(/not authorized/);
  });
});
