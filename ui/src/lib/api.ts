// The one module that talks to the Rust backend. Components and stores call these typed
// functions; nothing else imports `@tauri-apps/api`.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { AccountId } from './bindings/AccountId';
import type { AccountInfo } from './bindings/AccountInfo';
import type { AppInfo } from './bindings/AppInfo';
import type { ChatId } from './bindings/ChatId';
import type { ChatSummary } from './bindings/ChatSummary';
import type { ConnectionState } from './bindings/ConnectionState';
import type { ContactId } from './bindings/ContactId';
import type { ContactInfo } from './bindings/ContactInfo';
import type { ErrorCode } from './bindings/ErrorCode';
import type { Event } from './bindings/Event';
import type { EventKind } from './bindings/EventKind';
import type { IpcError } from './bindings/IpcError';
import type { MessagePreview } from './bindings/MessagePreview';
import type { MessageState } from './bindings/MessageState';
import type { MessageView } from './bindings/MessageView';
import type { AttachmentView } from './bindings/AttachmentView';
import type { SearchHit } from './bindings/SearchHit';
// The WhatsApp import's types; its report is snake_case, being also the CLI's `--json`.
import type { DateOrder } from './bindings/DateOrder';
import type { DateOrderBasis } from './bindings/DateOrderBasis';
import type { ImportFormat } from './bindings/ImportFormat';
import type { ImportPreview } from './bindings/ImportPreview';
import type { ImportProgress } from './bindings/ImportProgress';
import type { ImportReport } from './bindings/ImportReport';
import type { ImportSummary } from './bindings/ImportSummary';
import type { ImportTarget } from './bindings/ImportTarget';
import type { ImportWarning } from './bindings/ImportWarning';
import type { PreviewEntry } from './bindings/PreviewEntry';
import type { UnparsedLine } from './bindings/UnparsedLine';
import type { MessageKind } from './bindings/MessageKind';
import type { PollView } from './bindings/PollView';
import type { PollOptionView } from './bindings/PollOptionView';
import type { LivePoll } from './bindings/LivePoll';
import type { PollSetup } from './bindings/PollSetup';
import type { GroupInfo } from './bindings/GroupInfo';
import type { GroupMember } from './bindings/GroupMember';

export type {
  AccountId,
  AccountInfo,
  AppInfo,
  ChatId,
  ChatSummary,
  ConnectionState,
  ContactId,
  ContactInfo,
  ErrorCode,
  Event,
  EventKind,
  IpcError,
  MessagePreview,
  MessageState,
  MessageView,
  AttachmentView,
  SearchHit,
  DateOrder,
  DateOrderBasis,
  ImportFormat,
  ImportPreview,
  ImportProgress,
  ImportReport,
  ImportSummary,
  ImportTarget,
  ImportWarning,
  PreviewEntry,
  UnparsedLine,
  MessageKind,
  PollView,
  PollOptionView,
  LivePoll,
  PollSetup,
  GroupInfo,
  GroupMember,
};

/**
 * What arrives on the event channel: the backend's events, and the shell's own `openChat`
 * (a notification was clicked: show that account and chat) and `importFileDropped` (a file was
 * dropped on the window: offer to import it; `account` is the selected one).
 */
export type AppEvent =
  | Event
  | { account: AccountId; kind: { type: 'openChat'; chat: ChatId } }
  | { account: AccountId; kind: { type: 'importFileDropped'; path: string } };

/** True when `value` is the `{ code, message }` error every command rejects with. */
export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  // A code this UI does not know yet (a newer backend) still carries a message for people.
  return typeof code === 'string' && code !== '' && typeof message === 'string';
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

/**
 * Creates an account. With a relay and a handle the backend also registers the handle there;
 * a taken handle rejects and leaves no account behind.
 */
