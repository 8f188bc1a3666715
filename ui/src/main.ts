import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { currentLocale } from './lib/i18n';

async function start(): Promise<void> {
  // Only `vite build --mode mock` keeps this branch; in the real build it is dead code and
  // the mock backend is not in the bundle.
  if (import.meta.env.MODE === 'mock') {
    const { installMockBackend, mockOptionsFromQuery } = await import('./lib/mock-backend');
    const backend = installMockBackend(mockOptionsFromQuery(window.location.search));
    // The end-to-end test plays the other side (a message from someone else) through this.
    (window as unknown as { __missivaMock: unknown }).__missivaMock = backend;
  }
  document.documentElement.lang = currentLocale();
  const target = document.getElementById('app');
  if (target) mount(App, { target });
}

void start();
