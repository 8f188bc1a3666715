// The group on screen (when the open chat is a group): its name, members and our role, read
// again whenever its chat changes (a membership change writes a line in it).
import * as api from '../api';
import type { AccountId, ChatId, GroupInfo } from '../api';

class Group {
  info = $state<GroupInfo | null>(null);

  #generation = 0;

  /** Reads the group of `chat`; `null` clears it (the open chat is not a group). */
  async show(account: AccountId, chat: ChatId | null): Promise<void> {
    const generation = ++this.#generation;
    if (chat === null) {
      this.info = null;
      return;
    }
    if (this.info?.chat !== chat) this.info = null;
    const info = await api.groupInfo(account, chat);
    if (generation === this.#generation) this.info = info;
  }

  /** Takes what a change returned as the new state. */
  set(info: GroupInfo): void {
    this.#generation++;
    this.info = info;
  }
}

export const group = new Group();
