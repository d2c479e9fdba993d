// The resolv.conf backend against files in a temporary directory (never the machine's own).
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESOLV_CONF_BACKUP, RESOLV_CONF_HEADER, renderResolvConf, resolvConfBackend } from './resolv-conf.js';
import type { DnsConfig } from './types.js';

const ORIGINAL = Buffer.from('# managed by someone\r\nnameserver 198.51.100.53\noptions ndots:2\n\xff\xfe trailing bytes', 'latin1');

const cfg: DnsConfig = { interfaceName: 'umbra0', servers: ['100.64.0.1', '2001:db8::53'], searchDomains: ['corp.example'] };

let dir: string;
let path: string;
let stateDir: string;
let logs: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-dns-'));
  path = join(dir, 'resolv.conf');
  stateDir = join(dir, 'state');
  logs = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const backend = () => resolvConfBackend({ path, stateDir, log: (l) => logs.push(l) });
const backupPath = () => join(stateDir, RESOLV_CONF_BACKUP);
const exists = (p: string) => stat(p).then(
  () => true,
  () => false,
);

describe('renderResolvConf', () => {
  it('writes the header, at most 3 nameservers and one search line', () => {
    const text = renderResolvConf({ interfaceName: 'x', servers: ['1.1.1.1', '2001:db8::1', '9.9.9.9', '8.8.8.8'], searchDomains: ['a.example', 'b.example'] });
    expect(text).toBe(`${RESOLV_CONF_HEADER}\nnameserver 1.1.1.1\nnameserver 2001:db8::1\nnameserver 9.9.9.9\nsearch a.example b.example\n`);
    expect(renderResolvConf({ interfaceName: 'x', servers: ['1.1.1.1'], searchDomains: [] })).toBe(`${RESOLV_CONF_HEADER}\nnameserver 1.1.1.1\n`);
  });
});