export function createAccount(
  name: string,
  relay: string | null,
  handle: string | null = null,
): Promise<AccountInfo> {
  return call('create_account', { name, relay, handle });
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

// Messaging: every command names the account first.

export function connectionState(account: AccountId): Promise<ConnectionState> {
  return call('connection_state', { account });
}

export function listContacts(account: AccountId): Promise<ContactInfo[]> {
  return call('list_contacts', { account });
}

/** Finds `handle` (with or without the @) on the relay, adds the contact and its direct chat. */
export function addContact(account: AccountId, handle: string): Promise<ContactInfo> {
  return call('add_contact', { account, handle });
}

/** Newest activity first. */
export function listChats(account: AccountId): Promise<ChatSummary[]> {
  return call('list_chats', { account });
}

export function chatForContact(account: AccountId, contact: ContactId): Promise<ChatId> {
  return call('chat_for_contact', { account, contact });
}

/** Oldest first: the `limit` newest messages before the message `before` (or the newest). */
export function listMessages(
  account: AccountId,
  chat: ChatId,
  before: string | null,
  limit: number,
): Promise<MessageView[]> {
  return call('list_messages', { account, chat, before, limit });
}

export function sendMessage(account: AccountId, chat: ChatId, text: string): Promise<MessageView> {
  return call('send_message', { account, chat, text });
}

/** Creates a poll in `chat` and sends it; returns the poll message, pending. */
export function createPoll(account: AccountId, chat: ChatId, setup: PollSetup): Promise<MessageView> {
  return call('create_poll', { account, chat, setup });
}

/** Votes for `options` (indexes from 0) in `poll`, or changes the vote. */
export function votePoll(account: AccountId, poll: string, options: number[]): Promise<null> {
  return call('vote_poll', { account, poll, options });
}

/** Takes back this account's vote in `poll`. */
export function retractVote(account: AccountId, poll: string): Promise<null> {
  return call('retract_vote', { account, poll });
}

/** Closes a poll this account created. */
export function closePoll(account: AccountId, poll: string): Promise<null> {
  return call('close_poll', { account, poll });
}

/** Creates a group named `name` with `members` and this account as its admin. */
export function createGroup(account: AccountId, name: string, members: ContactId[]): Promise<GroupInfo> {
  return call('create_group', { account, name, members });
}

/** The group of `chat`, with its members. */
export function groupInfo(account: AccountId, chat: ChatId): Promise<GroupInfo> {
  return call('group_info', { account, chat });
}

/** Adds `members` to the group of `chat` (admins only). */
export function addGroupMembers(account: AccountId, chat: ChatId, members: ContactId[]): Promise<GroupInfo> {
  return call('add_group_members', { account, chat, members });
}

/** Removes `member` from the group of `chat` (admins only). */
export function removeGroupMember(account: AccountId, chat: ChatId, member: ContactId): Promise<GroupInfo> {
  return call('remove_group_member', { account, chat, member });
}

/** Renames the group of `chat` (admins only). */
export function renameGroup(account: AccountId, chat: ChatId, name: string): Promise<GroupInfo> {
  return call('rename_group', { account, chat, name });
}

/** Makes `member` an admin of the group of `chat`, or no longer one (admins only). */
export function setGroupAdmin(account: AccountId, chat: ChatId, member: ContactId, admin: boolean): Promise<GroupInfo> {
  return call('set_group_admin', { account, chat, member, admin });
}

/** Asks for a picture and makes it the group's (admins only); `null` when cancelled. */
export function chooseGroupAvatar(account: AccountId, chat: ChatId): Promise<GroupInfo | null> {
  return call('choose_group_avatar', { account, chat });
}

/** Removes the group's picture (admins only). */
export function removeGroupAvatar(account: AccountId, chat: ChatId): Promise<GroupInfo> {
  return call('remove_group_avatar', { account, chat });
}

/** The group's picture (empty when it has none). */
export function groupAvatar(account: AccountId, chat: ChatId): Promise<ArrayBuffer> {
  return call('group_avatar', { account, chat });
}

/** Leaves the group of `chat`. */
export function leaveGroup(account: AccountId, chat: ChatId): Promise<GroupInfo> {
  return call('leave_group', { account, chat });
}

/** The newest messages of `account` (at most `limit`) holding every word of `query`. */
export function searchMessages(account: AccountId, query: string, limit: number): Promise<SearchHit[]> {
  return call('search_messages', { account, query, limit });
}

/** The decrypted bytes of an attachment, to show it (images). */
export function attachmentData(account: AccountId, attachment: number): Promise<ArrayBuffer> {
  return call('attachment_data', { account, attachment });
}

/** Asks where to save an attachment (suggesting `name`) and writes it there; false if cancelled. */
export function saveAttachment(account: AccountId, attachment: number, name: string): Promise<boolean> {
  return call('save_attachment', { account, attachment, name });
}

export function markRead(account: AccountId, chat: ChatId): Promise<null> {
  return call('mark_read', { account, chat });
}

export function setDraft(account: AccountId, chat: ChatId, text: string): Promise<null> {
  return call('set_draft', { account, chat, text });
}

export function setTyping(account: AccountId, chat: ChatId, typing: boolean): Promise<null> {
  return call('set_typing', { account, chat, typing });
}

/** The chat on screen (null: none), so the backend raises no notification for it. */
export function setVisibleChat(account: AccountId, chat: ChatId | null): Promise<null> {
  return call('set_visible_chat', { account, chat });
}

/** Delivers every backend event to `handler` until the window closes. */
export function subscribeEvents(handler: (event: AppEvent) => void): Promise<null> {
  const onEvent = new Channel<AppEvent>(handler);
  return call('subscribe_events', { onEvent });
}

// Importing a chat exported from WhatsApp.

/** The system file dialog for a `.txt` or `.zip` export; null when the user cancelled it. */
export function pickImportFile(): Promise<string | null> {
  return call('pick_import_file');
}

/**
 * Reads the export at `path` without touching any account: what it is, what is in it, its
 * first entries. `dateOrder` overrides the detected order (null: detect).
 */
export function previewImport(path: string, dateOrder: DateOrder | null): Promise<ImportPreview> {
  return call('preview_import', { path, dateOrder });
}

/**
 * Imports the export at `path` into `target` of `account`, with `me` as the participant who is
 * the user (null: none of them). `onProgress` hears how far it got; resolves when everything is
 * stored, rejects with code `cancelled` after `cancelImport` (and then nothing was added).
 */
export function runImport(
  account: AccountId,
  path: string,
  me: string | null,
  target: ImportTarget,
  dateOrder: DateOrder | null,
  onProgress: (progress: ImportProgress) => void,
): Promise<ImportSummary> {
  const channel = new Channel<ImportProgress>(onProgress);
  return call('run_import', { account, path, me, target, dateOrder, onProgress: channel });
}

/** Stops the import running in `account`; its `runImport` rejects with `cancelled`. */
export function cancelImport(account: AccountId): Promise<null> {
  return call('cancel_import', { account });
}
