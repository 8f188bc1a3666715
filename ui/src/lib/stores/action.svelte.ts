import { toIpcError } from '../api';

/**
 * A backend call started by a button: `busy` while it runs (a second start is ignored) and the
 * backend's message in `error` when it fails. Dialogs use it for their one action.
 */
export function action(run: () => Promise<void>) {
  let busy = $state(false);
  let error = $state<string | null>(null);
  return {
    get busy() {
      return busy;
    },
    get error() {
      return error;
    },
    async start(): Promise<void> {
      if (busy) return;
      busy = true;
      error = null;
      try {
        await run();
      } catch (failure) {
        error = toIpcError(failure).message;
      } finally {
        busy = false;
      }
    },
  };
}
