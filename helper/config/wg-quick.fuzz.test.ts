// Fuzzes the wg-quick parser with what an import can be handed: any text, and real configs
// mutated line by line (testing/hostile-configs.ts). It must return a config or throw a
// ConfigError, never anything else, never hang, and never quote a piece of a secret. What it
// returns must be what the state store can keep: keys of 32 bytes, canonical addresses and
// endpoints its own schemas accept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatEndpoint } from '../net/endpoint.js';
import { AddressText, CidrText, EndpointText, IpText } from '../daemon/store/files.js';
import { ImportNote, MAX_CONFIG_BYTES } from '../ipc/schema.js';
import { fail, fuzz } from '../testing/fuzz-run.js';
import { hostileString } from '../testing/hostile-values.js';
import { CONFIGS, configish, FULL_CONF, mutatedConfig, SECRETS } from './testing/hostile-configs.js';
import { ConfigError, parseWgQuick, parseWgQuickForImport, type WgQuickConfig } from './wg-quick.js';
import { formatPrefix, parsePrefix } from '../net/ip.js';

// ------------------------------------------------------------------ what a result must be

/** What the state store will keep of an import must pass the schemas it reads its files with. */
function checkConfig(cfg: WgQuickConfig, text: string): void {
  if (cfg.interface.privateKey.length !== 32) fail('a private key that is not 32 bytes');
  for (const a of cfg.interface.addresses) {
    const again = parsePrefix(formatPrefix(a), { keepHostBits: true });
    if (formatPrefix(again) !== formatPrefix(a)) fail(`address ${formatPrefix(a)} is not canonical`);
    if (!AddressText.safeParse(formatPrefix(a)).success) fail(`address ${formatPrefix(a)} fails the profile schema`);
  }
  for (const d of cfg.interface.dns) if (!IpText.safeParse(d).success) fail(`DNS ${d} fails the profile schema`);
  for (const d of cfg.interface.dnsSearch) if (d.length > 253) fail('a search domain longer than 253 characters');
  if (cfg.interface.mtu !== undefined && (cfg.interface.mtu < 576 || cfg.interface.mtu > 65535)) fail(`MTU ${cfg.interface.mtu}`);
  for (const p of cfg.peers) {
    if (p.publicKey.length !== 32 || (p.presharedKey && p.presharedKey.length !== 32)) fail('a peer key that is not 32 bytes');
    for (const c of p.allowedIPs) {
      if (formatPrefix(parsePrefix(formatPrefix(c))) !== formatPrefix(c)) fail(`AllowedIPs ${formatPrefix(c)} is not a canonical prefix`);
      if (!CidrText.safeParse(formatPrefix(c)).success) fail(`AllowedIPs ${formatPrefix(c)} fails the server schema`);
    }
    if (p.endpoint) {
      const shown = formatEndpoint(p.endpoint);
      if (!EndpointText.safeParse(shown).success) fail(`endpoint ${shown} is accepted at import but fails the server schema (servers.json would be set aside at the next start)`);
      if (shown.length < 3 || shown.length > 300) fail(`endpoint ${shown} does not fit ServerInfo`);
    }
  }
  const lines = text.split(/\r\n|\n|\r/).length;
  const imported = parseWgQuickForImport(text);
  let last = 0;
  for (const n of imported.notes) {
    if (!ImportNote.safeParse(n).success) fail(`note ${JSON.stringify(n)} does not fit the schema`);
    if (n.line < last || n.line < 1 || n.line > lines) fail(`note line ${n.line} out of order or outside the text`);
    last = n.line;
  }
  if (imported.config.peers.some((p) => !p.endpoint)) fail('an imported peer without an Endpoint');
}

function checkError(e: unknown, text: string): void {
  if (!(e instanceof ConfigError)) fail(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  if (e.line < 0 || e.line > text.split(/\r\n|\n|\r/).length) fail(`error on line ${e.line}, outside the text`);
  if (e.message.length > 2000) fail(`an error message of ${e.message.length} characters`);
  for (const secret of SECRETS) {
    // Any 20 characters of a secret in the message count: a cut key is still most of a key.
    for (let i = 0; i + 20 <= secret.length; i += 4) {
      if (e.message.includes(secret.slice(i, i + 20))) fail(`the error quotes a secret: ${e.message.slice(0, 300)}`);
    }
  }
}

function check(text: string): void {
  let strict: WgQuickConfig | undefined;
  try {
    strict = parseWgQuick(text);
  } catch (e) {
    checkError(e, text);
  }
  let imported: ReturnType<typeof parseWgQuickForImport> | undefined;
  try {
    imported = parseWgQuickForImport(text);
  } catch (e) {
    checkError(e, text);
    if (strict) fail(`parseWgQuick took it, parseWgQuickForImport threw ${(e as Error).message}`);
  }
  if (strict) checkConfig(strict, text);
  if (imported) checkConfig(imported.config, text);
}

const show = (t: string) => JSON.stringify(t.length > 600 ? `${t.slice(0, 600)}… (${t.length} characters)` : t);

describe('fuzz: wg-quick configs', () => {
  it('mutated real configs: a config the store can keep, or a ConfigError that quotes no secret', async () => {
    await fuzz(mutatedConfig, check, { runs: 20_000, show });
  }, 120_000);

  it('any text: a config or a ConfigError', async () => {
    await fuzz(fc.oneof(configish, hostileString(MAX_CONFIG_BYTES)), check, { runs: 10_000, show });
  }, 120_000);

  it('the valid configs it mutates are valid', () => {
    for (const c of CONFIGS) expect(() => check(c)).not.toThrow();
    expect(parseWgQuickForImport(FULL_CONF).notes.map((n) => n.key)).toEqual(['ListenPort', 'FwMark', 'Table', 'SaveConfig', 'PostUp', 'PreDown']);
  });
});
