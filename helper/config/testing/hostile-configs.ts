// wg-quick configs a hostile or careless import would hand over: any text, and real configs
// mutated line by line (lines duplicated, dropped, swapped, keys and values garbled, keys cut,
// CRLF, NUL, BOM, 64 KiB lines). For the parser's fuzzer and the state store's.
import fc from 'fast-check';
import { MULTI_PEER_CONF, PRESHARED_KEY, PRIVATE_KEY, PROVIDER_CONF, key } from '../../daemon/store/testdata/configs.js';
import { MAX_CONFIG_BYTES } from '../../ipc/schema.js';
import { hostileString, longRun } from '../../testing/hostile-values.js';

/** Everything a config may say, hooks and keys the helper decides itself included. */
export const FULL_CONF = [
  '\uFEFF# exported by a router',
  '[Interface]',
  `PrivateKey = ${PRIVATE_KEY}`,
  'Address = 100.64.0.2/24, 2001:db8:1::2/64',
  'DNS = 198.51.100.53, 2001:db8::53, corp.example',
  'MTU = 1420',
  'ListenPort = 51820',
  'FwMark = 0xca6c',
  'Table = off',
  'SaveConfig = false',
  'PostUp = iptables -I OUTPUT ! -o %i -j REJECT',
  'PreDown = iptables -D OUTPUT ! -o %i -j REJECT',
  '',
  '[Peer] # the server',
  `PublicKey = ${key(0x33)}`,
  `PresharedKey = ${PRESHARED_KEY}`,
  'AllowedIPs = 0.0.0.0/0, ::/0',
  'Endpoint = [2001:db8::10]:51820',
  'PersistentKeepalive = off',
  '',
  '[peer]',
  `publickey = ${key(0x44)}`,
  'allowedips = 203.0.113.0/24',
  'endpoint = vpn.example.net.:4500',
  'persistentkeepalive = 25',
].join('\r\n');

export const CONFIGS = [PROVIDER_CONF, MULTI_PEER_CONF, FULL_CONF];
/** The secrets in CONFIGS: no message may quote a piece of them. */
export const SECRETS = [PRIVATE_KEY, PRESHARED_KEY, key(0x55)];

const KEYS = ['PrivateKey', 'Address', 'DNS', 'MTU', 'ListenPort', 'FwMark', 'Table', 'SaveConfig', 'PreUp', 'PostUp', 'PreDown', 'PostDown',
  'PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'PersistentKeepalive'];
const VALUES = ['', 'off', 'true', '0', '65535', '65536', '0x', '0xffffffff', '4294967296', '1.2.3.4', '01.2.3.4', '1.2.3.4/33', '::', '::/0',
  '::ffff:1.2.3.4', 'fe80::1%eth0', '[::1]:1', '[::1]', 'host:0', 'host:65536', 'a..b:1', '-a:1', `${'a'.repeat(64)}.b:1`, `${'a.'.repeat(127)}a:1`,
  '1,,2', ',', 'a=b=c', key(0x01), `${key(0x01).slice(0, 43)}A`, key(0x01).slice(0, 40), `${key(0x01)}=`, 'x'.repeat(43) + '='];

// ------------------------------------------------------------------ line mutations

type LineOp =
  | { op: 'duplicate' | 'drop'; at: number }
  | { op: 'swap'; at: number; other: number }
  | { op: 'key'; at: number; text: string }
  | { op: 'value'; at: number; text: string }
  | { op: 'cut'; at: number; keep: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'flip'; at: number; pos: number; char: string };

const lineOp: fc.Arbitrary<LineOp> = fc.oneof(
  fc.record({ op: fc.constantFrom('duplicate' as const, 'drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('key' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...KEYS, ...KEYS.map((k) => k.toUpperCase()), '[Interface]', '[Peer]', '[ Peer ]', '[Other]', ''), hostileString(64)) }),
  fc.record({ op: fc.constant('value' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...VALUES), hostileString(MAX_CONFIG_BYTES)) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), keep: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom('[Interface]', '[Peer]', '#', '=', ' = x', 'Key', `Endpoint = ${'1'.repeat(5000)}`), hostileString(2000), longRun(1000, MAX_CONFIG_BYTES, ['a', '=', ',', '[', ':', '1.', '::', ' '])) }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), pos: fc.nat(), char: fc.constantFrom('\u0000', '\uFEFF', '\r', '=', '#', ',', '/', ':', '[', ']', ' ', 'A', '+', '-', '.', 'é', '\uD800') }),
);

function applyLineOp(lines: string[], m: LineOp): string[] {
  const out = [...lines];
  const i = m.at % Math.max(1, out.length);
  const line = out[i] ?? '';
  const eq = line.indexOf('=');
  switch (m.op) {
    case 'duplicate':
      out.splice(i, 0, line);
      break;
    case 'drop':
      out.splice(i, 1);
      break;
    case 'swap': {
      const j = m.other % Math.max(1, out.length);
      [out[i], out[j]] = [out[j] ?? '', line];
      break;
    }
    case 'key':
      out[i] = eq < 0 ? m.text : `${m.text} ${line.slice(eq)}`;
      break;
    case 'value':
      out[i] = eq < 0 ? `${line} = ${m.text}` : `${line.slice(0, eq + 1)} ${m.text}`;
      break;
    case 'cut':
      out[i] = line.slice(0, m.keep % (line.length + 1));
      break;
    case 'insert':
      out.splice(i, 0, m.text);
      break;
    case 'flip': {
      const p = m.pos % (line.length + 1);
      out[i] = `${line.slice(0, p)}${m.char}${line.slice(p + 1)}`;
      break;
    }
  }
  return out;
}

/** One of CONFIGS with one to five line mutations, joined with any line ending. */
export const mutatedConfig: fc.Arbitrary<string> = fc
  .record({
    base: fc.constantFrom(...CONFIGS),
    ops: fc.array(lineOp, { minLength: 1, maxLength: 5 }),
    eol: fc.constantFrom('\n', '\r\n', '\r', '\n\r', '\n\n'),
  })
  .map(({ base, ops, eol }) => ops.reduce(applyLineOp, base.split(/\r\n|\n/)).join(eol));

/** Text with the pieces a config is made of, in any order. */
export const configish: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom('[Interface]', '[Peer]', '\n', '\r\n', ' = ', '=', '#', ',', '/', ':', '[', ']', ' ', ...KEYS, ...VALUES), hostileString(200)), { maxLength: 60 })
  .map((parts) => parts.join(''));
