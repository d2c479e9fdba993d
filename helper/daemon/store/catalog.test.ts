// Catalog validation, parsing text a client sent, and downloading (with a fake fetch: nothing
// leaves the machine).
import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../../ipc/schema.js';
import { fetchCatalog, MAX_CATALOG_BYTES, parseCatalog, parseCatalogText } from './catalog.js';
import { formatEndpoint, parseEndpoint, slugify, uniqueId } from './ids.js';
import { catalogEntry, key } from './testdata/configs.js';

async function rpcError(p: Promise<unknown> | (() => unknown)): Promise<RpcError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected an RpcError');
}

describe('ids and endpoints', () => {
  it('slugify', () => {
    expect(slugify('Mullvad SE Göteborg #1')).toBe('mullvad-se-goteborg-1');
    expect(slugify('--..Ab..--')).toBe('ab');
    expect(slugify('🙂')).toBe('server');
    expect(slugify('2001:db8::1')).toBe('2001-db8-1');
    expect(slugify('x'.repeat(100))).toHaveLength(56);
    expect(uniqueId('a', new Set(['a', 'a-2']))).toBe('a-3');
  });

  it('parseEndpoint and formatEndpoint', () => {
    expect(parseEndpoint('vpn.example.net:51820')).toEqual({ host: 'vpn.example.net', port: 51820 });
    expect(parseEndpoint('[2001:DB8:0::1]:443')).toEqual({ host: '2001:db8::1', port: 443 });
    expect(formatEndpoint({ host: '2001:db8::1', port: 443 })).toBe('[2001:db8::1]:443');
    expect(() => parseEndpoint('2001:db8::1:443')).toThrow(/host:port/);
    expect(() => parseEndpoint('vpn.example.net')).toThrow(/host:port/);
    expect(() => parseEndpoint('vpn.example.net:0')).toThrow(/port/);
    expect(() => parseEndpoint('bad host:1')).toThrow(/neither/);
    expect(() => parseEndpoint('1.2.3.999:1')).toThrow(/neither/);
  });
});

