// Which ChaCha20-Poly1305 the data path runs on, chosen once per process: the tunnel uses it, and
// `umbrad --version` and status report it (helper/commands/version.ts).
import { loadNative } from '../platform/native.js';
import { loadNativeAead, nodeAead, nodeCryptoHasChaCha } from './node-aead.js';
import { nobleAead, type Aead } from '../wireguard/crypto/aead.js';

/** openssl: the native addon's (OpenSSL inside Node); node: node:crypto's; noble: pure JS. */
export type AeadBackend = 'openssl' | 'node' | 'noble';

export interface AeadChoice {
  backend: AeadBackend;
  aead: Aead;
  /** For people: which library, and how it is reached. */
  detail: string;
}

export interface AeadProbe {
  native(): Aead | undefined;
  /** The addon's own word on its path ('cores' | 'evp'), when it says. */
  nativeImpl(): string | undefined;
  nodeChaCha(): boolean;
  openssl: string | undefined;
}

const systemProbe: AeadProbe = {
  native: loadNativeAead,
  nativeImpl: () => {
    try {
      const impl = (loadNative() as { aeadImpl?: () => string }).aeadImpl;
      return typeof impl === 'function' ? impl() : undefined;
    } catch {
      return undefined;
    }
  },
  nodeChaCha: nodeCryptoHasChaCha,
  openssl: process.versions.openssl,
};

/**
 * The AEAD the data path uses, in the tunnel's order of preference: the addon's OpenSSL
 * ChaCha20-Poly1305, then node:crypto's, then noble (correct, several times slower).
 */
export function chooseAead(probe: AeadProbe = systemProbe): AeadChoice {
  const lib = probe.openssl ? `OpenSSL ${probe.openssl}` : 'OpenSSL';
  const native = probe.native();
  if (native) {
    const impl = probe.nativeImpl();
    return { backend: 'openssl', aead: native, detail: `${lib} through the native addon${impl ? ` (${impl})` : ''}` };
  }
  if (probe.nodeChaCha()) return { backend: 'node', aead: nodeAead, detail: `${lib} through node:crypto (the native addon's AEAD is missing)` };
  return { backend: 'noble', aead: nobleAead, detail: 'noble (pure JavaScript): neither the native addon nor node:crypto has ChaCha20-Poly1305' };
}

let chosen: AeadChoice | undefined;
/** chooseAead() with this process's addon and crypto, once. */
export function systemAead(): AeadChoice {
  return (chosen ??= chooseAead());
}

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
