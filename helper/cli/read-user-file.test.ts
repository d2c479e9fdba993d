// readUserFile against real files in a temporary dir (the CLI reads as the user who runs it).
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readUserFile, UserFileError } from './read-user-file.js';

const dir = mkdtempSync(join(tmpdir(), 'umbra-read-user-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function why(p: Promise<unknown>): Promise<UserFileError> {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(UserFileError);
  return e as UserFileError;
}

describe('readUserFile', () => {
  it('reads UTF-8 text as it is (a BOM included), through a symlink the user made', async () => {
    const file = join(dir, 'a.conf');
    writeFileSync(file, '\uFEFF[Interface]\nÅ = 1\n');
    symlinkSync(file, join(dir, 'link.conf'));
    expect(await readUserFile(join(dir, 'link.conf'), 100)).toBe('\uFEFF[Interface]\nÅ = 1\n');
  });

  it('says why not: missing, a directory, too large (with the size), not UTF-8, a dangling symlink', async () => {
    expect((await why(readUserFile(join(dir, 'missing'), 100))).why).toBe('no such file');
    expect((await why(readUserFile(dir, 100))).why).toBe('it is a directory');
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(101));
    expect(await why(readUserFile(big, 100))).toMatchObject({ why: 'it is 101 bytes', size: 101 });
    const bin = join(dir, 'bin');
    writeFileSync(bin, Buffer.from([0x5b, 0xff, 0xfe]));
    expect((await why(readUserFile(bin, 100))).why).toBe('it is not UTF-8 text');
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
    expect((await why(readUserFile(join(dir, 'dangling'), 100))).why).toBe('no such file');
  });
});
