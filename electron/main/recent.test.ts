import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addRecent, MAX_RECENT, parseRecent, RecentStore, serializeRecent } from './recent.js';

const dir = mkdtempSync(path.join(tmpdir(), 'umbra-recent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(dir, `r${++n}`, 'recent-locations.json');

describe('recent list', () => {
  it('puts the newest first, keeps them distinct, at most five', () => {
    let list: string[] = [];
    for (const id of ['a', 'b', 'c', 'b', 'd', 'e', 'f', 'a']) list = addRecent(list, id);
    expect(list).toEqual(['a', 'f', 'e', 'd', 'b']);
    expect(list).toHaveLength(MAX_RECENT);
    expect(addRecent(['x'], 'x')).toEqual(['x']);
  });

  it('reads only valid, distinct ids from a file', () => {
    expect(parseRecent({ version: 1, servers: ['se-sto', 'se-sto', 'BAD ID', 7, 'de-fra'] })).toEqual(['se-sto', 'de-fra']);
    expect(parseRecent({ servers: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] })).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(parseRecent(null)).toEqual([]);
    expect(parseRecent(['a'])).toEqual([]);
    expect(parseRecent({ servers: 'a' })).toEqual([]);
  });
});

describe('RecentStore', () => {
  it('starts empty without a file, saves, and reads back', async () => {
    const f = file();
    const store = new RecentStore(f);
    expect(await store.load()).toEqual([]);
    await store.add('se-sto');
    await store.add('de-fra');
    expect(store.list()).toEqual(['de-fra', 'se-sto']);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ version: 1, servers: ['de-fra', 'se-sto'] });
    expect(statSync(f).mode & 0o077).toBe(0); // private to the user
    expect(await new RecentStore(f).load()).toEqual(['de-fra', 'se-sto']);
    expect(readdirSync(path.dirname(f))).toEqual(['recent-locations.json']);
  });

  it('treats a broken file as empty', async () => {
    const f = file();
    await new RecentStore(f).add('x');
    writeFileSync(f, '{ not json');
    expect(await new RecentStore(f).load()).toEqual([]);
  });

  it('keeps the last list when adds overlap', async () => {
    const f = file();
    const store = new RecentStore(f);
    await Promise.all(['a', 'b', 'c'].map((id) => store.add(id)));
    expect(readFileSync(f, 'utf8')).toBe(serializeRecent(['c', 'b', 'a']));
  });

  it('lists the new entry at once, before the file is written', () => {
    const store = new RecentStore(file());
    const p = store.add('a');
    expect(store.list()).toEqual(['a']);
    return p;
  });
});
