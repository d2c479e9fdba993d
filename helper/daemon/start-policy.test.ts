import { describe, expect, it } from 'vitest';
import { planStart, type StartFacts } from './start-policy.js';

const base: StartFacts = { resume: false, killSwitchOnBoot: false, newBoot: false, kernel: 'none', stateUnreadable: false };

describe('planStart', () => {
  it('resumes a wanted connection whatever the kernel holds (its own block replaces the one found)', () => {
    for (const kernel of ['none', 'guard', 'block', 'foreign'] as const) expect(planStart({ ...base, resume: true, kernel })).toEqual({ resume: true });
  });

  it('kill switch on boot: the helper blocks at its first start after a boot, even with no table loaded', () => {
    expect(planStart({ ...base, killSwitchOnBoot: true, newBoot: true })).toEqual({ resume: false, hold: 'boot' });
    // A block loaded by the early-boot unit (or left by a crash while held) is kept.
    expect(planStart({ ...base, killSwitchOnBoot: true, kernel: 'block' })).toEqual({ resume: false, hold: 'boot' });
    // A restart within the boot after the user lifted it does not bring it back.
    expect(planStart({ ...base, killSwitchOnBoot: true })).toEqual({ resume: false });
    expect(planStart({ ...base, newBoot: true })).toEqual({ resume: false });
  });

  it('unreadable state keeps a block that is there, and only then', () => {
    expect(planStart({ ...base, stateUnreadable: true, kernel: 'block' })).toEqual({ resume: false, hold: 'unreadable-state' });
    expect(planStart({ ...base, stateUnreadable: true, kernel: 'guard' })).toEqual({ resume: false });
    expect(planStart({ ...base, stateUnreadable: true })).toEqual({ resume: false });
  });

  it('a table no setting asks for goes', () => {
    for (const kernel of ['guard', 'block', 'foreign'] as const) expect(planStart({ ...base, kernel })).toEqual({ resume: false });
  });
});
