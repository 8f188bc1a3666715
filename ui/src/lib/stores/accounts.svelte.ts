// The accounts on this computer, as the backend last reported them.
import * as api from '../api';
import type { AccountId, AccountInfo } from '../api';

class Accounts {
  /** In creation order, exactly as `list_accounts` returned them. */
  list = $state<AccountInfo[]>([]);
  selected = $derived(this.list.find((account) => account.selected) ?? null);

  #inFlight: Promise<void> | null = null;
  #again = false;

  /**
   * Re-reads the list. Calls that arrive while a read is running join it and cause one more
   * read afterwards, so a burst of events costs two queries, not one per event.
   */
  refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = (async () => {
      try {
        do {
          this.#again = false;
          this.list = await api.listAccounts();
        } while (this.#again);
      } finally {
        this.#inFlight = null;
      }
    })();
    return this.#inFlight;
  }

  /** Creates an account and shows it: a new account is what the user wants to set up next. */
  async create(name: string, relay: string | null, handle: string | null = null): Promise<AccountInfo> {
    const created = await api.createAccount(name, relay, handle);
    if (!created.selected) await api.selectAccount(created.id);
    await this.refresh();
    return created;
  }

  /** The relay `app_info` offers new accounts, or null (none, or an older backend). */
  async defaultRelay(): Promise<string | null> {
    try {
      return (await api.appInfo()).defaultRelay ?? null;
    } catch {
      return null;
    }
  }

  async rename(id: AccountId, name: string): Promise<void> {
    await api.renameAccount(id, name);
    await this.refresh();
  }

  async remove(id: AccountId): Promise<void> {
    await api.removeAccount(id);
    await this.refresh();
    const first = this.list[0];
    if (first && !this.selected) {
      await api.selectAccount(first.id);
      await this.refresh();
    }
  }

  async select(id: AccountId): Promise<void> {
    if (this.selected?.id === id) return;
    // Show the switch at once; the refresh below confirms it (or puts the truth back).
    this.list = this.list.map((account) => ({ ...account, selected: account.id === id }));
    try {
      await api.selectAccount(id);
    } finally {
      await this.refresh();
    }
  }

  /** Forgets everything; for tests, which mount the app many times in one module. */
  reset(): void {
    this.list = [];
    this.#inFlight = null;
    this.#again = false;
  }
}

export const accounts = new Accounts();
