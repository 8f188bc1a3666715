// The messaging half of the mock backend: contacts, chats and messages per account, a relay
// with a few simulated people on it who read what they are sent and answer, and a connection
// state per account. Kept in memory; follows the command contract in docs/design/messaging.md.
import type { AccountInfo } from './bindings/AccountInfo';
import type { ChatId } from './bindings/ChatId';
import type { ChatSummary } from './bindings/ChatSummary';
import type { ConnectionState } from './bindings/ConnectionState';
import type { ContactId } from './bindings/ContactId';
import type { ContactInfo } from './bindings/ContactInfo';
import type { ErrorCode } from './bindings/ErrorCode';
import type { Event } from './bindings/Event';
import type { IpcError } from './bindings/IpcError';
import type { MessageState } from './bindings/MessageState';
import type { MessageView } from './bindings/MessageView';

const ONE_PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';


/** Milliseconds between the steps the simulated relay and people take. */
export interface MockTiming {
  /** From creating an account with a relay to `online`. */
  connect: number;
  /** pending -> sent (the relay accepted it). */
  sent: number;
  /** sent -> delivered (the peer's device got it). */
  delivered: number;
  /** delivered -> read (the peer opened the chat). */
  read: number;
  /** read -> the peer starts typing. */
  typing: number;
  /** typing -> the peer's reply arrives. */
  reply: number;
  /** Between two progress reports of an import (ten in all). */
  importStep: number;
}

export const DEFAULT_TIMING: MockTiming = {
  connect: 700,
  sent: 900,
  delivered: 900,
  read: 1000,
  typing: 400,
  reply: 1600,
  importStep: 100,
};

/** People with an account on the simulated relay: handle -> display name. */
export const MOCK_DIRECTORY: Readonly<Record<string, string>> = {
  bruno: 'Bruno Bianchi',
  carla: 'Carla Conti',
  dario: 'Dario Esposito',
  elena: 'Elena Ferrari',
  marco: 'Marco Romano',
  sofia: 'Sofia Greco',
};

/** A message put into a chat by a test, without going through the relay. */
export interface SeedMessage {
  text: string;
  /** RFC 3339. */
  at: string;
  outgoing?: boolean;
  state?: MessageState;
  kind?: 'text' | 'system';
}

interface ChatModel {
  id: ChatId;
  /** Null for a chat made by an import, whose people are names, not contacts. */
  contact: ContactId | null;
  /** The title of a chat without a contact. */
  title: string | null;
  group: boolean;
  draft: string;
  messages: MessageView[];
  createdAt: string;
}

/** An imported message, before it has a chat. */
export type ImportedMessage = Omit<MessageView, 'chat'>;

interface AccountModel {
  contacts: ContactInfo[];
  chats: ChatModel[];
  connection: ConnectionState;
  visibleChat: ChatId | null;
  typing: Set<ChatId>;
}

export const HANDLE_PATTERN = /^[a-z0-9_]{3,32}$/;

export function fail(code: ErrorCode, message: string): never {
  const error: IpcError = { code, message };
  throw error;
}

/** `@Bruno ` -> `bruno`; refuses what cannot be a handle. */
export function validHandle(value: unknown): string {
  if (typeof value !== 'string') fail('invalid_input', 'The handle must be text.');
  const handle = value.trim().replace(/^@/, '').toLowerCase();
  if (handle === '') fail('invalid_input', 'Enter a handle, like @anna.');
  if (!HANDLE_PATTERN.test(handle))
    fail('invalid_input', 'A handle has 3 to 32 letters, digits or underscores.');
  return handle;
}

