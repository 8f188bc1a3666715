// An in-memory stand-in for the Rust backend, for the mock build (`npm run build:mock`), the
// Playwright test and the component tests. It follows the command contract in api.ts,
// including its validation errors and the events it sends on the subscribed channel.
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AccountInfo } from './bindings/AccountInfo';
import type { ErrorCode } from './bindings/ErrorCode';
import type { Event } from './bindings/Event';
import type { IpcError } from './bindings/IpcError';

export interface MockOptions {
  /** Accounts that exist at start, by name; the first is selected. */
  accounts?: string[];
  /** When set, every command but `unlock` fails with `passcode_required` until unlocked. */
  passcode?: string;
  /** Every command fails with `already_running`. */
  alreadyRunning?: boolean;
  keystore?: 'os' | 'file';
}

export interface MockCall {
  cmd: string;
  args: Record<string, unknown>;
}

export interface MockBackend {
  /** Every command received, in order. */
  readonly calls: MockCall[];
  /** Sends `event` to every subscribed channel, as the backend does when something changes. */
  emit(event: Event): void;
  /** Changes data behind the UI's back (as another part of the backend would). */
  readonly accounts: AccountInfo[];
  /** The passcode now set (by the options or `set_passcode`), or null. */
  readonly passcode: string | null;
  /**
   * Acts as if Missiva were quit and started again: subscriptions end, and with a passcode set
   * every command but `unlock` fails with `passcode_required` until unlocked.
   */
  restart(): void;
  /** Makes the next `cmd` fail with `error` without doing anything. */
  failNext(cmd: string, error: IpcError): void;
  /** Holds the next `cmd` until the returned function is called, so a busy state can be seen. */
  holdNext(cmd: string): () => void;
}

interface TauriInternals {
  runCallback(id: number, data: unknown): void;
}

const NAME_MAX = 64;

function fail(code: ErrorCode, message: string): never {
  const error: IpcError = { code, message };
  throw error;
}

function channelId(value: unknown): number {
  const id = (value as { id?: unknown } | null)?.id;
  if (typeof id !== 'number') fail('invalid_input', 'onEvent must be a channel');
  return id;
}

function validName(value: unknown): string {
  if (typeof value !== 'string') fail('invalid_input', 'The name must be text.');
  const name = value.trim();
  if (name === '') fail('invalid_input', 'The name must not be empty.');
  if (Array.from(name).length > NAME_MAX)
    fail('invalid_input', `The name must be at most ${NAME_MAX} characters long.`);
  return name;
}

function validRelay(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') fail('invalid_input', 'The relay address must be text.');
  const relay = value.trim();
  if (relay === '') return null;
  if (!/^wss?:\/\/[^\s/]+/i.test(relay))
    fail('invalid_input', 'The relay address must start with ws:// or wss://.');
  return relay;
}

/** Null removes the passcode; a string sets it. Like the backend, only emptiness is refused. */
function validPasscode(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') fail('invalid_input', 'The passcode must be text.');
  if (value === '') fail('invalid_input', 'The passcode must not be empty.');
  return value;
}

