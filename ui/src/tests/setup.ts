import '@testing-library/jest-dom/vitest';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach } from 'vitest';
import { setLocale } from '../lib/i18n';
import { forgetImageUrls } from '../lib/attachment-urls';
import { stopMockBackends } from '../lib/mock-backend';
import { accounts } from '../lib/stores/accounts.svelte';
import { chats } from '../lib/stores/chats.svelte';
import { connections } from '../lib/stores/connection.svelte';
import { contacts } from '../lib/stores/contacts.svelte';
import { dialogs } from '../lib/stores/dialogs.svelte';
import { importer } from '../lib/stores/importer.svelte';
import { session } from '../lib/stores/session.svelte';
import { settings } from '../lib/stores/settings.svelte';

// jsdom has no layout, so nothing ever resizes; Svelte's `bind:clientHeight` still needs the API.
if (typeof globalThis.ResizeObserver === 'undefined') {
  globalThis.ResizeObserver = class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  };
}

beforeEach(() => {
  // Tests read the English strings, whatever the machine's language.
  setLocale('en');
  accounts.reset();
  chats.reset();
  connections.reset();
  contacts.reset();
  dialogs.close();
  importer.reset();
  session.reset();
  settings.reset();
});

afterEach(() => {
  stopMockBackends();
  forgetImageUrls();
  clearMocks();
});
