// The routing's `ip` commands through a fake rtnetlink: every command routes.ts gives is taken,
// the rest goes to the process, and failures read as ip's would, so routes.ts records exactly the
// lines that were applied. ip-library.lab.test.ts runs it against the kernel.
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../net/ip.js';
import { CommandError, type CommandRunner } from '../exec.js';
import { FakeRunner } from '../testing/fake-runner.js';
import { ChangeSet } from '../undo.js';
import { EXCLUDED_FWMARK, UMBRA_FWMARK, UMBRA_TABLE } from './constants.js';
import { addonIpLibrary, ipCommand, withIpLibrary, type IpLibrary, type RtnlResult } from './ip-library.js';
import { applyExcludedRouting, applyTunnelRouting, type TunnelRoutingOptions } from './routes.js';

const options: TunnelRoutingOptions = {
  dev: 'tun0',
  addresses: [parsePrefix('100.64.0.2/32', { keepHostBits: true }), parsePrefix('2001:db8:ff::2/128', { keepHostBits: true })],
  mtu: 1420,
  allowedIPs: ['0.0.0.0/0', '::/0', '198.51.100.128/25'].map((t) => parsePrefix(t)),
  fwmark: UMBRA_FWMARK,
  table: UMBRA_TABLE,
  excludedMark: EXCLUDED_FWMARK,
  noLinkLocal: true,
};

/** A fake rtnetlink: the requests it was sent, refusing the request numbered `refuse` (from 0). */
function fakeLibrary(o: { refuse?: { at: number; error: number; reason: string; message?: string; unknown?: boolean }; devices?: string[] } = {}): IpLibrary & { sent: number[] } {
  const sent: number[] = [];
  const devices = o.devices ?? ['tun0'];
  return {
    sent,
    interfaceIndex: (name) => devices.indexOf(name) + 1,
    transact: async (requests): Promise<RtnlResult> => {
      for (const [i, r] of requests.entries()) {
        if (o.refuse && sent.length === o.refuse.at) return { done: i, error: o.refuse.error, unknown: o.refuse.unknown ?? false, reason: o.refuse.reason, message: o.refuse.message ?? '' };
        sent.push(new DataView(r.buffer, r.byteOffset).getUint16(4, true));
      }
      return { done: requests.length, error: 0, unknown: false, reason: '', message: '' };
    },
  };
}

describe('ipCommand', () => {
  it("takes every command routes.ts runs, its batches and its undos", async () => {
    const fake = new FakeRunner();
    const changes = new ChangeSet();
    await applyTunnelRouting(fake, changes, options, { mtu: 1500, up: false });
    await applyExcludedRouting(fake, changes, { mark: EXCLUDED_FWMARK, fwmark: UMBRA_FWMARK, families: [4, 6] });
    await changes.undoAll();
    expect(fake.calls.length).toBeGreaterThan(10);
    for (const c of fake.calls) expect(ipCommand(c.argv, c.input), c.argv.join(' ')).toBeDefined();
    const batch = ipCommand(fake.calls[0]!.argv, fake.calls[0]!.input)!;
    expect(batch.batch).toBe(true);
    expect(batch.changes.map((c) => c.kind)).toEqual(['address', 'address', 'link', 'link', 'route', 'route', 'rule', 'rule', 'rule', 'route']);
  });

  it('leaves other programs, reads, monitors and batches with any line it does not know to the process', () => {
    expect(ipCommand(['ip', '-j', 'link', 'show', 'dev', 'tun0'], undefined)).toBeUndefined();
    expect(ipCommand(['ip', '-o', 'monitor', 'link'], undefined)).toBeUndefined();
    expect(ipCommand(['nft', '-f', '-'], 'link set dev tun0 mtu 1420 up\n')).toBeUndefined();
    expect(ipCommand(['ip', '-batch', '-'], 'link set dev tun0 mtu 1420 up\nneigh flush all\n')).toBeUndefined();
    // Blank lines and comments would be counted by ip's line numbers.
    expect(ipCommand(['ip', '-batch', '-'], 'link set dev tun0 mtu 1420 up\n\nlink set dev tun0 mtu 1420 up\n')).toBeUndefined();
    expect(ipCommand(['ip', '-batch', '-'], '# hi\nlink set dev tun0 mtu 1420 up\n')).toBeUndefined();
    expect(ipCommand(['ip', '-batch', '/tmp/file'], undefined)).toBeUndefined();
    expect(ipCommand(['ip', '-6', 'rule', 'del', 'table', '30061'], undefined)).toMatchObject({ batch: false, changes: [{ kind: 'rule', family: 6 }] });
  });
});

