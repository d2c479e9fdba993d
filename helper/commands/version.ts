// What the helper runs on: the AEAD backend of its data path and its JavaScript runtime. Shown by
// `umbrad --version`, reported in status (`engine`), and checked at start: a helper left with
// only the pure-JS AEAD refuses to run unless told otherwise (see slowAeadRefusal).
import { readFileSync } from 'node:fs';
import { systemAead, type AeadBackend, type AeadChoice } from '../tunnel/aead-choice.js';

export { chooseAead, systemAead, type AeadBackend, type AeadChoice, type AeadProbe } from '../tunnel/aead-choice.js';

/** What status reports as `engine`. */
export interface EngineInfo {
  aead: AeadBackend;
  /** e.g. "node v24.22.3", or "electron v40.1.0 (node v24.11.1)". */
  runtime: string;
}

/** The runtime this process is, in a few words. */
export function runtimeName(versions: NodeJS.ProcessVersions = process.versions): string {
  return versions.electron ? `electron v${versions.electron} (node v${versions.node})` : `node v${versions.node}`;
}

export function engineInfo(choice: AeadChoice = systemAead()): EngineInfo {
  return { aead: choice.backend, runtime: runtimeName() };
}

/** The environment variable that lets the helper run on noble anyway. */
export const ALLOW_SLOW_AEAD = 'UMBRA_ALLOW_SLOW_AEAD';

/**
 * Why the helper must not start, or undefined. Only noble is refused: it is correct but costs
 * several times the CPU of OpenSSL for every packet, so a helper on it is a slow VPN that looks
 * like a working one. That happens on a runtime the helper is not shipped for (Electron's, a Node
 * built without OpenSSL's ChaCha20-Poly1305) or with the addon missing; an explicit
 * UMBRA_ALLOW_SLOW_AEAD=1 accepts it (a test rig, a platform with nothing better).
 */
export function slowAeadRefusal(backend: AeadBackend, env: Record<string, string | undefined> = process.env): string | undefined {
  if (backend !== 'noble' || env[ALLOW_SLOW_AEAD] === '1') return undefined;
  return (
    'no fast ChaCha20-Poly1305 on this runtime: neither the native addon (helper/native) nor node:crypto has it, ' +
    `and the pure-JavaScript fallback (noble) is several times slower. Run umbrad on the Node.js it ships with ` +
    `(/usr/lib/umbra/umbrad), or on Node.js with OpenSSL after \`npm run build:native\`; to run on noble anyway, ` +
    `set ${ALLOW_SLOW_AEAD}=1 (for the service: a drop-in with Environment=${ALLOW_SLOW_AEAD}=1)`
  );
}

/** Umbra's version, from package.json (0.0.0 when it cannot be read). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `umbrad --version`: the version, the runtime and the AEAD; as JSON with `json`. */
export function versionReport(json: boolean, choice: AeadChoice = systemAead()): string {
  const engine = engineInfo(choice);
  const version = packageVersion();
  if (json) return JSON.stringify({ version, engine, aeadDetail: choice.detail, execPath: process.execPath });
  return [`umbrad ${version}`, `runtime: ${engine.runtime} (${process.execPath})`, `aead: ${engine.aead}: ${choice.detail}`].join('\n');
}
