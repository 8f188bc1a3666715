// String catalogue lookup. English is the reference catalogue and the fallback.
import en from './en.json';
import it from './it.json';

export type MessageKey = keyof typeof en;
export type Catalogue = Record<MessageKey, string>;

export const catalogues: Record<string, Catalogue> = { en, it };

/** The first of the user's preferred languages that has a catalogue, else English. */
export function pickLocale(preferred: readonly string[]): string {
  for (const tag of preferred) {
    const language = tag.toLowerCase().split('-')[0];
    if (language in catalogues) return language;
  }
  return 'en';
}

function preferredLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

let locale = pickLocale(preferredLanguages());

/** The locale strings are currently taken from. */
export function currentLocale(): string {
  return locale;
}

/** Switches the catalogue; used by tests and by `main.ts` to set `<html lang>`. */
export function setLocale(next: string): void {
  locale = next in catalogues ? next : 'en';
}

/** The message for `key`, with `{name}` placeholders replaced from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const template = catalogues[locale]?.[key] ?? en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** {@link t} for a count: the key's `.one` form when `count` is 1 and there is one, else the key
 *  with `{count}` (and `params`) filled in. Numbers are written the locale's way (`1,000,000`,
 *  `1.000.000`). */
export function tc(
  key: MessageKey,
  count: number,
  params: Record<string, string | number> = {},
): string {
  const numbers = new Intl.NumberFormat(locale);
  const written = Object.fromEntries(
    Object.entries({ ...params, count }).map(([name, value]) => [
      name,
      typeof value === 'number' ? numbers.format(value) : value,
    ]),
  );
  const one = `${key}.one`;
  if (count === 1 && one in en) return t(one as MessageKey, written);
  return t(key, written);
}
