// How an account looks in the rail: initials on a colour picked by id, so it never changes
// when the account is renamed.

export const PALETTE_SIZE = 8;

/** One or two capital letters: first and last word of the name, or its first letter. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const first = Array.from(words[0])[0] ?? '';
  if (words.length === 1) return first.toLocaleUpperCase();
  const last = Array.from(words[words.length - 1])[0] ?? '';
  return (first + last).toLocaleUpperCase();
}

/** Index into the avatar palette (`avatar-c0` … `avatar-c7` in app.css). */
export function paletteIndex(id: number): number {
  return ((Math.trunc(id) % PALETTE_SIZE) + PALETTE_SIZE) % PALETTE_SIZE;
}
