// The resolved backend with a FakeRunner only: no real resolvectl ever runs here.
import { describe, expect, it } from 'vitest';
import { FakeRunner } from '../testing/fake-runner.js';
import { resolvedBackend } from './resolved.js';

const cfg = { interfaceName: 'umbra0', servers: ['100.64.0.1', '2001:DB8:0::53'], searchDomains: ['corp.example'] };

describe('resolved backend', () => {
  it('sets DNS, the ~. routing domain and default-route on the link; undo reverts the link', async () => {
    const run = new FakeRunner();
    const backend = resolvedBackend(run);
    expect(backend.name).toBe('resolved');
    const undo = await backend.apply(cfg);
    await undo();
    await undo(); // once only
    expect(run.lines).toEqual([
      'resolvectl dns umbra0 100.64.0.1 2001:db8::53',
      'resolvectl domain umbra0 ~. corp.example',
      'resolvectl default-route umbra0 yes',
      'resolvectl revert umbra0',
    ]);
  });

  it('without search domains the link still gets ~.', async () => {
    const run = new FakeRunner();
    await resolvedBackend(run).apply({ ...cfg, searchDomains: [] });
    expect(run.lines[1]).toBe('resolvectl domain umbra0 ~.');
  });

  it('an old resolvectl without default-route is fine', async () => {
    const run = new FakeRunner().failOn(/^resolvectl default-route/, { exitCode: 1, stderr: 'Unknown command verb default-route.\n' });
    const undo = await resolvedBackend(run).apply(cfg);
    await undo();
    expect(run.lines.at(-1)).toBe('resolvectl revert umbra0');
  });

  it('a failure half way reverts the link and passes the error on', async () => {
    const run = new FakeRunner().failOn(/^resolvectl domain/, { exitCode: 1, stderr: 'Failed to set DNS configuration: Access denied\n' });
    await expect(resolvedBackend(run).apply(cfg)).rejects.toThrow(/Access denied/);
    expect(run.lines).toEqual(['resolvectl dns umbra0 100.64.0.1 2001:db8::53', 'resolvectl domain umbra0 ~. corp.example', 'resolvectl revert umbra0']);
  });

  it('undo treats a link that is already gone as done, and other failures as failures', async () => {
    const gone = new FakeRunner().failOn(/^resolvectl revert/, { exitCode: 1, stderr: 'Failed to resolve interface "umbra0": No such device\n' });
    await (await resolvedBackend(gone).apply(cfg))();
    const denied = new FakeRunner().failOn(/^resolvectl revert/, { exitCode: 1, stderr: 'Access denied\n' });
    const undo = await resolvedBackend(denied).apply(cfg);
    await expect(undo()).rejects.toThrow(/Access denied/);
  });

  it('refuses bad values without running anything', async () => {
    const run = new FakeRunner();
    await expect(resolvedBackend(run).apply({ ...cfg, interfaceName: '-x' })).rejects.toThrow(/interface name/);
    await expect(resolvedBackend(run).apply({ ...cfg, servers: ['dns.example'] })).rejects.toThrow(/not an IP address/);
    expect(run.lines).toEqual([]);
  });
});