describe('withIpLibrary', () => {
  const argvBatch = ['ip', '-batch', '-'];
  const input = 'address add 100.64.0.2/32 dev tun0\nlink set dev tun0 mtu 1420 up\nroute add 0.0.0.0/0 dev tun0 table 30061\n';

  it('sends a batch as requests, in order, and starts no process', async () => {
    const lib = fakeLibrary();
    const proc = new FakeRunner();
    expect(await withIpLibrary(proc, lib).run(argvBatch, { input })).toEqual({ stdout: '', stderr: '' });
    expect(lib.sent).toEqual([20, 16, 24]);
    expect(proc.calls).toEqual([]);
    await withIpLibrary(proc, lib).run(['ip', '-j', 'link', 'show', 'dev', 'tun0']);
    expect(proc.lines).toEqual(['ip -j link show dev tun0']);
  });

  it("reports a refused line as ip does, so routes.ts keeps exactly the lines before it", async () => {
    const lib = fakeLibrary({ refuse: { at: 4, error: 17, reason: 'File exists' } });
    const changes = new ChangeSet();
    const opts = { ...options, addresses: [options.addresses[0]!], allowedIPs: [parsePrefix('198.51.100.128/25'), parsePrefix('0.0.0.0/0')], noLinkLocal: false };
    const err = await applyTunnelRouting(withIpLibrary(new FakeRunner(), lib), changes, opts, { mtu: 1500, up: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    // Address, link, the /25 route, the table's route; the first rule (line 5) refused.
    expect((err as CommandError).message).toBe('ip rule add not fwmark 0x756d table 30061: exited with 1: RTNETLINK answers: File exists');
    expect(changes.size).toBe(4);
  });

  it("gives the kernel's own message, and exit 2 for one command", async () => {
    const lib = fakeLibrary({ refuse: { at: 0, error: 22, reason: 'Invalid argument', message: 'IPv6 is disabled on nexthop device' } });
    const err = await withIpLibrary(new FakeRunner(), lib).run(['ip', '-6', 'route', 'del', '::/0', 'dev', 'tun0', 'table', '30061']).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, stderr: 'Error: IPv6 is disabled on nexthop device.\n' });
  });

  it('stops at the line whose device is missing, after sending the lines before it', async () => {
    const lib = fakeLibrary({ devices: ['tun0'] });
    const text = 'rule add table main suppress_prefixlength 0\nlink set dev tun9 mtu 1420 up\nlink set dev tun0 mtu 1420 up\n';
    const err = await withIpLibrary(new FakeRunner(), lib).run(argvBatch, { input: text }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, stderr: 'Cannot find device "tun9"\nCommand failed -:2\n' });
    expect(lib.sent).toEqual([32]);
    // A lone undo of a device that is gone reads as routes.ts's "already gone".
    const undo = await withIpLibrary(new FakeRunner(), fakeLibrary({ devices: [] })).run(['ip', '-4', 'address', 'del', '100.64.0.2/32', 'dev', 'tun0']).catch((e: unknown) => e);
    expect(undo).toMatchObject({ exitCode: 1, stderr: 'Cannot find device "tun0"\n' });
  });

  it('keeps every undo when the kernel may have applied a line whose answer was lost', async () => {
    const lib = fakeLibrary({ refuse: { at: 2, error: 105, reason: 'No buffer space available', unknown: true } });
    const changes = new ChangeSet();
    const opts = { ...options, addresses: [options.addresses[0]!], allowedIPs: [parsePrefix('0.0.0.0/0')], noLinkLocal: false };
    const err = await applyTunnelRouting(withIpLibrary(new FakeRunner(), lib), changes, opts, { mtu: 1500, up: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 1, stderr: 'RTNETLINK answers: No buffer space available (the request was sent, its answer lost)\n' });
    // Not "Command failed -:3": routes.ts cannot tell which lines were applied, so it keeps them all.
    expect(changes.size).toBe(6);
  });

  it('reads a device gone after its lookup as one never found, and a failed lookup fails that command only', async () => {
    const gone = fakeLibrary({ refuse: { at: 0, error: 19, reason: 'No such device' } });
    const undo = await withIpLibrary(new FakeRunner(), gone).run(['ip', '-4', 'route', 'del', '0.0.0.0/0', 'dev', 'tun0', 'table', '30061']).catch((e: unknown) => e);
    expect(undo).toMatchObject({ exitCode: 1, stderr: 'Cannot find device "tun0"\n' });
    let lookups = 0;
    const flaky: IpLibrary = { ...fakeLibrary(), interfaceIndex: () => (lookups++ === 0 ? (() => { throw Object.assign(new Error('EMFILE'), { errno: 24 }); })() : 1) };
    const proc = new FakeRunner();
    const run = withIpLibrary(proc, flaky);
    await expect(run.run(['ip', 'link', 'set', 'dev', 'tun0', 'mtu', '1500'])).rejects.toMatchObject({ stderr: expect.stringContaining('could not look up tun0: EMFILE') });
    await run.run(['ip', 'link', 'set', 'dev', 'tun0', 'mtu', '1500']);
    expect(proc.calls).toEqual([]);
  });

  it('looks up each device once per command', async () => {
    let lookups = 0;
    const lib: IpLibrary = { ...fakeLibrary(), interfaceIndex: () => (lookups++, 1) };
    await withIpLibrary(new FakeRunner(), lib).run(argvBatch, { input });
    expect(lookups).toBe(1);
  });

  it('falls back to ip processes for good when netlink cannot be used, and says why once', async () => {
    let tries = 0;
    const lib: IpLibrary = { interfaceIndex: () => 1, transact: () => (tries++, Promise.reject(new Error('could not open a netlink socket: Permission denied'))) };
    const proc = new FakeRunner();
    const why: string[] = [];
    const run: CommandRunner = withIpLibrary(proc, lib, (w) => why.push(w));
    await run.run(argvBatch, { input });
    await run.run(['ip', 'link', 'set', 'dev', 'tun0', 'mtu', '1500', 'down']);
    expect(tries).toBe(1);
    expect(why).toEqual(['could not open a netlink socket: Permission denied']);
    expect(proc.lines).toEqual(['ip -batch -', 'ip link set dev tun0 mtu 1500 down']);
    expect(proc.calls[0]!.input).toBe(input);
  });
});

describe('addonIpLibrary', () => {
  it('rejects, saying what to do, when the addon has no rtnlTransact', async () => {
    await expect(withIpLibrary(new FakeRunner(), addonIpLibrary(() => ({}))).run(['ip', 'link', 'set', 'dev', 'lo', 'mtu', '65536'])).resolves.toBeDefined();
    await expect(addonIpLibrary(() => ({})).transact([])).rejects.toThrow(/npm run build:native/);
  });

  it('the built addon refuses a request that is not one whole message, before anything is sent', async () => {
    const addon = addonIpLibrary();
    await expect(addon.transact([new Uint8Array(8)])).rejects.toThrow(/not one whole message/);
    expect(addon.interfaceIndex('no-such-link0')).toBe(0);
  });
});
