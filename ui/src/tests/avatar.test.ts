import { expect, test } from 'vitest';
import { initials, paletteIndex } from '../lib/avatar';

test('initials take the first and last word, or the first letter of one word', () => {
  expect(initials('Anna Maria Rossi')).toBe('AR');
  expect(initials('  work  ')).toBe('W');
  expect(initials('élodie durand')).toBe('ÉD');
  expect(initials('')).toBe('?');
});

test('the avatar colour depends on the id only and stays in the palette', () => {
  expect(paletteIndex(1)).toBe(1);
  expect(paletteIndex(9)).toBe(1);
  expect(paletteIndex(-3)).toBe(5);
});
