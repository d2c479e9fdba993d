// The compiled `umbra` CLI against the real helper in the lab: what a person reads from status,
// servers and a repeated connect, and that --json usage errors are JSON on stdout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStaleLabs, createLab, labAvailable, type Lab } from './lab/lab.js';
import { DaemonRun } from './daemon-process.js';
import { PROJECT_ROOT } from './umbrad-process.js';

const avail = labAvailable();
const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'cli.js'));
const why = !avail.ok ? avail.reason : !built ? 'not built (npm run build)' : '';

describe.skipIf(why !== '')(`umbra against the helper in the lab${why ? ` — skipped: ${why}` : ''}`, () => {
  let lab: Lab;
  let daemon: DaemonRun;

  /** Runs bin/umbra.js with the helper's socket; the CLI needs only the socket, not the namespace. */
  const umbra = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'umbra.js'), '--socket', daemon.socket, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
  };

  beforeAll(async () => {
    cleanupStaleLabs();
    lab = await createLab({ servers: 1 });
    daemon = new DaemonRun(lab);
    await daemon.start();
    await (await daemon.client()).call('importConfig', { text: lab.clientConfig(0, { dns: lab.internet.dnsAddress }), name: 'lab 0' });
  });

  afterAll(async () => {
    await daemon?.stop('SIGKILL').catch(() => undefined);
    daemon?.cleanup();
    await lab?.destroy();
  });

  it('connect, then connect again: the second changes nothing and says so', async () => {
    const first = umbra('connect', 'lab-0');
    expect(first, daemon.stderr).toMatchObject({ code: 0, out: expect.stringMatching(/^Connected to lab 0 \(lab-0\)/) });
    const since = (await (await daemon.client()).call('status')).connectedSince;
    const again = umbra('connect', 'lab 0');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/^Already connected to lab 0 \(lab-0\)/) });
    expect((await (await daemon.client()).call('status')).connectedSince).toBe(since);
  });

  it('status and servers say whether the exit was measured and which server is in use', () => {
    const status = umbra('status');
    expect(status.code).toBe(0);
    // Measured by the helper through the tunnel (an imported config names no exit).
    expect(status.out.split('\n')).toContain(`Exit address: ${lab.servers[0]!.exitAddress} (measured through the tunnel; not in the catalog)`);
    const servers = umbra('servers').out.split('\n');
    expect(servers[0]).toMatch(/^\s+ID\s+NAME\s+CITY\s+COUNTRY\s+EXIT IP\s+ENDPOINT\s+LATENCY$/);
    expect(servers.filter((l) => l.startsWith('*'))).toEqual([expect.stringMatching(/^\*\s+lab-0\s+lab 0\s+\S+\s+—$/), '* connected']);
  });

  it('leak-check names the server, shows verdicts only, the ruleset with --verbose', () => {
    const r = umbra('leak-check');
    expect(r.out.split('\n')[0]).toBe('Leak check while connected to lab 0 (lab-0):');
    // Printed as the helper finished them: each of its four checks once.
    const verdicts = r.out.split('\n').filter((l) => /^(✔ PASS|! WARN|✘ FAIL) {2}/.test(l)).map((l) => l.replace(/^\S+ \S+ {2}([^:]+):.*$/, '$1'));
    expect(verdicts.sort()).toEqual(['DNS', 'IPv6', 'Kill switch', 'Public IP address']);
    expect(r.out).not.toContain('table inet umbra');
    expect(umbra('leak-check', '--verbose').out).toContain('table inet umbra');
  });

  it('disconnected: leak-check never says nothing escapes', () => {
    expect(umbra('disconnect').code).toBe(0);
    const r = umbra('leak-check');
    expect(r.out.split('\n')[0]).toBe('Leak check while disconnected:');
    expect(r.out).not.toMatch(/nothing (was seen )?escap/i);
    expect(r.out).toMatch(/^Not connected when checked \(disconnected\)/m);
  });

  it('a usage error with --json: one JSON object on stdout, exit 2', () => {
    const r = umbra('--json', 'frobnicate');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({ error: { kind: 'usage', message: 'unknown command "frobnicate"' } });
  });
});