/** 60 digits in 12 groups of 5, the same for both sides of a pair. */
function safetyNumber(a: string, b: string): string {
  const [first, second] = [a, b].sort();
  let state = 2166136261;
  const groups: string[] = [];
  for (let group = 0; group < 12; group++) {
    for (const char of `${first}|${second}|${group}`) {
      state ^= char.charCodeAt(0);
      state = Math.imul(state, 16777619) >>> 0;
    }
    groups.push(String(state % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

export function createMessaging(
  emit: (event: Event) => void,
  timing: MockTiming,
  findAccount: (id: number) => AccountInfo | undefined,
) {
  const models = new Map<number, AccountModel>();
  let nextContact = 1;
  let nextChat = 1;
  let nextMessage = 1;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  function later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  }

  function model(account: number): AccountModel {
    let found = models.get(account);
    if (!found) {
      found = { contacts: [], chats: [], connection: 'notConfigured', visibleChat: null, typing: new Set() };
      models.set(account, found);
    }
    return found;
  }

  function account(id: unknown): AccountInfo {
    const found = typeof id === 'number' ? findAccount(id) : undefined;
    if (!found) fail('not_found', `No account with id ${String(id)}.`);
    return found;
  }

  function chat(accountId: number, id: unknown): ChatModel {
    const found = model(accountId).chats.find((candidate) => candidate.id === id);
    if (!found) fail('not_found', `No chat with id ${String(id)}.`);
    return found;
  }

  function contactOf(accountId: number, chatModel: ChatModel): ContactInfo {
    if (chatModel.contact === null) fail('invalid_input', 'This chat has no one on Missiva to send to.');
    const contact = model(accountId).contacts.find((candidate) => candidate.id === chatModel.contact);
    if (!contact) fail('internal', 'A chat lost its contact.');
    return contact;
  }

  function changed(accountId: number, chatId: ChatId | null): void {
    if (chatId !== null) emit({ account: accountId, kind: { type: 'messagesChanged', chat: chatId } });
    emit({ account: accountId, kind: { type: 'chatsChanged' } });
  }

  function newId(): string {
    return (nextMessage++).toString(16).padStart(32, '0');
  }

  function summary(accountId: number, chatModel: ChatModel): ChatSummary {
    const contact = chatModel.contact === null ? null : contactOf(accountId, chatModel);
    const last = [...chatModel.messages].reverse().find((message) => message.kind === 'text') ?? null;
    const newest = chatModel.messages[chatModel.messages.length - 1];
    return {
      id: chatModel.id,
      kind: chatModel.group ? 'group' : 'direct',
      title: contact?.displayName ?? chatModel.title ?? '',
      contact: contact?.id ?? null,
      handle: contact?.handle ?? null,
      lastMessage: last && {
        text: last.text,
        kind: last.kind,
        sentAt: last.sentAt,
        outgoing: last.outgoing,
        state: last.state,
        imported: last.imported,
        sender: last.sender,
      },
      unread: unreadIn(chatModel),
      lastActivityAt: newest?.receivedAt ?? chatModel.createdAt,
      draft: chatModel.draft,
      group: false,
      picture: null,
    };
  }

  function unreadIn(chatModel: ChatModel): number {
    return chatModel.messages.filter(
      (message) => message.kind === 'text' && !message.outgoing && message.state === 'received',
    ).length;
  }

  function addContact(accountId: number, handle: string): ContactInfo {
    const info = account(accountId);
    const own = model(accountId);
    const existing = own.contacts.find((contact) => contact.handle === handle);
    if (existing) return existing;
    const contact: ContactInfo = {
      id: nextContact++,
      handle,
      displayName: MOCK_DIRECTORY[handle] ?? handle,
      safetyNumber: safetyNumber(info.handle ?? `account-${accountId}`, handle),
      identityChanged: false,
      verified: false,
      createdAt: new Date().toISOString(),
    };
    own.contacts.push(contact);
    own.chats.push({
      id: nextChat++,
      contact: contact.id,
      title: null,
      group: false,
      draft: '',
      messages: [],
      createdAt: contact.createdAt,
    });
    emit({ account: accountId, kind: { type: 'contactsChanged' } });
    emit({ account: accountId, kind: { type: 'chatsChanged' } });
    return contact;
  }

  function chatWith(accountId: number, handle: string): ChatModel {
    const contact = addContact(accountId, handle);
    const found = model(accountId).chats.find((candidate) => candidate.contact === contact.id);
    if (!found) fail('internal', 'A contact lost its chat.');
    return found;
  }

  function setState(accountId: number, chatModel: ChatModel, message: MessageView, state: MessageState): void {
    message.state = state;
    changed(accountId, chatModel.id);
  }

  /** The relay takes pending messages while the account is online; the peer reads and answers. */
  function flush(accountId: number): void {
    const own = model(accountId);
    if (own.connection !== 'online') return;
    for (const chatModel of own.chats) {
      if (chatModel.contact === null) continue;
      for (const message of chatModel.messages) {
        if (message.outgoing && message.state === 'pending' && !inFlight.has(message.id)) {
          inFlight.add(message.id);
          deliver(accountId, chatModel, message);
        }
      }
    }
  }

  const inFlight = new Set<string>();

  function deliver(accountId: number, chatModel: ChatModel, message: MessageView): void {
    later(timing.sent, () => {
      inFlight.delete(message.id);
      if (model(accountId).connection !== 'online') return;
      setState(accountId, chatModel, message, 'sent');
      later(timing.delivered, () => {
        setState(accountId, chatModel, message, 'delivered');
        later(timing.read, () => {
          setState(accountId, chatModel, message, 'read');
          later(timing.typing, () => {
            emit({ account: accountId, kind: { type: 'typing', chat: chatModel.id, typing: true } });
            later(timing.reply, () => {
              emit({ account: accountId, kind: { type: 'typing', chat: chatModel.id, typing: false } });
              const contact = contactOf(accountId, chatModel);
              receive(accountId, contact.handle, `Got it: “${message.text}”`);
            });
          });
        });
      });
    });
  }

  function receive(accountId: number, handle: string, text: string): MessageView {
    const chatModel = chatWith(accountId, handle);
    const now = new Date().toISOString();
    const message: MessageView = {
      id: newId(),
      chat: chatModel.id,
      sender: handle,
      outgoing: false,
      kind: 'text',
      text,
      sentAt: now,
      receivedAt: now,
      state: 'received',
      imported: false,
      author: null,
      attachments: [],
      poll: null,
      missingFile: null,
    };
    chatModel.messages.push(message);
    emit({ account: accountId, kind: { type: 'incomingMessage', chat: chatModel.id, message: message.id } });
    changed(accountId, chatModel.id);
    return message;
  }

  function setConnection(accountId: number, state: ConnectionState): void {
    const own = model(accountId);
    if (own.connection === state) return;
    own.connection = state;
    emit({ account: accountId, kind: { type: 'connectionChanged', state } });
    flush(accountId);
  }

  function limitOf(value: unknown): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000)
      fail('invalid_input', 'The limit must be a whole number from 1 to 1000.');
    return value;
  }

  const handlers: Record<string, (accountId: number, args: Record<string, unknown>) => unknown> = {
    connection_state: (accountId) => model(accountId).connection,
    list_contacts: (accountId) => model(accountId).contacts.map((contact) => ({ ...contact })),
    add_contact: (accountId, args) => {
      const info = account(accountId);
      const handle = validHandle(args.handle);
      if (info.relay === null)
        fail('no_relay', 'This account has no relay, so it cannot look up handles.');
      if (handle === info.handle) fail('invalid_input', 'That is your own handle.');
      if (!(handle in MOCK_DIRECTORY)) fail('not_found', `No one on the relay has the handle @${handle}.`);
      return { ...addContact(accountId, handle) };
    },
    list_chats: (accountId) =>
      model(accountId)
        .chats.map((chatModel) => summary(accountId, chatModel))
        .sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || b.id - a.id),
    chat_for_contact: (accountId, args) => {
      const found = model(accountId).chats.find((candidate) => candidate.contact === args.contact);
      if (!found) fail('not_found', `No contact with id ${String(args.contact)}.`);
      return found.id;
    },
    attachment_data: (accountId, args) => {
      const found = model(accountId)
        .chats.flatMap((chatModel) => chatModel.messages)
        .flatMap((message) => message.attachments)
        .find((attachment) => attachment.id === args.attachment);
      if (!found) fail('not_found', `There is no attachment ${String(args.attachment)}.`);
      // A 1×1 PNG: the mock keeps no files.
      return Uint8Array.from(atob(ONE_PIXEL_PNG), (c) => c.charCodeAt(0)).buffer;
    },
    save_attachment: () => true,
    search_messages: (accountId, args) => {
      const words = String(args.query ?? '')
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter((word) => word !== '');
      if (words.length === 0) return [];
      const found = model(accountId).chats.flatMap((chatModel) =>
        chatModel.messages
          .filter((message) => {
            const text = message.text.toLowerCase();
            return words.every((word) => text.includes(word));
          })
          .map((message) => ({
            chat: chatModel.id,
            message: message.id,
            // FTS5's marks around the matched words.
            snippet: message.text.replace(
              new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'giu'),
              '\u0002$1\u0003',
            ),
            sentAt: message.sentAt,
            outgoing: message.outgoing,
            author: message.outgoing ? null : (message.author ?? message.sender),
          })),
      );
      return found.sort((a, b) => b.sentAt.localeCompare(a.sentAt)).slice(0, limitOf(args.limit));
    },
    list_messages: (accountId, args) => {
      const messages = chat(accountId, args.chat).messages;
      const limit = limitOf(args.limit);
      let end = messages.length;
      if (args.before !== null && args.before !== undefined) {
        end = messages.findIndex((message) => message.id === args.before);
        if (end < 0) fail('not_found', `No message with id ${String(args.before)}.`);
      }
      return messages.slice(Math.max(0, end - limit), end).map((message) => ({ ...message }));
    },
    send_message: (accountId, args) => {
      const chatModel = chat(accountId, args.chat);
      contactOf(accountId, chatModel);
      if (typeof args.text !== 'string' || args.text.trim() === '')
        fail('invalid_input', 'A message must not be empty.');
      const now = new Date().toISOString();
      const message: MessageView = {
        id: newId(),
        chat: chatModel.id,
        sender: null,
        outgoing: true,
        kind: 'text',
        text: args.text,
        sentAt: now,
        receivedAt: now,
        state: 'pending',
        imported: false,
        author: null,
        attachments: [],
        poll: null,
        missingFile: null,
      };
      chatModel.messages.push(message);
      chatModel.draft = '';
      changed(accountId, chatModel.id);
      flush(accountId);
      return { ...message };
    },
    mark_read: (accountId, args) => {
      const chatModel = chat(accountId, args.chat);
      let any = false;
      for (const message of chatModel.messages) {
        if (!message.outgoing && message.state === 'received') {
          message.state = 'read';
          any = true;
        }
      }
      if (any) changed(accountId, chatModel.id);
      return null;
    },
    set_draft: (accountId, args) => {
      const chatModel = chat(accountId, args.chat);
      if (typeof args.text !== 'string') fail('invalid_input', 'The draft must be text.');
      if (chatModel.draft !== args.text) {
        chatModel.draft = args.text;
        emit({ account: accountId, kind: { type: 'chatsChanged' } });
      }
      return null;
    },
    set_typing: (accountId, args) => {
      const chatModel = chat(accountId, args.chat);
      const own = model(accountId);
      if (args.typing === true) own.typing.add(chatModel.id);
      else own.typing.delete(chatModel.id);
      return null;
    },
    set_visible_chat: (accountId, args) => {
      if (args.chat !== null) chat(accountId, args.chat);
      model(accountId).visibleChat = (args.chat as ChatId | null) ?? null;
      return null;
    },
  };

  return {
    /** The command's result, or `undefined` when `cmd` is not a messaging command. */
    handle(cmd: string, args: Record<string, unknown>): { result: unknown } | undefined {
      const handler = handlers[cmd];
      if (!handler) return undefined;
      const info = account(args.account);
      return { result: handler(info.id, args) };
    },

    /** A new account: it connects when it has a relay. */
    accountAdded(info: AccountInfo): void {
      const own = model(info.id);
      if (info.relay === null) return;
      own.connection = 'connecting';
      later(timing.connect, () => setConnection(info.id, 'online'));
    },

    accountRemoved(id: number): void {
      models.delete(id);
    },

    unread(id: number): number {
      return model(id).chats.reduce((sum, chatModel) => sum + unreadIn(chatModel), 0);
    },

    /** The chat the UI said is on screen, or null. */
    visibleChat(id: number): ChatId | null {
      return model(id).visibleChat;
    },

    /** Whether the UI last told the backend that the user is typing in `chatId`. */
    typing(id: number, chatId: ChatId): boolean {
      return model(id).typing.has(chatId);
    },

    receive,
    setConnection,

    /** Puts messages in the chat with `handle` (adding the contact), oldest first; returns the chat. */
    seed(accountId: number, handle: string, messages: SeedMessage[]): ChatId {
      const chatModel = chatWith(accountId, handle);
      for (const seed of messages) {
        const outgoing = seed.outgoing ?? false;
        chatModel.messages.push({
          id: newId(),
          chat: chatModel.id,
          sender: outgoing || seed.kind === 'system' ? null : handle,
          outgoing,
          kind: seed.kind ?? 'text',
          text: seed.text,
          sentAt: seed.at,
          receivedAt: seed.at,
          state: seed.state ?? 'read',
          imported: false,
          author: null,
          attachments: [],
          poll: null,
          missingFile: null,
        });
      }
      changed(accountId, chatModel.id);
      return chatModel.id;
    },

    /** The contact's identity key changed: a warning line in the chat, the contact flagged. */
    changeIdentity(accountId: number, handle: string): void {
      const chatModel = chatWith(accountId, handle);
      const contact = contactOf(accountId, chatModel);
      contact.identityChanged = true;
      contact.verified = false;
      contact.safetyNumber = safetyNumber(`${contact.safetyNumber}!`, handle);
      const now = new Date().toISOString();
      chatModel.messages.push({
        id: newId(),
        chat: chatModel.id,
        sender: null,
        outgoing: false,
        kind: 'system',
        text: `The safety number with @${handle} changed. Compare it again before you share anything private.`,
        sentAt: now,
        receivedAt: now,
        state: 'received',
        imported: false,
        author: null,
        attachments: [],
        poll: null,
        missingFile: null,
      });
      emit({ account: accountId, kind: { type: 'identityChanged', contact: contact.id } });
      emit({ account: accountId, kind: { type: 'contactsChanged' } });
      changed(accountId, chatModel.id);
    },

    /** Marks a contact verified, as comparing the safety number would. */
    verify(accountId: number, handle: string): void {
      const contact = model(accountId).contacts.find((candidate) => candidate.handle === handle);
      if (!contact) fail('not_found', `No contact @${handle}.`);
      contact.verified = true;
      contact.identityChanged = false;
      emit({ account: accountId, kind: { type: 'contactsChanged' } });
    },

    /**
     * Puts imported messages into `target` (a chat of the account) or a new chat titled `title`,
     * in time order; a message whose id is already there is skipped. Returns the chat and counts.
     */
    importMessages(
      accountId: number,
      target: ChatId | { title: string; group: boolean },
      imported: readonly ImportedMessage[],
    ): { chat: ChatId; added: number; alreadyThere: number } {
      const own = model(accountId);
      let chatModel: ChatModel;
      if (typeof target === 'number') {
        chatModel = chat(accountId, target);
      } else {
        chatModel = {
          id: nextChat++,
          contact: null,
          title: target.title,
          group: target.group,
          draft: '',
          messages: [],
          createdAt: new Date().toISOString(),
        };
        own.chats.push(chatModel);
      }
      const known = new Set(chatModel.messages.map((message) => message.id));
      let added = 0;
      for (const message of imported) {
        if (known.has(message.id)) continue;
        known.add(message.id);
        chatModel.messages.push({ ...message, chat: chatModel.id });
        added += 1;
      }
      chatModel.messages.sort((a, b) => Date.parse(a.sentAt) - Date.parse(b.sentAt));
      changed(accountId, chatModel.id);
      return { chat: chatModel.id, added, alreadyThere: imported.length - added };
    },

    /** Whether the account still has chat `chatId`. */
    hasChat(accountId: number, chatId: ChatId): boolean {
      return model(accountId).chats.some((candidate) => candidate.id === chatId);
    },

    /** Stops every pending timer (a restart, or the end of a test). */
    stop(): void {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      inFlight.clear();
    },
  };
}

export type MockMessaging = ReturnType<typeof createMessaging>;
