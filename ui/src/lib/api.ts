// The one module that talks to the Rust backend. Components and stores call these typed
// functions; nothing else imports `@tauri-apps/api`.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { AccountId } from './bindings/AccountId';
import type { AccountInfo } from './bindings/AccountInfo';
import type { AppInfo } from './bindings/AppInfo';
import type { ErrorCode } from './bindings/ErrorCode';
import type { Event } from './bindings/Event';
import type { IpcError } from './bindings/IpcError';

export type { AccountId, AccountInfo, AppInfo, ErrorCode, Event, IpcError };

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'already_running',
  'passcode_required',
  'wrong_passcode',
  'not_found',
  'invalid_input',
  'key_missing',
  'wrong_key',
  'keystore_unavailable',
  'damaged_data',
  'io',
  'internal',
]);

/** True when `value` is the `{ code, message }` error every command rejects with. */
export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === 'string' && ERROR_CODES.has(code) && typeof message === 'string';
}

/** Turns anything a command rejected with into an `IpcError`, so callers handle one shape. */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return { code: 'internal', message };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

export function appInfo(): Promise<AppInfo> {
  return call('app_info');
}

export function listAccounts(): Promise<AccountInfo[]> {
  return call('list_accounts');
}

export function unlock(passcode: string): Promise<null> {
  return call('unlock', { passcode });
}

export function createAccount(name: string, relay: string | null): Promise<AccountInfo> {
  return call('create_account', { name, relay });
}

export function renameAccount(id: AccountId, name: string): Promise<AccountInfo> {
  return call('rename_account', { id, name });
}

export function removeAccount(id: AccountId): Promise<null> {
  return call('remove_account', { id });
}

/** Whether a passcode protects the account keys (and is asked for at every start). */
export function hasPasscode(): Promise<boolean> {
  return call('has_passcode');
}

/**
 * Sets or changes the passcode (a string; every account key is re-wrapped, which takes a moment)
 * or removes it (`null`). Rejects with `invalid_input` for an empty string.
 */
export function setPasscode(passcode: string | null): Promise<null> {
  return call('set_passcode', { passcode });
}

export function selectAccount(id: AccountId): Promise<null> {
  return call('select_account', { id });
}

/** Delivers every backend event to `handler` until the window closes. */
export function subscribeEvents(handler: (event: Event) => void): Promise<null> {
  const onEvent = new Channel<Event>(handler);
  return call('subscribe_events', { onEvent });
}
