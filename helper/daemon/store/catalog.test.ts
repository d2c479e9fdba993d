// Catalog validation and parsing text a client sent (downloads: catalog-source.test.ts).
import { describe, expect, it } from 'vitest';
import { ErrorCode, RpcError } from '../../ipc/schema.js';
import { parseCatalog, parseCatalogText } from './catalog.js';
import { slugify, uniqueId } from './ids.js';
import { formatEndpoint, parseEndpoint } from '../../net/endpoint.js';
import { catalogEntry, key } from './testdata/configs.js';

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