describe('resolv.conf backend', () => {
  it('apply writes our content; undo restores the original byte for byte and deletes the backup', async () => {
    await writeFile(path, ORIGINAL);
    const undo = await backend().apply(cfg);
    expect(await readFile(path, 'utf8')).toBe(`${RESOLV_CONF_HEADER}\nnameserver 100.64.0.1\nnameserver 2001:db8::53\nsearch corp.example\n`);
    expect((await stat(backupPath())).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    await undo();
    expect(await readFile(path)).toEqual(ORIGINAL);
    expect(await exists(backupPath())).toBe(false);
    expect(await readdir(stateDir)).toEqual([]); // no temporary files left either
    await undo(); // a second undo does nothing
    expect(await readFile(path)).toEqual(ORIGINAL);
  });

  it('writes in place: the inode stays the same', async () => {
    await writeFile(path, ORIGINAL);
    const ino = (await stat(path)).ino;
    const undo = await backend().apply(cfg);
    expect((await stat(path)).ino).toBe(ino);
    await undo();
    expect((await stat(path)).ino).toBe(ino);
  });

  it('keeps the mode of the file, and restores the original mode', async () => {
    await writeFile(path, ORIGINAL);
    await chmod(path, 0o640);
    const undo = await backend().apply(cfg);
    expect((await stat(path)).mode & 0o7777).toBe(0o640);
    await chmod(path, 0o666); // someone changes it meanwhile
    await undo();
    expect((await stat(path)).mode & 0o7777).toBe(0o640);
    expect(await readFile(path)).toEqual(ORIGINAL);
  });

  it('an empty original comes back empty', async () => {
    await writeFile(path, '');
    const undo = await backend().apply(cfg);
    await undo();
    expect((await readFile(path)).length).toBe(0);
  });

  it('a missing original: the file is created 0644 and removed again on undo', async () => {
    const undo = await backend().apply(cfg);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readFile(path, 'utf8')).toContain('nameserver 100.64.0.1');
    await undo();
    expect(await exists(path)).toBe(false);
    expect(await exists(backupPath())).toBe(false);
  });

  it('crash recovery: a new backend restores the original from the backup', async () => {
    await writeFile(path, ORIGINAL);
    await backend().apply(cfg); // the undo is dropped: the helper "crashed"
    expect(await exists(backupPath())).toBe(true);
    const after = backend();
    expect(await after.recover()).toBe(true);
    expect(await readFile(path)).toEqual(ORIGINAL);
    expect(await exists(backupPath())).toBe(false);
    expect(await after.recover()).toBe(false); // nothing left to recover
  });

  it('a second apply while a backup exists keeps the first original', async () => {
    await writeFile(path, ORIGINAL);
    await backend().apply(cfg); // crashed
    const undo = await backend().apply({ ...cfg, servers: ['100.64.9.9'] });
    expect(await readFile(path, 'utf8')).toContain('nameserver 100.64.9.9');
    await undo();
    expect(await readFile(path)).toEqual(ORIGINAL);
  });

  it('a backup left by a crash is stale once someone else rewrote the file: the current file is backed up', async () => {
    await writeFile(path, ORIGINAL);
    await backend().apply(cfg); // crashed
    await writeFile(path, 'nameserver 198.51.100.1\n'); // e.g. rewritten at boot by a network manager
    const undo = await backend().apply(cfg);
    expect(logs.join('\n')).toMatch(/is older than the current/);
    await undo();
    expect(await readFile(path, 'utf8')).toBe('nameserver 198.51.100.1\n');
  });

  it('follows a symlink: writes the target, leaves the link, restores the target', async () => {
    const target = join(dir, 'managed-resolv.conf');
    await writeFile(target, ORIGINAL);
    await symlink(target, path);
    const undo = await backend().apply(cfg);
    expect(await readFile(target, 'utf8')).toContain('nameserver 100.64.0.1');
    await undo();
    expect(await readFile(target)).toEqual(ORIGINAL);
    expect(await readFile(path)).toEqual(ORIGINAL); // still the link
  });

  it('keeps content that someone else wrote after us, and drops the backup', async () => {
    await writeFile(path, ORIGINAL);
    const undo = await backend().apply(cfg);
    await writeFile(path, 'nameserver 198.51.100.1\n'); // e.g. a network manager after DHCP
    await undo();
    expect(await readFile(path, 'utf8')).toBe('nameserver 198.51.100.1\n');
    expect(await exists(backupPath())).toBe(false);
    expect(logs.join('\n')).toMatch(/rewritten by something else/);
  });

  it('sets a corrupt backup aside and backs up the current file instead', async () => {
    await writeFile(path, ORIGINAL);
    await mkdir(stateDir, { recursive: true });
    await writeFile(backupPath(), '{"schemaVersion": 1, "pa');
    const undo = await backend().apply(cfg);
    expect(logs.join('\n')).toMatch(/resolv.conf.umbra-backup was unreadable; moved to .*corrupt-/);
    await undo();
    expect(await readFile(path)).toEqual(ORIGINAL);
    expect((await readdir(stateDir)).filter((n) => n.includes('.corrupt-'))).toHaveLength(1);
  });

  it('refuses values that are not IPs or domains before touching anything', async () => {
    await writeFile(path, ORIGINAL);
    await expect(backend().apply({ ...cfg, servers: ['1.1.1.1\nnameserver 8.8.8.8'] })).rejects.toThrow(/not an IP address/);
    await expect(backend().apply({ ...cfg, searchDomains: ['a b'] })).rejects.toThrow(/not a domain name/);
    await expect(backend().apply({ ...cfg, servers: [] })).rejects.toThrow(/no DNS servers/);
    expect(await readFile(path)).toEqual(ORIGINAL);
    expect(await exists(backupPath())).toBe(false);
  });

  it('a failed write leaves the original in place and no backup', async () => {
    await mkdir(path); // a directory: open for writing fails
    await expect(backend().apply(cfg)).rejects.toThrow();
    expect(await exists(backupPath())).toBe(false);
  });
});
