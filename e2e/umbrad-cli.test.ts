// `umbrad up` refuses what it cannot use, with a message a person can act on and exit code 2
// (bad config or usage) or 1 (this machine cannot run a tunnel). Runs the compiled helper.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UMBRAD, PROJECT_ROOT } from './umbrad-process.js';

const built = existsSync(join(PROJECT_ROOT, 'dist', 'helper', 'main.js'));
const dir = mkdtempSync(join(tmpdir(), 'umbra-cli-'));
chmodSync(dir, 0o755);
const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const good = `[Interface]\nPrivateKey = ${KEY}\nAddress = 100.64.1.2/32\n\n[Peer]\nPublicKey = ${PUB}\nEndpoint = 203.0.113.2:51820\nAllowedIPs = 0.0.0.0/0\n`;

function umbrad(args: string[], opts: { uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [UMBRAD, ...args], { encoding: 'utf8', timeout: 20_000, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  chmodSync(f, 0o644);
  return f;
}

describe.skipIf(!built)('umbrad up: errors', () => {
  it('a bad config names the line and the problem, exit 2', () => {
    const f = file('bad.conf', good.replace('AllowedIPs = 0.0.0.0/0', 'AllowedIPs = 0.0.0.0/33'));
    const r = umbrad(['up', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.conf: line 8: .*0\.0\.0\.0\/33/);
    expect(r.err).not.toContain(KEY);
  });

  it('a config without a peer, exit 2', () => {
    const r = umbrad(['up', file('nopeer.conf', good.split('[Peer]')[0]!)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no \[Peer\]/);
  });

  it('a missing file, exit 2', () => {
    const r = umbrad(['up', join(dir, 'nope.conf')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope\.conf: no such file/);
  });

  it('no file and unknown commands print usage, exit 2', () => {
    expect(umbrad(['up']).code).toBe(2);
    const r = umbrad(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command "frobnicate"[\s\S]*usage: umbrad/);
  });

  it.skipIf(process.getuid?.() !== 0)('not root: says it needs root, exit 1, and creates nothing', () => {
    const f = file('good.conf', good);
    const r = umbrad(['up', f], { uid: 65534, gid: 65534 });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/needs root: run it with sudo/);
  });
});