export function installMockBackend(options: MockOptions = {}): MockBackend {
  const keystore = options.keystore ?? 'os';
  const accounts: AccountInfo[] = [];
  const channels: { id: number; next: number }[] = [];
  const calls: MockCall[] = [];
  let nextId = 1;
  let passcode: string | null = options.passcode ?? null;
  let locked = passcode !== null;
  const failures = new Map<string, IpcError>();
  const holds = new Map<string, Promise<void>>();

  function addAccount(name: string, relay: string | null): AccountInfo {
    const account: AccountInfo = {
      id: nextId++,
      name,
      relay,
      keystore,
      createdAt: new Date().toISOString(),
      selected: accounts.length === 0,
    };
    accounts.push(account);
    return account;
  }

  function find(id: unknown): AccountInfo {
    const account = accounts.find((candidate) => candidate.id === id);
    if (!account) fail('not_found', `No account with id ${String(id)}.`);
    return account;
  }

  function emit(event: Event): void {
    const internals = (window as unknown as { __TAURI_INTERNALS__: TauriInternals })
      .__TAURI_INTERNALS__;
    for (const channel of channels) {
      const index = channel.next++;
      // Like the real backend: the event arrives after the command that caused it returned.
      setTimeout(() => internals.runCallback(channel.id, { index, message: event }), 0);
    }
  }

  for (const name of options.accounts ?? []) addAccount(name, null);

  function handle(cmd: string, args: Record<string, unknown>): unknown {
    if (options.alreadyRunning)
      fail('already_running', 'Missiva is already running: another window holds the data folder.');
    if (cmd === 'unlock') {
      if (!locked) return null;
      if (args.passcode !== passcode) fail('wrong_passcode', 'The passcode is wrong.');
      locked = false;
      return null;
    }
    if (locked) fail('passcode_required', 'Enter the passcode to open the data folder.');

    switch (cmd) {
      case 'app_info':
        return { version: '0.1.0-mock', dataDir: '/mock/missiva', keystore };
      case 'list_accounts':
        return accounts.map((account) => ({ ...account }));
      case 'create_account': {
        const account = addAccount(validName(args.name), validRelay(args.relay));
        emit({ account: account.id, kind: { type: 'accountCreated' } });
        return { ...account };
      }
      case 'rename_account': {
        const account = find(args.id);
        account.name = validName(args.name);
        emit({ account: account.id, kind: { type: 'accountRenamed' } });
        return { ...account };
      }
      case 'remove_account': {
        const account = find(args.id);
        accounts.splice(accounts.indexOf(account), 1);
        if (account.selected && accounts[0]) accounts[0].selected = true;
        emit({ account: account.id, kind: { type: 'accountRemoved' } });
        return null;
      }
      case 'select_account': {
        const account = find(args.id);
        for (const other of accounts) other.selected = other === account;
        emit({ account: account.id, kind: { type: 'accountSelected' } });
        return null;
      }
      case 'has_passcode':
        return passcode !== null;
      case 'set_passcode':
        passcode = validPasscode(args.passcode);
        return null;
      case 'subscribe_events':
        channels.push({ id: channelId(args.onEvent), next: 0 });
        return null;
      default:
        fail('internal', `Unknown command ${cmd}.`);
    }
  }

  mockIPC((cmd, payload) => {
    const args =
      payload && typeof payload === 'object' && !Array.isArray(payload) && !ArrayBuffer.isView(payload)
        ? (payload as Record<string, unknown>)
        : {};
    calls.push({ cmd, args });
    const run = () => {
      const failure = failures.get(cmd);
      if (failure) {
        failures.delete(cmd);
        throw failure;
      }
      return handle(cmd, args);
    };
    const hold = holds.get(cmd);
    if (!hold) return run();
    holds.delete(cmd);
    return hold.then(run);
  });

  return {
    calls,
    emit,
    accounts,
    get passcode() {
      return passcode;
    },
    restart() {
      channels.length = 0;
      locked = passcode !== null;
    },
    failNext(cmd, error) {
      failures.set(cmd, error);
    },
    holdNext(cmd) {
      let release = () => {};
      holds.set(cmd, new Promise<void>((resolve) => (release = resolve)));
      return () => release();
    },
  };
}

/** Options from the page address, so the mock build can show every state: `?mock=locked`. */
export function mockOptionsFromQuery(search: string): MockOptions {
  const query = new URLSearchParams(search);
  const options: MockOptions = {};
  const scenario = query.get('mock');
  if (scenario === 'locked') options.passcode = '1234';
  if (scenario === 'running') options.alreadyRunning = true;
  if (query.get('keystore') === 'file') options.keystore = 'file';
  const names = query.getAll('account');
  if (names.length > 0) options.accounts = names;
  return options;
}
