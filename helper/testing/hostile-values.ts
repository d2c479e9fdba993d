// Inputs a hostile caller would send, as fast-check arbitraries: strings that break naive code
// (lone surrogates, NUL, BOM, bidi overrides, look-alike digits, prototype names, megabyte runs),
// numbers JSON.parse turns into Infinity or rounds, nesting thousands deep, and mutations of a
// valid value (a field retyped, removed, added under __proto__, wrapped, replaced). Values are
// JSON *text* in the end, because that is what crosses a socket or a file: JSON.parse then makes
// "__proto__" an own key and "1e999" Infinity exactly as it does for the helper.
import fc from 'fast-check';

/** JSON text placed in a value as is: numbers like 1e999, escapes, nesting too deep to build as objects. */
export class RawJson {
  constructor(readonly text: string) {}
}

export type Tree = null | boolean | number | string | RawJson | Tree[] | { [key: string]: Tree };

/** Serializes a tree; RawJson goes out verbatim, own "__proto__" keys as keys. */
export function toJsonText(tree: Tree): string {
  if (tree instanceof RawJson) return tree.text;
  if (Array.isArray(tree)) return `[${tree.map(toJsonText).join(',')}]`;
  if (tree !== null && typeof tree === 'object') {
    return `{${Object.keys(tree).map((k) => `${JSON.stringify(k)}:${toJsonText(tree[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(tree) ?? 'null';
}

/** Sets an own property, even one named "__proto__" (plain assignment would set the prototype). */
function setOwn(target: Record<string, Tree>, key: string, value: Tree): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(tree: Tree): Tree {
  if (tree instanceof RawJson || tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map(clone);
  const out: Record<string, Tree> = {};
  for (const k of Object.keys(tree)) setOwn(out, k, clone(tree[k]!));
  return out;
}

// ------------------------------------------------------------------ leaves

const SPECIAL_STRINGS = [
  '', ' ', '\t', '\n', '\r\n', '\u0000', '\uFEFF', '\u202E', '\u2028', '\u00A0', '\uD800', '\uDFFF', '\uFFFF',
  'é', 'e\u0301', 'İ', 'ß', 'ﬁ', '🙂', '𝔘', '١٢٣', '１２３', '__proto__', 'constructor', 'prototype', 'toString',
  'hasOwnProperty', 'NaN', 'Infinity', '-0', 'null', 'true', '0x10', '1e999', '../../etc/shadow', '%00', '${HOME}',
  '\\', '"', "'", '=', '#', '[', ']', ':', '/', '.', '-', ',',
];

/** Every UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Mostly small, now and then up to `max`: most inputs stay cheap, and the big ones still come. */
const size = (min: number, max: number) =>
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min, max: Math.min(max, min + 300) }) }, { weight: 1, arbitrary: fc.integer({ min, max }) });

/** A run of one short piece, `min` to `max` characters long. */
export const longRun = (min: number, max: number, pieces: string[] = ['a', '0', 'A', ' ', '-', '.', ':', '=', 'é', '🙂', '\u0000', '\\', '[', '{"a":']) =>
  fc.tuple(fc.constantFrom(...pieces), size(min, max)).map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, n));

/** Short odd strings, mostly; now and then one of up to `maxHuge` characters. */
export const hostileString = (maxHuge = 4096): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: codeUnit, maxLength: 16 }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: longRun(1, maxHuge) },
  );

/** Numbers as JSON text: ones JSON.parse turns into Infinity, -0 or a rounded value, and boundaries. */
const hostileNumber: fc.Arbitrary<RawJson> = fc
  .oneof(
    fc.constantFrom('0', '-0', '1e999', '-1e999', '1e-999', '9007199254740993', '0.5', '-1', '255', '256', '575', '576',
      '65535', '65536', '4294967295', '4294967296', '1e21', '123456789012345678901234567890', '90.0000001', '-180.5', '1E2'),
    fc.integer().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  )
  .map((t) => new RawJson(t));

/** Nesting `depth` levels deep, as text (a value this deep would overflow a recursive builder). */
const deepNesting = (maxDepth = 20_000): fc.Arbitrary<RawJson> =>
  fc.tuple(fc.constantFrom('array', 'object', 'proto'), size(1, maxDepth)).map(([kind, n]) => {
    if (kind === 'array') return new RawJson(`${'['.repeat(n)}${']'.repeat(n)}`);
    if (kind === 'object') return new RawJson(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);
    return new RawJson(`${'{"__proto__":'.repeat(n)}{}${'}'.repeat(n)}`);
  });

/** One hostile JSON value: a leaf of any type, an empty container, or deep nesting. */
const hostileLeaf = (maxHuge = 4096): fc.Arbitrary<Tree> =>
  fc.oneof(
    // Fresh containers each time: a shared [] would end up inside itself after two mutations.
    { weight: 2, arbitrary: fc.constantFrom('null', 'true', 'false', '[]', '{}').map((t) => JSON.parse(t) as Tree) },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 5, arbitrary: hostileString(maxHuge) },
    { weight: 1, arbitrary: deepNesting() },
  );

/** Any JSON value built from `keys` (a schema's field names, say) and hostile keys and leaves. */
export const hostileTree = (keys: readonly string[], maxHuge = 4096): fc.Arbitrary<Tree> => {
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...keys, '__proto__', 'constructor') }, { weight: 1, arbitrary: hostileString(64) });
  const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      hostileLeaf(maxHuge),
      fc.array(tie('tree'), { maxLength: 5 }),
      fc.array(fc.tuple(key, tie('tree')), { maxLength: 6 }).map((entries) => {
        const out: Record<string, Tree> = {};
        for (const [k, v] of entries) setOwn(out, k, v);
        return out;
      }),
    ),
  }));
  return tree;
};

