import { describe, expect, it } from 'vitest';
import { FloodReport, HandshakeBudget, TokenBucket, type HandshakeLane } from './handshake-budget.js';

describe('TokenBucket', () => {
  it('gives its burst at once, then its rate, and never saves more than the burst', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true);
    let n = 0;
    for (let t = 100_000; t <= 101_000; t++) if (b.take(t)) n++;
    expect(n).toBe(3 + 10); // the saved burst, then 10 a second
  });

  it('rejects a rate or burst that would admit nothing', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/rate > 0/);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(/burst >= 1/);
  });
});

describe('HandshakeBudget', () => {
  const lanes: HandshakeLane[] = ['expected', 'cookie', 'peer', 'stranger'];
  it.each(lanes)('keeps lanes apart: a flood of %s messages leaves every other lane its tokens', (flooded) => {
    const b = new HandshakeBudget(0, { expected: 8, cookie: 8, peer: 8, stranger: 8, cookieReplies: 4 });
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (b.admit(flooded, 0)) admitted++;
    expect(admitted).toBe(2); // a quarter second of 8 a second
    for (const other of lanes) if (other !== flooded) expect(b.admit(other, 0)).toBe(true);
    // The flooded lane refills at its own rate, one token an eighth of a second.
    expect(b.admit(flooded, 100)).toBe(false);
    expect(b.admit(flooded, 130)).toBe(true);
  });

  it('caps cookie replies to strangers, not to a peer\'s own lane', () => {
    const b = new HandshakeBudget(0, { expected: 4, cookie: 4, peer: 4, stranger: 1000, cookieReplies: 4 });
    expect([b.cookieReply('stranger', 0), b.cookieReply('stranger', 0)]).toEqual([true, false]);
    expect(b.cookieReply('peer', 0)).toBe(true);
  });
});

describe('FloodReport', () => {
  it('reports once per period with the drops since the first one not yet reported', () => {
    const r = new FloodReport(1000);
    const out: unknown[] = [];
    for (let t = 0; t <= 2500; t += 100) {
      const x = r.drop(t);
      if (x) out.push(x);
    }
    expect(out).toEqual([{ dropped: 11, seconds: 1 }, { dropped: 11, seconds: 1 }]);
  });
});
