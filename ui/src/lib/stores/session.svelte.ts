// Whether the app can show accounts at all: still opening, locked by a passcode, or stopped
// by an error the user has to act on (e.g. another Missiva already holds the data folder).
import * as api from '../api';
import type { AccountId, AppEvent, ChatId, IpcError } from '../api';
import { accounts } from './accounts.svelte';
import { chats } from './chats.svelte';
import { connections } from './connection.svelte';
import { contacts } from './contacts.svelte';
import { importer } from './importer.svelte';
import { messages } from './messages.svelte';

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
        await api.subscribeEvents((event) => this.#onEvent(event));
        this.#subscribed = true;
      }
      await accounts.refresh();
      this.phase = { kind: 'ready' };
      void connections.load(accounts.list.map((account) => account.id));
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

  #onEvent(event: AppEvent): void {
    const kind = event.kind;
    const shown = event.account !== null && event.account === chats.account;
    switch (kind.type) {
      case 'accountCreated':
      case 'accountRenamed':
      case 'accountRemoved':
      case 'accountSelected':
        this.#refreshAccounts();
        break;
      case 'eventsLost':
        // Some events never arrived: re-read everything on screen.
        this.#refreshAccounts(true);
        if (chats.account !== null) {
          this.#quietly(chats.refresh());
          this.#quietly(contacts.refresh());
          this.#quietly(messages.refresh());
        }
        break;
      case 'chatsChanged':
        // The unread count on the rail can change with any chat of any account.
        this.#refreshAccounts();
        if (shown) this.#quietly(chats.refresh());
        break;
      case 'incomingMessage':
      case 'messagesChanged':
        this.#refreshAccounts();
        if (shown) {
          this.#quietly(chats.refresh());
          if (kind.chat === messages.chat) this.#quietly(messages.refresh());
        }
        break;
      case 'contactsChanged':
      case 'identityChanged':
        if (shown) {
          this.#quietly(contacts.refresh());
          this.#quietly(chats.refresh());
        }
        break;
      case 'connectionChanged':
        if (event.account !== null) connections.set(event.account, kind.state);
        break;
      case 'typing':
        if (shown) chats.setTyping(kind.chat, kind.typing);
        break;
      case 'openChat':
        if (event.account !== null) this.#quietly(this.openChat(event.account, kind.chat));
        break;
      case 'importFileDropped':
        // Into the account on screen (the event names the selected one, which may still be
        // switching); with no account shown there is nowhere to import to.
        if (this.phase.kind === 'ready' && chats.account !== null)
          this.#quietly(importer.start(chats.account, kind.path));
        break;
    }
  }

  /** A notification was clicked: show its account and chat. */
  async openChat(account: AccountId, chat: ChatId): Promise<void> {
    await accounts.select(account);
    await chats.show(account);
    await chats.select(chat);
  }

  #refreshAccounts(connectionsToo = false): void {
    accounts
      .refresh()
      .then(() => connections.load(accounts.list.map((account) => account.id), connectionsToo))
      .catch((error) => this.report(api.toIpcError(error).message));
  }

  #quietly(work: Promise<unknown>): void {
    work.catch((error) => this.report(api.toIpcError(error).message));
  }

  reset(): void {
    this.phase = { kind: 'opening' };
    this.version = null;
    this.notice = null;
    this.#subscribed = false;
  }
}

export const session = new Session();
