import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LAST_BOOT_FILE, readBoot } from './boot-id.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readBoot', () => {
  it('a new boot until it is recorded, then the same boot', async () => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-boot-'));
    const bootId = join(dir, 'boot_id');
    writeFileSync(bootId, 'aaaa-1\n');
    const first = await readBoot(dir, bootId);
    expect(first.newBoot).toBe(true);
    // Not recorded yet (the start's firewall is not in place): still a new boot.
    expect((await readBoot(dir, bootId)).newBoot).toBe(true);
    await first.record();
    expect(readFileSync(join(dir, LAST_BOOT_FILE), 'utf8')).toBe('aaaa-1\n');
    expect((await readBoot(dir, bootId)).newBoot).toBe(false);
    writeFileSync(bootId, 'bbbb-2\n'); // a reboot
    expect((await readBoot(dir, bootId)).newBoot).toBe(true);
  });

  it('a machine that cannot say which boot it is in counts as a new boot', async () => {
    dir = mkdtempSync(join(tmpdir(), 'umbra-boot-'));
    const b = await readBoot(dir, join(dir, 'missing'));
    expect(b.newBoot).toBe(true);
    await b.record();
    expect((await readBoot(dir, join(dir, 'missing'))).newBoot).toBe(true);
  });
});
