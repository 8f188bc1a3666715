// Whether the app can show accounts at all: still opening, locked by a passcode, or stopped
// by an error the user has to act on (e.g. another Missiva already holds the data folder).
import * as api from '../api';
import type { IpcError } from '../api';
import { accounts } from './accounts.svelte';

export type Phase =
  | { kind: 'opening' }
  | { kind: 'ready' }
  | { kind: 'locked' }
  | { kind: 'failed'; error: IpcError };

class Session {
  phase = $state<Phase>({ kind: 'opening' });
  version = $state<string | null>(null);
  /** An error from an action that has no dialog to show it in (e.g. switching accounts). */
  notice = $state<string | null>(null);

  #subscribed = false;

  /** Subscribes to events first, then reads the accounts, so no change falls in between. */
  async open(): Promise<void> {
    try {
      if (!this.#subscribed) {
        await api.subscribeEvents(() => this.#onEvent());
        this.#subscribed = true;
      }
      await accounts.refresh();
      this.phase = { kind: 'ready' };
    } catch (error) {
      const ipcError = api.toIpcError(error);
      this.phase =
        ipcError.code === 'passcode_required'
          ? { kind: 'locked' }
          : { kind: 'failed', error: ipcError };
      return;
    }
    api.appInfo().then(
      (info) => (this.version = info.version),
      () => {},
    );
  }

  /** Rejects with the backend's error (e.g. `wrong_passcode`) and stays locked. */
  async unlock(passcode: string): Promise<void> {
    await api.unlock(passcode);
    await this.open();
  }

  retry(): Promise<void> {
    this.phase = { kind: 'opening' };
    return this.open();
  }

  report(message: string): void {
    this.notice = message;
  }

  #onEvent(): void {
    // Every event kind, `eventsLost` included, means "re-read"; the list is all we show yet.
    accounts.refresh().catch((error) => this.report(api.toIpcError(error).message));
  }

  reset(): void {
    this.phase = { kind: 'opening' };
    this.version = null;
    this.notice = null;
    this.#subscribed = false;
  }
}

export const session = new Session();
