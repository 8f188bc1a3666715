// An in-memory stand-in for the Rust backend, for the mock build (`npm run build:mock`), the
// Playwright test and the component tests. It follows the command contract in api.ts,
// including its validation errors and the events it sends on the subscribed channel.
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AccountInfo } from './bindings/AccountInfo';
import type { ChatId } from './bindings/ChatId';
import type { ConnectionState } from './bindings/ConnectionState';
import type { AppEvent } from './api';
import type { IpcError } from './bindings/IpcError';
import type { MessageView } from './bindings/MessageView';
import {
  MOCK_DIRECTORY as MOCK_DIRECTORY_VIEW,
  createMessaging,
  DEFAULT_TIMING,
  fail,
  validHandle,
  type MockMessaging,
  type MockTiming,
  type SeedMessage,
} from './mock-messaging';
import { createImporter } from './mock-import';

export { DEFAULT_TIMING, MOCK_DIRECTORY, type MockTiming, type SeedMessage } from './mock-messaging';
export { MOCK_EXPORT, MOCK_IMPORT_PATH } from './mock-import';

export interface MockOptions {
  /** Accounts that exist at start, by name; the first is selected. */
  accounts?: string[];
  /** When set, every command but `unlock` fails with `passcode_required` until unlocked. */
  passcode?: string;
  /** Every command fails with `already_running`. */
  alreadyRunning?: boolean;
  keystore?: 'os' | 'file';
  /** The relay of the accounts that exist at start (each gets a handle from its name). */
  relay?: string;
  /** What `app_info` offers as `defaultRelay` (null when unset). */
  defaultRelay?: string;
  /** How fast the simulated relay and people are; tests make it fast. */
  timing?: Partial<MockTiming>;
}

export interface MockCall {
  cmd: string;
  args: Record<string, unknown>;
}

export interface MockBackend {
  /** Every command received, in order. */
  readonly calls: MockCall[];
  /** Sends `event` to every subscribed channel, as the backend does when something changes. */
  emit(event: AppEvent): void;
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
  /** A message from `handle` arrives in the account (adding the contact if needed). */
  receive(account: number, handle: string, text: string): MessageView;
  /** The account's connection to its relay changes; going online sends what is pending. */
  setConnection(account: number, state: ConnectionState): void;
  /** Puts messages into the chat with `handle`, oldest first; returns its id. */
  seed(account: number, handle: string, messages: SeedMessage[]): ChatId;
  /** The contact's identity key changed (a warning line appears in the chat). */
  changeIdentity(account: number, handle: string): void;
  /** The contact's safety number was compared. */
  verify(account: number, handle: string): void;
  /** What the UI told the backend: the chat on screen and whether the user is typing. */
  readonly messaging: MockMessaging;
  /** Stops the simulated people (their pending replies and ticks). */
  stop(): void;
}

interface TauriInternals {
  runCallback(id: number, data: unknown): void;
}

const NAME_MAX = 64;

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

const running = new Set<() => void>();

/** Stops the simulated people of every mock backend installed so far (tests call it after each). */
export function stopMockBackends(): void {
  for (const stop of running) stop();
  running.clear();
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
  const timing: MockTiming = { ...DEFAULT_TIMING, ...options.timing };
  const messaging = createMessaging(
    (event) => emit(event),
    timing,
    (id) => accounts.find((account) => account.id === id),
  );

  const importer = createImporter({
    messaging,
    send: (id, index, message) => send(id, index, message),
    step: () => timing.importStep,
  });

  function addAccount(name: string, relay: string | null, handle: string | null): AccountInfo {
    const account: AccountInfo = {
      id: nextId++,
      name,
      relay,
      handle,
      keystore,
      createdAt: new Date().toISOString(),
      selected: accounts.length === 0,
      unread: 0,
    };
    accounts.push(account);
    messaging.accountAdded(account);
    return account;
  }

  /** Like the relay: a handle needs a relay, and one person per handle. */
  function registerHandle(value: unknown, relay: string | null): string | null {
    if (value === null || value === undefined || (typeof value === 'string' && value.trim() === ''))
      return null;
    const handle = validHandle(value);
    if (relay === null) fail('invalid_input', 'A handle needs a relay address.');
    if (handle in MOCK_DIRECTORY_VIEW || accounts.some((account) => account.handle === handle))
      fail('handle_taken', `The handle @${handle} is already taken on this relay.`);
    return handle;
  }

  function find(id: unknown): AccountInfo {
    const account = accounts.find((candidate) => candidate.id === id);
    if (!account) fail('not_found', `No account with id ${String(id)}.`);
    return account;
  }

  let stopped = false;
  running.add(() => {
    stopped = true;
    messaging.stop();
  });

  function emit(event: AppEvent): void {
    for (const channel of channels) send(channel.id, channel.next++, event);
  }

  /** The `index`-th message on channel `id`; like the real backend, after the command returned. */
  function send(id: number, index: number, message: unknown): void {
    const internals = (window as unknown as { __TAURI_INTERNALS__?: TauriInternals })
      .__TAURI_INTERNALS__;
    if (!internals) return;
    setTimeout(() => {
      // A test may have cleared the mocks meanwhile.
      const now = (window as unknown as { __TAURI_INTERNALS__?: TauriInternals }).__TAURI_INTERNALS__;
      if (!stopped && now === internals && typeof internals.runCallback === 'function')
        internals.runCallback(id, { index, message });
    }, 0);
  }

  for (const name of options.accounts ?? []) {
    const handle = options.relay ? name.toLowerCase().replace(/[^a-z0-9_]/g, '') : null;
    addAccount(name, options.relay ?? null, handle);
  }

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
        return {
          version: '0.1.0-mock',
          dataDir: '/mock/missiva',
          keystore,
          defaultRelay: options.defaultRelay ?? null,
        };
      case 'list_accounts':
        return accounts.map((account) => ({ ...account, unread: messaging.unread(account.id) }));
      case 'create_account': {
        const name = validName(args.name);
        const relay = validRelay(args.relay);
        const account = addAccount(name, relay, registerHandle(args.handle, relay));
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
        messaging.accountRemoved(account.id);
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
      default: {
        const imported = importer.handle(cmd, args, (id) => find(id).id);
        if (imported) return imported.result;
        const handled = messaging.handle(cmd, args);
        if (!handled) fail('internal', `Unknown command ${cmd}.`);
        return handled.result;
      }
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
    receive: (account, handle, text) => messaging.receive(account, handle, text),
    setConnection: (account, state) => messaging.setConnection(account, state),
    seed: (account, handle, messages) => messaging.seed(account, handle, messages),
    changeIdentity: (account, handle) => messaging.changeIdentity(account, handle),
    verify: (account, handle) => messaging.verify(account, handle),
    messaging,
    stop: () => messaging.stop(),
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
  const relay = query.get('relay');
  if (relay) options.relay = relay;
  // The mock build offers a default relay like a packaged build would; `?defaultRelay=` clears it.
  const defaultRelay = query.get('defaultRelay');
  options.defaultRelay = defaultRelay ?? 'wss://relay.missiva.example';
  if (options.defaultRelay === '') delete options.defaultRelay;
  const fast = query.get('speed');
  if (fast !== null && Number(fast) > 0) {
    const factor = Number(fast);
    options.timing = Object.fromEntries(
      Object.entries(DEFAULT_TIMING).map(([step, ms]) => [step, Math.round(ms / factor)]),
    ) as Partial<MockTiming>;
  }
  return options;
}