// ------------------------------------------------------------------ mutations of a valid value

type Path = (string | number)[];

function paths(tree: Tree, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (tree instanceof RawJson || tree === null || typeof tree !== 'object') return out;
  if (Array.isArray(tree)) tree.forEach((v, i) => paths(v, [...at, i], out));
  else for (const k of Object.keys(tree)) paths(tree[k]!, [...at, k], out);
  return out;
}

type Op = 'replace' | 'edit' | 'delete' | 'add' | 'spray' | 'wrap' | 'retype' | 'repeat';

interface Mutation {
  at: number;
  op: Op;
  key: string;
  leaf: Tree;
  times: number;
}

function get(tree: Tree, path: Path): Tree {
  let v = tree;
  for (const p of path) v = (v as Record<string | number, Tree>)[p]!;
  return v;
}

/** The value as the other type a sloppy client would send: "51820" for 51820, 1 for "1", a string for an object. */
function retype(v: Tree): Tree {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v.length;
  if (typeof v === 'boolean') return v ? 'true' : 0;
  if (v === null) return 'null';
  return toJsonText(v);
}

function apply(tree: Tree, m: Mutation): Tree {
  const all = paths(tree);
  const path = all[m.at % all.length]!;
  const target = get(tree, path);
  let replacement: Tree | undefined;
  switch (m.op) {
    case 'replace':
      replacement = clone(m.leaf);
      break;
    case 'edit': {
      // A string with a piece put in, or one to two characters taken out: a near-miss address, key or URL.
      if (typeof target !== 'string') return tree;
      const at = m.times % (target.length + 1);
      replacement = `${target.slice(0, at)}${m.times % 3 === 0 ? m.key : ''}${target.slice(at + (m.times % 3))}`;
      break;
    }
    case 'retype':
      replacement = retype(target);
      break;
    case 'wrap':
      replacement = m.times % 2 === 0 ? [target] : { value: target };
      break;
    case 'repeat':
      // A valid element many times over: long arrays of good and bad entries.
      replacement = Array.isArray(target) && target.length > 0 ? Array.from({ length: m.times }, (_, i) => clone(target[i % target.length]!)) : target;
      break;
    case 'add':
    case 'spray': {
      // spray: many odd members at once, what an error message that lists them all would echo.
      const n = m.op === 'add' ? 1 : m.times;
      for (let i = 0; i < n; i++) {
        if (Array.isArray(target)) target.push(clone(m.leaf));
        else if (target !== null && typeof target === 'object' && !(target instanceof RawJson)) setOwn(target, m.op === 'add' ? m.key : `${m.key}${i}`, clone(m.leaf));
      }
      return tree;
    }
    case 'delete': {
      if (path.length === 0) return tree;
      const parent = get(tree, path.slice(0, -1)) as Tree[] | Record<string, Tree>;
      const last = path[path.length - 1]!;
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last as string];
      return tree;
    }
  }
  if (path.length === 0) return replacement;
  const parent = get(tree, path.slice(0, -1)) as Tree[] | Record<string, Tree>;
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[last as number] = replacement;
  else setOwn(parent, last as string, replacement);
  return tree;
}

/**
 * A valid value with one to four mutations: a node replaced by a hostile leaf or retyped, a string
 * edited (a hostile piece put in, characters taken out), a node removed or wrapped, an array
 * repeated up to `maxRepeat` times, a key (a schema's, a hostile one or "__proto__") added, or up
 * to `maxRepeat` of them. A mutation that would make the JSON text longer than `maxChars` is left
 * out. The result still looks almost right, which is what reaches deep code.
 */
export const mutated = (valid: readonly Tree[], keys: readonly string[], opts: { maxHuge?: number; maxRepeat?: number; maxChars?: number } = {}): fc.Arbitrary<Tree> => {
  // Repeats of a repeat of deep nesting would reach gigabytes; what crosses a socket is far smaller.
  const maxChars = opts.maxChars ?? 300_000;
  const step = (tree: Tree, m: Mutation): Tree => {
    const next = apply(clone(tree), m);
    return toJsonText(next).length <= maxChars ? next : tree;
  };
  const mutation: fc.Arbitrary<Mutation> = fc.record({
    at: fc.nat(),
    op: fc.constantFrom<Op>('replace', 'replace', 'edit', 'edit', 'edit', 'retype', 'delete', 'add', 'add', 'spray', 'wrap', 'repeat'),
    key: fc.oneof(fc.constantFrom(...keys, '__proto__', 'constructor', 'toString'), hostileString(64)),
    leaf: hostileLeaf(opts.maxHuge),
    times: fc.integer({ min: 0, max: opts.maxRepeat ?? 300 }),
  });
  return fc
    .tuple(fc.constantFrom(...valid), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([base, ms]) => ms.reduce(step, base));
};

/** Byte strings cut at arbitrary points: how one write can arrive as several reads. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  return out;
}

/** A valid value with one node replaced by a string of `min` to `max` characters: inputs at a size limit. */
export const withLongString = (valid: readonly Tree[], min: number, max: number): fc.Arbitrary<Tree> =>
  fc
    .tuple(fc.constantFrom(...valid), fc.nat(), fc.constantFrom('a', 'A', ' ', '\\', 'é', '🙂'), fc.integer({ min, max }))
    .map(([base, at, piece, n]) => apply(clone(base), { at, op: 'replace', key: '', leaf: piece.repeat(n).slice(0, n), times: 0 }));