describe('parseCatalog', () => {
  it('normalizes: countryCode lowercased, nulls absent, ids slugified, extras ignored', () => {
    const [e] = parseCatalog({
      provider: 'Example',
      servers: [catalogEntry({ id: 'SE Got 1', countryCode: 'SE', city: null, exitIp: '2001:DB8::0:11', owned: true, endpoint: ' [2001:db8::10]:51820 ' })],
    });
    expect(e).toEqual({
      id: 'se-got-1',
      name: 'Gothenburg 1',
      country: 'Sweden',
      countryCode: 'se',
      latitude: 57.7,
      longitude: 11.97,
      endpoint: '[2001:db8::10]:51820',
      publicKey: key(0x77),
      exitIp: '2001:db8::11',
    });
  });

  it('allowedIPs are canonical prefixes', () => {
    expect(parseCatalog({ servers: [catalogEntry({ allowedIPs: ['10.1.2.3/8', '::/0'] })] })[0]!.allowedIPs).toEqual(['10.0.0.0/8', '::/0']);
  });

  it.each([
    [{ servers: [catalogEntry({ publicKey: 'short' })] }, 'servers[0] (id "se-got-001"): publicKey: not a valid WireGuard key (44 characters of base64)'],
    [{ servers: [catalogEntry({ endpoint: '203.0.113.10' })] }, 'servers[0] (id "se-got-001"): endpoint: must look like host:port or [IPv6]:port, e.g. vpn.example.net:51820'],
    [{ servers: [catalogEntry({ countryCode: 'SWE' })] }, 'servers[0] (id "se-got-001"): countryCode: must be a two-letter ISO 3166 code, e.g. "se"'],
    [{ servers: [catalogEntry({ longitude: -181 })] }, 'servers[0] (id "se-got-001"): longitude: must be from -180 to 180'],
    [{ servers: [catalogEntry({ exitIp: 'nope' })] }, 'servers[0] (id "se-got-001"): exitIp: not an IP address'],
    [{ servers: [catalogEntry({ allowedIPs: ['0.0.0.0/33'] })] }, 'servers[0] (id "se-got-001"): allowedIPs[0]: not an IP prefix, e.g. 0.0.0.0/0'],
    [{ servers: [catalogEntry({ name: undefined })] }, 'servers[0] (id "se-got-001"): name: Invalid input: expected string, received undefined'],
    [{ servers: [catalogEntry(), catalogEntry({ id: 'SE-GOT-001' })] }, 'servers[1] (id "SE-GOT-001"): id: the same id as servers[0]; every server needs its own id'],
    [{ servers: [42] }, 'servers[0]: Invalid input: expected object, received number'],
    [{ servers: [] }, 'servers: the catalog lists no servers'],
    [[], 'expected an object with a "servers" list'],
  ])('errors name the entry and the field (%#)', (json, message) => {
    let error: unknown;
    try {
      parseCatalog(json);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(ErrorCode.InvalidConfig);
    expect((error as RpcError).message).toBe(`the catalog is not valid: ${message}`);
  });

  it('lists at most three broken entries', () => {
    const servers = [1, 2, 3, 4, 5].map((i) => catalogEntry({ id: `s${i}`, latitude: 100 }));
    expect(() => parseCatalog({ servers })).toThrow(/servers\[2\].*; and 2 more entries$/);
  });
});

describe('parseCatalogText', () => {
  it('parses JSON text (a BOM is fine)', () => {
    expect(parseCatalogText(`\uFEFF${JSON.stringify({ servers: [] })}`)).toEqual({ servers: [] });
  });

  it('text that is not JSON: where, never what', () => {
    const e = (() => {
      try {
        parseCatalogText('root:$6$secrethash:19000:0:99999:7:::\n');
      } catch (err) {
        return err as RpcError;
      }
      throw new Error('expected an error');
    })();
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toBe('the catalog is not valid JSON; a catalog is a JSON file');
    expect(() => parseCatalogText('{"servers": [')).toThrow('the catalog is not valid JSON: it ends too early; a catalog is a JSON file');
  });
});

describe('fetchCatalog', () => {
  const URL_WITH_SECRETS = 'https://user:pass@catalog.example/v1/servers.json?token=abc#x';

  it('downloads and parses, asking for JSON', async () => {
    let seen: RequestInit | undefined;
    const f = (async (_url: URL, init?: RequestInit) => {
      seen = init;
      return new Response(JSON.stringify({ servers: [] }), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    expect(await fetchCatalog('https://catalog.example/servers.json', f)).toEqual({ servers: [] });
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it('HTTP errors, network errors and bad URLs, without credentials or query in the message', async () => {
    const notFound = (async () => new Response('nope', { status: 404, statusText: 'Not Found' })) as typeof fetch;
    const e404 = await rpcError(fetchCatalog(URL_WITH_SECRETS, notFound));
    expect(e404.code).toBe(ErrorCode.NotFound);
    expect(e404.message).toBe('could not download the catalog at https://catalog.example/v1/servers.json: the server answered 404 Not Found');
    const e503 = await rpcError(fetchCatalog(URL_WITH_SECRETS, (async () => new Response('', { status: 503 })) as typeof fetch));
    expect(e503.code).toBe(ErrorCode.Unavailable);

    const down = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND catalog.example'), { code: 'ENOTFOUND' }) });
    }) as typeof fetch;
    const eDown = await rpcError(fetchCatalog(URL_WITH_SECRETS, down));
    expect(eDown.code).toBe(ErrorCode.Unavailable);
    expect(eDown.message).toBe('could not download the catalog at https://catalog.example/v1/servers.json: ENOTFOUND');
    expect((await rpcError(fetchCatalog('ftp://catalog.example/x', notFound))).code).toBe(ErrorCode.InvalidParams);
    expect((await rpcError(fetchCatalog('not a url', notFound))).code).toBe(ErrorCode.InvalidParams);
  });

  it('gives up after the timeout, also in the middle of the body', async () => {
    const hang = ((_url: URL, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      })) as unknown as typeof fetch;
    const e = await rpcError(fetchCatalog('https://catalog.example/x.json', hang, 50));
    expect(e.code).toBe(ErrorCode.Unavailable);
    expect(e.message).toBe('the catalog at https://catalog.example/x.json did not arrive within 0.05 s; check the address and your connection');

    const slowBody = ((_url: URL, init?: RequestInit) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"servers": ['));
          init?.signal?.addEventListener('abort', () => controller.error(init.signal!.reason));
        },
      });
      return Promise.resolve(new Response(body));
    }) as unknown as typeof fetch;
    expect((await rpcError(fetchCatalog('https://catalog.example/x.json', slowBody, 50))).message).toMatch(/did not arrive within/);
  });

  it('refuses more than 4 MiB, by Content-Length or while reading', async () => {
    const declared = (async () => new Response('{}', { headers: { 'content-length': String(MAX_CATALOG_BYTES + 1) } })) as typeof fetch;
    expect((await rpcError(fetchCatalog('https://catalog.example/x.json', declared))).message).toMatch(/larger than 4 MiB/);
    let pulled = 0;
    const endless = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled++;
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
          },
        }),
      )) as typeof fetch;
    const e = await rpcError(fetchCatalog('https://catalog.example/x.json', endless));
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toMatch(/larger than 4 MiB/);
    expect(pulled).toBeLessThan(80);
  });
});
