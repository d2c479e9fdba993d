// Ways a 32-byte secret (a WireGuard key, a PSK) could be written out, for tests that search
// responses and logs for one: base64, base64 without '=', base64url, hex (both cases), and
// 16-character pieces of the base64.
export function spellings(b64: string): string[] {
  const bytes = Buffer.from(b64, 'base64');
  const forms = [b64, b64.replace(/=+$/, ''), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (let i = 0; i + 16 <= 43; i += 8) forms.push(b64.slice(i, i + 16));
  return forms;
}
