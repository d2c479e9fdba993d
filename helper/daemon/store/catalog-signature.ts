// Signed catalogs (issue 13, item 3). Whoever sits on the path to a provider could otherwise swap
// every server's key and endpoint; a signature by a key the user pinned when adding the provider
// makes that detectable. The format (README, "Signed catalogs"):
//
//   { "catalog": "<the catalog's JSON text, as one string>",
//     "signature": "<base64 of the 64-byte Ed25519 signature over the UTF-8 bytes of that string>" }
//
// A detached signature over the exact bytes (RFC 8032 Ed25519, no prehash, no context), carried
// in one envelope so one download (or one file) holds both. The pinned key is the 32-byte Ed25519
// public key in base64 (44 characters, like a WireGuard key). Its fingerprint, shown in the UI,
// is the first 16 hex digits of its SHA-256, in groups of four.
//
// Rules: a pinned key demands a valid signature by it (also for a file: a pin is a promise). Without
// a pin, a remote catalog is refused unless the caller says `allowUnsigned` (an envelope's
// signature proves nothing without a pin, so it counts as unsigned); a catalog given as text (a
// file the user chose) may be unsigned.
import { ed25519 } from '@noble/curves/ed25519.js';
import { createHash } from 'node:crypto';
import { ErrorCode, RpcError, type CatalogTrust } from '../../ipc/schema.js';

export interface TrustRequest {
  /** The provider's pinned Ed25519 public key (base64), if the user pinned one. */
  signingKey?: string;
  /** The user's explicit consent to an unsigned remote catalog. */
  allowUnsigned?: boolean;
  /** Where the catalog came from: a URL the helper fetched, or text the user's client sent. */
  origin: 'url' | 'text';
}

const invalid = (message: string) => new RpcError(ErrorCode.InvalidConfig, message);

function base64Bytes(text: string, length: number): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length ? new Uint8Array(bytes) : undefined;
}

/** The pinned key's bytes; throws InvalidParams when it is not a base64 Ed25519 public key. */
function parseSigningKey(text: string): Uint8Array {
  const key = base64Bytes(text.trim(), 32);
  if (!key) throw new RpcError(ErrorCode.InvalidParams, 'the signing key must be an Ed25519 public key: 32 bytes in base64 (44 characters)');
  return key;
}

/** "ab12 cd34 ef56 7890": how the UI names a key. */
export function keyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16).replace(/(.{4})(?!$)/g, '$1 ');
}

/** An envelope's parts, or undefined when the JSON is a bare catalog. */
function envelopeOf(json: unknown): { catalog: string; signature: string } | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('signature' in json)) return undefined;
  const { catalog, signature } = json as { catalog?: unknown; signature?: unknown };
  if (typeof catalog !== 'string' || typeof signature !== 'string') {
    throw invalid('a signed catalog is {"catalog": "<the catalog JSON as a string>", "signature": "<base64>"}');
  }
  return { catalog, signature };
}

export interface Checked {
  /** The catalog's JSON text (the envelope's inner text, or the whole document). */
  text: string;
  trust: CatalogTrust;
}

/**
 * Applies the rules above to a downloaded or sent document (its JSON already parsed as `json`,
 * its text `text`). Returns the catalog text to parse and what the UI may say about it.
 */
export function checkCatalogTrust(text: string, json: unknown, req: TrustRequest): Checked {
  const envelope = envelopeOf(json);
  if (req.signingKey !== undefined) {
    const key = parseSigningKey(req.signingKey);
    if (!envelope) throw invalid('the catalog is not signed, but you pinned a signing key for it; ask the provider for the signed catalog');
    const sig = base64Bytes(envelope.signature.trim(), 64);
    let good = false;
    try {
      good = sig !== undefined && ed25519.verify(sig, new TextEncoder().encode(envelope.catalog), key);
    } catch {
      good = false;
    }
    if (!good) throw invalid('the catalog\'s signature does not match the signing key you pinned: it was changed on the way, or signed by someone else');
    return { text: envelope.catalog, trust: { signed: true, keyFingerprint: keyFingerprint(key) } };
  }
  if (req.origin === 'url' && req.allowUnsigned !== true) {
    throw new RpcError(
      ErrorCode.InvalidParams,
      envelope
        ? 'the catalog is signed, but you pinned no key to check it with: give the provider\'s signing key, or load it unsigned on purpose (--unsigned)'
        : 'the catalog is not signed: give the provider\'s signing key for a signed catalog, or load it unsigned on purpose (--unsigned)',
    );
  }
  return { text: envelope ? envelope.catalog : text, trust: { signed: false } };
}
