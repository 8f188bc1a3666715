import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, test } from 'vitest';
import type { ConnectionState } from '../lib/api';
import { connections } from '../lib/stores/connection.svelte';

/** Answers `connection_state` only when the test releases the answer. */
function backend(): Array<(state: ConnectionState) => void> {
  const answers: Array<(state: ConnectionState) => void> = [];
  mockIPC((cmd) => {
    if (cmd !== 'connection_state') throw new Error(`unexpected ${cmd}`);
    return new Promise<ConnectionState>((resolve) => answers.push(resolve));
  });
  return answers;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe('connection states', () => {
  test('an event that comes while the state is being read wins over the older answer', async () => {
    const answers = backend();
    const loading = connections.load([1]);
    await until(() => answers.length === 1);
    // The account went online after the backend read "connecting", before its answer arrived.
    connections.set(1, 'online');
    answers[0]('connecting');
    await loading;
    expect(connections.of(1)).toBe('online');
  });

  test('with no event meanwhile, the answer is taken, and a forced reload reads again', async () => {
    const answers = backend();
    const loading = connections.load([2]);
    await until(() => answers.length === 1);
    answers[0]('offline');
    await loading;
    expect(connections.of(2)).toBe('offline');
    const again = connections.load([2], true);
    await until(() => answers.length === 2);
    answers[1]('online');
    await again;
    expect(connections.of(2)).toBe('online');
  });
});
