// Server ids as text.

/** Lowercase [a-z0-9._-], starting with a letter or digit, at most `max` characters; "server" if nothing is left. */
export function slugify(text: string, max = 56): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, max)
    .replace(/[._-]+$/, '');
  return slug === '' ? 'server' : slug;
}

/** `base`, or `base-2`, `base-3` ... whichever is not taken yet. */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}-${i}`;
    if (!taken.has(id)) return id;
  }
}
