// Whether each account is talking to its relay, from `connection_state` and then the
// `connectionChanged` events.
import * as api from '../api';
import type { AccountId, ConnectionState } from '../api';

class Connections {
  states = $state<Record<AccountId, ConnectionState>>({});
  /** Events seen per account: a read that was under way when an event came is older than it. */
  #changes: Record<AccountId, number> = {};

  /** Reads the state of the accounts not known yet (new ones, or all after `eventsLost`). */
  async load(ids: readonly AccountId[], force = false): Promise<void> {
    await Promise.all(
      ids
        .filter((id) => force || !(id in this.states))
        .map(async (id) => {
          const changes = this.#changes[id] ?? 0;
          try {
            const state = await api.connectionState(id);
            // The account connected (say) while the answer was on its way: the event is newer.
            if ((this.#changes[id] ?? 0) === changes) this.states[id] = state;
          } catch {
            // An account removed meanwhile, or a backend without messaging: show nothing.
          }
        }),
    );
  }

  set(id: AccountId, state: ConnectionState): void {
    this.#changes[id] = (this.#changes[id] ?? 0) + 1;
    this.states[id] = state;
  }

  of(id: AccountId): ConnectionState | null {
    return this.states[id] ?? null;
  }

  reset(): void {
    this.states = {};
    this.#changes = {};
  }
}

export const connections = new Connections();
