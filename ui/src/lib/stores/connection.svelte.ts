// Whether each account is talking to its relay, from `connection_state` and then the
// `connectionChanged` events.
import * as api from '../api';
import type { AccountId, ConnectionState } from '../api';

class Connections {
  states = $state<Record<AccountId, ConnectionState>>({});

  /** Reads the state of the accounts not known yet (new ones, or all after `eventsLost`). */
  async load(ids: readonly AccountId[], force = false): Promise<void> {
    await Promise.all(
      ids
        .filter((id) => force || !(id in this.states))
        .map(async (id) => {
          try {
            this.states[id] = await api.connectionState(id);
          } catch {
            // An account removed meanwhile, or a backend without messaging: show nothing.
          }
        }),
    );
  }

  set(id: AccountId, state: ConnectionState): void {
    this.states[id] = state;
  }

  of(id: AccountId): ConnectionState | null {
    return this.states[id] ?? null;
  }

  reset(): void {
    this.states = {};
  }
}

export const connections = new Connections();
