import { describe, expect, test } from 'vitest';
import en from '../lib/i18n/en.json';
import it from '../lib/i18n/it.json';
import { pickLocale, setLocale, t, tc } from '../lib/i18n';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  test('English and Italian have exactly the same keys', () => {
    expect(Object.keys(it).sort()).toEqual(Object.keys(en).sort());
  });

  test('every message has the same placeholders in both languages', () => {
    const english = en as Record<string, string>;
    const italian = it as Record<string, string>;
    for (const key of Object.keys(english)) {
      expect({ key, placeholders: placeholders(italian[key] ?? '') }).toEqual({
        key,
        placeholders: placeholders(english[key]),
      });
    }
  });

  test('no message is empty', () => {
    for (const catalogue of [en, it]) {
      for (const [key, text] of Object.entries(catalogue)) expect({ key, text }).not.toEqual({ key, text: '' });
    }
  });
});

describe('tc', () => {
  test('says one thing in the singular where the catalogue has it', () => {
    setLocale('en');
    expect(tc('import.unparsed', 1)).toBe('1 line not understood');
    expect(tc('import.unparsed', 2)).toBe('2 lines not understood');
    expect(tc('import.unparsed', 0)).toBe('0 lines not understood');
    expect(tc('import.done.media', 1)).toBe('1 media file stored');
    // No singular form: the count is filled in.
    expect(tc('import.unparsed.more', 1)).toBe('…and 1 more');
    // Numbers are written the locale's way.
    expect(tc('import.done.added', 1000000)).toBe('1,000,000 messages added');
    expect(tc('import.count.media', 2500, { found: 1200, missing: 1300 })).toBe(
      '2,500 media: 1,200 found, 1,300 missing',
    );
    setLocale('it');
    expect(tc('import.count.system', 1)).toBe('1 evento di sistema');
    expect(tc('import.count.system', 4)).toBe('4 eventi di sistema');
    expect(tc('import.count.messages', 970140)).toBe('970.140 messaggi');
    setLocale('en');
  });
});

describe('t', () => {
  test('fills placeholders', () => {
    setLocale('en');
    expect(t('remove.body', { name: 'Work' })).toBe(
      'Remove account “Work”? Its messages and keys will be deleted from this computer.',
    );
  });

  test('speaks Italian when asked', () => {
    setLocale('it');
    expect(t('welcome.title')).toBe('Benvenuto in Missiva');
    setLocale('en');
  });

  test('picks the first supported language and falls back to English', () => {
    expect(pickLocale(['de-DE', 'it-IT', 'en-US'])).toBe('it');
    expect(pickLocale(['en-GB'])).toBe('en');
    expect(pickLocale(['fr'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });
});
