// Cryptokey routing (§2): which peer an outgoing packet goes to, by longest prefix match on its
// destination, and whether an incoming packet's source belongs to the peer that sent it.

import type { PrefixBits } from '../net/ip.js';

interface Entry<T> extends PrefixBits {
  value: T;
}

function matches(p: PrefixBits, addr: Uint8Array, offset: number): boolean {
  const full = p.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[offset + i] !== p.bytes[i]) return false;
  const rest = p.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((addr[offset + full]! ^ p.bytes[full]!) & mask) === 0;
}

export class AllowedIps<T> {
  private v4: Entry<T>[] = [];
  private v6: Entry<T>[] = [];

  /** Adds a prefix; a prefix already present is taken over by the new value (as `wg set` does). */
  insert(p: PrefixBits, value: T): void {
    const list = p.family === 4 ? this.v4 : this.v6;
    const i = list.findIndex((e) => e.prefix === p.prefix && matches(e, p.bytes, 0));
    if (i >= 0) list.splice(i, 1);
    list.push({ ...p, bytes: p.bytes.slice(), value });
    list.sort((a, b) => b.prefix - a.prefix);
  }

  removeValue(value: T): void {
    this.v4 = this.v4.filter((e) => e.value !== value);
    this.v6 = this.v6.filter((e) => e.value !== value);
  }

  /** The value of the longest prefix containing the address at `addr[offset..]`. */
  lookup(family: 4 | 6, addr: Uint8Array, offset = 0): T | undefined {
    const list = family === 4 ? this.v4 : this.v6;
    for (const e of list) if (matches(e, addr, offset)) return e.value;
    return undefined;
  }

  entriesOf(value: T): PrefixBits[] {
    return [...this.v4, ...this.v6].filter((e) => e.value === value).map(({ family, bytes, prefix }) => ({ family, bytes, prefix }));
  }
}
