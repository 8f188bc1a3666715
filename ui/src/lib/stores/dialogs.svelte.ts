// Which dialog, if any, is open. One at a time, like every desktop app.
import type { AccountInfo } from '../api';

export type OpenDialog =
  | { kind: 'create' }
  | { kind: 'settings' }
  | { kind: 'rename'; account: AccountInfo }
  | { kind: 'remove'; account: AccountInfo }
  | { kind: 'addContact'; account: AccountInfo }
  | { kind: 'newGroup'; account: AccountInfo };

class Dialogs {
  current = $state<OpenDialog | null>(null);

  open(dialog: OpenDialog): void {
    this.current = dialog;
  }

  close(): void {
    this.current = null;
  }
}

export const dialogs = new Dialogs();
