import '@testing-library/jest-dom/vitest';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach } from 'vitest';
import { setLocale } from '../lib/i18n';
import { accounts } from '../lib/stores/accounts.svelte';
import { dialogs } from '../lib/stores/dialogs.svelte';
import { session } from '../lib/stores/session.svelte';
import { settings } from '../lib/stores/settings.svelte';

beforeEach(() => {
  // Tests read the English strings, whatever the machine's language.
  setLocale('en');
  accounts.reset();
  dialogs.close();
  session.reset();
  settings.reset();
});

afterEach(() => {
  clearMocks();
});
