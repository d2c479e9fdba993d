// The known-answer tests must catch a broken protocol that our own two ends would agree on. Each
// mutation below plants such a bug (on both sides where there are two, so our ends still agree:
// all but the PSK one pass every device-to-device test) in a compiled copy of this folder; the
// copy runs the KAT scenarios in a child process (testing/kat-main.ts) and must report a
// mismatch. Real sources are never edited.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import type { KatCheck } from './testing/kat.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = join(HERE, '..', '..', 'node_modules');

interface Patch {
  file: string;
  from: string;
  to: string;
}

interface Mutation {
  name: string;
  patches: Patch[];
  /** A check that must be among the mismatches: where the KATs see the bug first. */
  caughtBy: string;
}

const MUTATIONS: Mutation[] = [
  {
    name: 'the initiation skips h = HASH(h || ephemeral) (both roles)',
    patches: [
      { file: 'noise/handshake.ts', from: '  h = hash(h, a.ephemeral.publicKey);\n', to: '' },
      { file: 'noise/handshake.ts', from: '  h = hash(h, m.ephemeral);\n', to: '' },
    ],
    caughtBy: 'asInitiator: initiation',
  },
  {
    name: 'the transport keys take the other HKDF output (both roles)',
    patches: [{
      file: 'noise/handshake.ts',
      from: 'initiator ? { sendKey: t1, receiveKey: t2 } : { sendKey: t2, receiveKey: t1 }',
      to: 'initiator ? { sendKey: t2, receiveKey: t1 } : { sendKey: t1, receiveKey: t2 }',
    }],
    caughtBy: 'asInitiator: initiator send key',
  },
  {
    name: 'mac1 is keyed with the wrong label',
    patches: [{ file: 'constants.ts', from: "LABEL_MAC1 = 'mac1----'", to: "LABEL_MAC1 = 'mac2----'" }],
    caughtBy: 'asInitiator: initiation',
  },
  {
    name: 'the preshared key is never mixed in (both roles)',
    patches: [
      { file: 'noise/handshake.ts', from: 'kdf(3, c, a.presharedKey ?? ZERO_KEY)', to: 'kdf(3, c, ZERO_KEY)' },
      { file: 'noise/handshake.ts', from: 'kdf(3, c, presharedKey ?? ZERO_KEY)', to: 'kdf(3, c, ZERO_KEY)' },
    ],
    caughtBy: 'asResponder: response',
  },
  {
    name: 'transport data uses counter + 1 as its nonce (sender and receiver)',
    patches: [
      { file: 'device.ts', from: 'this.aead.seal(kp.keys.sendKey, counter,', to: 'this.aead.seal(kp.keys.sendKey, counter + 1,' },
      { file: 'device.ts', from: 'this.aead.openInPlace(kp.keys.receiveKey, counter,', to: 'this.aead.openInPlace(kp.keys.receiveKey, counter + 1,' },
      { file: 'device.ts', from: 'this.aead.open(kp.keys.receiveKey, counter,', to: 'this.aead.open(kp.keys.receiveKey, counter + 1,' },
    ],
    caughtBy: 'asInitiator: initiator transport #0 (the queued packet)',
  },
  {
    name: 'cookies are sealed under the mac1 label\'s key (both ends)',
    patches: [{ file: 'cookie/macs.ts', from: 'hash(COOKIE_LABEL, publicKey)', to: 'hash(MAC1_LABEL, publicKey)' }],
    caughtBy: 'cookieReplyUnderLoad: cookie reply',
  },
];

/** The engine's sources (tests excluded), relative to this folder. */
function sources(dir = HERE, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    if (e.isDirectory()) return sources(join(dir, e.name), `${rel}/`);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [rel] : [];
  });
}

const occurrences = (text: string, s: string): number => text.split(s).length - 1;

const roots: string[] = [];

/** Compiles a patched copy of this folder into a temporary package and returns its KAT mismatches. */
function katOfCopy(patches: Patch[]): KatCheck[] {
  const root = mkdtempSync(join(tmpdir(), 'umbra-kat-'));
  roots.push(root);
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(NODE_MODULES, join(root, 'node_modules'), 'dir');
  for (const file of sources()) {
    let text = readFileSync(join(HERE, file), 'utf8');
    for (const p of patches.filter((x) => x.file === file)) {
      if (occurrences(text, p.from) !== 1) throw new Error(`${file}: the patch text occurs ${occurrences(text, p.from)} times, not once: ${p.from}`);
      text = text.replace(p.from, p.to);
    }
    const out = join(root, 'wireguard', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, ts.transpileModule(text, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText);
  }
  mkdirSync(join(root, 'wireguard', 'testdata', 'kat'), { recursive: true });
  copyFileSync(join(HERE, 'testdata', 'kat', 'vectors.json'), join(root, 'wireguard', 'testdata', 'kat', 'vectors.json'));
  const run = spawnSync(process.execPath, ['--no-warnings', join(root, 'wireguard', 'testing', 'kat-main.js')], { encoding: 'utf8', timeout: 30_000 });
  const last = run.stdout.trim().split('\n').pop();
  if (run.status !== 0 || !last) throw new Error(`the KAT child failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(last) as KatCheck[];
}

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('the KATs catch planted protocol bugs', () => {
  it('every patch applies exactly once, so none can silently miss', () => {
    for (const m of MUTATIONS) {
      for (const p of m.patches) {
        expect(occurrences(readFileSync(join(HERE, p.file), 'utf8'), p.from), `${m.name}: ${p.file}: ${p.from}`).toBe(1);
      }
    }
  });

  it('an unpatched copy passes them (the harness itself changes nothing)', { timeout: 30_000 }, () => {
    expect(katOfCopy([])).toEqual([]);
  });

  for (const m of MUTATIONS) {
    it(`fail when ${m.name}`, { timeout: 30_000 }, () => {
      const mismatches = katOfCopy(m.patches);
      expect(mismatches.map((k) => k.name), JSON.stringify(mismatches, null, 1)).toContain(m.caughtBy);
    });
  }
});
