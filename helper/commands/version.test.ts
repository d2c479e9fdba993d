import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nobleAead, type Aead } from '../wireguard/crypto/aead.js';
import { nodeAead } from '../tunnel/node-aead.js';
import { chooseAead, runtimeName, slowAeadRefusal, type AeadProbe } from '../tunnel/aead-choice.js';

const fakeNative: Aead = { name: 'native', seal: () => undefined, open: () => null };
const probe = (p: Partial<AeadProbe>): AeadProbe => ({ native: () => undefined, nativeImpl: () => undefined, nodeChaCha: () => false, openssl: '3.5.9', ...p });

describe('chooseAead', () => {
  it('prefers the addon, then node:crypto, then noble', () => {
    const a = chooseAead(probe({ native: () => fakeNative, nativeImpl: () => 'cores', nodeChaCha: () => true }));
    expect(a).toMatchObject({ backend: 'openssl', aead: fakeNative });
    expect(a.detail).toBe('OpenSSL 3.5.9 through the native addon (cores)');
    expect(chooseAead(probe({ nodeChaCha: () => true }))).toMatchObject({ backend: 'node', aead: nodeAead });
    expect(chooseAead(probe({}))).toMatchObject({ backend: 'noble', aead: nobleAead });
  });

  it('on this machine\'s Node with the addon built, picks OpenSSL through the addon', (ctx) => {
    if (!existsSync(fileURLToPath(new URL('../native/build/Release/umbra_native.node', import.meta.url)))) ctx.skip('the addon is not built');
    expect(chooseAead().backend).toBe('openssl');
  });
});

describe('slowAeadRefusal', () => {
  it('refuses noble only, with what to do, unless UMBRA_ALLOW_SLOW_AEAD=1', () => {
    expect(slowAeadRefusal('openssl', {})).toBeUndefined();
    expect(slowAeadRefusal('node', {})).toBeUndefined();
    expect(slowAeadRefusal('noble', {})).toMatch(/no fast ChaCha20-Poly1305.*UMBRA_ALLOW_SLOW_AEAD=1/);
    expect(slowAeadRefusal('noble', { UMBRA_ALLOW_SLOW_AEAD: '1' })).toBeUndefined();
    expect(slowAeadRefusal('noble', { UMBRA_ALLOW_SLOW_AEAD: 'yes' })).toBeDefined();
  });
});

describe('runtimeName', () => {
  it('names Node, and Electron with the Node inside it', () => {
    expect(runtimeName({ ...process.versions, node: '24.22.3' })).toBe('node v24.22.3');
    expect(runtimeName({ ...process.versions, node: '24.11.1', electron: '40.1.0' })).toBe('electron v40.1.0 (node v24.11.1)');
  });
});

describe('umbrad --version (compiled)', () => {
  const bin = fileURLToPath(new URL('../../bin/umbrad.js', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../../dist/helper/commands/version.js', import.meta.url)));

  it('says the version, the runtime and the AEAD, in words and as JSON', (ctx) => {
    if (!built) ctx.skip('not built (npx tsc -p tsconfig.build.json)');
    const text = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^umbrad \\d+\\.\\d+\\.\\d+\\nruntime: node ${process.version.replace(/\./g, '\\.')} \\(.+\\)\\naead: (openssl|node|noble): .+\\naddon: /.+\\.node\\n$`));
    const json = spawnSync(process.execPath, [bin, 'version', '--json'], { encoding: 'utf8' });
    expect(json.status, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as { engine: { aead: string; runtime: string }; execPath: string; addon: string };
    expect(r.engine.runtime).toBe(`node ${process.version}`);
    expect(r.addon).toBe(fileURLToPath(new URL('../native/build/Release/umbra_native.node', import.meta.url)));
    expect(r.execPath).toBe(process.execPath);
    expect(text.stdout).toContain(`aead: ${r.engine.aead}:`);
    const bad = spawnSync(process.execPath, [bin, 'version', '--yaml'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/usage: umbrad version \[--json\]/);
  });
});
