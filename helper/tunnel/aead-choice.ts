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

