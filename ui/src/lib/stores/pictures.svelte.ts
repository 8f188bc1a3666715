// Group pictures as `blob:` URLs, read once per group and change (the key a chat summary or a
// group's revision gives) and kept while the app runs.
import * as api from '../api';
import type { AccountId, ChatId } from '../api';

class Pictures {
  #urls = $state<Record<string, string | null>>({});
  #loading = new Set<string>();
  /** The key each group's URL was read at, to free the old one when it changes. */
  #keys = new Map<string, number>();

  /** The picture of `chat` at `key` (null: none, or not read yet; it is read now). */
  url(account: AccountId, chat: ChatId, key: number | null): string | null {
    if (key === null) return null;
    const id = `${account}:${chat}:${key}`;
    if (id in this.#urls) return this.#urls[id];
    if (!this.#loading.has(id)) {
      this.#loading.add(id);
      void this.#load(account, chat, key, id);
    }
    return null;
  }

  async #load(account: AccountId, chat: ChatId, key: number, id: string): Promise<void> {
    let url: string | null = null;
    try {
      const bytes = await api.groupAvatar(account, chat);
      if (bytes.byteLength > 0) url = URL.createObjectURL(new Blob([bytes]));
    } catch {
      // No picture shown: the initials stay.
    }
    const group = `${account}:${chat}`;
    const previous = this.#keys.get(group);
    if (previous !== undefined && previous !== key) {
      const old = `${group}:${previous}`;
      const oldUrl = this.#urls[old];
      if (oldUrl) URL.revokeObjectURL(oldUrl);
      delete this.#urls[old];
    }
    this.#keys.set(group, key);
    this.#urls[id] = url;
    this.#loading.delete(id);
  }
}

export const pictures = new Pictures();
