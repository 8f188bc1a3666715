// The messages of the chat on screen, oldest first: the newest page when the chat opens, older
// pages as the user scrolls up (`list_messages(before, limit)`), and a re-read of what is
// loaded whenever the backend says the chat changed.
import { Coalescer } from '../coalescer';
import * as api from '../api';
import type { AccountId, ChatId, MessageView, PollSetup } from '../api';

export const PAGE = 50;

class Messages {
  account = $state<AccountId | null>(null);
  chat = $state<ChatId | null>(null);
  list = $state<MessageView[]>([]);
  /** False once a page came back short: the first message of the chat is loaded. */
  hasOlder = $state(false);
  loading = $state(false);
  loadingOlder = $state(false);

  #generation = 0;
  #reads = new Coalescer();

  /** Shows `chat` of `account`, starting from its newest page. */
  async open(account: AccountId, chat: ChatId): Promise<void> {
    if (this.account === account && this.chat === chat) return;
    const generation = ++this.#generation;
    this.account = account;
    this.chat = chat;
    this.list = [];
    this.hasOlder = false;
    this.loading = true;
    this.#reads.reset();
    try {
      const page = await api.listMessages(account, chat, null, PAGE);
      if (generation !== this.#generation) return;
      this.list = page;
      this.hasOlder = page.length === PAGE;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  close(): void {
    this.#generation++;
    this.account = null;
    this.chat = null;
    this.list = [];
    this.hasOlder = false;
    this.loading = false;
    this.loadingOlder = false;
    this.#reads.reset();
  }

  /** Loads the page before the oldest loaded message; resolves to how many came. */
  async loadOlder(): Promise<number> {
    const { account, chat } = this;
    const oldest = this.list[0];
    if (account === null || chat === null || !oldest || !this.hasOlder || this.loadingOlder) return 0;
    const generation = this.#generation;
    this.loadingOlder = true;
    try {
      const page = await api.listMessages(account, chat, oldest.id, PAGE);
      if (generation !== this.#generation) return 0;
      const known = new Set(this.list.map((message) => message.id));
      const fresh = page.filter((message) => !known.has(message.id));
      this.list = [...fresh, ...this.list];
      this.hasOlder = page.length === PAGE;
      return fresh.length;
    } finally {
      if (generation === this.#generation) this.loadingOlder = false;
    }
  }

  /**
   * Re-reads the newest messages, as many as are loaded (so ticks on older ones update too),
   * and keeps the older pages above them. Calls during a read join it and cause one more.
   */
  refresh(): Promise<void> {
    return this.#reads.run(() => this.#reread());
  }

  async #reread(): Promise<void> {
    const { account, chat } = this;
    if (account === null || chat === null) return;
    const generation = this.#generation;
    const limit = Math.min(1000, Math.max(PAGE, this.list.length));
    const newest = await api.listMessages(account, chat, null, limit);
    if (generation !== this.#generation) return;
    this.list = merge(this.list, newest, limit);
    if (newest.length < limit) this.hasOlder = false;
  }

  /** Sends `text` to the chat on screen; the message shows at once (pending). */
  async send(text: string): Promise<MessageView> {
    const { account, chat } = this;
    if (account === null || chat === null) throw new Error('no chat is open');
    const sent = await api.sendMessage(account, chat, text);
    if (this.account === account && this.chat === chat && !this.list.some((m) => m.id === sent.id)) {
      this.list = [...this.list, sent];
    }
    return sent;
  }

  /** Creates a poll in the chat on screen; it shows at once (pending). */
  async createPoll(setup: PollSetup): Promise<MessageView> {
    const { account, chat } = this;
    if (account === null || chat === null) throw new Error('no chat is open');
    const poll = await api.createPoll(account, chat, setup);
    if (this.account === account && this.chat === chat && !this.list.some((m) => m.id === poll.id)) {
      this.list = [...this.list, poll];
    }
    return poll;
  }

  /** Votes in, retracts from or closes a poll of the chat on screen, then shows the result. */
  async pollAction(poll: string, action: { vote: number[] } | 'retract' | 'close'): Promise<void> {
    const account = this.account;
    if (account === null) throw new Error('no chat is open');
    if (action === 'retract') await api.retractVote(account, poll);
    else if (action === 'close') await api.closePoll(account, poll);
    else await api.votePoll(account, poll, action.vote);
    await this.refresh();
  }

  reset(): void {
    this.close();
  }
}

/**
 * `newest` is the backend's newest `limit` messages. When it is shorter than `limit` it is the
 * whole chat; otherwise the loaded messages older than its first one stay above it.
 */
export function merge(loaded: MessageView[], newest: MessageView[], limit: number): MessageView[] {
  if (newest.length < limit || newest.length === 0) return newest;
  const at = loaded.findIndex((message) => message.id === newest[0].id);
  if (at <= 0) return at === 0 ? newest : [...loaded.filter((m) => !newest.some((n) => n.id === m.id)), ...newest];
  return [...loaded.slice(0, at), ...newest];
}

export const messages = new Messages();
