import { describe, expect, it } from 'vitest';
import { resolveForPing } from './resolve.js';

describe('resolveForPing', () => {
  it('takes IP literals as they are, in canonical text', async () => {
    expect(await resolveForPing({ host: '198.51.100.7' })).toEqual({ host: '198.51.100.7', family: 4 });
    expect(await resolveForPing({ host: '2001:DB8:0:0::1' })).toEqual({ host: '2001:db8::1', family: 6 });
  });

  it('looks a name up with the system (localhost: /etc/hosts, no DNS needed)', async () => {
    const r = await resolveForPing({ host: 'localhost' });
    expect(r.host).toMatch(/^(127\.0\.0\.1|::1)$/);
  });
});
