// The packaged helper, run out of the `electron-builder --linux dir` tree the way its unit runs it
// (the launcher setup-helper.sh writes, under systemd's clean environment), in the lab: it serves,
// the packaged CLI imports a config and connects, a ping goes through the tunnel, and status says
// the data path runs on OpenSSL through the addon on the pinned Node: the engine `npm run bench`
// measures. The tree is built with a stand-in Electron (build-tree.ts); the Node.js is the real one.
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_RUNTIME, RUNTIME_NODE } from '../../packaging/node-runtime.mjs';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from '../lab/lab.js';
import { buildPackage, missingInputs, type Build } from './build-tree.js';
import { fakeRoot, PROJECT_ROOT, type FakeRoot } from './fake-root.js';

const avail = labAvailable();
const missing = missingInputs();
const why = !avail.ok ? avail.reason : missing.length > 0 ? `not built (${missing.join(', ')}): npm run build` : '';
/** The environment systemd gives a service (no shell's, no NODE_OPTIONS). */
const SERVICE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'];

describe.skipIf(why !== '')(`the packaged helper, as its unit starts it${why ? ` — skipped: ${why}` : ''}`, () => {
  let tmp: string;
  let b: Build;
  let r: FakeRoot;
  let lab: Lab;
  let helper: ChildProcess | undefined;
  let log = '';
  let umbrad: string;
  let umbra: string;
  const socket = () => join(tmp, 'run', 'umbrad.sock');

  /** The packaged CLI (its launcher), as a user in the group runs it, in the client namespace. */
  const cli = async (...args: string[]) => {
    return lab.exec(lab.client.ns, ['env', '-i', ...SERVICE_ENV, '/bin/sh', umbra, '--socket', socket(), ...args], { timeoutMs: 30_000 });
  };

  /** A launcher as setup-helper.sh installed it, pointed at the throwaway root's /opt/Umbra. */
  const launcher = (installed: string) => {
    const copy = join(tmp, `${installed.split('/').pop()!}-launcher`);
    writeFileSync(copy, readFileSync(r.path(installed), 'utf8').replaceAll("'/opt/Umbra/", `'${r.path('/opt/Umbra')}/`), { mode: 0o755 });
    return copy;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'umbra-pkg-lab-'));
    chmodSync(tmp, 0o755);
    b = buildPackage(tmp, { deb: false });
    r = fakeRoot();
    mkdirSync(r.path('/opt'), { recursive: true });
    symlinkSync(b.unpacked, r.path('/opt/Umbra'));
    const setup = r.run(join(b.resources, 'packaging', 'linux', 'setup-helper.sh'), ['install', '--app-dir', '/opt/Umbra', '--user', 'alice']);
    if (setup.code !== 0) throw new Error(`setup-helper.sh install failed:\n${setup.out}\n${setup.err}`);
    const execStart = /^ExecStart=(\S+) serve$/m.exec(readFileSync(r.path('/usr/lib/systemd/system/umbrad.service'), 'utf8'))?.[1];
    if (!execStart) throw new Error('umbrad.service has no ExecStart=… serve');
    umbrad = launcher(execStart);
    umbra = launcher('/usr/bin/umbra');

    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
    // Leak checks at the lab's own services, as DaemonRun seeds them: no public default is tried.
    const state = join(tmp, 'state');
    mkdirSync(state, { mode: 0o700 });
    const i = lab.internet;
    writeFileSync(join(state, 'settings.json'), JSON.stringify({
      schemaVersion: 1, echoUrls: [i.echoUrl], echoUrl6: i.echoUrl6, dnsLeakTest: { zone: i.dnsZone, apiUrl: i.dnsAskersUrl }, stunServers: [i.stunUrl],
    }), { mode: 0o600 });
    mkdirSync(join(tmp, 'run'), { mode: 0o755 });
    helper = lab.spawn(lab.client.ns, [
      'env', '-i', ...SERVICE_ENV, '/bin/sh', umbrad, 'serve',
      '--socket', socket(), '--state-dir', state, '--resolv-conf', lab.client.resolvConfPath, '--dns', 'resolv-conf',
    ]);
    helper.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!/serving on/.test(log)) {
      if (helper.exitCode !== null) throw new Error(`the packaged umbrad serve exited (${helper.exitCode}):\n${log}`);
      if (Date.now() > deadline) throw new Error(`the packaged umbrad serve did not start:\n${log}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }, 240_000);

  afterAll(async () => {
    if (helper && helper.exitCode === null) {
      const exited = new Promise((res) => helper!.once('exit', res));
      helper.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
    }
    await lab?.destroy();
    r?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is the pinned Node.js from the tree (the launcher execs it: same process)', () => {
    const exe = readlinkSync(`/proc/${helper!.pid}/exe`);
    expect(exe).toBe(realpathSync(join(b.resources, RUNTIME_NODE)));
  });

  it("setup-helper.sh ran the packaged `umbrad dns-access`: no resolver here but a plain resolv.conf's place, so it granted that directory", () => {
    const dropIn = readFileSync(r.path('/usr/lib/systemd/system/umbrad.service.d/dns-access.conf'), 'utf8');
    expect(dropIn).toMatch(new RegExp(`^ReadWritePaths=-${r.path('/etc').replaceAll('/', '\\/')}$`, 'm'));
  });

  it('connects through the packaged CLI, carries a ping, and reports OpenSSL through the addon on the pinned Node', async () => {
    const conf = join(tmp, 'lab.conf');
    writeFileSync(conf, lab.clientConfig(0), { mode: 0o600 });
    const imported = await cli('import', conf, '--name', 'lab');
    expect(imported.code, `${imported.stdout}\n${imported.stderr}\n${log}`).toBe(0);
    const servers = JSON.parse((await cli('--json', 'servers')).stdout) as { servers?: { id: string }[] } | { id: string }[];
    const list = Array.isArray(servers) ? servers : servers.servers ?? [];
    expect(list.length).toBe(1);
    const connected = await cli('connect', list[0]!.id);
    expect(connected.code, `${connected.stdout}\n${connected.stderr}\n${log}`).toBe(0);

    expect(await lab.ping(lab.client.ns, lab.servers[0]!.tunnelAddress, { count: 3, timeoutSec: 5 })).toBe(true);
    const status = await cli('--json', 'status');
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { state: string; rxBytes: number; engine?: { aead: string; runtime: string } };
    expect(s.state).toBe('connected');
    expect(s.rxBytes).toBeGreaterThan(0);
    expect(s.engine).toEqual({ aead: 'openssl', runtime: `node v${NODE_RUNTIME.version}` });

    // The checkout's helper on this machine's Node (what `npm run bench` runs) is on the same backend.
    const bench = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'umbrad.js'), 'version', '--json'], { encoding: 'utf8' });
    expect(bench.status, bench.stderr).toBe(0);
    expect((JSON.parse(bench.stdout) as { engine: { aead: string } }).engine.aead).toBe(s.engine!.aead);
    expect((await cli('disconnect')).code).toBe(0);
  });
});
