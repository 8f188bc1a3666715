// The chats of the account on screen, the chat open in it, and who is typing. Tells the
// backend which chat is visible and marks it read while it is shown.
import { Coalescer } from '../coalescer';
import * as api from '../api';
import type { AccountId, ChatId, ChatSummary } from '../api';
import { messages } from './messages.svelte';

/** A peer that said "typing" and then went quiet stops showing as typing after this long. */
export const TYPING_TIMEOUT_MS = 6000;

/** Newest activity first; ties by id, newest first, so the order never flickers. */
export function byActivity(a: ChatSummary, b: ChatSummary): number {
  // Compared as instants: RFC 3339 strings with other offsets or precisions do not sort as text.
  return Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt) || b.id - a.id;
}

class Chats {
  account = $state<AccountId | null>(null);
  /** As the backend reported them; `sorted` is what the list shows. */
  list = $state<ChatSummary[]>([]);
  loaded = $state(false);
  selectedId = $state<ChatId | null>(null);
  /** Chats (of the account on screen) whose peer is typing now. */
  typing = $state<Record<ChatId, boolean>>({});

  sorted = $derived([...this.list].sort(byActivity));
  selected = $derived(this.list.find((chat) => chat.id === this.selectedId) ?? null);

  /** The chat open in each account, so switching back shows it again. */
  #openIn = new Map<AccountId, ChatId>();
  /** Drafts typed here and not yet confirmed by a re-read of the list. */
  #drafts = new Map<string, string>();
  #typingTimers = new Map<ChatId, ReturnType<typeof setTimeout>>();
  #loading: Promise<void> | null = null;
  #reads = new Coalescer();
  #marking = new Set<ChatId>();

  /** Shows the chats of `account` (and the chat that was open there). */
  show(account: AccountId): Promise<void> {
    if (this.account === account && this.#loading) return this.#loading;
    const previous = this.account;
    if (previous !== null && previous !== account) {
      api.setVisibleChat(previous, null).catch(() => {});
    }
    this.account = account;
    this.list = [];
    this.loaded = false;
    this.selectedId = null;
    this.#clearTyping();
    messages.close();
    this.#reads.reset();
    this.#loading = (async () => {
      await this.refresh();
      const remembered = this.#openIn.get(account);
      if (this.account === account && remembered !== undefined && this.selectedId === null) {
        if (this.list.some((chat) => chat.id === remembered)) await this.select(remembered);
      }
    })();
    return this.#loading;
  }

  /** Re-reads the list; a burst of events costs two reads, not one per event. */
  refresh(): Promise<void> {
    return this.#reads.run(async () => {
      const account = this.account;
      if (account === null) return;
      const list = await api.listChats(account);
      if (account !== this.account) return;
      this.list = list;
      this.loaded = true;
      for (const chat of list) {
        if (this.#drafts.get(`${account}:${chat.id}`) === chat.draft) this.#drafts.delete(`${account}:${chat.id}`);
      }
      this.#markShownRead();
    });
  }

  /** Opens `chat`: its messages load, the backend learns it is on screen, and it is marked read. */
  async select(chat: ChatId): Promise<void> {
    const account = this.account;
    if (account === null) return;
    this.selectedId = chat;
    this.#openIn.set(account, chat);
    const opening = messages.open(account, chat);
    await api.setVisibleChat(account, chat);
    this.#markShownRead();
    await opening;
  }

  /** Closes the open chat (Escape): nothing is on screen any more. */
  async deselect(): Promise<void> {
    const account = this.account;
    if (account === null || this.selectedId === null) return;
    this.selectedId = null;
    this.#openIn.delete(account);
    messages.close();
    await api.setVisibleChat(account, null);
  }

  /** The draft to show in the composer of `chat`: what was typed here, else the backend's. */
  draftFor(chat: ChatId): string {
    const local = this.#drafts.get(`${this.account}:${chat}`);
    return local ?? this.list.find((summary) => summary.id === chat)?.draft ?? '';
  }

  /** Keeps `text` as the draft of `chat` (in memory at once, in the backend with `set_draft`). */
  async saveDraft(account: AccountId, chat: ChatId, text: string): Promise<void> {
    const key = `${account}:${chat}`;
    const known = this.#drafts.get(key) ?? this.list.find((summary) => summary.id === chat)?.draft ?? '';
    if (known === text && account === this.account) return;
    this.#drafts.set(key, text);
    await api.setDraft(account, chat, text);
  }

  /** Tells the peer whether the user is typing in `chat` (best effort: a lost one does not matter). */
  tellTyping(account: AccountId, chat: ChatId, typing: boolean): void {
    api.setTyping(account, chat, typing).catch(() => {});
  }

  /** A `typing` event; the indicator also goes away by itself if the stop never comes. */
  setTyping(chat: ChatId, typing: boolean): void {
    const timer = this.#typingTimers.get(chat);
    if (timer) clearTimeout(timer);
    this.#typingTimers.delete(chat);
    if (typing) {
      this.typing[chat] = true;
      this.#typingTimers.set(
        chat,
        setTimeout(() => this.setTyping(chat, false), TYPING_TIMEOUT_MS),
      );
    } else {
      delete this.typing[chat];
    }
  }

  /** The chat on screen has unread messages: mark them read (once at a time). */
  #markShownRead(): void {
    const account = this.account;
    const chat = this.selected;
    if (account === null || !chat || chat.unread === 0 || this.#marking.has(chat.id)) return;
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    this.#marking.add(chat.id);
    api
      .markRead(account, chat.id)
      .catch(() => {})
      .finally(() => this.#marking.delete(chat.id));
  }

  /** Called when the window becomes visible again. */
  windowShown(): void {
    this.#markShownRead();
  }

  #clearTyping(): void {
    for (const timer of this.#typingTimers.values()) clearTimeout(timer);
    this.#typingTimers.clear();
    this.typing = {};
  }

  reset(): void {
    this.account = null;
    this.list = [];
    this.loaded = false;
    this.selectedId = null;
    this.#openIn.clear();
    this.#drafts.clear();
    this.#clearTyping();
    this.#loading = null;
    this.#reads.reset();
    this.#marking.clear();
    messages.reset();
  }
}

export const chats = new Chats();
