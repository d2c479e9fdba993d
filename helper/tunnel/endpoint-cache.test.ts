import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENDPOINT_CACHE_FILE, ENDPOINT_CACHE_MAX, endpointCache } from './endpoint-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'umbra-epcache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the endpoint cache', () => {
  it('keeps the most recently resolved hosts, up to its bound', async () => {
    const cache = endpointCache(dir);
    for (let i = 0; i <= ENDPOINT_CACHE_MAX; i++) {
      await cache.put(`h${i}.test`, { address: `198.51.100.${i}`, family: 4 }, new Date(Date.UTC(2024, 0, 1, 0, 0, i)));
    }
    expect(await cache.get('h0.test')).toBeUndefined();
    expect(await cache.get(`h${ENDPOINT_CACHE_MAX}.test`)).toEqual({ address: `198.51.100.${ENDPOINT_CACHE_MAX}`, family: 4, resolvedAt: '2024-01-01T00:01:04.000Z' });
    expect(Object.keys(JSON.parse(await readFile(join(dir, ENDPOINT_CACHE_FILE), 'utf8')).hosts)).toHaveLength(ENDPOINT_CACHE_MAX);
  });

  it('treats host names as plain keys (no prototype lookups)', async () => {
    const cache = endpointCache(dir);
    expect(await cache.get('constructor')).toBeUndefined();
    await cache.put('__proto__', { address: '2001:db8::1', family: 6 });
    expect((await cache.get('__proto__'))?.address).toBe('2001:db8::1');
    expect((await endpointCache(dir).get('__proto__'))?.address).toBe('2001:db8::1');
  });
});
