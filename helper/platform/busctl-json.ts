// The JSON that `busctl --json=short` prints (systemd's busctl): one line per answer,
// {"type": signature, "data": value}; a method call's data is the array of its out arguments, a
// dict is an object, a variant is {"type", "data"} again. Pure parsers, no D-Bus library.

export interface Variant {
  type: string;
  data: unknown;
}

export function isVariant(v: unknown): v is Variant {
  return typeof v === 'object' && v !== null && typeof (v as Variant).type === 'string' && 'data' in v;
}

/** Each line of busctl's output that is an answer (get-property prints one per property). */
export function parseBusctlAnswers(stdout: string): Variant[] {
  const out: Variant[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isVariant(v)) out.push(v);
    } catch {
      // not an answer (busctl prints nothing else with --json, but a truncated line is possible)
    }
  }
  return out;
}

export const asString = (v: Variant | undefined): string | undefined => (v && (v.type === 's' || v.type === 'o') && typeof v.data === 'string' ? v.data : undefined);

export const asPaths = (v: Variant | undefined): string[] =>
  v && v.type === 'ao' && Array.isArray(v.data) ? v.data.filter((p): p is string => typeof p === 'string') : [];

export function asBytes(v: Variant | undefined): Uint8Array | undefined {
  if (!v || v.type !== 'ay' || !Array.isArray(v.data)) return undefined;
  if (!v.data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
  return Uint8Array.from(v.data as number[]);
}

/** The busctl argv for a system-bus call (the helper runs as root on the system bus). */
export const busctl = (...args: string[]): string[] => ['busctl', '--json=short', '--system', ...args];

/** busctl's argument words for a value of `type` (set-property, call): numbers and strings as they are, an array's length first, a variant as its type then its value. */
function valueArgs(type: string, data: unknown): string[] {
  if (type === 's' || type === 'o' || type === 'g') {
    if (typeof data !== 'string') throw new TypeError(`a D-Bus ${type} must be a string`);
    return [data];
  }
  if (type === 'b') return [data === true ? 'true' : 'false'];
  if ('ynqiuxtd'.includes(type) && type.length === 1) {
    if (typeof data !== 'number') throw new TypeError(`a D-Bus ${type} must be a number`);
    return [String(data)];
  }
  if (type === 'v') {
    if (!isVariant(data)) throw new TypeError('a D-Bus variant must be {type, data}');
    return [data.type, ...valueArgs(data.type, data.data)];
  }
  if (type.startsWith('a{s') && type.endsWith('}')) {
    const inner = type.slice(3, -1);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError(`a D-Bus ${type} must be an object`);
    const entries = Object.entries(data as Record<string, unknown>);
    return [String(entries.length), ...entries.flatMap(([k, v]) => [k, ...valueArgs(inner, v)])];
  }
  if (type.startsWith('a')) {
    if (!Array.isArray(data)) throw new TypeError(`a D-Bus ${type} must be an array`);
    return [String(data.length), ...data.flatMap((x) => valueArgs(type.slice(1), x))];
  }
  throw new TypeError(`busctl-json cannot write the D-Bus type ${type}`);
}

/** The words busctl takes for a value it printed as {type, data}: its signature, then the value. */
export const variantArgs = (v: Variant): string[] => [v.type, ...valueArgs(v.type, v.data)];
