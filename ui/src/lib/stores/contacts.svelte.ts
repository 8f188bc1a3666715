// The contacts of the account on screen.
import * as api from '../api';
import type { AccountId, ChatId, ContactId, ContactInfo } from '../api';

class Contacts {
  account = $state<AccountId | null>(null);
  list = $state<ContactInfo[]>([]);

  #generation = 0;

  async show(account: AccountId): Promise<void> {
    if (this.account === account) return;
    this.account = account;
    this.list = [];
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const account = this.account;
    if (account === null) return;
    const generation = ++this.#generation;
    const list = await api.listContacts(account);
    if (generation === this.#generation && account === this.account) this.list = list;
  }

  byId(id: ContactId | null): ContactInfo | null {
    return this.list.find((contact) => contact.id === id) ?? null;
  }

  /** Adds `@handle` (rejects with the backend's `{ code, message }`) and returns the new contact. */
  async add(account: AccountId, handle: string): Promise<ContactInfo> {
    const contact = await api.addContact(account, handle);
    if (account === this.account) await this.refresh();
    return contact;
  }

  /** The direct chat with `contact`. */
  chatFor(account: AccountId, contact: ContactId): Promise<ChatId> {
    return api.chatForContact(account, contact);
  }

  reset(): void {
    this.account = null;
    this.list = [];
    this.#generation++;
  }
}

export const contacts = new Contacts();
